//! Plumbing shared by the HTTP vendor adapters: requests as data, one sender, and the status and
//! transport mappings every vendor shares (timeouts, `Retry-After`).
//!
//! An adapter builds a [`WireRequest`] with a pure function (tested offline and against the
//! vendor's API description), then hands it to [`HttpSender::send`], which adds nothing but the
//! base URL.

use std::fmt;
use std::time::Duration;

use order_agent_core::ports::{PortError, PortResult};
use secrecy::{ExposeSecret, SecretString};

/// Responses larger than this are refused rather than buffered.
pub const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// An HTTP method the adapters use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
}

impl Method {
    /// The method as sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// A header value; secrets stay wrapped until the request is sent and are redacted in `Debug`.
#[derive(Clone)]
pub enum HeaderValue {
    /// Sent as is.
    Plain(String),
    /// A secret sent as is (`api-key`).
    Secret(SecretString),
    /// A secret sent as `Bearer {secret}` (`authorization`).
    Bearer(SecretString),
}

impl HeaderValue {
    /// The value as sent on the wire.
    pub fn expose(&self) -> String {
        match self {
            HeaderValue::Plain(v) => v.clone(),
            HeaderValue::Secret(s) => s.expose_secret().to_owned(),
            HeaderValue::Bearer(s) => format!("Bearer {}", s.expose_secret()),
        }
    }
}

impl fmt::Debug for HeaderValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderValue::Plain(v) => fmt::Debug::fmt(v, f),
            HeaderValue::Secret(_) | HeaderValue::Bearer(_) => f.write_str("[REDACTED]"),
        }
    }
}

/// A request body.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// No body.
    Empty,
    /// `application/x-www-form-urlencoded` pairs, in order.
    Form(Vec<(String, String)>),
    /// `application/json`.
    Json(serde_json::Value),
}

impl Body {
    /// The content type to send, if there is a body.
    pub fn content_type(&self) -> Option<&'static str> {
        match self {
            Body::Empty => None,
            Body::Form(_) => Some("application/x-www-form-urlencoded"),
            Body::Json(_) => Some("application/json"),
        }
    }

    /// The bytes sent.
    pub fn encode(&self) -> String {
        match self {
            Body::Empty => String::new(),
            Body::Form(pairs) => form_encode(pairs),
            Body::Json(value) => value.to_string(),
        }
    }
}

/// A request as data: built offline by a pure function, sent by [`HttpSender`].
#[derive(Debug, Clone)]
pub struct WireRequest {
    /// The operation it serves (`payments.refund`), for errors.
    pub operation: &'static str,
    /// The method.
    pub method: Method,
    /// The path below the base URL, starting with `/`, without the query.
    pub path: String,
    /// Query pairs, in order.
    pub query: Vec<(String, String)>,
    /// Headers, lower-case names; the content type is added from the body.
    pub headers: Vec<(String, HeaderValue)>,
    /// The body.
    pub body: Body,
}

impl WireRequest {
    /// The path with its encoded query, as sent after the base URL.
    pub fn path_and_query(&self) -> String {
        if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, form_encode(&self.query))
        }
    }

    /// The value of header `name`, exposed.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.expose())
    }
}

/// What came back: the status, the headers an adapter reads, and the body.
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

    /// The wait a `Retry-After` header asks for, in delta-seconds form.
    pub fn retry_after(&self) -> Option<Duration> {
        self.header("retry-after").and_then(parse_retry_after)
    }
}

/// Reads a `Retry-After` value in delta-seconds (`"2"`, `"1.5"`); HTTP dates are not used by the
/// vendors here and give `None`.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let seconds: f64 = value.trim().parse().ok()?;
    if (0.0..86_400.0).contains(&seconds) {
        Some(Duration::from_secs_f64(seconds))
    } else {
        None
    }
}

/// `application/x-www-form-urlencoded` encoding of `pairs`.
pub fn form_encode(pairs: &[(String, String)]) -> String {
    let mut out = String::new();
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode_component(key, &mut out);
        out.push('=');
        encode_component(value, &mut out);
    }
    out
}

fn encode_component(text: &str, out: &mut String) {
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(char::from(byte))
            }
            b' ' => out.push('+'),
            _ => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(char::from(HEX[usize::from(byte >> 4)]));
                out.push(char::from(HEX[usize::from(byte & 0x0f)]));
            }
        }
    }
}

