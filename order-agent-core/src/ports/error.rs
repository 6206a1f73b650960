//! The one error type every port returns.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

/// What went wrong, independent of the vendor behind the port.
///
/// Adapters map their vendor's status codes onto these kinds in one table, so the shell can decide
/// what to do (retry, escalate, tell the customer) without knowing the vendor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum PortErrorKind {
    /// The thing a command acts on does not exist. Lookups never use this: they answer `Ok(None)`.
    #[error("not found")]
    NotFound,
    /// The service is down or answered with a server error.
    #[error("service unavailable")]
    Unavailable,
    /// No answer in time: the effect may or may not have happened.
    #[error("timed out")]
    Timeout,
    /// The service asked us to slow down.
    #[error("rate limited")]
    RateLimited {
        /// How long the service asked us to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// The service understood the request and refused it under its own rules (e.g. more than is
    /// refundable, an order that has already shipped).
    #[error("rejected")]
    Rejected,
    /// The request clashes with an earlier one (an idempotency key reused for another request, a
    /// stale version).
    #[error("conflict")]
    Conflict,
    /// The request is malformed; sending it again unchanged cannot succeed.
    #[error("invalid input")]
    InvalidInput,
    /// Credentials are missing, wrong or lack a permission.
    #[error("unauthorized")]
    Unauthorized,
    /// Anything else: a bug, an answer that could not be understood.
    #[error("unexpected error")]
    Unexpected,
}

impl PortErrorKind {
    /// Whether sending the same request again (with the same idempotency key) may succeed: true for
    /// [`Unavailable`](Self::Unavailable), [`Timeout`](Self::Timeout) and
    /// [`RateLimited`](Self::RateLimited).
    pub fn is_retryable_by_default(self) -> bool {
        matches!(
            self,
            PortErrorKind::Unavailable | PortErrorKind::Timeout | PortErrorKind::RateLimited { .. }
        )
    }

    /// A short snake_case name, stable across versions, for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            PortErrorKind::NotFound => "not_found",
            PortErrorKind::Unavailable => "unavailable",
            PortErrorKind::Timeout => "timeout",
            PortErrorKind::RateLimited { .. } => "rate_limited",
            PortErrorKind::Rejected => "rejected",
            PortErrorKind::Conflict => "conflict",
            PortErrorKind::InvalidInput => "invalid_input",
            PortErrorKind::Unauthorized => "unauthorized",
            PortErrorKind::Unexpected => "unexpected",
        }
    }
}

/// Why a port call failed: the kind, whether retrying may help, the operation, key-value context and
/// the underlying cause.
///
/// ```
/// use order_agent_core::ports::{PortError, PortErrorKind};
///
/// let err = PortError::new(PortErrorKind::Rejected, "payments.refund")
///     .with_message("amount exceeds what is refundable")
///     .with_context("payment_id", "pay_1");
/// assert!(!err.is_retryable());
/// assert_eq!(
///     err.to_string(),
///     "payments.refund: rejected: amount exceeds what is refundable (payment_id: `pay_1`)"
/// );
/// ```
pub struct PortError {
    kind: PortErrorKind,
    retryable: bool,
    operation: &'static str,
    message: String,
    context: Vec<(&'static str, String)>,
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

/// The result of a port call.
pub type PortResult<T> = Result<T, PortError>;

impl PortError {
    /// An error of `kind` raised by `operation` (e.g. `payments.refund`); retryable as the kind says.
    pub fn new(kind: PortErrorKind, operation: &'static str) -> PortError {
        PortError {
            kind,
            retryable: kind.is_retryable_by_default(),
            operation,
            message: String::new(),
            context: Vec::new(),
            source: None,
        }
    }

    /// [`PortErrorKind::NotFound`] with a message.
    pub fn not_found(operation: &'static str, message: impl Into<String>) -> PortError {
        PortError::new(PortErrorKind::NotFound, operation).with_message(message)
    }

    /// [`PortErrorKind::Unavailable`] with a message.
    pub fn unavailable(operation: &'static str, message: impl Into<String>) -> PortError {
        PortError::new(PortErrorKind::Unavailable, operation).with_message(message)
    }

    /// [`PortErrorKind::Timeout`] with a message.
    pub fn timeout(operation: &'static str, message: impl Into<String>) -> PortError {
        PortError::new(PortErrorKind::Timeout, operation).with_message(message)
    }

    /// [`PortErrorKind::RateLimited`], with the wait the service asked for.
    pub fn rate_limited(operation: &'static str, retry_after: Option<Duration>) -> PortError {
        PortError::new(PortErrorKind::RateLimited { retry_after }, operation)
    }

    /// [`PortErrorKind::Rejected`] with a message.
    pub fn rejected(operation: &'static str, message: impl Into<String>) -> PortError {
        PortError::new(PortErrorKind::Rejected, operation).with_message(message)
    }

    /// [`PortErrorKind::Conflict`] with a message.
    pub fn conflict(operation: &'static str, message: impl Into<String>) -> PortError {
        PortError::new(PortErrorKind::Conflict, operation).with_message(message)
    }

    /// [`PortErrorKind::InvalidInput`] with a message.
    pub fn invalid_input(operation: &'static str, message: impl Into<String>) -> PortError {
        PortError::new(PortErrorKind::InvalidInput, operation).with_message(message)
    }

    /// [`PortErrorKind::Unauthorized`] with a message.
    pub fn unauthorized(operation: &'static str, message: impl Into<String>) -> PortError {
        PortError::new(PortErrorKind::Unauthorized, operation).with_message(message)
    }

    /// [`PortErrorKind::Unexpected`] with a message.
    pub fn unexpected(operation: &'static str, message: impl Into<String>) -> PortError {
        PortError::new(PortErrorKind::Unexpected, operation).with_message(message)
    }

    /// Sets the human-readable message: lowercase, concrete, no trailing period.
    #[must_use]
    pub fn with_message(mut self, message: impl Into<String>) -> PortError {
        self.message = message.into();
        self
    }

    /// Adds a key-value pair of context (an id, a status code). Values are shown in backticks.
    #[must_use]
    pub fn with_context(mut self, key: &'static str, value: impl fmt::Display) -> PortError {
        self.context.push((key, value.to_string()));
        self
    }

    /// Sets the underlying cause.
    #[must_use]
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> PortError {
        self.source = Some(Box::new(source));
        self
    }

    /// Sets the underlying cause from an already boxed error.
    #[must_use]
    pub fn with_boxed_source(
        mut self,
        source: Box<dyn StdError + Send + Sync + 'static>,
    ) -> PortError {
        self.source = Some(source);
        self
    }

    /// Overrides whether retrying may help (e.g. a vendor that marks one 4xx as temporary).
    #[must_use]
    pub fn with_retryable(mut self, retryable: bool) -> PortError {
        self.retryable = retryable;
        self
    }

    /// Replaces the operation, for wrappers that re-raise an inner error under their own name.
    #[must_use]
    pub fn with_operation(mut self, operation: &'static str) -> PortError {
        self.operation = operation;
        self
    }

    /// The kind.
    pub fn kind(&self) -> PortErrorKind {
        self.kind
    }

    /// Whether sending the same request again (with the same idempotency key) may succeed.
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }

    /// The operation that failed, e.g. `payments.refund`.
    pub fn operation(&self) -> &'static str {
        self.operation
    }

