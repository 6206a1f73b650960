//! Identifiers. Each is an opaque string newtype so that an order id can never be passed where a
//! payment id is expected; they serialise as plain JSON strings. The text is shared (`Arc<str>`),
//! so cloning an id — which every decision does for each line it explains — never allocates.

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(std::sync::Arc<str>);

        impl $name {
            /// Wraps an identifier.
            pub fn new(id: impl Into<String>) -> Self {
                Self(std::sync::Arc::from(id.into()))
            }

            /// The identifier as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(std::sync::Arc::from(s))
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(std::sync::Arc::from(s))
            }
        }
    };
}

string_id!(
    /// The OMS's internal id of an order.
    OrderId
);
string_id!(
    /// The order number a customer sees and quotes, e.g. `#1042`.
    OrderNumber
);
string_id!(
    /// One line of an order.
    LineId
);
string_id!(
    /// A stock-keeping unit.
    Sku
);
string_id!(
    /// A product (all variants of one article).
    ProductId
);
string_id!(
    /// One variant of a product (size, colour).
    VariantId
);
string_id!(
    /// A customer.
    CustomerId
);
string_id!(
    /// One payment (tender) of an order at the processor.
    PaymentId
);
string_id!(
    /// A refund at the processor.
    RefundId
);
string_id!(
    /// A shipment (parcel) of an order.
    ShipmentId
);
string_id!(
    /// A carrier's tracking number.
    TrackingNumber
);
string_id!(
    /// A return (RMA).
    ReturnId
);
string_id!(
    /// A helpdesk ticket.
    TicketId
);
string_id!(
    /// A stock location (warehouse).
    LocationId
);
