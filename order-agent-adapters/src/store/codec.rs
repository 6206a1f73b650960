//! How values map to columns, shared by both stores.

use chrono::{DateTime, SecondsFormat, Utc};
use order_agent_core::domain::{Channel, OrderId, PaymentId, RefundId, TicketId};
use order_agent_core::ports::store::ops;
use order_agent_core::ports::{
    PortError, PortResult, RefundIntent, RefundIntentState, RefundIntentTransition,
};
use order_agent_core::{Currency, Money};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Fixed-width RFC 3339 in UTC with nine fractional digits: text order is time order.
pub(crate) fn time_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

pub(crate) fn parse_time(op: &'static str, text: &str) -> PortResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            PortError::unexpected(op, "a stored time is unreadable")
                .with_context("time", text)
                .with_source(e)
        })
}

pub(crate) fn state_text(state: RefundIntentState) -> &'static str {
    match state {
        RefundIntentState::Pending => "pending",
        RefundIntentState::NeedsApproval => "needs_approval",
        RefundIntentState::Approved => "approved",
        RefundIntentState::Succeeded => "succeeded",
        RefundIntentState::Failed => "failed",
    }
}

pub(crate) fn parse_state(op: &'static str, text: &str) -> PortResult<RefundIntentState> {
    RefundIntentState::ALL
        .into_iter()
        .find(|s| state_text(*s) == text)
        .ok_or_else(|| {
            PortError::unexpected(op, "a stored refund intent state is unknown")
                .with_context("state", text)
        })
}

pub(crate) fn channel_text(op: &'static str, channel: Channel) -> PortResult<String> {
    match serde_json::to_value(channel) {
        Ok(serde_json::Value::String(name)) => Ok(name),
        _ => Err(PortError::unexpected(op, "the channel has no name")),
    }
}

pub(crate) fn to_json<T: Serialize + ?Sized>(op: &'static str, value: &T) -> PortResult<String> {
    serde_json::to_string(value)
        .map_err(|e| PortError::invalid_input(op, "the value is not serialisable").with_source(e))
}

pub(crate) fn from_json<T: DeserializeOwned>(op: &'static str, text: &str) -> PortResult<T> {
    serde_json::from_str(text)
        .map_err(|e| PortError::unexpected(op, "a stored value is unreadable").with_source(e))
}

/// u64 positions (sequence numbers, versions) as SQL BIGINT.
pub(crate) fn to_sql_int(op: &'static str, n: u64) -> PortResult<i64> {
    i64::try_from(n).map_err(|_| {
        PortError::invalid_input(op, "the number is too large for the store").with_context("n", n)
    })
}

pub(crate) fn from_sql_int(op: &'static str, n: i64) -> PortResult<u64> {
    u64::try_from(n)
        .map_err(|_| PortError::unexpected(op, "a stored number is negative").with_context("n", n))
}

/// Refuses intents the contract calls invalid before they reach the database.
pub(crate) fn check_new_intent(intent: &RefundIntent) -> PortResult<()> {
    if intent.key.is_empty() {
        return Err(PortError::invalid_input(
            ops::CREATE_REFUND_INTENT,
            "the key is empty",
        ));
    }
    if !matches!(
        intent.state,
        RefundIntentState::Pending | RefundIntentState::NeedsApproval
    ) {
        return Err(PortError::invalid_input(
            ops::CREATE_REFUND_INTENT,
            "a new intent is pending or needs approval",
        )
        .with_context("key", &intent.key)
        .with_context("state", state_text(intent.state)));
    }
    if !intent.amount.is_positive() {
        return Err(PortError::invalid_input(
            ops::CREATE_REFUND_INTENT,
            "the amount must be positive",
        )
        .with_context("key", &intent.key)
        .with_context("amount", intent.amount));
    }
    intent.check_bounds()
}

/// A compare-and-set save of a conversation that found another version stored.
pub(crate) fn conversation_conflict(expected: Option<u64>, stored: Option<i64>) -> PortError {
    PortError::conflict(
        ops::SAVE_CONVERSATION,
        "the conversation changed since it was read",
    )
    .with_context(
        "expected_version",
        expected.map_or("none".to_owned(), |v| v.to_string()),
    )
    .with_context(
        "stored_version",
        stored.map_or("none".to_owned(), |v| v.to_string()),
    )
}

