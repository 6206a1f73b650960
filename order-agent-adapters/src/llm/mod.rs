//! Understanding customer messages with an LLM, under guardrails (feature `llm`).
//!
//! [`LlmInterpreter`] implements the [`Interpreter`] port over an OpenAI-compatible Chat
//! Completions endpoint (OpenAI, vLLM, Ollama, ... through a configurable base URL) or Anthropic
//! Messages. The LLM only *proposes* a reading of one message; it never decides:
//!
//! - It sees the customer's message, minimised ([`prompt::minimise`]), and nothing else: no order,
//!   no customer record, no other conversation.
//! - Its answer is parsed strictly ([`prompt::guard`]): malformed, oversized or out-of-vocabulary
//!   answers become [`Intent::OutOfScope`] with confidence 0 (the agent asks, then hands over),
//!   and every reference it claims (order number, email, phone, postcode, tracking number, item
//!   words) is kept only if the message literally contains it. An intent that would change an
//!   order (return, refund, cancellation, address or item change) is overruled when the
//!   built-in reading confidently says otherwise.
//! - Identity, amounts, recipients and every action still come from the agent's verification and
//!   the policy engine; nothing the LLM writes reaches a customer.
//! - On a timeout, a vendor error or an exhausted [`budget`], the built-in understanding
//!   ([`BuiltinInterpreter`]) reads the message instead.
//!
//! Requests are built as data ([`openai::build_request`], [`anthropic::build_request`]) and sent
//! separately, so they are tested offline.
//!
//! [`Intent::OutOfScope`]: order_agent_core::ports::Intent::OutOfScope
//!
//! ```no_run
//! # async fn run(agent: order_agent_core::agent::Agent) -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use order_agent_adapters::llm::{in_conversation, LlmConfig, LlmInterpreter};
//! use order_agent_core::domain::Channel;
//!
//! let config = LlmConfig::openai("http://127.0.0.1:11434/v1", "llama3.2", None);
//! let interpreter = Arc::new(LlmInterpreter::new(config)?);
//! // ... put `interpreter` into the agent's `Ports`, then charge each message to its conversation:
//! let turn = in_conversation(
//!     "whatsapp:+41790000000",
//!     agent.handle_message(Channel::Whatsapp, "+41790000000", "Wo ist meine Bestellung?"),
//! )
//! .await?;
//! # let _ = (interpreter, turn); Ok(()) }
//! ```
#![cfg_attr(docsrs, doc(cfg(feature = "llm")))]

pub mod anthropic;
pub mod budget;
pub mod openai;
pub mod prompt;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use order_agent_core::domain::Locale;
use order_agent_core::ports::language::ops;
use order_agent_core::ports::{Interpretation, Interpreter, PortError, PortResult};
use order_agent_core::understanding::BuiltinInterpreter;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

pub use budget::{in_conversation, BudgetConfig, Usage};
pub use prompt::Rejection;

use budget::{current_conversation, Ledger};

/// Largest response body read from the vendor; a larger one counts as a vendor error.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// The wire format of the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// OpenAI-compatible Chat Completions, `POST {base_url}/chat/completions`.
    Openai,
    /// Anthropic Messages, `POST {base_url}/v1/messages`.
    Anthropic,
}

/// Where and how to ask the LLM.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmConfig {
    /// The wire format.
    pub provider: Provider,
    /// The endpoint's base URL: `https://api.openai.com/v1`, `http://127.0.0.1:11434/v1`
    /// (Ollama), `https://api.anthropic.com`.
    pub base_url: String,
    /// The model name.
    pub model: String,
    /// The API key; local servers usually need none. Never logged nor shown by `Debug`.
    #[serde(default)]
    pub api_key: Option<SecretString>,
    /// How long one call may take before the built-in understanding answers instead.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Most tokens the model may write per message.
    #[serde(default = "default_max_output_tokens")]
    pub max_output_tokens: u32,
    /// Most characters of the customer's message sent to the model.
    #[serde(default = "default_max_input_chars")]
    pub max_input_chars: usize,
    /// Sampling temperature; `None` leaves the vendor's default (some reasoning models accept no
    /// other).
    #[serde(default = "default_temperature")]
    pub temperature: Option<f32>,
    /// The `anthropic-version` header.
    #[serde(default = "default_anthropic_version")]
    pub anthropic_version: String,
    /// Token and cost limits per conversation.
    #[serde(default)]
    pub budget: BudgetConfig,
}

fn default_timeout_ms() -> u64 {
    4_000
}

fn default_max_output_tokens() -> u32 {
    300
}

fn default_max_input_chars() -> usize {
    1_000
}

#[allow(clippy::unnecessary_wraps)]
fn default_temperature() -> Option<f32> {
    Some(0.0)
}

fn default_anthropic_version() -> String {
    "2023-06-01".to_owned()
}

