//! The requests the commercetools adapter sends, built as data.
//!
//! Builders leave out the access token; [`authorize`] adds it just before sending, so the same
//! request can be re-sent with a fresh token after a 401.

use base64::Engine as _;
use order_agent_core::domain::{
    Address, Channel, ContactPoint, CustomerId, LineId, OrderId, ProductId,
};
use order_agent_core::ports::oms::{normalize_order_number, ops};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use super::CommercetoolsConfig;
use crate::http::{path_segment, Body, HeaderValue, Method, WireRequest};

/// The operation name of the OAuth token request, for errors.
pub const TOKEN_OPERATION: &str = "oms.commercetools.token";

/// The expansion that embeds an order's payments, so captured and refunded amounts come with it.
pub const PAYMENTS_EXPANSION: &str = "paymentInfo.payments[*]";

/// The most results commercetools returns in one query page.
pub const MAX_QUERY_LIMIT: usize = 500;

/// Custom field (on the order's Type) holding why the agent cancelled the order.
pub const CANCELLATION_REASON_FIELD: &str = "orderAgentCancellationReason";

/// Custom field (on the order's Type) counting the item modifications the agent made.
pub const MODIFICATIONS_FIELD: &str = "orderAgentModifications";

/// Custom field (on the customer's Type, a Set of String) holding verified contact points, each as
/// `channel:address` (`sms:+41791234567`, `whatsapp:+41...`, `email:anna@example.ch`; emails in
/// lower case).
pub const CONTACT_POINTS_FIELD: &str = "orderAgentContactPoints";

/// `POST {auth_url}/oauth/token`: client credentials with HTTP basic auth, for the configured
/// scopes.
pub fn token(config: &CommercetoolsConfig) -> WireRequest {
    let credentials = format!(
        "{}:{}",
        config.client_id,
        config.client_secret.expose_secret()
    );
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    );
    let mut form = vec![("grant_type".to_owned(), "client_credentials".to_owned())];
    let scopes = config.scopes();
    if !scopes.is_empty() {
        form.push(("scope".to_owned(), scopes.join(" ")));
    }
    WireRequest {
        operation: TOKEN_OPERATION,
        method: Method::Post,
        path: "/oauth/token".to_owned(),
        query: Vec::new(),
        headers: vec![(
            "authorization".to_owned(),
            HeaderValue::Secret(SecretString::from(basic)),
        )],
        body: Body::Form(form),
    }
}

/// Adds (or replaces) the bearer token.
pub fn authorize(request: &mut WireRequest, access_token: &SecretString) {
    request
        .headers
        .retain(|(name, _)| !name.eq_ignore_ascii_case("authorization"));
    request.headers.push((
        "authorization".to_owned(),
        HeaderValue::Bearer(access_token.clone()),
    ));
}

fn project_path(config: &CommercetoolsConfig, rest: &str) -> String {
    format!("/{}/{rest}", path_segment(&config.project_key))
}

fn get(operation: &'static str, path: String, query: Vec<(String, String)>) -> WireRequest {
    WireRequest {
        operation,
        method: Method::Get,
        path,
        query,
        headers: Vec::new(),
        body: Body::Empty,
    }
}

fn post(operation: &'static str, path: String, body: Value) -> WireRequest {
    WireRequest {
        operation,
        method: Method::Post,
        path,
        query: Vec::new(),
        headers: Vec::new(),
        body: Body::Json(body),
    }
}

fn pair(key: &str, value: impl Into<String>) -> (String, String) {
    (key.to_owned(), value.into())
}

/// A string literal for a query predicate: in double quotes, with `\` and `"` escaped, so caller
/// input can never end the literal.
pub fn predicate_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// `GET /{projectKey}/orders/{id}` with the payments expanded.
pub fn order(config: &CommercetoolsConfig, operation: &'static str, id: &OrderId) -> WireRequest {
    get(
        operation,
        project_path(config, &format!("orders/{}", path_segment(id.as_str()))),
        vec![pair("expand", PAYMENTS_EXPANSION)],
    )
}

/// The predicate matching `number` stored with or without a leading `#`.
pub fn order_number_predicate(number: &str) -> String {
    let bare = normalize_order_number(number);
    format!(
        "orderNumber in ({}, {})",
        predicate_string(bare),
        predicate_string(&format!("#{bare}"))
    )
}

/// `GET /{projectKey}/orders?where=orderNumber in ("1042", "#1042")`.
pub fn order_by_number(config: &CommercetoolsConfig, number: &str) -> WireRequest {
    get(
        ops::ORDER_BY_NUMBER,
        project_path(config, "orders"),
        vec![
            pair("where", order_number_predicate(number)),
            pair("sort", "createdAt desc"),
            pair("limit", "2"),
            pair("withTotal", "false"),
            pair("expand", PAYMENTS_EXPANSION),
        ],
    )
}

