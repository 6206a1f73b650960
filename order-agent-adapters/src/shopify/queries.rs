//! The GraphQL documents the adapter sends, one named operation each, with the cost the client-side
//! bucket reserves before sending it.
//!
//! Every document is a constant; variables are built as data in
//! [`requests`](super::requests). The operation name is what a mock (or a log) dispatches on.

/// One GraphQL operation: its name, its text and the query cost reserved before sending it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Document {
    /// The operation name, as written in the document (`query OrderById(...)`).
    pub name: &'static str,
    /// The document text.
    pub text: &'static str,
    /// The cost the client-side bucket reserves: an upper estimate of Shopify's
    /// `requestedQueryCost` for this document.
    pub estimated_cost: u32,
}

/// The selection of an order the adapter maps: lines, money in shop currency, customer,
/// addresses, statuses, fulfilment orders, fulfilments with tracking, transactions, and the
/// metafield counting the agent's item changes.
macro_rules! order_fields {
    () => {
        "fragment OrderFields on Order {
  id
  name
  createdAt
  email
  phone
  cancelledAt
  closed
  displayFinancialStatus
  displayFulfillmentStatus
  currencyCode
  taxesIncluded
  customer { id }
  shippingAddress { ...AddressFields }
  billingAddress { ...AddressFields }
  totalShippingPriceSet { shopMoney { amount currencyCode } }
  totalTaxSet { shopMoney { amount currencyCode } }
  totalDiscountsSet { shopMoney { amount currencyCode } }
  lineItems(first: 100) {
    nodes {
      id
      sku
      title
      currentQuantity
      product { id productType tags }
      variant { id }
      originalUnitPriceSet { shopMoney { amount currencyCode } }
      totalDiscountSet { shopMoney { amount currencyCode } }
      taxLines { rate }
    }
  }
  fulfillmentOrders(first: 20) { nodes { id status } }
  fulfillments(first: 20) {
    id
    status
    displayStatus
    createdAt
    deliveredAt
    estimatedDeliveryAt
    trackingInfo(first: 5) { number company url }
    fulfillmentLineItems(first: 100) { nodes { id quantity lineItem { id } } }
  }
  transactions(first: 100) {
    id
    kind
    status
    gateway
    createdAt
    parentTransaction { id }
    amountSet { shopMoney { amount currencyCode } }
  }
  modifications: metafield(namespace: \"order_agent\", key: \"modifications\") { value }
}
fragment AddressFields on MailingAddress {
  name
  address1
  address2
  zip
  city
  provinceCode
  countryCodeV2
}
"
    };
}

/// The selection of a customer.
macro_rules! customer_fields {
    () => {
        "fragment CustomerFields on Customer {
  id
  displayName
  locale
  tags
  numberOfOrders
  defaultEmailAddress { emailAddress }
  defaultPhoneNumber { phoneNumber }
}
"
    };
}

/// The selection of a refund and its transactions.
macro_rules! refund_fields {
    () => {
        "fragment RefundFields on Refund {
  id
  createdAt
  note
  transactions(first: 20) {
    nodes {
      id
      kind
      status
      parentTransaction { id }
      amountSet { shopMoney { amount currencyCode } }
    }
  }
}
"
    };
}

/// One order by its GID.
pub const ORDER_BY_ID: Document = Document {
    name: "OrderById",
    text: concat!(
        "query OrderById($id: ID!) {\n  order(id: $id) { ...OrderFields }\n}\n",
        order_fields!()
    ),
    estimated_cost: 120,
};

/// Orders whose name matches a search (`name:#1042 OR name:1042`).
pub const ORDERS_BY_NAME: Document = Document {
    name: "OrdersByName",
    text: concat!(
        "query OrdersByName($query: String!, $first: Int!) {\n  orders(first: $first, query: $query) { nodes { ...OrderFields } }\n}\n",
        order_fields!()
    ),
    estimated_cost: 500,
};