impl LlmConfig {
    /// An OpenAI-compatible endpoint with the default limits.
    pub fn openai(
        base_url: impl Into<String>,
        model: impl Into<String>,
        api_key: Option<SecretString>,
    ) -> LlmConfig {
        LlmConfig {
            provider: Provider::Openai,
            base_url: base_url.into(),
            model: model.into(),
            api_key,
            timeout_ms: default_timeout_ms(),
            max_output_tokens: default_max_output_tokens(),
            max_input_chars: default_max_input_chars(),
            temperature: default_temperature(),
            anthropic_version: default_anthropic_version(),
            budget: BudgetConfig::default(),
        }
    }

    /// Anthropic Messages with the default limits.
    pub fn anthropic(
        base_url: impl Into<String>,
        model: impl Into<String>,
        api_key: SecretString,
    ) -> LlmConfig {
        LlmConfig {
            provider: Provider::Anthropic,
            api_key: Some(api_key),
            ..LlmConfig::openai(base_url, model, None)
        }
    }
}

/// A header value; secrets stay wrapped until the request is sent.
#[derive(Clone)]
pub enum HeaderValue {
    /// Sent as is.
    Plain(String),
    /// A secret sent as is (`x-api-key`).
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

/// A request as data: built offline, sent by [`LlmInterpreter`].
#[derive(Debug, Clone)]
pub struct WireRequest {
    /// The HTTP method.
    pub method: &'static str,
    /// The full URL.
    pub url: String,
    /// Headers, lower-case names.
    pub headers: Vec<(String, HeaderValue)>,
    /// The JSON body.
    pub body: serde_json::Value,
}

/// What a vendor's response carried.
#[derive(Debug, Clone, PartialEq)]
pub struct VendorReply {
    /// The model's answer, as JSON text, untrusted.
    pub answer: String,
    /// The tokens the vendor counted, if it said.
    pub usage: Option<Usage>,
}

/// Why the built-in understanding read a message instead of the LLM.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FallbackReason {
    /// The message was blank; nothing was sent.
    Blank,
    /// The conversation's token or cost budget would be exceeded.
    Budget,
    /// The call failed: timeout, connection, vendor status or an unreadable response.
    Vendor(String),
}

/// Where a reading came from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// The LLM's answer, after the guard.
    Llm {
        /// Why the answer as a whole was not accepted (the reading is then out of scope).
        rejection: Option<Rejection>,
        /// References or item words dropped because the message does not contain them.
        dropped: usize,
        /// An order-changing intent was overruled by the built-in reading.
        overruled: bool,
    },
    /// The built-in understanding.
    Builtin(FallbackReason),
}

/// A reading with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmReading {
    /// What the agent gets.
    pub interpretation: Interpretation,
    /// Where it came from.
    pub source: Source,
}

/// The [`Interpreter`] over an LLM, with the built-in understanding as its fallback.
#[derive(Clone)]
pub struct LlmInterpreter {
    config: Arc<LlmConfig>,
    http: reqwest::Client,
    builtin: BuiltinInterpreter,
    ledger: Arc<Ledger>,
}

impl fmt::Debug for LlmInterpreter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmInterpreter")
            .field("provider", &self.config.provider)
            .field("base_url", &self.config.base_url)
            .field("model", &self.config.model)
            .finish_non_exhaustive()
    }
}

impl LlmInterpreter {
    /// An interpreter asking the endpoint of `config`.
    pub fn new(config: LlmConfig) -> PortResult<LlmInterpreter> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                PortError::unexpected(ops::INTERPRET, "cannot build the http client").with_source(e)
            })?;
        Ok(LlmInterpreter {
            config: Arc::new(config),
            http,
            builtin: BuiltinInterpreter::new(),
            ledger: Arc::default(),
        })
    }

    /// Falls back to `builtin` (e.g. with other learned weights) instead of the shipped one.
    #[must_use]
    pub fn with_builtin(mut self, builtin: BuiltinInterpreter) -> LlmInterpreter {
        self.builtin = builtin;
        self
    }

    /// The configuration.
    pub fn config(&self) -> &LlmConfig {
        &self.config
    }

    /// The tokens `conversation` used so far (see [`in_conversation`]).
    pub fn spent(&self, conversation: &str) -> Usage {
        self.ledger.spent(conversation)
    }

    /// The request that would be sent for `text` (minimised first).
    pub fn request_for(&self, text: &str) -> WireRequest {
        let message = prompt::minimise(text, self.config.max_input_chars);
        match self.config.provider {
            Provider::Openai => openai::build_request(&self.config, &message),
            Provider::Anthropic => anthropic::build_request(&self.config, &message),
        }
    }

    /// Reads `text`, saying where the reading came from. Never fails: whatever goes wrong with
    /// the LLM, the built-in understanding answers.
    pub async fn read(&self, text: &str, hint: Option<Locale>) -> LlmReading {
        let builtin = self.builtin.read(text, hint);
        let fallback = |reason| LlmReading {
            interpretation: builtin.clone(),
            source: Source::Builtin(reason),
        };
        if text.trim().is_empty() {
            return fallback(FallbackReason::Blank);
        }
        let conversation = current_conversation();
        let message = prompt::minimise(text, self.config.max_input_chars);
        let estimate = Usage {
            input_tokens: prompt::estimate_input_tokens(&message),
            output_tokens: u64::from(self.config.max_output_tokens),
        };
        if !self
            .ledger
            .allows(&self.config.budget, &conversation, estimate)
        {
            return fallback(FallbackReason::Budget);
        }
        let request = self.request_for(text);
        let reply = match self.send(&request).await {
            Ok(reply) => reply,
            Err(e) => {
                if e.kind() == order_agent_core::ports::PortErrorKind::Timeout {
                    // The vendor may have done the work: count it.
                    self.ledger.charge(&conversation, estimate);
                }
                return fallback(FallbackReason::Vendor(e.to_string()));
            }
        };
        self.ledger
            .charge(&conversation, reply.usage.unwrap_or(estimate));
        let guarded = prompt::guard(&reply.answer, text, &builtin);
        LlmReading {
            interpretation: guarded.interpretation,
            source: Source::Llm {
                rejection: guarded.rejection,
                dropped: guarded.dropped,
                overruled: guarded.overruled,
            },
        }
    }

    async fn send(&self, request: &WireRequest) -> PortResult<VendorReply> {
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|e| PortError::unexpected(ops::INTERPRET, "bad method").with_source(e))?;
        let mut builder = self.http.request(method, &request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.expose());
        }
        let mut response = builder
            .body(request.body.to_string())
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(PortError::unexpected(
                    ops::INTERPRET,
                    "response larger than the limit",
                ));
            }
            body.extend_from_slice(&chunk);
        }
        if !(200..300).contains(&status) {
            return Err(status_error(status));
        }
        let parsed = match self.config.provider {
            Provider::Openai => openai::parse_response(&body),
            Provider::Anthropic => anthropic::parse_response(&body),
        };
        parsed.ok_or_else(|| PortError::unexpected(ops::INTERPRET, "unreadable response body"))
    }
}

