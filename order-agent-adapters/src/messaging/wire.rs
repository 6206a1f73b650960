//! Requests as data for the HTTP messaging providers, and the one sender that puts them on the
//! wire. Secrets stay wrapped until sending and are redacted in `Debug`.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use order_agent_core::ports::{PortError, PortResult};
use secrecy::{ExposeSecret, SecretString};

/// Responses larger than this are refused rather than buffered.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// How a request authenticates.
#[derive(Clone)]
pub enum Auth {
    /// `Authorization: Bearer {token}` (SendGrid, WhatsApp Cloud API).
    Bearer(SecretString),
    /// `Authorization: Basic base64({user}:{password})` (Twilio).
    Basic {
        /// The user (Twilio: the account SID or an API key SID).
        user: String,
        /// The password (Twilio: the auth token or API key secret).
        password: SecretString,
    },
}

impl Auth {
    /// The `Authorization` header value.
    pub fn header_value(&self) -> String {
        match self {
            Auth::Bearer(token) => format!("Bearer {}", token.expose_secret()),
            Auth::Basic { user, password } => {
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD
                        .encode(format!("{user}:{}", password.expose_secret()))
                )
            }
        }
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Bearer(_) => f.write_str("Bearer([REDACTED])"),
            Auth::Basic { user, .. } => write!(f, "Basic({user}:[REDACTED])"),
        }
    }
}

/// A request body.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// `application/json`.
    Json(serde_json::Value),
    /// `application/x-www-form-urlencoded` pairs, in order.
    Form(Vec<(String, String)>),
}

impl Body {
    /// The content type sent with it.
    pub fn content_type(&self) -> &'static str {
        match self {
            Body::Json(_) => "application/json",
            Body::Form(_) => "application/x-www-form-urlencoded",
        }
    }

    /// The bytes sent.
    pub fn encode(&self) -> String {
        match self {
            Body::Json(value) => value.to_string(),
            Body::Form(pairs) => {
                let mut out = String::new();
                for (i, (key, value)) in pairs.iter().enumerate() {
                    if i > 0 {
                        out.push('&');
                    }
                    form_component(key, &mut out);
                    out.push('=');
                    form_component(value, &mut out);
                }
                out
            }
        }
    }
}

/// A `POST` as data: built offline by a pure function, sent by [`Sender`].
#[derive(Debug, Clone)]
pub struct WireRequest {
    /// The operation it serves, for errors.
    pub operation: &'static str,
    /// The path below the base URL, starting with `/`.
    pub path: String,
    /// How it authenticates.
    pub auth: Auth,
    /// Extra headers, lower-case names.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Body,
}

/// What came back.
#[derive(Debug, Clone)]
pub struct WireResponse {
    /// The HTTP status.
    pub status: u16,
    /// Headers, lower-case names.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl WireResponse {
    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The wait `Retry-After` asks for, in delta-seconds.
    pub fn retry_after(&self) -> Option<Duration> {
        let seconds: f64 = self.header("retry-after")?.trim().parse().ok()?;
        (0.0..86_400.0)
            .contains(&seconds)
            .then(|| Duration::from_secs_f64(seconds))
    }
}

/// Sends [`WireRequest`]s to one base URL.
#[derive(Debug, Clone)]
pub struct Sender {
    client: reqwest::Client,
    base_url: String,
}

impl Sender {
    /// A sender to `base_url` that gives up on one request after `timeout`.
    pub fn new(op: &'static str, base_url: &str, timeout: Duration) -> PortResult<Sender> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| {
                PortError::unexpected(op, "cannot build the http client").with_source(e)
            })?;
        Ok(Sender {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
        })
    }

    /// Sends `request` and reads the whole response; no answer in time is `Timeout`, no
    /// connection `Unavailable`.
    pub async fn send(&self, request: &WireRequest) -> PortResult<WireResponse> {
        let op = request.operation;
        let mut builder = self
            .client
            .post(format!("{}{}", self.base_url, request.path))
            .header("authorization", request.auth.header_value())
            .header("content-type", request.body.content_type())
            .header("accept", "application/json")
            .body(request.body.encode());
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let mut response = builder.send().await.map_err(|e| transport_error(op, e))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(name, value)| {
                value
                    .to_str()
                    .ok()
                    .map(|v| (name.as_str().to_ascii_lowercase(), v.to_owned()))
            })
            .collect();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| transport_error(op, e))? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(PortError::unexpected(op, "response larger than the limit"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(WireResponse {
            status,
            headers,
            body,
        })
    }
}

fn transport_error(op: &'static str, error: reqwest::Error) -> PortError {
    if error.is_timeout() {
        PortError::timeout(op, "no answer in time").with_source(error)
    } else {
        PortError::unavailable(op, "cannot reach the service").with_source(error)
    }
}

/// The statuses every provider shares: 429 rate limited (with `Retry-After`), 401/403
/// unauthorized, 408 timeout, 5xx unavailable, other 4xx invalid input.
pub fn status_error(op: &'static str, response: &WireResponse) -> PortError {
    let status = response.status;
    let err = match status {
        429 => PortError::rate_limited(op, response.retry_after()),
        401 | 403 => PortError::unauthorized(op, "credentials refused"),
        408 => PortError::timeout(op, "the service timed out"),
        500..=599 => PortError::unavailable(op, "server error"),
        400..=499 => PortError::invalid_input(op, "request refused"),
        _ => PortError::unexpected(op, "unexpected status"),
    };
    err.with_context("status", status)
}

fn form_component(text: &str, out: &mut String) {
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(char::from(byte))
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
}

/// Percent-encodes one path segment.
pub fn path_segment(text: &str) -> String {
    let mut out = String::new();
    form_component(text, &mut out);
    out.replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_and_form_encoding() {
        let auth = Auth::Basic {
            user: "AC123".to_owned(),
            password: SecretString::from("tok"),
        };
        // base64("AC123:tok")
        assert_eq!(auth.header_value(), "Basic QUMxMjM6dG9r");
        assert_eq!(format!("{auth:?}"), "Basic(AC123:[REDACTED])");
        let form = Body::Form(vec![
            ("To".to_owned(), "whatsapp:+41 79".to_owned()),
            ("Body".to_owned(), "Grüezi & hi".to_owned()),
        ]);
        assert_eq!(
            form.encode(),
            "To=whatsapp%3A%2B41+79&Body=Gr%C3%BCezi+%26+hi"
        );
    }
}