/// `GET /{projectKey}/orders?where=customerId="..."&sort=createdAt desc&limit=n`; `limit` is
/// clamped to 1..=[`MAX_QUERY_LIMIT`].
pub fn orders_of_customer(
    config: &CommercetoolsConfig,
    customer: &CustomerId,
    limit: usize,
) -> WireRequest {
    get(
        ops::ORDERS_OF_CUSTOMER,
        project_path(config, "orders"),
        vec![
            pair(
                "where",
                format!("customerId={}", predicate_string(customer.as_str())),
            ),
            pair("sort", "createdAt desc"),
            pair("sort", "id asc"),
            pair("limit", limit.clamp(1, MAX_QUERY_LIMIT).to_string()),
            pair("withTotal", "false"),
            pair("expand", PAYMENTS_EXPANSION),
        ],
    )
}

/// `POST /{projectKey}/orders/{id}` with `{version, actions}`; the answer is the updated order,
/// with the payments expanded.
pub fn update_order(
    config: &CommercetoolsConfig,
    operation: &'static str,
    id: &OrderId,
    version: i64,
    actions: Vec<Value>,
) -> WireRequest {
    let mut request = post(
        operation,
        project_path(config, &format!("orders/{}", path_segment(id.as_str()))),
        json!({ "version": version, "actions": actions }),
    );
    request.query.push(pair("expand", PAYMENTS_EXPANSION));
    request
}

/// The `changeOrderState` update action.
pub fn change_order_state(state: &str) -> Value {
    json!({ "action": "changeOrderState", "orderState": state })
}

/// The `setCustomField` update action (also a staged action of an order edit).
pub fn set_custom_field(name: &str, value: Value) -> Value {
    json!({ "action": "setCustomField", "name": name, "value": value })
}

/// The `setCustomType` update action: the Type with key `type_key` and its first field values.
pub fn set_custom_type(type_key: &str, fields: serde_json::Map<String, Value>) -> Value {
    json!({
        "action": "setCustomType",
        "type": { "typeId": "type", "key": type_key },
        "fields": Value::Object(fields),
    })
}

/// A commercetools BaseAddress from a domain address: the name is split at its first space into
/// `firstName` and `lastName`, `line1` goes whole into `streetName`, `line2` into
/// `additionalStreetInfo`.
pub fn address(address: &Address) -> Value {
    let name = address.name.trim();
    let (first, last) = match name.split_once(' ') {
        Some((first, last)) => (first, last.trim()),
        None => ("", name),
    };
    let mut value = serde_json::Map::new();
    let mut put = |key: &str, text: &str| {
        if !text.is_empty() {
            value.insert(key.to_owned(), Value::String(text.to_owned()));
        }
    };
    put("firstName", first);
    put("lastName", last);
    put("streetName", &address.line1);
    put(
        "additionalStreetInfo",
        address.line2.as_deref().unwrap_or(""),
    );
    put("postalCode", &address.postcode);
    put("city", &address.city);
    put("region", address.region.as_deref().unwrap_or(""));
    value.insert("country".to_owned(), Value::String(address.country.clone()));
    Value::Object(value)
}

/// The `setShippingAddress` update action.
pub fn set_shipping_address(new_address: &Address) -> Value {
    json!({ "action": "setShippingAddress", "address": address(new_address) })
}

/// One return item of an `addReturnInfo` action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnItemDraft {
    /// The line item returned.
    pub line_item_id: LineId,
    /// Units.
    pub quantity: u32,
    /// The reason code, kept as the item's comment.
    pub comment: String,
}

/// The `addReturnInfo` update action: items announced (`Advised`), `returnTrackingId` = the
/// agent's return id (what makes recording idempotent), `returnDate` = when it was authorised.
pub fn add_return_info(return_id: &str, return_date: &str, items: &[ReturnItemDraft]) -> Value {
    let items: Vec<Value> = items
        .iter()
        .map(|item| {
            json!({
                "quantity": item.quantity,
                "lineItemId": item.line_item_id.as_str(),
                "comment": item.comment,
                "shipmentState": "Advised",
            })
        })
        .collect();
    json!({
        "action": "addReturnInfo",
        "items": items,
        "returnTrackingId": return_id,
        "returnDate": return_date,
    })
}

/// `GET /{projectKey}/customers/{id}`, with the customer group expanded (its key is the loyalty
/// tier).
pub fn customer(config: &CommercetoolsConfig, id: &CustomerId) -> WireRequest {
    get(
        ops::CUSTOMER,
        project_path(config, &format!("customers/{}", path_segment(id.as_str()))),
        vec![pair("expand", "customerGroup")],
    )
}

