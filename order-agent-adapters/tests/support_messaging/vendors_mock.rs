//! One loopback server speaking three vendors' documented wire formats, each small and stateful:
//!
//! - SendGrid `POST /v3/mail/send` (bearer key, JSON; `202` with `X-Message-Id`; `400` with
//!   `errors[].field` for a bad recipient address);
//! - Twilio `POST /2010-04-01/Accounts/{sid}/Messages.json` (basic auth, form-encoded `To`,
//!   `From`/`MessagingServiceSid`, `Body`; `201` with an `SM...` sid; `400` with Twilio's error
//!   `code`, 21610 for the unsubscribed number [`REFUSED_NUMBER`]);
//! - WhatsApp Cloud API `POST /{version}/{phone-number-id}/messages` (bearer token, JSON; `200`
//!   with `messages[0].id`; `400` with `error.code` 131030 for [`REFUSED_NUMBER`]).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::form_pairs;

/// SendGrid's API key.
pub const SENDGRID_KEY: &str = "SG.test-key";
/// Twilio's account SID and auth token.
pub const TWILIO_SID: &str = "AC0123456789abcdef0123456789abcdef";
/// Twilio's auth token.
pub const TWILIO_TOKEN: &str = "twilio-test-token";
/// The WhatsApp Cloud API access token.
pub const WHATSAPP_TOKEN: &str = "EAAG-test-token";
/// The WhatsApp business phone number id.
pub const WHATSAPP_PHONE_ID: &str = "106540352242922";
/// A number that opted out (Twilio) or is not in the allowed list (WhatsApp).
pub const REFUSED_NUMBER: &str = "+41790000099";

/// One request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The method.
    pub method: String,
    /// The path.
    pub path: String,
    /// The content type.
    pub content_type: String,
    /// The raw body.
    pub body: String,
}

impl Recorded {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }

    /// The body as form pairs.
    pub fn form(&self) -> Vec<(String, String)> {
        form_pairs(&self.body)
    }
}

#[derive(Debug, Default)]
struct Inner {
    requests: Vec<Recorded>,
    faults: VecDeque<(u16, Option<u64>, Value)>,
    sent: u64,
}

/// The running mock.
#[derive(Clone)]
pub struct VendorsMock {
    base_url: String,
    inner: Arc<Mutex<Inner>>,
}

impl VendorsMock {
    /// Starts the mock on a free loopback port.
    pub async fn start() -> VendorsMock {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new().fallback(handle).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        VendorsMock {
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

    /// The next request is answered with `status`, `Retry-After` and `body`, not processed.
    pub fn fail_next(&self, status: u16, retry_after: Option<u64>, body: Value) {
        self.inner
            .lock()
            .unwrap()
            .faults
            .push_back((status, retry_after, body));
    }
}

type Shared = Arc<Mutex<Inner>>;

fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

async fn handle(
    State(inner): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let recorded = Recorded {
        method: method.to_string(),
        path: path.clone(),
        content_type: header(&headers, "content-type").to_owned(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let mut inner = inner.lock().unwrap();
    inner.requests.push(recorded.clone());
    if let Some((status, retry_after, body)) = inner.faults.pop_front() {
        let mut response = (StatusCode::from_u16(status).unwrap(), Json(body)).into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert("retry-after", secs.to_string().parse().unwrap());
        }
        return response;
    }
    if method != Method::POST {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let auth = header(&headers, "authorization").to_owned();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["v3", "mail", "send"] => sendgrid(&mut inner, &auth, &recorded),
        ["2010-04-01", "Accounts", sid, "Messages.json"] => {
            twilio(&mut inner, &auth, sid, &recorded)
        }
        [_version, phone, "messages"] => whatsapp(&mut inner, &auth, phone, &recorded),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

fn sendgrid(inner: &mut Inner, auth: &str, request: &Recorded) -> Response {
    if auth != format!("Bearer {SENDGRID_KEY}") {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "errors": [{ "field": null, "message": "authorization required" }] })),
        )
            .into_response();
    }
    if !request.content_type.starts_with("application/json") {
        return StatusCode::UNSUPPORTED_MEDIA_TYPE.into_response();
    }
    let Ok(body) = serde_json::from_str::<Value>(&request.body) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "errors": [{ "field": null, "message": "Bad Request" }] })),
        )
            .into_response();
    };
    let to = body["personalizations"][0]["to"][0]["email"]
        .as_str()
        .unwrap_or("");
    if !to.contains('@') {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "errors": [{
                "field": "personalizations.0.to.0.email",
                "message": "Does not contain a valid address.",
                "help": "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message.personalizations.to",
            }] })),
        )
            .into_response();
    }
    if body["content"][0]["value"]
        .as_str()
        .unwrap_or("")
        .is_empty()
    {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "errors": [{ "field": "content.0.value", "message": "The content value must be a string at least one character in length." }] })),
        )
            .into_response();
    }
    inner.sent += 1;
    let mut response = StatusCode::ACCEPTED.into_response();
    response.headers_mut().insert(
        "x-message-id",
        format!("sg-{:016x}", inner.sent).parse().unwrap(),
    );
    response
}

