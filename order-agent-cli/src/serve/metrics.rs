//! Counters of what the service did, rendered in the Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use order_agent_core::ports::{CallMetrics, QueueStats};

/// Upper bounds of the request-latency histogram, in seconds.
const BUCKETS: [f64; 11] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// Everything counted since the service started.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    inner: Mutex<Counters>,
    /// Calls to the vendors, recorded by the metered ports the agent uses.
    vendor_calls: CallMetrics,
}

#[derive(Debug, Default)]
struct Counters {
    messages: u64,
    message_failures: u64,
    intents: BTreeMap<String, u64>,
    escalations: BTreeMap<(String, String), u64>,
    events_received: u64,
    events_accepted: u64,
    events_duplicate: u64,
    events_completed: u64,
    events_retried: u64,
    events_given_up: u64,
    webhooks_rejected: BTreeMap<String, u64>,
    requests: BTreeMap<(String, String, u16), Histogram>,
}

#[derive(Debug, Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// What one pass of the worker did.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct WorkDone {
    pub(crate) completed: u64,
    pub(crate) retried: u64,
    pub(crate) given_up: u64,
}

impl Metrics {
    fn lock(&self) -> MutexGuard<'_, Counters> {
        // A panic while holding the lock leaves plain counters behind, still worth reporting.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Where the metered vendor ports record their calls.
    pub(crate) fn vendor_calls(&self) -> &CallMetrics {
        &self.vendor_calls
    }

    /// A message was handled; `intent` is the wire name of what was understood, if anything.
    pub(crate) fn message(&self, intent: Option<&str>) {
        let mut c = self.lock();
        c.messages += 1;
        *c.intents
            .entry(intent.unwrap_or("none").to_owned())
            .or_default() += 1;
    }

    /// A message could not be handled (the store failed).
    pub(crate) fn message_failed(&self) {
        self.lock().message_failures += 1;
    }

    /// A ticket was opened from `source` (`message` or `event`) for `reason`.
    pub(crate) fn escalation(&self, source: &str, reason: &str) {
        *self
            .lock()
            .escalations
            .entry((source.to_owned(), reason.to_owned()))
            .or_default() += 1;
    }

    /// A webhook delivery passed the signature check; `new` is false for a redelivery.
    pub(crate) fn event_accepted(&self, new: bool) {
        let mut c = self.lock();
        c.events_received += 1;
        if new {
            c.events_accepted += 1;
        } else {
            c.events_duplicate += 1;
        }
    }

    /// A webhook delivery was refused (`signature`, `malformed`).
    pub(crate) fn webhook_rejected(&self, why: &str) {
        *self
            .lock()
            .webhooks_rejected
            .entry(why.to_owned())
            .or_default() += 1;
    }

    /// The worker finished a pass.
    pub(crate) fn work_done(&self, done: WorkDone) {
        let mut c = self.lock();
        c.events_completed += done.completed;
        c.events_retried += done.retried;
        c.events_given_up += done.given_up;
    }

