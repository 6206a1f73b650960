//! What the agent logs: a span per call with the order id, a record per decision, ticket and
//! refund, and never the customer's personal data (emails, postcodes, names, message text).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use order_agent_core::domain::Channel;
use order_agent_testkit::world::World;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_name_orders_and_decisions_but_no_personal_data() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(true)
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let world = World::demo();
    let agent = world
        .agent_with_builtin_understanding(World::demo_policy().unwrap())
        .unwrap();
    for text in [
        "Hi, where is my order #1001?",
        "anna.mueller@example.ch, 8008",
        "I want to return the sweater, it does not fit",
        "I want to talk to a real person",
    ] {
        agent
            .handle_message(Channel::WebChat, "web-chat-anna", text)
            .await
            .unwrap();
    }
    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    for needle in [
        "handle_message",
        "\"decided\"",
        "ticket opened",
        "ds-1001",
        "return",
    ] {
        assert!(logs.contains(needle), "the logs lack `{needle}`:\n{logs}");
    }
    for personal in [
        "anna.mueller@example.ch",
        "web-chat-anna",
        "Müller",
        "Mueller",
        "8008",
        "does not fit",
        "Bahnhofstrasse",
    ] {
        assert!(
            !logs.contains(personal),
            "the logs contain `{personal}`:\n{logs}"
        );
    }
}
