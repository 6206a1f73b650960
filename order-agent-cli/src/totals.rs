//! Sums of money kept per currency (amounts of different currencies are never added).

use std::collections::BTreeMap;

use order_agent_core::money::{Currency, Money};

/// Money summed per currency, in minor units.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct MoneyTotals {
    by_currency: BTreeMap<String, (Currency, i64)>,
}

impl MoneyTotals {
    /// Adds `amount` to the total of its currency.
    pub(crate) fn add(&mut self, amount: Money) {
        let currency = amount.currency();
        let entry = self
            .by_currency
            .entry(currency.code().to_owned())
            .or_insert((currency, 0));
        entry.1 = entry.1.saturating_add(amount.to_minor());
    }

    /// The totals, by currency code.
    pub(crate) fn amounts(&self) -> Vec<Money> {
        self.by_currency
            .values()
            .map(|(currency, minor)| Money::from_minor(*minor, *currency))
            .collect()
    }

    /// `{"CHF": "123.40", …}`, amounts as exact decimal strings.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        let map: serde_json::Map<String, serde_json::Value> = self
            .amounts()
            .into_iter()
            .map(|m| {
                (
                    m.currency().code().to_owned(),
                    serde_json::Value::String(m.amount().to_string()),
                )
            })
            .collect();
        serde_json::Value::Object(map)
    }
}

impl std::fmt::Display for MoneyTotals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let amounts = self.amounts();
        if amounts.is_empty() {
            return f.write_str("nothing");
        }
        let parts: Vec<String> = amounts.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join(", "))
    }
}