    /// The message; empty when none was given.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The key-value context, in the order it was added.
    pub fn context(&self) -> &[(&'static str, String)] {
        &self.context
    }

    /// The value of the first context entry named `key`.
    pub fn context_value(&self, key: &str) -> Option<&str> {
        self.context
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The wait the service asked for, when the call was rate limited.
    pub fn retry_after(&self) -> Option<Duration> {
        match self.kind {
            PortErrorKind::RateLimited { retry_after } => retry_after,
            _ => None,
        }
    }
}

impl fmt::Display for PortError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.operation, self.kind)?;
        if let PortErrorKind::RateLimited {
            retry_after: Some(wait),
        } = self.kind
        {
            write!(f, " (retry after {} ms)", wait.as_millis())?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if !self.context.is_empty() {
            f.write_str(" (")?;
            for (i, (key, value)) in self.context.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{key}: `{value}`")?;
            }
            f.write_str(")")?;
        }
        if let Some(source) = &self.source {
            write!(f, ", caused by: {source}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for PortError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PortError")
            .field("kind", &self.kind)
            .field("retryable", &self.retryable)
            .field("operation", &self.operation)
            .field("message", &self.message)
            .field("context", &self.context)
            .field("source", &self.source)
            .finish()
    }
}

impl StdError for PortError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_follows_the_kind_unless_overridden() {
        assert!(PortError::new(PortErrorKind::Timeout, "op").is_retryable());
        assert!(PortError::rate_limited("op", None).is_retryable());
        assert!(!PortError::new(PortErrorKind::Conflict, "op").is_retryable());
        assert!(!PortError::unavailable("op", "down")
            .with_retryable(false)
            .is_retryable());
    }

    #[test]
    fn display_is_lowercase_with_context_and_source() {
        let io = std::io::Error::other("connection reset");
        let err = PortError::unavailable("oms.order", "server answered 503")
            .with_context("order_id", "o_1")
            .with_source(io);
        assert_eq!(
            err.to_string(),
            "oms.order: service unavailable: server answered 503 (order_id: `o_1`), caused by: connection reset"
        );
        assert!(StdError::source(&err).is_some());
        assert_eq!(err.context_value("order_id"), Some("o_1"));
    }

    #[test]
    fn rate_limited_shows_the_wait() {
        let err = PortError::rate_limited("carrier.track", Some(Duration::from_secs(2)));
        assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
        assert_eq!(
            err.to_string(),
            "carrier.track: rate limited (retry after 2000 ms)"
        );
    }
}
