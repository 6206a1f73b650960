//! The background worker: claims queued events one at a time and hands them to the agent.

use std::sync::Arc;
use std::time::Duration;

use order_agent_core::agent::{ActionTaken, EventOutcome};
use tokio::sync::watch;

use crate::input::wire_name;

use super::metrics::WorkDone;
use super::AppState;

/// Works the queue until `stop` turns true; an event in hand is finished first. One event per
/// claim, so stopping never waits for more than one.
pub(crate) async fn run(state: Arc<AppState>, mut stop: watch::Receiver<bool>, idle: Duration) {
    let worker = format!("serve-{}", std::process::id());
    while !*stop.borrow() {
        let pause = match state.agent.work_queue(&worker, 1).await {
            Ok(report) => {
                state.metrics.work_done(WorkDone {
                    completed: count(report.completed),
                    retried: count(report.retried),
                    given_up: count(report.given_up),
                });
                for outcome in &report.outcomes {
                    record_escalations(&state, outcome);
                }
                if report.claimed == 0 {
                    Some(idle)
                } else {
                    None
                }
            }
            Err(e) => {
                eprintln!("order-agent serve: the event queue is unavailable: {e}");
                Some(idle.max(Duration::from_secs(1)))
            }
        };
        if let Some(pause) = pause {
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                _ = stop.changed() => {}
            }
        }
    }
}

/// Checks every open order each `period` until `stop` turns true, since a lost parcel sends no
/// event: the agent's scheduled check (`Agent::check_order`) finds silent parcels and delays and
/// notifies and tickets each exception once, however often it runs.
pub(crate) async fn check_orders(
    state: Arc<AppState>,
    mut stop: watch::Receiver<bool>,
    orders: Vec<order_agent_core::domain::OrderId>,
    period: Duration,
) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(period) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
        for order in &orders {
            if *stop.borrow() {
                return;
            }
            let outcome = state.agent.check_order(order).await;
            if !outcome.errors.is_empty() {
                eprintln!(
                    "order-agent serve: the scheduled check of {order} failed; next period retries it"
                );
            }
            record_escalations(&state, &outcome);
        }
    }
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

fn record_escalations(state: &AppState, outcome: &EventOutcome) {
    let tickets = outcome
        .actions
        .iter()
        .filter(|a| matches!(a, ActionTaken::TicketOpened { .. }))
        .count();
    if tickets == 0 {
        return;
    }
    let reason = outcome
        .exceptions
        .first()
        .map(|e| wire_name(&e.kind))
        .or_else(|| outcome.reasons.first().cloned())
        .unwrap_or_else(|| "event".to_owned());
    for _ in 0..tickets {
        state.metrics.escalation("event", &reason);
    }
}