    /// A request to `route` answered `status` after `elapsed`.
    pub(crate) fn request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let mut c = self.lock();
        let h = c
            .requests
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default();
        h.count += 1;
        h.sum += seconds;
        for (bound, count) in BUCKETS.iter().zip(h.buckets.iter_mut()) {
            if seconds <= *bound {
                *count += 1;
            }
        }
    }

    /// Everything in the Prometheus text exposition format (version 0.0.4).
    pub(crate) fn render(&self, queue: Option<&QueueStats>) -> String {
        let c = self.lock();
        let mut out = String::new();
        counter(
            &mut out,
            "order_agent_messages_total",
            "Customer messages handled.",
            &[(String::new(), c.messages)],
        );
        counter(
            &mut out,
            "order_agent_message_failures_total",
            "Customer messages that could not be handled (state store unavailable or conflict).",
            &[(String::new(), c.message_failures)],
        );
        let intents: Vec<(String, u64)> = c
            .intents
            .iter()
            .map(|(intent, n)| (format!("intent=\"{}\"", label(intent)), *n))
            .collect();
        counter(
            &mut out,
            "order_agent_intents_total",
            "Customer messages by the intent understood (`none` when nothing was).",
            &intents,
        );
        let escalations: Vec<(String, u64)> = c
            .escalations
            .iter()
            .map(|((source, reason), n)| {
                (
                    format!("source=\"{}\",reason=\"{}\"", label(source), label(reason)),
                    *n,
                )
            })
            .collect();
        counter(
            &mut out,
            "order_agent_escalations_total",
            "Tickets opened for staff, by where they came from and why.",
            &escalations,
        );
        counter(
            &mut out,
            "order_agent_events_received_total",
            "Webhook events with a valid signature.",
            &[(String::new(), c.events_received)],
        );
        counter(
            &mut out,
            "order_agent_events_accepted_total",
            "Webhook events accepted into the queue (new).",
            &[(String::new(), c.events_accepted)],
        );
        counter(
            &mut out,
            "order_agent_events_duplicate_total",
            "Webhook events that had been accepted before (redeliveries).",
            &[(String::new(), c.events_duplicate)],
        );
        let processed = [
            ("outcome=\"completed\"".to_owned(), c.events_completed),
            ("outcome=\"retried\"".to_owned(), c.events_retried),
            ("outcome=\"given_up\"".to_owned(), c.events_given_up),
        ];
        counter(
            &mut out,
            "order_agent_events_processed_total",
            "Queued events worked by this process, by outcome.",
            &processed,
        );
        let rejected: Vec<(String, u64)> = c
            .webhooks_rejected
            .iter()
            .map(|(why, n)| (format!("reason=\"{}\"", label(why)), *n))
            .collect();
        counter(
            &mut out,
            "order_agent_webhooks_rejected_total",
            "Webhook deliveries refused, by reason.",
            &rejected,
        );
        if let Some(q) = queue {
            let _ = writeln!(
                out,
                "# HELP order_agent_queue_pending Events in the durable queue waiting to be worked.\n\
                 # TYPE order_agent_queue_pending gauge\n\
                 order_agent_queue_pending {}",
                q.pending
            );
            let _ = writeln!(
                out,
                "# HELP order_agent_queue_events Events in the durable queue, by state.\n\
                 # TYPE order_agent_queue_events gauge"
            );
            for (state, n) in [
                ("pending", q.pending),
                ("leased", q.leased),
                ("completed", q.completed),
                ("dead", q.dead),
            ] {
                let _ = writeln!(out, "order_agent_queue_events{{state=\"{state}\"}} {n}");
            }
        }
        let _ = writeln!(
            out,
            "# HELP order_agent_http_request_duration_seconds HTTP request latency.\n\
             # TYPE order_agent_http_request_duration_seconds histogram"
        );
        for ((method, route, status), h) in &c.requests {
            let labels = format!(
                "method=\"{}\",route=\"{}\",status=\"{status}\"",
                label(method),
                label(route)
            );
            let name = "order_agent_http_request_duration_seconds";
            for (bound, n) in BUCKETS.iter().zip(h.buckets.iter()) {
                let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {n}");
            }
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(out, "{name}_sum{{{labels}}} {}", h.sum);
            let _ = writeln!(out, "{name}_count{{{labels}}} {}", h.count);
        }
        drop(c);
        out.push_str(&self.vendor_calls.render());
        out
    }
}

fn counter(out: &mut String, name: &str, help: &str, samples: &[(String, u64)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
    for (labels, n) in samples {
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {n}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {n}");
        }
    }
}

/// A label value with `\`, `"` and newlines escaped as the format requires.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn renders_counters_labels_and_a_cumulative_histogram() {
        let m = Metrics::default();
        m.message(Some("wismo"));
        m.message(None);
        m.escalation("message", "asked_for \"human\"");
        m.request("POST", "/api/messages", 200, Duration::from_millis(3));
        m.request("POST", "/api/messages", 200, Duration::from_millis(300));
        let text = m.render(Some(&QueueStats {
            pending: 2,
            leased: 1,
            completed: 5,
            dead: 0,
        }));
        assert!(text.contains("order_agent_messages_total 2\n"));
        assert!(text.contains("order_agent_intents_total{intent=\"wismo\"} 1\n"));
        assert!(text.contains("reason=\"asked_for \\\"human\\\"\"} 1"));
        assert!(text.contains("order_agent_queue_events{state=\"pending\"} 2\n"));
        assert!(
            text.contains("# TYPE order_agent_queue_pending gauge\norder_agent_queue_pending 2\n")
        );
        let route = "method=\"POST\",route=\"/api/messages\",status=\"200\"";
        assert!(text.contains(&format!(
            "order_agent_http_request_duration_seconds_bucket{{{route},le=\"0.005\"}} 1\n"
        )));
        assert!(text.contains(&format!(
            "order_agent_http_request_duration_seconds_bucket{{{route},le=\"+Inf\"}} 2\n"
        )));
        assert!(text.contains(&format!(
            "order_agent_http_request_duration_seconds_count{{{route}}} 2\n"
        )));
    }
}