/// Percent-encodes one path segment (an id a caller passed).
pub fn path_segment(text: &str) -> String {
    let mut out = String::new();
    encode_component(text, &mut out);
    out.replace('+', "%20")
}

/// Sends [`WireRequest`]s to one base URL.
#[derive(Debug, Clone)]
pub struct HttpSender {
    client: reqwest::Client,
    base_url: String,
}

impl HttpSender {
    /// A sender to `base_url` (`https://api.stripe.com`, or a loopback mock) that gives up on one
    /// request after `timeout`.
    pub fn new(base_url: &str, timeout: Duration) -> PortResult<HttpSender> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| {
                PortError::unexpected("http.client", "cannot build the http client").with_source(e)
            })?;
        Ok(HttpSender {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
        })
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Sends `request` and returns its 2xx response; any other status becomes an error through
    /// `error` (the adapter's one error table). Transport failures map to
    /// [`Timeout`](order_agent_core::ports::PortErrorKind::Timeout) (no answer in time: the effect
    /// may have happened) or [`Unavailable`](order_agent_core::ports::PortErrorKind::Unavailable)
    /// (no connection).
    pub async fn send_checked(
        &self,
        request: &WireRequest,
        error: fn(&'static str, &WireResponse) -> PortError,
    ) -> PortResult<WireResponse> {
        let response = self.send(request).await?;
        if (200..300).contains(&response.status) {
            Ok(response)
        } else {
            Err(error(request.operation, &response))
        }
    }

    /// Sends `request` and returns the response whatever its status; errors as for
    /// [`send_checked`](Self::send_checked).
    pub async fn send(&self, request: &WireRequest) -> PortResult<WireResponse> {
        let op = request.operation;
        let url = format!("{}{}", self.base_url, request.path_and_query());
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
        };
        let mut builder = self.client.request(method, &url);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.expose());
        }
        if let Some(content_type) = request.body.content_type() {
            builder = builder
                .header("content-type", content_type)
                .body(request.body.encode());
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

/// The kind-level fallback for a status no vendor table claimed: 429 rate limited (with
/// `Retry-After`), 5xx unavailable, 401/403 unauthorized, 404 not found, 409 conflict, other 4xx
/// invalid input.
pub fn status_error(op: &'static str, response: &WireResponse) -> PortError {
    let status = response.status;
    let err = match status {
        429 => PortError::rate_limited(op, response.retry_after()),
        401 | 403 => PortError::unauthorized(op, "credentials refused"),
        404 => PortError::not_found(op, "not found"),
        409 => PortError::conflict(op, "conflicts with another request"),
        408 => PortError::timeout(op, "the service timed out"),
        500..=599 => PortError::unavailable(op, "server error"),
        400..=499 => PortError::invalid_input(op, "request refused"),
        _ => PortError::unexpected(op, "unexpected status"),
    };
    err.with_context("status", status)
}

/// Parses a 2xx JSON body of `vendor`'s API; a body that does not parse is
/// [`Unexpected`](order_agent_core::ports::PortErrorKind::Unexpected), with the status in its
/// context.
pub fn parse_json<T: serde::de::DeserializeOwned>(
    vendor: &'static str,
    op: &'static str,
    response: &WireResponse,
) -> PortResult<T> {
    serde_json::from_slice(&response.body).map_err(|e| {
        PortError::unexpected(op, format!("cannot read the {vendor} response"))
            .with_context("status", response.status)
            .with_source(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_escapes_reserved_bytes() {
        let pairs = vec![
            ("metadata[order_id]".to_owned(), "#1042 a&b=c".to_owned()),
            ("amount".to_owned(), "400".to_owned()),
        ];
        assert_eq!(
            form_encode(&pairs),
            "metadata%5Border_id%5D=%231042+a%26b%3Dc&amount=400"
        );
        assert_eq!(path_segment("pi 1/2"), "pi%201%2F2");
    }

    #[test]
    fn retry_after_reads_delta_seconds_only() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_retry_after(" 1.5 "),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let value = HeaderValue::Bearer(SecretString::from("sk_test_123"));
        assert_eq!(format!("{value:?}"), "[REDACTED]");
        assert_eq!(value.expose(), "Bearer sk_test_123");
    }
}
