//! What the simulation counts, and the figures it reports.

use std::collections::BTreeMap;

use order_agent_core::agent::{ActionTaken, EventOutcome};
use order_agent_core::domain::{Channel, Locale, Refund, RefundState};
use serde::Serialize;

use super::phrases::Topic;
use crate::input::wire_name;
use crate::totals::MoneyTotals;

/// How a contact ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContactResult {
    /// Answered or done by the agent, no ticket.
    Automated,
    /// A ticket was opened (or joined) for a person.
    Escalated,
    /// The customer stopped before the agent could help (failed verification, gave up).
    Abandoned,
}

/// Counts of a kind of work.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub(crate) struct Tally {
    pub(crate) total: u64,
    pub(crate) automated: u64,
    pub(crate) escalated: u64,
    pub(crate) abandoned: u64,
}

impl Tally {
    fn add(&mut self, result: ContactResult) {
        self.total += 1;
        match result {
            ContactResult::Automated => self.automated += 1,
            ContactResult::Escalated => self.escalated += 1,
            ContactResult::Abandoned => self.abandoned += 1,
        }
    }

    /// Automated over total (1 when there was nothing).
    pub(crate) fn rate(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            self.automated as f64 / self.total as f64
        }
    }
}

/// One day's figures.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Day {
    pub(crate) day: usize,
    pub(crate) orders: u64,
    pub(crate) contacts: Tally,
    pub(crate) events: Tally,
    pub(crate) escalations: u64,
}

/// Collects what happens during the simulation.
#[derive(Debug, Clone, Default)]
pub(crate) struct Recorder {
    pub(crate) days: Vec<Day>,
    pub(crate) contacts: Tally,
    pub(crate) events: Tally,
    pub(crate) events_by_kind: BTreeMap<String, Tally>,
    pub(crate) by_topic: BTreeMap<Topic, Tally>,
    pub(crate) by_language: BTreeMap<String, Tally>,
    pub(crate) by_channel: BTreeMap<String, Tally>,
    pub(crate) turns: u64,
    pub(crate) escalations: BTreeMap<String, u64>,
    pub(crate) refunds_made: u64,
    pub(crate) refunded: MoneyTotals,
    pub(crate) held: u64,
    pub(crate) held_money: MoneyTotals,
    pub(crate) store_credit: MoneyTotals,
    pub(crate) returns_authorised: u64,
    pub(crate) returns_denied: u64,
    pub(crate) cancellations: u64,
    pub(crate) not_understood: u64,
    pub(crate) tickets: usize,
    pub(crate) agent_errors: Vec<String>,
    pub(crate) event_errors: u64,
}

impl Recorder {
    pub(crate) fn new(days: u32) -> Recorder {
        Recorder {
            days: (0..days as usize)
                .map(|day| Day {
                    day,
                    ..Day::default()
                })
                .collect(),
            ..Recorder::default()
        }
    }

    fn day(&mut self, day: usize) -> Option<&mut Day> {
        self.days.get_mut(day)
    }

    pub(crate) fn order_placed(&mut self, day: usize) {
        if let Some(d) = self.day(day) {
            d.orders += 1;
        }
    }

    /// An event handled (or a scheduled check that found something); escalated when it opened
    /// a new ticket.
    pub(crate) fn event(
        &mut self,
        day: usize,
        kind: &str,
        escalated: bool,
        outcome: &EventOutcome,
    ) {
        let result = if escalated {
            ContactResult::Escalated
        } else {
            ContactResult::Automated
        };
        self.events.add(result);
        self.events_by_kind
            .entry(kind.to_owned())
            .or_default()
            .add(result);
        if !outcome.errors.is_empty() {
            self.event_errors += 1;
        }
        if let Some(d) = self.day(day) {
            d.events.add(result);
        }
    }

    pub(crate) fn escalation(&mut self, day: usize, label: &str) {
        *self.escalations.entry(label.to_owned()).or_insert(0) += 1;
        if let Some(d) = self.day(day) {
            d.escalations += 1;
        }
    }

    pub(crate) fn contact(
        &mut self,
        day: usize,
        topic: Topic,
        locale: Locale,
        channel: Channel,
        result: ContactResult,
        turns: u32,
    ) {
        self.contacts.add(result);
        self.turns += u64::from(turns);
        self.by_topic.entry(topic).or_default().add(result);
        self.by_language
            .entry(locale.tag().to_owned())
            .or_default()
            .add(result);
        self.by_channel
            .entry(wire_name(&channel))
            .or_default()
            .add(result);
        if let Some(d) = self.day(day) {
            d.contacts.add(result);
        }
    }

    /// Money that moved (`made`, at the processor) and money held for approval (`actions`).
    pub(crate) fn money(&mut self, outcome: &EventOutcome, made: &[Refund]) {
        for refund in made.iter().filter(|r| r.state != RefundState::Failed) {
            self.refunds_made += 1;
            self.refunded.add(refund.amount);
        }
        for action in &outcome.actions {
            match action {
                ActionTaken::RefundHeld { amount, .. } => {
                    self.held += 1;
                    self.held_money.add(*amount);
                }
                ActionTaken::StoreCreditRequested { amount } => self.store_credit.add(*amount),
                _ => {}
            }
        }
    }
}
