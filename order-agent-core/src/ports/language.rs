//! Understanding what a customer wrote: the intent, the language, and the references in it.
//!
//! The interpretation only routes a message; it never authorises anything. Every entity is
//! verified against the OMS before the agent acts on it.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::error::PortResult;
use crate::domain::{Locale, OrderNumber, ReturnReason, TrackingNumber};

/// Operation names used in [`PortError::operation`](super::PortError::operation) and by fault
/// injection.
pub mod ops {
    /// [`Interpreter::interpret`](super::Interpreter::interpret).
    pub const INTERPRET: &str = "language.interpret";
}

/// What the customer wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    /// Where is my order?
    Wismo,
    /// Return items.
    Return,
    /// Exchange items for another variant.
    Exchange,
    /// Asks for money back.
    RefundRequest,
    /// Asks where a refund is.
    RefundStatus,
    /// Cancel an order.
    CancelOrder,
    /// Ship to another address.
    ChangeShippingAddress,
    /// Change items of an order.
    ModifyOrderItems,
    /// A question about the shop's policies (return window, shipping costs).
    PolicyQuestion,
    /// Asks for a human.
    HumanEscalation,
    /// A complaint.
    Complaint,
    /// Anything the agent does not handle.
    OutOfScope,
}

impl Intent {
    /// Every intent, in declaration order.
    pub const ALL: [Intent; 12] = [
        Intent::Wismo,
        Intent::Return,
        Intent::Exchange,
        Intent::RefundRequest,
        Intent::RefundStatus,
        Intent::CancelOrder,
        Intent::ChangeShippingAddress,
        Intent::ModifyOrderItems,
        Intent::PolicyQuestion,
        Intent::HumanEscalation,
        Intent::Complaint,
        Intent::OutOfScope,
    ];
}

/// References found in a message, as written (normalised only in form: an order number without
/// its `#`, an email address lower-cased).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entities {
    /// Order numbers.
    #[serde(default)]
    pub order_numbers: Vec<OrderNumber>,
    /// Email addresses.
    #[serde(default)]
    pub emails: Vec<String>,
    /// Phone numbers.
    #[serde(default)]
    pub phones: Vec<String>,
    /// Postcodes.
    #[serde(default)]
    pub postcodes: Vec<String>,
    /// Tracking numbers.
    #[serde(default)]
    pub tracking_numbers: Vec<TrackingNumber>,
    /// The return reason the customer gave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_reason: Option<ReturnReason>,
    /// The items the customer mentions, in their words (`the blue sweater`, `size M`).
    #[serde(default)]
    pub item_references: Vec<String>,
}

/// The reading of one message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interpretation {
    /// The intent.
    pub intent: Intent,
    /// How sure the model is, from 0 to 1.
    pub confidence: f32,
    /// The language the message is written in.
    pub language: Locale,
    /// References found.
    #[serde(default)]
    pub entities: Entities,
}

/// Reads customer messages: a language model, a classifier, or rules.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait Interpreter: Send + Sync + Debug + 'static {
    /// Reads `text`; `hint` is the language expected from the customer's profile, if known.
    ///
    /// # Behavior
    ///
    /// - `confidence` MUST be a number from 0 to 1.
    /// - MUST be extractive: every order number, email, phone, postcode and tracking number
    ///   returned MUST occur in `text` (ignoring case, spaces and a leading `#`); it MUST NOT
    ///   invent references.
    /// - Empty or blank text MUST be `Ok` with [`Intent::OutOfScope`] and confidence 0, MUST NOT
    ///   be an error.
    async fn interpret(&self, text: &str, hint: Option<Locale>) -> PortResult<Interpretation>;
}

/// A shared interpreter.
pub type InterpreterRef = Arc<dyn Interpreter>;

/// Normalises a reference for the extractive check: lower-cased, without whitespace, dashes and a
/// leading `#`.
///
/// ```
/// use order_agent_core::ports::language::normalize_reference;
/// assert_eq!(normalize_reference("#10 42"), "1042");
/// assert_eq!(normalize_reference("+41 79-123"), "+4179123");
/// ```
pub fn normalize_reference(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '#')
        .flat_map(char::to_lowercase)
        .collect()
}
