//! A small stateful Zendesk Support API on loopback, following Zendesk's documentation of the
//! Tickets and Ticket Comments endpoints: API-token basic auth, `external_id` filtering, internal
//! comments, `new`/`open`/`pending`/`hold`/`solved`/`closed`, tags lower-cased and split on
//! spaces, `RecordNotFound` 404s and `RecordInvalid` 422s, offset pagination of comments.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Value};

/// The API token the mock accepts, for agent `agent@shop.example`.
pub const TOKEN: &str = "zd-test-token";
/// The agent the token belongs to.
pub const EMAIL: &str = "agent@shop.example";

/// One request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The method.
    pub method: String,
    /// The path and query.
    pub path_and_query: String,
    /// The JSON body, if any.
    pub body: Option<Value>,
}

#[derive(Debug, Clone)]
struct MockComment {
    body: String,
    public: bool,
    created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
struct MockTicket {
    id: u64,
    external_id: Option<String>,
    subject: String,
    priority: Option<String>,
    status: String,
    tags: Vec<String>,
    custom_fields: Value,
    created_at: DateTime<Utc>,
    comments: Vec<MockComment>,
}

impl MockTicket {
    fn json(&self) -> Value {
        json!({
            "id": self.id,
            "url": format!("https://shop.zendesk.com/api/v2/tickets/{}.json", self.id),
            "external_id": self.external_id,
            "subject": self.subject,
            "raw_subject": self.subject,
            "description": self.comments.first().map(|c| c.body.clone()).unwrap_or_default(),
            "priority": self.priority,
            "status": self.status,
            "type": null,
            "tags": self.tags,
            "custom_fields": self.custom_fields,
            "created_at": self.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "updated_at": self.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        })
    }
}

#[derive(Debug, Default)]
struct Inner {
    tickets: Vec<MockTicket>,
    next_id: u64,
    ticks: i64,
    requests: Vec<Recorded>,
    faults: VecDeque<(u16, Option<u64>)>,
}

impl Inner {
    fn now(&mut self) -> DateTime<Utc> {
        self.ticks += 1;
        Utc.with_ymd_and_hms(2026, 11, 26, 9, 0, 0).unwrap() + Duration::seconds(self.ticks)
    }
}

/// The running mock; it stops with the test's runtime.
#[derive(Clone)]
pub struct ZendeskMock {
    base_url: String,
    inner: Arc<Mutex<Inner>>,
}

impl ZendeskMock {
    /// Starts the mock on a free loopback port.
    pub async fn start() -> ZendeskMock {
        let inner = Arc::new(Mutex::new(Inner {
            next_id: 101,
            ..Inner::default()
        }));
        let app = Router::new()
            .route("/api/v2/tickets.json", get(list).post(create))
            .route("/api/v2/tickets/{id}", get(show).put(update))
            .route("/api/v2/tickets/{id}/comments.json", get(comments))
            .with_state(inner.clone());
        let app = app.layer(axum::middleware::from_fn_with_state(
            inner.clone(),
            gatekeeper,
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        ZendeskMock {
            base_url: format!("http://{addr}"),
            inner,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().unwrap().requests.clone()
    }

    /// How many tickets exist.
    pub fn ticket_count(&self) -> usize {
        self.inner.lock().unwrap().tickets.len()
    }

    /// The next request is answered with `status` (and `Retry-After`), not processed.
    pub fn fail_next(&self, status: u16, retry_after: Option<u64>) {
        self.inner
            .lock()
            .unwrap()
            .faults
            .push_back((status, retry_after));
    }

    /// Closes ticket `id` as a Zendesk automation would.
    pub fn close(&self, id: u64) {
        let mut inner = self.inner.lock().unwrap();
        if let Some(t) = inner.tickets.iter_mut().find(|t| t.id == id) {
            t.status = "closed".to_owned();
        }
    }
}

type Shared = Arc<Mutex<Inner>>;

fn error(status: StatusCode, code: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": code, "description": description })),
    )
        .into_response()
}

fn query_param(uri: &Uri, name: &str) -> Option<String> {
    uri.query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| super::percent_decode(v))
    })
}

/// Records the request, checks the API token, and plays queued faults.
async fn gatekeeper(
    State(inner): State<Shared>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    {
        let mut inner = inner.lock().unwrap();
        inner.requests.push(Recorded {
            method: parts.method.to_string(),
            path_and_query: parts
                .uri
                .path_and_query()
                .map(|p| p.to_string())
                .unwrap_or_default(),
            body: serde_json::from_slice(&bytes).ok(),
        });
        if let Some((status, retry_after)) = inner.faults.pop_front() {
            let mut response = error(
                StatusCode::from_u16(status).unwrap(),
                "Injected",
                "injected fault",
            );
            if let Some(secs) = retry_after {
                response
                    .headers_mut()
                    .insert("retry-after", secs.to_string().parse().unwrap());
            }
            return response;
        }
    }
    let expected = {
        use base64::Engine as _;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{EMAIL}/token:{TOKEN}"))
        )
    };
    let authorized = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        == Some(expected.as_str());
    if !authorized {
        return error(
            StatusCode::UNAUTHORIZED,
            "Couldn't authenticate you",
            "Couldn't authenticate you",
        );
    }
    if !bytes.is_empty() && !content_type_is_json(&parts.headers) {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "InvalidContentType",
            "use application/json",
        );
    }
    let request = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
    next.run(request).await
}