/// Vendor status codes to error kinds, one table for both wire formats.
fn status_error(status: u16) -> PortError {
    let error = match status {
        401 | 403 => PortError::unauthorized(ops::INTERPRET, "the endpoint refused the key"),
        408 | 504 => PortError::timeout(ops::INTERPRET, "the endpoint timed out"),
        429 | 529 => PortError::rate_limited(ops::INTERPRET, None),
        500..=599 => PortError::unavailable(ops::INTERPRET, "the endpoint failed"),
        _ => PortError::rejected(ops::INTERPRET, "the endpoint rejected the request"),
    };
    error.with_context("status", status)
}

fn transport_error(e: reqwest::Error) -> PortError {
    let error = if e.is_timeout() {
        PortError::timeout(ops::INTERPRET, "no answer in time")
    } else {
        PortError::unavailable(ops::INTERPRET, "cannot reach the endpoint")
    };
    // The URL may carry a key in its query (some gateways): keep it out of the error.
    error.with_source(e.without_url())
}

#[async_trait]
impl Interpreter for LlmInterpreter {
    async fn interpret(&self, text: &str, hint: Option<Locale>) -> PortResult<Interpretation> {
        Ok(self.read(text, hint).await.interpretation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use order_agent_core::ports::Intent;

    #[test]
    fn config_reads_from_json_and_hides_the_key() {
        let config: LlmConfig = serde_json::from_str(
            r#"{"provider": "anthropic", "base_url": "https://api.anthropic.com",
                "model": "claude-haiku", "api_key": "sk-ant-secret",
                "budget": {"max_tokens_per_conversation": 5000}}"#,
        )
        .unwrap();
        assert_eq!(config.provider, Provider::Anthropic);
        assert_eq!(config.budget.max_tokens_per_conversation, 5000);
        assert_eq!(config.timeout_ms, 4_000);
        assert!(!format!("{config:?}").contains("sk-ant-secret"));
        let interpreter = LlmInterpreter::new(config).unwrap();
        assert!(!format!("{interpreter:?}").contains("sk-ant-secret"));
        assert!(serde_json::from_str::<LlmConfig>(
            r#"{"provider": "openai", "base_url": "x", "model": "m", "timeout": 5}"#
        )
        .is_err());
    }

    #[test]
    fn status_codes_map_to_kinds() {
        use order_agent_core::ports::PortErrorKind;
        assert_eq!(status_error(401).kind(), PortErrorKind::Unauthorized);
        assert_eq!(status_error(504).kind(), PortErrorKind::Timeout);
        assert_eq!(status_error(503).kind(), PortErrorKind::Unavailable);
        assert_eq!(status_error(400).kind(), PortErrorKind::Rejected);
    }

    #[tokio::test]
    async fn blank_text_and_an_unreachable_endpoint_fall_back() {
        let mut config = LlmConfig::openai("http://127.0.0.1:9/v1", "m", None);
        config.timeout_ms = 500;
        let interpreter = LlmInterpreter::new(config).unwrap();
        let blank = interpreter.read("   ", None).await;
        assert_eq!(blank.source, Source::Builtin(FallbackReason::Blank));
        assert_eq!(blank.interpretation.intent, Intent::OutOfScope);
        let reading = interpreter.read("Where is my order 1042?", None).await;
        assert!(matches!(
            reading.source,
            Source::Builtin(FallbackReason::Vendor(_))
        ));
        assert_eq!(reading.interpretation.intent, Intent::Wismo);
    }
}
