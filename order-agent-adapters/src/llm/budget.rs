//! Token and cost budgets per conversation.
//!
//! Every call is charged with the tokens the vendor reports in its `usage` fields (or, when it
//! reports none, with the estimate made before the call). A call is only made when the estimate
//! still fits into what is left of the conversation's budget; otherwise the built-in
//! understanding reads the message.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Mutex, PoisonError};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

tokio::task_local! {
    static CONVERSATION: String;
}

/// Runs `future` (typically [`Agent::handle_message`](order_agent_core::agent::Agent::handle_message))
/// with LLM calls charged to `conversation`'s budget.
///
/// The [`Interpreter`](order_agent_core::ports::Interpreter) port carries no conversation id, so
/// the host names the conversation around the call, e.g. `"{channel}:{sender}"`. Calls made
/// outside any such scope share one budget, as if they were one conversation.
pub async fn in_conversation<F: Future>(conversation: impl Into<String>, future: F) -> F::Output {
    CONVERSATION.scope(conversation.into(), future).await
}

/// The conversation the current task is charged to (empty outside [`in_conversation`]).
pub(crate) fn current_conversation() -> String {
    CONVERSATION.try_with(Clone::clone).unwrap_or_default()
}

/// Limits per conversation and the vendor's prices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetConfig {
    /// Most tokens (input plus output, as the vendor counts them) one conversation may use.
    #[serde(default = "default_max_tokens")]
    pub max_tokens_per_conversation: u64,
    /// Most money one conversation may cost, in the currency of the prices below.
    #[serde(default = "default_max_cost", with = "rust_decimal::serde::str")]
    pub max_cost_per_conversation: Decimal,
    /// Price of one million input tokens.
    #[serde(default, with = "rust_decimal::serde::str")]
    pub input_price_per_million_tokens: Decimal,
    /// Price of one million output tokens.
    #[serde(default, with = "rust_decimal::serde::str")]
    pub output_price_per_million_tokens: Decimal,
}

fn default_max_tokens() -> u64 {
    20_000
}

fn default_max_cost() -> Decimal {
    Decimal::new(5, 2)
}

impl Default for BudgetConfig {
    fn default() -> Self {
        BudgetConfig {
            max_tokens_per_conversation: default_max_tokens(),
            max_cost_per_conversation: default_max_cost(),
            input_price_per_million_tokens: Decimal::ZERO,
            output_price_per_million_tokens: Decimal::ZERO,
        }
    }
}

impl BudgetConfig {
    /// What `usage` costs at these prices; `None` when it does not fit a decimal.
    pub fn cost_of(&self, usage: Usage) -> Option<Decimal> {
        let million = Decimal::from(1_000_000u32);
        let input = Decimal::from(usage.input_tokens)
            .checked_mul(self.input_price_per_million_tokens)?
            .checked_div(million)?;
        let output = Decimal::from(usage.output_tokens)
            .checked_mul(self.output_price_per_million_tokens)?
            .checked_div(million)?;
        input.checked_add(output)
    }
}

/// Tokens used, as the vendor counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt (input) tokens.
    pub input_tokens: u64,
    /// Completion (output) tokens.
    pub output_tokens: u64,
}

impl Usage {
    /// Input plus output tokens.
    pub fn total(self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }

    fn add(self, other: Usage) -> Usage {
        Usage {
            input_tokens: self.input_tokens.saturating_add(other.input_tokens),
            output_tokens: self.output_tokens.saturating_add(other.output_tokens),
        }
    }
}

/// How many conversations the ledger remembers; past that it forgets all of them at once (each
/// then starts a fresh budget), so memory stays bounded in a long-running process.
const MAX_CONVERSATIONS: usize = 100_000;

/// What each conversation spent.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    spent: Mutex<HashMap<String, Usage>>,
}

impl Ledger {
    /// What `conversation` has used so far.
    pub(crate) fn spent(&self, conversation: &str) -> Usage {
        self.lock().get(conversation).copied().unwrap_or_default()
    }

    /// Whether a call expected to use `estimate` still fits into `conversation`'s budget.
    pub(crate) fn allows(
        &self,
        config: &BudgetConfig,
        conversation: &str,
        estimate: Usage,
    ) -> bool {
        let after = self.spent(conversation).add(estimate);
        if after.total() > config.max_tokens_per_conversation {
            return false;
        }
        match config.cost_of(after) {
            Some(cost) => cost <= config.max_cost_per_conversation,
            None => false,
        }
    }

    /// Charges `usage` to `conversation`.
    pub(crate) fn charge(&self, conversation: &str, usage: Usage) {
        let mut spent = self.lock();
        if spent.len() >= MAX_CONVERSATIONS && !spent.contains_key(conversation) {
            spent.clear();
        }
        let entry = spent.entry(conversation.to_owned()).or_default();
        *entry = entry.add(usage);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Usage>> {
        self.spent.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(input_tokens: u64, output_tokens: u64) -> Usage {
        Usage {
            input_tokens,
            output_tokens,
        }
    }

    #[test]
    fn tokens_are_counted_per_conversation() {
        let config = BudgetConfig {
            max_tokens_per_conversation: 1_000,
            ..BudgetConfig::default()
        };
        let ledger = Ledger::default();
        assert!(ledger.allows(&config, "a", usage(600, 300)));
        ledger.charge("a", usage(600, 300));
        assert!(!ledger.allows(&config, "a", usage(100, 100)));
        assert!(ledger.allows(&config, "a", usage(50, 50)));
        assert!(ledger.allows(&config, "b", usage(600, 300)));
        assert_eq!(ledger.spent("a").total(), 900);
    }

    #[test]
    fn cost_is_exact_and_capped() {
        let config = BudgetConfig {
            max_tokens_per_conversation: u64::MAX,
            max_cost_per_conversation: Decimal::new(1, 2),
            input_price_per_million_tokens: Decimal::new(250, 2),
            output_price_per_million_tokens: Decimal::new(1000, 2),
        };
        assert_eq!(config.cost_of(usage(1_000, 500)), Some(Decimal::new(75, 4)));
        let ledger = Ledger::default();
        assert!(ledger.allows(&config, "a", usage(1_000, 500)));
        ledger.charge("a", usage(1_000, 500));
        assert!(!ledger.allows(&config, "a", usage(1_000, 500)));
        assert!(!ledger.allows(&config, "a", usage(u64::MAX, u64::MAX)));
    }

    #[test]
    fn config_reads_decimal_strings_and_refuses_typos() {
        let config: BudgetConfig = serde_json::from_str(
            r#"{"max_cost_per_conversation": "0.02", "input_price_per_million_tokens": "0.15"}"#,
        )
        .unwrap();
        assert_eq!(config.max_cost_per_conversation, Decimal::new(2, 2));
        assert_eq!(config.max_tokens_per_conversation, 20_000);
        assert!(serde_json::from_str::<BudgetConfig>(r#"{"max_token": 5}"#).is_err());
    }

    #[tokio::test]
    async fn the_scope_names_the_conversation() {
        assert_eq!(current_conversation(), "");
        let inside = in_conversation("web_chat:s-1", async { current_conversation() }).await;
        assert_eq!(inside, "web_chat:s-1");
    }
}
