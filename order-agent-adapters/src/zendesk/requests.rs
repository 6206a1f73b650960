//! The Zendesk Support API requests the adapter sends, built as data (no I/O here).

use base64::Engine as _;
use order_agent_core::domain::{Escalation, Priority};
use order_agent_core::ports::TicketStatus;
use secrecy::ExposeSecret;
use serde_json::{json, Value};

use super::ZendeskConfig;

/// An HTTP method the adapter uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
}

/// A request as data. The `authorization` header is added when sending, so a request can be
/// printed or compared without exposing the token.
#[derive(Debug, Clone, PartialEq)]
pub struct ZendeskRequest {
    /// The operation it serves, for errors.
    pub operation: &'static str,
    /// The method.
    pub method: Method,
    /// The path below the base URL, with its encoded query.
    pub path_and_query: String,
    /// The JSON body, for `POST` and `PUT`.
    pub body: Option<Value>,
}

/// The `Authorization` header for API-token authentication: `Basic` of `{email}/token:{token}`.
pub fn authorization(config: &ZendeskConfig) -> String {
    let raw = format!(
        "{}/token:{}",
        config.email,
        config.api_token.expose_secret()
    );
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// `GET /api/v2/tickets.json?external_id=..`: the tickets opened for one key.
pub fn find_by_external_id(op: &'static str, key: &str) -> ZendeskRequest {
    ZendeskRequest {
        operation: op,
        method: Method::Get,
        path_and_query: format!("/api/v2/tickets.json?external_id={}", encode(key)),
        body: None,
    }
}

/// `POST /api/v2/tickets.json`: a ticket for `escalation` with `external_id` = `key`; the
/// summary is the first comment, internal (`public: false`); the reasons are tags.
pub fn create_ticket(
    op: &'static str,
    config: &ZendeskConfig,
    key: &str,
    escalation: &Escalation,
) -> ZendeskRequest {
    let mut ticket = json!({
        "subject": escalation.subject,
        "comment": { "body": escalation.summary, "public": false },
        "priority": priority(escalation.priority),
        "status": "open",
        "tags": escalation.reasons,
        "external_id": key,
    });
    if let (Some(field), Some(order), Some(object)) = (
        config.order_id_field,
        &escalation.order_id,
        ticket.as_object_mut(),
    ) {
        object.insert(
            "custom_fields".to_owned(),
            json!([{ "id": field, "value": order.as_str() }]),
        );
    }
    if let (Some(group), Some(object)) = (config.group_id, ticket.as_object_mut()) {
        object.insert("group_id".to_owned(), json!(group));
    }
    ZendeskRequest {
        operation: op,
        method: Method::Post,
        path_and_query: "/api/v2/tickets.json".to_owned(),
        body: Some(json!({ "ticket": ticket })),
    }
}

/// `GET /api/v2/tickets/{id}.json`.
pub fn show_ticket(op: &'static str, id: u64) -> ZendeskRequest {
    ZendeskRequest {
        operation: op,
        method: Method::Get,
        path_and_query: format!("/api/v2/tickets/{id}.json"),
        body: None,
    }
}

/// `PUT /api/v2/tickets/{id}.json` with only the fields that change.
pub fn update_ticket(
    op: &'static str,
    id: u64,
    new_priority: Option<Priority>,
    new_status: Option<TicketStatus>,
) -> ZendeskRequest {
    let mut ticket = serde_json::Map::new();
    if let Some(p) = new_priority {
        ticket.insert("priority".to_owned(), json!(priority(p)));
    }
    if let Some(s) = new_status {
        ticket.insert("status".to_owned(), json!(status(s)));
    }
    ZendeskRequest {
        operation: op,
        method: Method::Put,
        path_and_query: format!("/api/v2/tickets/{id}.json"),
        body: Some(json!({ "ticket": ticket })),
    }
}

/// `PUT /api/v2/tickets/{id}.json` adding an internal comment (`public: false`).
pub fn add_internal_note(op: &'static str, id: u64, body: &str) -> ZendeskRequest {
    ZendeskRequest {
        operation: op,
        method: Method::Put,
        path_and_query: format!("/api/v2/tickets/{id}.json"),
        body: Some(json!({ "ticket": { "comment": { "body": body, "public": false } } })),
    }
}

/// `GET /api/v2/tickets/{id}/comments.json`, oldest first, page `page` (from 1).
pub fn list_comments(op: &'static str, id: u64, page: u32) -> ZendeskRequest {
    ZendeskRequest {
        operation: op,
        method: Method::Get,
        path_and_query: format!(
            "/api/v2/tickets/{id}/comments.json?sort_order=asc&per_page=100&page={page}"
        ),
        body: None,
    }
}

/// Zendesk's name for a priority.
pub fn priority(priority: Priority) -> &'static str {
    match priority {
        Priority::Low => "low",
        Priority::Normal => "normal",
        Priority::High => "high",
        Priority::Urgent => "urgent",
    }
}

/// Zendesk's name for a status.
pub fn status(status: TicketStatus) -> &'static str {
    match status {
        TicketStatus::Open => "open",
        TicketStatus::Pending => "pending",
        TicketStatus::Solved => "solved",
        TicketStatus::Closed => "closed",
    }
}

fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(byte))
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use order_agent_core::domain::OrderId;
    use secrecy::SecretString;

    use super::*;

    fn config() -> ZendeskConfig {
        let mut config = ZendeskConfig::new(
            "https://shop.zendesk.com",
            "agent@shop.example",
            SecretString::from("tok"),
        );
        config.order_id_field = Some(360_001);
        config
    }

    #[test]
    fn create_carries_the_escalation_and_the_key() {
        let escalation = Escalation {
            ticket_id: None,
            order_id: Some(OrderId::new("1042")),
            priority: Priority::High,
            subject: "Refund needs approval".to_owned(),
            summary: "Above the limit".to_owned(),
            reasons: vec!["above_refund_limit".to_owned()],
        };
        let request = create_ticket("op", &config(), "esc:1042", &escalation);
        assert_eq!(request.method, Method::Post);
        assert_eq!(request.path_and_query, "/api/v2/tickets.json");
        assert_eq!(
            request.body,
            Some(json!({ "ticket": {
                "subject": "Refund needs approval",
                "comment": { "body": "Above the limit", "public": false },
                "priority": "high",
                "status": "open",
                "tags": ["above_refund_limit"],
                "external_id": "esc:1042",
                "custom_fields": [{ "id": 360_001, "value": "1042" }],
            }}))
        );
    }

    #[test]
    fn keys_are_query_encoded_and_auth_is_an_api_token() {
        assert_eq!(
            find_by_external_id("op", "conformance:run 1/a&b").path_and_query,
            "/api/v2/tickets.json?external_id=conformance%3Arun%201%2Fa%26b"
        );
        // base64("agent@shop.example/token:tok")
        assert_eq!(
            authorization(&config()),
            "Basic YWdlbnRAc2hvcC5leGFtcGxlL3Rva2VuOnRvaw=="
        );
    }

    #[test]
    fn an_update_sends_only_what_changes() {
        let request = update_ticket("op", 7, Some(Priority::Urgent), None);
        assert_eq!(request.method, Method::Put);
        assert_eq!(request.path_and_query, "/api/v2/tickets/7.json");
        assert_eq!(
            request.body,
            Some(json!({ "ticket": { "priority": "urgent" } }))
        );
    }
}
