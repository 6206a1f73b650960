//! Requests as data for the HTTP messaging providers (all `POST`s, authenticated by [`Auth`]),
//! sent through the adapters' shared HTTP plumbing (`crate::http`). Secrets stay wrapped until
//! sending and are redacted in `Debug`.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use order_agent_core::ports::{PortError, PortResult};
use secrecy::{ExposeSecret, SecretString};

use crate::http::{self, HeaderValue, HttpSender, Method};
pub use crate::http::{path_segment, Body, WireResponse};

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

/// Sends [`WireRequest`]s to one base URL, through the adapters' shared [`HttpSender`].
#[derive(Debug, Clone)]
pub struct Sender {
    http: HttpSender,
}

impl Sender {
    /// A sender to `base_url` that gives up on one request after `timeout`.
    pub fn new(op: &'static str, base_url: &str, timeout: Duration) -> PortResult<Sender> {
        let http = HttpSender::new(base_url, timeout).map_err(|e| e.with_operation(op))?;
        Ok(Sender { http })
    }

    /// Sends `request` as a `POST` and reads the whole response; no answer in time is
    /// `Timeout`, no connection `Unavailable`.
    pub async fn send(&self, request: &WireRequest) -> PortResult<WireResponse> {
        let mut headers = vec![
            (
                "authorization".to_owned(),
                HeaderValue::Secret(SecretString::from(request.auth.header_value())),
            ),
            (
                "accept".to_owned(),
                HeaderValue::Plain("application/json".to_owned()),
            ),
        ];
        headers.extend(
            request
                .headers
                .iter()
                .map(|(name, value)| (name.clone(), HeaderValue::Plain(value.clone()))),
        );
        let wire = http::WireRequest {
            operation: request.operation,
            method: Method::Post,
            path: request.path.clone(),
            query: Vec::new(),
            headers,
            body: request.body.clone(),
        };
        self.http.send(&wire).await
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