/// The predicate for a contact point: on email the lower-cased primary email or an email contact
/// point; on other channels the contact point of that channel only.
pub fn contact_predicate(contact: &ContactPoint) -> String {
    let address = contact.address.trim();
    let tagged = |channel: &str, address: &str| {
        format!(
            "custom(fields({CONTACT_POINTS_FIELD} contains {}))",
            predicate_string(&format!("{channel}:{address}"))
        )
    };
    match contact.channel {
        Channel::Email => {
            let email = address.to_lowercase();
            format!(
                "lowercaseEmail={} or {}",
                predicate_string(&email),
                tagged("email", &email)
            )
        }
        channel => tagged(channel_tag(channel), address),
    }
}

/// How a channel is spelled in [`CONTACT_POINTS_FIELD`] entries.
pub fn channel_tag(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "email",
        Channel::Whatsapp => "whatsapp",
        Channel::Sms => "sms",
        Channel::WebChat => "web_chat",
    }
}

/// `GET /{projectKey}/customers?where=...` for the customer reachable at `contact`.
pub fn customer_by_contact(config: &CommercetoolsConfig, contact: &ContactPoint) -> WireRequest {
    get(
        ops::CUSTOMER_BY_CONTACT,
        project_path(config, "customers"),
        vec![
            pair("where", contact_predicate(contact)),
            pair("sort", "createdAt asc"),
            pair("limit", "1"),
            pair("withTotal", "false"),
            pair("expand", "customerGroup"),
        ],
    )
}

/// `POST /{projectKey}/orders/edits`: an order edit of `order_id` with `staged_actions`.
pub fn create_order_edit(
    config: &CommercetoolsConfig,
    order_id: &OrderId,
    staged_actions: Vec<Value>,
) -> WireRequest {
    post(
        ops::MODIFY_ITEMS,
        project_path(config, "orders/edits"),
        json!({
            "resource": { "typeId": "order", "id": order_id.as_str() },
            "stagedActions": staged_actions,
            "comment": "order-agent item modification",
        }),
    )
}

/// `POST /{projectKey}/orders/edits/{id}/apply` with the edit's version and the order version it
/// was made against (a stale order version answers 409 `ConcurrentModification`).
pub fn apply_order_edit(
    config: &CommercetoolsConfig,
    edit_id: &str,
    edit_version: i64,
    resource_version: i64,
) -> WireRequest {
    post(
        ops::MODIFY_ITEMS,
        project_path(
            config,
            &format!("orders/edits/{}/apply", path_segment(edit_id)),
        ),
        json!({ "editVersion": edit_version, "resourceVersion": resource_version }),
    )
}

/// The `changeLineItemQuantity` staged action (quantity 0 removes the line).
pub fn change_line_item_quantity(line: &LineId, quantity: u32) -> Value {
    json!({ "action": "changeLineItemQuantity", "lineItemId": line.as_str(), "quantity": quantity })
}

/// The `removeLineItem` staged action.
pub fn remove_line_item(line: &LineId) -> Value {
    json!({ "action": "removeLineItem", "lineItemId": line.as_str() })
}

/// Line item custom field (on the line item Type) naming the line a swapped-in line replaces, so
/// a repeated swap finds it.
pub const REPLACES_LINE_FIELD: &str = "orderAgentReplacesLine";

/// The `addLineItem` staged action for variant `variant_id` (the variant's numeric id within the
/// product), with custom fields of the line item Type keyed `type_key`.
pub fn add_line_item(
    product: &ProductId,
    variant_id: i64,
    quantity: u32,
    type_key: &str,
    fields: serde_json::Map<String, Value>,
) -> Value {
    json!({
        "action": "addLineItem",
        "productId": product.as_str(),
        "variantId": variant_id,
        "quantity": quantity,
        "custom": { "type": { "typeId": "type", "key": type_key }, "fields": Value::Object(fields) },
    })
}

/// `GET /{projectKey}/product-projections/{id}` with prices selected for the shop's currency
/// (and country, when configured).
pub fn product_projection(config: &CommercetoolsConfig, product: &ProductId) -> WireRequest {
    let mut query = vec![pair("priceCurrency", config.currency.clone())];
    if let Some(country) = &config.price_country {
        query.push(pair("priceCountry", country.clone()));
    }
    get(
        ops::EXCHANGE_OFFERS,
        project_path(
            config,
            &format!("product-projections/{}", path_segment(product.as_str())),
        ),
        query,
    )
}