pub(crate) fn check_transition(transition: &RefundIntentTransition) -> PortResult<()> {
    if transition.from.can_become(transition.to) {
        Ok(())
    } else {
        Err(PortError::invalid_input(
            ops::TRANSITION_REFUND_INTENT,
            "the intent may not make this transition",
        )
        .with_context("from", state_text(transition.from))
        .with_context("to", state_text(transition.to)))
    }
}

/// A refund intent as its columns hold it.
#[derive(Debug, Clone)]
pub(crate) struct IntentRow {
    pub(crate) key: String,
    pub(crate) order_id: String,
    pub(crate) payment_id: String,
    pub(crate) amount_minor: i64,
    pub(crate) currency: String,
    pub(crate) state: String,
    pub(crate) approval_ticket: Option<String>,
    pub(crate) refund_id: Option<String>,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
    pub(crate) captured_minor: Option<i64>,
    pub(crate) auto_limit_minor: Option<i64>,
}

/// The columns of [`IntentRow`], in its field order, for `SELECT` and `RETURNING`.
pub(crate) const INTENT_COLUMNS: &str =
    "key, order_id, payment_id, amount_minor, currency, state, \
     approval_ticket, refund_id, created_at, updated_at, captured_minor, auto_limit_minor";

impl IntentRow {
    pub(crate) fn of(intent: &RefundIntent) -> IntentRow {
        IntentRow {
            key: intent.key.clone(),
            order_id: intent.order_id.as_str().to_owned(),
            payment_id: intent.payment_id.as_str().to_owned(),
            amount_minor: intent.amount.to_minor(),
            currency: intent.amount.currency().code().to_owned(),
            state: state_text(intent.state).to_owned(),
            approval_ticket: intent
                .approval_ticket
                .as_ref()
                .map(|t| t.as_str().to_owned()),
            refund_id: intent.refund_id.as_ref().map(|r| r.as_str().to_owned()),
            created_at: time_text(intent.created_at),
            updated_at: time_text(intent.updated_at),
            captured_minor: intent.captured.map(|m| m.to_minor()),
            auto_limit_minor: intent.auto_limit.map(|m| m.to_minor()),
        }
    }

    pub(crate) fn into_intent(self, op: &'static str) -> PortResult<RefundIntent> {
        let currency = Currency::from_code(&self.currency).map_err(|e| {
            PortError::unexpected(op, "a stored currency is unknown")
                .with_context("currency", &self.currency)
                .with_source(e)
        })?;
        Ok(RefundIntent {
            amount: Money::from_minor(self.amount_minor, currency),
            state: parse_state(op, &self.state)?,
            order_id: OrderId::new(self.order_id),
            payment_id: PaymentId::new(self.payment_id),
            captured: self
                .captured_minor
                .map(|minor| Money::from_minor(minor, currency)),
            auto_limit: self
                .auto_limit_minor
                .map(|minor| Money::from_minor(minor, currency)),
            approval_ticket: self.approval_ticket.map(TicketId::new),
            refund_id: self.refund_id.map(RefundId::new),
            created_at: parse_time(op, &self.created_at)?,
            updated_at: parse_time(op, &self.updated_at)?,
            key: self.key,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn times_keep_nanoseconds_and_sort_as_text() {
        let early = Utc.timestamp_opt(1_700_000_000, 5).unwrap();
        let late = Utc.timestamp_opt(1_700_000_000, 400_000_000).unwrap();
        assert_eq!(parse_time("t", &time_text(early)).unwrap(), early);
        assert!(time_text(early) < time_text(late));
    }

    #[test]
    fn every_state_reads_back() {
        for state in RefundIntentState::ALL {
            assert_eq!(parse_state("t", state_text(state)).unwrap(), state);
            assert_eq!(
                serde_json::to_value(state).unwrap(),
                serde_json::Value::String(state_text(state).to_owned())
            );
        }
    }
}