fn content_type_is_json(headers: &HeaderMap) -> bool {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

fn normalise_tags(tags: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for tag in tags.as_array().into_iter().flatten() {
        for word in tag.as_str().unwrap_or("").split_whitespace() {
            let word = word.to_lowercase();
            if !out.contains(&word) {
                out.push(word);
            }
        }
    }
    out
}

const PRIORITIES: [&str; 4] = ["low", "normal", "high", "urgent"];
const STATUSES: [&str; 6] = ["new", "open", "pending", "hold", "solved", "closed"];

fn invalid(field: &str, problem: &str) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({
            "error": "RecordInvalid",
            "description": "Record validation errors",
            "details": { field: [{ "description": format!("{field}: {problem}") }] },
        })),
    )
        .into_response()
}

async fn list(State(inner): State<Shared>, uri: Uri) -> Response {
    let inner = inner.lock().unwrap();
    let wanted = query_param(&uri, "external_id");
    let tickets: Vec<Value> = inner
        .tickets
        .iter()
        .filter(|t| wanted.is_none() || t.external_id == wanted)
        .map(MockTicket::json)
        .collect();
    Json(json!({ "count": tickets.len(), "tickets": tickets, "next_page": null, "previous_page": null }))
        .into_response()
}

async fn create(State(inner): State<Shared>, body: Bytes) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "InvalidJSON", "not json");
    };
    let ticket = &body["ticket"];
    let Some(comment) = ticket["comment"]["body"]
        .as_str()
        .filter(|b| !b.trim().is_empty())
    else {
        return invalid("description", "cannot be blank");
    };
    let priority = ticket["priority"].as_str().map(str::to_owned);
    if priority
        .as_deref()
        .is_some_and(|p| !PRIORITIES.contains(&p))
    {
        return invalid("priority", "is invalid");
    }
    let status = ticket["status"].as_str().unwrap_or("new").to_owned();
    if !STATUSES.contains(&status.as_str()) {
        return invalid("status", "is invalid");
    }
    let mut inner = inner.lock().unwrap();
    let id = inner.next_id;
    inner.next_id += 1;
    let now = inner.now();
    let created = MockTicket {
        id,
        external_id: ticket["external_id"].as_str().map(str::to_owned),
        subject: ticket["subject"].as_str().unwrap_or("").to_owned(),
        priority,
        status,
        tags: normalise_tags(&ticket["tags"]),
        custom_fields: ticket
            .get("custom_fields")
            .cloned()
            .unwrap_or_else(|| json!([])),
        created_at: now,
        comments: vec![MockComment {
            body: comment.to_owned(),
            public: ticket["comment"]["public"].as_bool().unwrap_or(true),
            created_at: now,
        }],
    };
    let response = json!({ "ticket": created.json() });
    inner.tickets.push(created);
    (StatusCode::CREATED, Json(response)).into_response()
}

fn ticket_id(segment: &str) -> Option<u64> {
    segment.strip_suffix(".json")?.parse().ok()
}

async fn show(State(inner): State<Shared>, Path(id): Path<String>) -> Response {
    let inner = inner.lock().unwrap();
    match ticket_id(&id).and_then(|id| inner.tickets.iter().find(|t| t.id == id)) {
        Some(t) => Json(json!({ "ticket": t.json() })).into_response(),
        None => error(StatusCode::NOT_FOUND, "RecordNotFound", "Not found"),
    }
}

async fn update(
    State(inner): State<Shared>,
    method: Method,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    assert_eq!(method, Method::PUT);
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "InvalidJSON", "not json");
    };
    let change = &body["ticket"];
    let mut inner = inner.lock().unwrap();
    let now = inner.now();
    let Some(t) = ticket_id(&id).and_then(|id| inner.tickets.iter_mut().find(|t| t.id == id))
    else {
        return error(StatusCode::NOT_FOUND, "RecordNotFound", "Not found");
    };
    if t.status == "closed" {
        return invalid("status", "closed prevents ticket update");
    }
    if let Some(p) = change.get("priority") {
        match p.as_str() {
            Some(p) if PRIORITIES.contains(&p) => t.priority = Some(p.to_owned()),
            _ => return invalid("priority", "is invalid"),
        }
    }
    if let Some(s) = change.get("status") {
        match s.as_str() {
            Some(s) if STATUSES.contains(&s) => t.status = s.to_owned(),
            _ => return invalid("status", "is invalid"),
        }
    }
    if let Some(comment) = change.get("comment") {
        let Some(text) = comment["body"].as_str().filter(|b| !b.trim().is_empty()) else {
            return invalid("comment", "cannot be blank");
        };
        t.comments.push(MockComment {
            body: text.to_owned(),
            public: comment["public"].as_bool().unwrap_or(true),
            created_at: now,
        });
    }
    Json(json!({ "ticket": t.json(), "audit": { "events": [] } })).into_response()
}

async fn comments(State(inner): State<Shared>, Path(id): Path<String>, uri: Uri) -> Response {
    let inner = inner.lock().unwrap();
    let Some(t) = id
        .parse::<u64>()
        .ok()
        .and_then(|id| inner.tickets.iter().find(|t| t.id == id))
    else {
        return error(StatusCode::NOT_FOUND, "RecordNotFound", "Not found");
    };
    let per_page: usize = query_param(&uri, "per_page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(100)
        .clamp(1, 100);
    let page: usize = query_param(&uri, "page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    let mut all = t.comments.clone();
    if query_param(&uri, "sort_order").as_deref() == Some("desc") {
        all.reverse();
    }
    let slice: Vec<Value> = all
        .iter()
        .enumerate()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|(n, c)| {
            json!({
                "id": n + 1,
                "type": "Comment",
                "body": c.body,
                "public": c.public,
                "created_at": c.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            })
        })
        .collect();
    let next_page = (page * per_page < all.len()).then(|| {
        format!(
            "https://shop.zendesk.com/api/v2/tickets/{}/comments.json?page={}&per_page={per_page}",
            t.id,
            page + 1
        )
    });
    Json(json!({ "comments": slice, "next_page": next_page, "count": all.len() })).into_response()
}