fn twilio(inner: &mut Inner, auth: &str, sid: &str, request: &Recorded) -> Response {
    let error = |status: StatusCode, code: u32, message: &str| {
        (
            status,
            Json(json!({
                "code": code,
                "message": message,
                "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
                "status": status.as_u16(),
            })),
        )
            .into_response()
    };
    if sid != TWILIO_SID || auth != basic(TWILIO_SID, TWILIO_TOKEN) {
        return error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let form = request.form();
    let get = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let Some(to) = get("To") else {
        return error(
            StatusCode::BAD_REQUEST,
            21604,
            "A 'To' phone number is required.",
        );
    };
    let from = get("From");
    if from.is_none() && get("MessagingServiceSid").is_none() {
        return error(
            StatusCode::BAD_REQUEST,
            21603,
            "A 'From' phone number is required.",
        );
    }
    if to.starts_with("whatsapp:") != from.as_deref().unwrap_or("").starts_with("whatsapp:") {
        return error(
            StatusCode::BAD_REQUEST,
            21910,
            "Invalid From and To pair. From and To should be of the same channel",
        );
    }
    if to.trim_start_matches("whatsapp:") == REFUSED_NUMBER {
        return error(
            StatusCode::BAD_REQUEST,
            21610,
            "Attempt to send to unsubscribed recipient",
        );
    }
    if get("Body").unwrap_or_default().is_empty() {
        return error(StatusCode::BAD_REQUEST, 21602, "Message body is required.");
    }
    inner.sent += 1;
    (
        StatusCode::CREATED,
        Json(json!({
            "sid": format!("SM{:032x}", inner.sent),
            "account_sid": TWILIO_SID,
            "to": to,
            "from": from,
            "body": get("Body"),
            "status": "queued",
            "num_segments": "1",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
        })),
    )
        .into_response()
}

fn whatsapp(inner: &mut Inner, auth: &str, phone: &str, request: &Recorded) -> Response {
    let error = |status: StatusCode, code: u32, message: &str| {
        (
            status,
            Json(json!({ "error": {
                "message": message,
                "type": "OAuthException",
                "code": code,
                "fbtrace_id": "AbCdEf123",
            } })),
        )
            .into_response()
    };
    if auth != format!("Bearer {WHATSAPP_TOKEN}") {
        return error(
            StatusCode::UNAUTHORIZED,
            190,
            "Invalid OAuth access token - Cannot parse access token",
        );
    }
    if phone != WHATSAPP_PHONE_ID {
        return error(
            StatusCode::BAD_REQUEST,
            100,
            "Unsupported post request. Object does not exist",
        );
    }
    let Ok(body) = serde_json::from_str::<Value>(&request.body) else {
        return error(StatusCode::BAD_REQUEST, 100, "Invalid parameter");
    };
    if body["messaging_product"] != "whatsapp" {
        return error(
            StatusCode::BAD_REQUEST,
            100,
            "(#100) The parameter messaging_product is required.",
        );
    }
    let to = body["to"].as_str().unwrap_or("");
    if to.is_empty() || !to.chars().all(|c| c.is_ascii_digit()) {
        return error(StatusCode::BAD_REQUEST, 100, "(#100) Invalid parameter");
    }
    if format!("+{to}") == REFUSED_NUMBER {
        return error(
            StatusCode::BAD_REQUEST,
            131030,
            "(#131030) Recipient phone number not in allowed list",
        );
    }
    if body["type"] != "text" || body["text"]["body"].as_str().unwrap_or("").is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            100,
            "(#100) The parameter text['body'] is required.",
        );
    }
    inner.sent += 1;
    Json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{ "input": to, "wa_id": to }],
        "messages": [{ "id": format!("wamid.HBgL{:020}", inner.sent) }],
    }))
    .into_response()
}