/// A customer's orders, newest first.
pub const ORDERS_OF_CUSTOMER: Document = Document {
    name: "OrdersOfCustomer",
    text: concat!(
        "query OrdersOfCustomer($id: ID!, $first: Int!) {\n  customer(id: $id) {\n    orders(first: $first, sortKey: CREATED_AT, reverse: true) { nodes { ...OrderFields } }\n  }\n}\n",
        order_fields!()
    ),
    estimated_cost: 1000,
};

/// One customer by GID.
pub const CUSTOMER_BY_ID: Document = Document {
    name: "CustomerById",
    text: concat!(
        "query CustomerById($id: ID!) {\n  customer(id: $id) { ...CustomerFields }\n}\n",
        customer_fields!()
    ),
    estimated_cost: 5,
};

/// Customers matching a search (`email:...` or `phone:...`).
pub const CUSTOMERS_BY_CONTACT: Document = Document {
    name: "CustomersByContact",
    text: concat!(
        "query CustomersByContact($query: String!, $first: Int!) {\n  customers(first: $first, query: $query) { nodes { ...CustomerFields } }\n}\n",
        customer_fields!()
    ),
    estimated_cost: 20,
};

/// `orderCancel` without refund or restock (the agent does both through its own ports).
pub const ORDER_CANCEL: Document = Document {
    name: "OrderCancel",
    text: "mutation OrderCancel($orderId: ID!, $reason: OrderCancelReason!, $refund: Boolean!, $restock: Boolean!, $notifyCustomer: Boolean, $staffNote: String) {
  orderCancel(orderId: $orderId, reason: $reason, refund: $refund, restock: $restock, notifyCustomer: $notifyCustomer, staffNote: $staffNote) {
    job { id done }
    orderCancelUserErrors { field message code }
  }
}
",
    estimated_cost: 10,
};

/// `orderUpdate` with a new shipping address.
pub const ORDER_UPDATE_ADDRESS: Document = Document {
    name: "OrderUpdateShippingAddress",
    text: "mutation OrderUpdateShippingAddress($input: OrderInput!) {
  orderUpdate(input: $input) {
    order { id }
    userErrors { field message }
  }
}
",
    estimated_cost: 10,
};

/// Starts an order edit.
pub const ORDER_EDIT_BEGIN: Document = Document {
    name: "OrderEditBegin",
    text: "mutation OrderEditBegin($id: ID!) {
  orderEditBegin(id: $id) {
    calculatedOrder { id lineItems(first: 100) { nodes { id quantity } } }
    userErrors { field message }
  }
}
",
    estimated_cost: 110,
};

/// Sets a line's quantity in an order edit.
pub const ORDER_EDIT_SET_QUANTITY: Document = Document {
    name: "OrderEditSetQuantity",
    text: "mutation OrderEditSetQuantity($id: ID!, $lineItemId: ID!, $quantity: Int!, $restock: Boolean) {
  orderEditSetQuantity(id: $id, lineItemId: $lineItemId, quantity: $quantity, restock: $restock) {
    calculatedLineItem { id quantity }
    userErrors { field message }
  }
}
",
    estimated_cost: 10,
};

/// Adds a variant to an order edit (the new side of a variant swap).
pub const ORDER_EDIT_ADD_VARIANT: Document = Document {
    name: "OrderEditAddVariant",
    text: "mutation OrderEditAddVariant($id: ID!, $variantId: ID!, $quantity: Int!, $allowDuplicates: Boolean) {
  orderEditAddVariant(id: $id, variantId: $variantId, quantity: $quantity, allowDuplicates: $allowDuplicates) {
    calculatedLineItem { id quantity }
    userErrors { field message }
  }
}
",
    estimated_cost: 10,
};

