//! The PostgreSQL store against the store conformance suite, on the local server
//! (`ORDER_AGENT_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`). Each test works
//! in a fresh schema of its own and drops it at the end.
//!
//! An unreachable server fails these tests, unless `ORDER_AGENT_SKIP_POSTGRES=1` is set: then
//! each test prints that it skipped and passes.
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use order_agent_adapters::store::{ChainBreak, ChainVerification, PostgresConfig, PostgresStore};
use order_agent_core::domain::{OrderId, PaymentId};
use order_agent_core::ports::{
    DecisionLog, DecisionRecord, EventInbox, PortErrorKind, PutOutcome, RefundIntent,
    RefundIntentState, RefundIntentStore, RefundIntentTransition, TransitionOutcome,
};
use order_agent_core::{Currency, Money};
use order_agent_testkit::conformance::store;
use serde_json::json;

fn url() -> String {
    std::env::var("ORDER_AGENT_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

fn fresh_schema(name: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = Utc::now().timestamp_subsec_nanos();
    format!(
        "oa_test_{name}_{}_{nanos}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A store in a fresh schema; `None` (after saying so) when the server is unreachable and
/// `ORDER_AGENT_SKIP_POSTGRES=1`.
async fn store_in(schema: &str) -> Option<PostgresStore> {
    let config = PostgresConfig::new(url()).with_schema(schema);
    match PostgresStore::connect(&config).await {
        Ok(store) => Some(store),
        Err(e)
            if e.kind() == PortErrorKind::Unavailable
                && std::env::var("ORDER_AGENT_SKIP_POSTGRES").as_deref() == Ok("1") =>
        {
            eprintln!(
                "SKIPPED: PostgreSQL is unreachable ({e}) and ORDER_AGENT_SKIP_POSTGRES=1 is set"
            );
            None
        }
        Err(e) => panic!(
            "PostgreSQL is unreachable (ORDER_AGENT_POSTGRES_URL, default 127.0.0.1:5432): {e}; \
             start it (`.ci/run` does) or set ORDER_AGENT_SKIP_POSTGRES=1 to skip these tests"
        ),
    }
}

/// A plain connection with `schema` first on the search path, for what the store never does.
async fn raw(schema: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(&url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(&format!("SET search_path TO {schema}"))
        .await
        .unwrap();
    client
}

async fn drop_schema(schema: &str) {
    raw(schema)
        .await
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
}

fn assert_conforms(result: Result<(), order_agent_testkit::conformance::ConformanceReport>) {
    if let Err(report) = result {
        panic!("{report}");
    }
}

fn decision(n: u32) -> DecisionRecord {
    DecisionRecord {
        at: Utc.with_ymd_and_hms(2025, 3, 3, 9, 0, 0).unwrap()
            + chrono::Duration::seconds(n.into()),
        subject: format!("order:o_{n}"),
        decision: json!({ "outcome": "approve", "n": n }),
        reasons: vec!["within_window".to_owned()],
    }
}

fn intent(key: &str) -> RefundIntent {
    let at = Utc.timestamp_opt(1_740_992_400, 123_456_789).unwrap();
    RefundIntent {
        key: key.to_owned(),
        order_id: OrderId::new("o_1"),
        payment_id: PaymentId::new("pay_1"),
        amount: Money::from_minor(1_250, Currency::CHF),
        captured: None,
        auto_limit: None,
        state: RefundIntentState::Pending,
        approval_ticket: None,
        refund_id: None,
        created_at: at,
        updated_at: at,
    }
}

#[tokio::test]
async fn postgres_store_conforms() {
    let schema = fresh_schema("conforms");
    let Some(store) = store_in(&schema).await else {
        return;
    };
    assert_conforms(store::run_all(&store, &store::sample()).await);
    assert!(store.verify_chain().await.unwrap().is_intact());
    drop_schema(&schema).await;
}

#[tokio::test]
async fn reconnecting_keeps_the_data_and_migrates_once() {
    let schema = fresh_schema("reconnect");
    let Some(first) = store_in(&schema).await else {
        return;
    };
    assert!(first.mark_processed("shopify", "evt_1").await.unwrap());
    first
        .create_refund_intent(&intent("refund:1"))
        .await
        .unwrap();
    first.append_decision(&decision(1)).await.unwrap();
    drop(first);
    let again = store_in(&schema).await.unwrap();
    assert_eq!(
        again.schema_version().await.unwrap(),
        PostgresStore::SCHEMA_VERSION
    );
    assert!(!again.mark_processed("shopify", "evt_1").await.unwrap());
    assert_eq!(
        again
            .create_refund_intent(&intent("refund:1"))
            .await
            .unwrap(),
        PutOutcome::AlreadyPresent(intent("refund:1")),
        "the intent, with its nanoseconds, survived"
    );
    assert_eq!(again.append_decision(&decision(2)).await.unwrap(), 2);
    assert!(again.verify_chain().await.unwrap().is_intact());
    drop_schema(&schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_start_ups_migrate_once() {
    let schema = fresh_schema("startup");
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let schema = schema.clone();
            tokio::spawn(async move { store_in(&schema).await })
        })
        .collect();
    for start in starts {
        let Some(store) = start.await.unwrap() else {
            return;
        };
        assert_eq!(
            store.schema_version().await.unwrap(),
            PostgresStore::SCHEMA_VERSION
        );
    }
    drop_schema(&schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_workers_on_one_schema_never_double_act() {
    let schema = fresh_schema("workers");
    let Some(first) = store_in(&schema).await else {
        return;
    };
    let mut workers = vec![Arc::new(first)];
    for _ in 1..4 {
        workers.push(Arc::new(store_in(&schema).await.unwrap()));
    }
    let mut tasks = Vec::new();
    for (n, worker) in workers.iter().cycle().take(16).enumerate() {
        let worker = Arc::clone(worker);
        tasks.push(tokio::spawn(async move {
            let created = worker
                .create_refund_intent(&intent("refund:race"))
                .await
                .unwrap();
            let mut pay = RefundIntentTransition {
                from: RefundIntentState::Pending,
                to: RefundIntentState::Succeeded,
                approval_ticket: None,
                refund_id: None,
                at: Utc::now(),
            };
            pay.refund_id = Some(order_agent_core::domain::RefundId::new(format!("re_{n}")));
            let paid = worker
                .transition_refund_intent("refund:race", &pay)
                .await
                .unwrap();
            let first_mark = worker.mark_processed("shopify", "evt_race").await.unwrap();
            let seq = worker.append_decision(&decision(n as u32)).await.unwrap();
            (
                created.is_inserted(),
                matches!(paid, TransitionOutcome::Applied(_)),
                first_mark,
                seq,
            )
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    assert_eq!(results.iter().filter(|r| r.0).count(), 1, "intents created");
    assert_eq!(results.iter().filter(|r| r.1).count(), 1, "refunds applied");
    assert_eq!(results.iter().filter(|r| r.2).count(), 1, "first marks");
    let mut seqs: Vec<u64> = results.iter().map(|r| r.3).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=16).collect::<Vec<_>>());
    assert_eq!(
        workers[0].verify_chain().await.unwrap().first_broken(),
        None
    );
    drop(workers);
    drop_schema(&schema).await;
}

#[tokio::test]
async fn the_database_refuses_what_the_code_must_never_do() {
    let schema = fresh_schema("refuses");
    let Some(store) = store_in(&schema).await else {
        return;
    };
    store
        .create_refund_intent(&intent("refund:1"))
        .await
        .unwrap();
    store.append_decision(&decision(1)).await.unwrap();
    store.mark_processed("shopify", "evt_1").await.unwrap();
    store
        .create_refund_intent(&RefundIntent {
            key: "refund:held".to_owned(),
            payment_id: PaymentId::new("pay_2"),
            amount: Money::from_minor(20_000, Currency::CHF),
            auto_limit: Some(Money::from_minor(15_000, Currency::CHF)),
            state: RefundIntentState::NeedsApproval,
            ..intent("refund:held")
        })
        .await
        .unwrap();
    let c = raw(&schema).await;
    let insert = "INSERT INTO refund_intents (key, order_id, payment_id, amount_minor, currency, \
                  state, created_at, updated_at) VALUES";
    let bounded = "INSERT INTO refund_intents (key, order_id, payment_id, amount_minor, currency, \
                   state, created_at, updated_at, captured_minor, auto_limit_minor) VALUES";
    for (what, sql) in [
        (
            "a second intent under one key",
            format!("{insert} ('refund:1', 'o', 'p', 5, 'CHF', 'pending', 'x', 'x')"),
        ),
        (
            "a zero amount",
            format!("{insert} ('refund:2', 'o', 'p', 0, 'CHF', 'pending', 'x', 'x')"),
        ),
        (
            "an unknown state",
            format!("{insert} ('refund:3', 'o', 'p', 5, 'CHF', 'paid', 'x', 'x')"),
        ),
        (
            "a new succeeded intent",
            format!("{insert} ('refund:4', 'o', 'p', 5, 'CHF', 'succeeded', 'x', 'x')"),
        ),
        (
            "a raised amount",
            "UPDATE refund_intents SET amount_minor = 50000".to_owned(),
        ),
        (
            "an illegal transition",
            "UPDATE refund_intents SET state = 'approved'".to_owned(),
        ),
        ("a deleted intent", "DELETE FROM refund_intents".to_owned()),
        (
            "a forgotten event",
            "DELETE FROM processed_events".to_owned(),
        ),
        (
            "an edited decision",
            "UPDATE decision_log SET record = '{}'".to_owned(),
        ),
        ("a truncated log", "TRUNCATE decision_log".to_owned()),
        (
            "intents beyond what the payment captured",
            format!("{bounded} ('refund:5', 'o', 'pay_1', 900, 'CHF', 'pending', 'x', 'x', 2000, NULL)"),
        ),
        (
            "a pending intent above the limit",
            format!("{bounded} ('refund:6', 'o', 'pay_2', 20000, 'CHF', 'pending', 'x', 'x', NULL, 15000)"),
        ),
        (
            "an approval without a ticket",
            "UPDATE refund_intents SET state = 'approved' WHERE key = 'refund:held'".to_owned(),
        ),
        (
            "a changed limit",
            "UPDATE refund_intents SET auto_limit_minor = 50000 WHERE key = 'refund:held'"
                .to_owned(),
        ),
    ] {
        assert!(
            c.batch_execute(&sql).await.is_err(),
            "the database accepted {what}"
        );
    }
    c.batch_execute(&format!(
        "{bounded} ('refund:7', 'o', 'pay_1', 750, 'CHF', 'pending', 'x', 'x', 2000, NULL)"
    ))
    .await
    .expect("an intent within what was captured is refused");
    c.batch_execute("UPDATE refund_intents SET state = 'succeeded' WHERE key = 'refund:1'")
        .await
        .expect("a legal transition is refused");
    c.batch_execute(
        "UPDATE refund_intents SET state = 'approved', approval_ticket = 't' \
         WHERE key = 'refund:held'",
    )
    .await
    .expect("an approval with a ticket is refused");
    drop_schema(&schema).await;
}

#[tokio::test]
async fn tampering_with_a_decision_breaks_the_chain_at_that_row() {
    let schema = fresh_schema("tamper");
    let Some(store) = store_in(&schema).await else {
        return;
    };
    for n in 1..=5 {
        store.append_decision(&decision(n)).await.unwrap();
    }
    assert!(store.verify_chain().await.unwrap().is_intact());
    // Someone with the owner's rights switches the guard off and edits row 3.
    let c = raw(&schema).await;
    c.batch_execute(
        "ALTER TABLE decision_log DISABLE TRIGGER decision_log_append_only;
         UPDATE decision_log
            SET record = jsonb_set(record::jsonb, '{decision,outcome}', '\"deny\"')::text
          WHERE sequence = 3;",
    )
    .await
    .unwrap();
    assert_eq!(
        store.verify_chain().await.unwrap(),
        ChainVerification::Broken {
            sequence: 3,
            problem: ChainBreak::HashMismatch
        }
    );
    c.batch_execute("DELETE FROM decision_log WHERE sequence = 3")
        .await
        .unwrap();
    assert_eq!(
        store.verify_chain().await.unwrap(),
        ChainVerification::Broken {
            sequence: 4,
            problem: ChainBreak::PrevHashMismatch
        }
    );
    let mut out = Vec::new();
    assert_eq!(store.export_decisions(&mut out).await.unwrap(), 4);
    drop_schema(&schema).await;
}

#[tokio::test]
async fn awkward_values_read_back_exactly() {
    use order_agent_core::ports::{IdempotencyRecord, IdempotencyStore};
    let schema = fresh_schema("exact");
    let Some(store) = store_in(&schema).await else {
        return;
    };
    let record = IdempotencyRecord {
        key: "refund:é:\u{1F600}".to_owned(),
        outcome: json!({ "nul": "a\u{0}b", "float": 1.5e-7, "big": u64::MAX, "nested": [{}] }),
        recorded_at: Utc.timestamp_opt(1_740_992_400, 987_654_321).unwrap(),
    };
    assert!(store
        .put_idempotency_record(&record)
        .await
        .unwrap()
        .is_inserted());
    assert_eq!(
        store.idempotency_record(&record.key).await.unwrap(),
        Some(record)
    );
    drop_schema(&schema).await;
}

#[tokio::test]
async fn an_unreachable_server_is_a_retryable_error() {
    let config = PostgresConfig::new("postgres://postgres@127.0.0.1:1/test");
    let err = PostgresStore::connect(&config).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unavailable, "{err}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_bad_schema_name_or_url_is_invalid_input() {
    let bad_schema = PostgresConfig::new(url()).with_schema("x; DROP TABLE y");
    let err = PostgresStore::connect(&bad_schema).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::InvalidInput);
    let bad_url = PostgresConfig::new("postgres://u:hunter2@[bad");
    let err = PostgresStore::connect(&bad_url).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::InvalidInput);
    assert!(!format!("{err} {err:?} {bad_url:?}").contains("hunter2"));
}