/// Commits an order edit.
pub const ORDER_EDIT_COMMIT: Document = Document {
    name: "OrderEditCommit",
    text: "mutation OrderEditCommit($id: ID!, $notifyCustomer: Boolean, $staffNote: String) {
  orderEditCommit(id: $id, notifyCustomer: $notifyCustomer, staffNote: $staffNote) {
    order { id }
    userErrors { field message }
  }
}
",
    estimated_cost: 10,
};

/// Stores the count of the agent's item changes on the order.
pub const METAFIELDS_SET: Document = Document {
    name: "MetafieldsSet",
    text: "mutation MetafieldsSet($metafields: [MetafieldsSetInput!]!) {
  metafieldsSet(metafields: $metafields) {
    metafields { id }
    userErrors { field message code }
  }
}
",
    estimated_cost: 10,
};

/// An order's returns and its fulfilment line items (what a return is recorded against).
pub const ORDER_RETURNS: Document = Document {
    name: "OrderReturns",
    text: "query OrderReturns($id: ID!) {
  order(id: $id) {
    id
    returns(first: 50) {
      nodes {
        id
        name
        returnLineItems(first: 50) { nodes { ... on ReturnLineItem { id returnReasonNote } } }
      }
    }
    fulfillments(first: 20) {
      fulfillmentLineItems(first: 100) { nodes { id quantity lineItem { id } } }
    }
    lineItems(first: 100) { nodes { id } }
  }
}
",
    estimated_cost: 300,
};

/// `returnCreate`: an approved (open) return.
pub const RETURN_CREATE: Document = Document {
    name: "ReturnCreate",
    text: "mutation ReturnCreate($returnInput: ReturnInput!) {
  returnCreate(returnInput: $returnInput) {
    return { id name status }
    userErrors { field message code }
  }
}
",
    estimated_cost: 10,
};

/// A product's variants and the shop's currency.
pub const PRODUCT_VARIANTS: Document = Document {
    name: "ProductVariants",
    text: "query ProductVariants($id: ID!) {
  shop { currencyCode }
  product(id: $id) {
    id
    variants(first: 100) { nodes { id sku price inventoryQuantity } }
  }
}
",
    estimated_cost: 105,
};

/// One transaction (a payment) with its order's transactions and refunds.
pub const PAYMENT_TRANSACTION: Document = Document {
    name: "PaymentTransaction",
    text: concat!(
        "query PaymentTransaction($id: ID!) {
  node(id: $id) {
    __typename
    ... on OrderTransaction {
      id
      kind
      status
      gateway
      createdAt
      amountSet { shopMoney { amount currencyCode } }
      order {
        id
        refunds(first: 100) { ...RefundFields }
      }
    }
  }
}
",
        refund_fields!()
    ),
    estimated_cost: 250,
};

/// `refundCreate` under Shopify's `@idempotent` directive.
pub const REFUND_CREATE: Document = Document {
    name: "RefundCreate",
    text: concat!(
        "mutation RefundCreate($input: RefundInput!, $idempotencyKey: String!) {
  refundCreate(input: $input) @idempotent(key: $idempotencyKey) {
    refund { ...RefundFields }
    userErrors { field message }
  }
}
",
        refund_fields!()
    ),
    estimated_cost: 30,
};

/// Every document, for tests that check them all.
pub const ALL: [Document; 17] = [
    ORDER_BY_ID,
    ORDERS_BY_NAME,
    ORDERS_OF_CUSTOMER,
    CUSTOMER_BY_ID,
    CUSTOMERS_BY_CONTACT,
    ORDER_CANCEL,
    ORDER_UPDATE_ADDRESS,
    ORDER_EDIT_BEGIN,
    ORDER_EDIT_SET_QUANTITY,
    ORDER_EDIT_ADD_VARIANT,
    ORDER_EDIT_COMMIT,
    METAFIELDS_SET,
    ORDER_RETURNS,
    RETURN_CREATE,
    PRODUCT_VARIANTS,
    PAYMENT_TRANSACTION,
    REFUND_CREATE,
];
