//! The SQLite store against the store conformance suite, in memory and in a file; a reopened file
//! keeps its data; the hash chain of the decision log finds tampering.
#![cfg(feature = "sqlite")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{TimeZone, Utc};
use order_agent_adapters::store::{ChainBreak, ChainVerification, ExportedDecision, SqliteStore};
use order_agent_core::domain::{OrderId, PaymentId};
use order_agent_core::ports::{
    DecisionLog, DecisionRecord, EventInbox, IdempotencyRecord, IdempotencyStore, PortErrorKind,
    PutOutcome, RefundIntent, RefundIntentState, RefundIntentStore, Store,
};
use order_agent_core::{Currency, Money};
use order_agent_testkit::conformance::store;
use serde_json::json;

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

#[tokio::test]
async fn in_memory_store_conforms() {
    let store = SqliteStore::in_memory().unwrap();
    assert_conforms(store::run_all(&store, &store::sample()).await);
}

#[tokio::test]
async fn file_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("state.db")).unwrap();
    assert_conforms(store::run_all(&store, &store::sample()).await);
    assert!(store.verify_chain().await.unwrap().is_intact());
}

#[tokio::test]
async fn a_store_serves_as_a_shared_trait_object() {
    let store: std::sync::Arc<dyn Store> = std::sync::Arc::new(SqliteStore::in_memory().unwrap());
    assert_conforms(store::run_all(store.as_ref(), &store::sample()).await);
}

#[tokio::test]
async fn a_reopened_file_continues_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let intent = RefundIntent {
        key: "refund:ret_1:pay_1".to_owned(),
        order_id: OrderId::new("o_1"),
        payment_id: PaymentId::new("pay_1"),
        amount: Money::from_minor(1_250, Currency::CHF),
        captured: None,
        auto_limit: None,
        state: RefundIntentState::Pending,
        approval_ticket: None,
        refund_id: None,
        created_at: Utc.timestamp_opt(1_740_992_400, 123_456_789).unwrap(),
        updated_at: Utc.timestamp_opt(1_740_992_400, 123_456_789).unwrap(),
    };
    {
        let store = SqliteStore::open(&path).unwrap();
        // The suite appends fourteen decisions.
        assert_conforms(store::run_all(&store, &store::sample()).await);
        assert!(store.mark_processed("shopify", "evt_1").await.unwrap());
        assert_eq!(
            store.create_refund_intent(&intent).await.unwrap(),
            PutOutcome::Inserted
        );
        assert_eq!(store.append_decision(&decision(1)).await.unwrap(), 15);
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(
        store.schema_version().await.unwrap(),
        SqliteStore::SCHEMA_VERSION
    );
    assert!(!store.mark_processed("shopify", "evt_1").await.unwrap());
    assert_eq!(
        store.create_refund_intent(&intent).await.unwrap(),
        PutOutcome::AlreadyPresent(intent.clone()),
        "the intent, with its nanoseconds, survived the restart"
    );
    assert_eq!(store.append_decision(&decision(2)).await.unwrap(), 16);
    assert_eq!(
        store.verify_chain().await.unwrap(),
        ChainVerification::Intact {
            records: 16,
            head_hash: last_hash(&path),
        }
    );
    // The suite's keys are taken now; a second run under another run id passes again.
    let mut fixture = store::sample();
    fixture.run_id = "after-restart".to_owned();
    assert_conforms(store::run_all(&store, &fixture).await);
}

fn last_hash(path: &std::path::Path) -> String {
    let c = rusqlite::Connection::open(path).unwrap();
    c.query_row(
        "SELECT hash FROM decision_log ORDER BY sequence DESC LIMIT 1",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

#[tokio::test]
async fn the_database_refuses_what_the_code_must_never_do() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let store = SqliteStore::open(&path).unwrap();
    store
        .put_idempotency_record(&IdempotencyRecord {
            key: "k".to_owned(),
            outcome: json!({ "refund_id": "re_1" }),
            recorded_at: Utc::now(),
        })
        .await
        .unwrap();
    store
        .create_refund_intent(&RefundIntent {
            key: "refund:1".to_owned(),
            order_id: OrderId::new("o_1"),
            payment_id: PaymentId::new("pay_1"),
            amount: Money::from_minor(500, Currency::CHF),
            captured: None,
            auto_limit: None,
            state: RefundIntentState::Pending,
            approval_ticket: None,
            refund_id: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        })
        .await
        .unwrap();
    store.append_decision(&decision(1)).await.unwrap();
    store.mark_processed("shopify", "evt_1").await.unwrap();
    store
        .create_refund_intent(&RefundIntent {
            key: "refund:held".to_owned(),
            order_id: OrderId::new("o_1"),
            payment_id: PaymentId::new("pay_2"),
            amount: Money::from_minor(20_000, Currency::CHF),
            captured: None,
            auto_limit: Some(Money::from_minor(15_000, Currency::CHF)),
            state: RefundIntentState::NeedsApproval,
            approval_ticket: None,
            refund_id: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        })
        .await
        .unwrap();
    let c = rusqlite::Connection::open(&path).unwrap();
    let columns = "INSERT INTO refund_intents (key, order_id, payment_id, amount_minor, currency, \
                   state, approval_ticket, refund_id, created_at, updated_at, captured_minor, \
                   auto_limit_minor) VALUES";
    for (what, values) in [
        ("a second intent under one key", "('refund:1', 'o_1', 'pay_1', 500, 'CHF', 'pending', NULL, NULL, 'x', 'x', NULL, NULL)"),
        ("a zero amount", "('refund:2', 'o_1', 'pay_1', 0, 'CHF', 'pending', NULL, NULL, 'x', 'x', NULL, NULL)"),
        ("an unknown state", "('refund:3', 'o_1', 'pay_1', 5, 'CHF', 'paid', NULL, NULL, 'x', 'x', NULL, NULL)"),
        ("a new succeeded intent", "('refund:4', 'o_1', 'pay_1', 5, 'CHF', 'succeeded', NULL, NULL, 'x', 'x', NULL, NULL)"),
        ("intents beyond what the payment captured", "('refund:5', 'o_1', 'pay_1', 600, 'CHF', 'pending', NULL, NULL, 'x', 'x', 1000, NULL)"),
        ("a pending intent above the limit", "('refund:6', 'o_1', 'pay_3', 20000, 'CHF', 'pending', NULL, NULL, 'x', 'x', NULL, 15000)"),
    ] {
        assert!(
            c.execute(&format!("{columns} {values}"), []).is_err(),
            "the database accepted {what}"
        );
    }
    assert!(
        c.execute(&format!("{columns} ('refund:7', 'o_1', 'pay_1', 400, 'CHF', 'pending', NULL, NULL, 'x', 'x', 1000, NULL)"), [])
            .is_ok(),
        "an intent within what was captured is refused"
    );
    for (what, sql) in [
        (
            "a raised amount",
            "UPDATE refund_intents SET amount_minor = 50000",
        ),
        (
            "an illegal transition",
            "UPDATE refund_intents SET state = 'approved' WHERE key = 'refund:1'",
        ),
        (
            "an approval without a ticket",
            "UPDATE refund_intents SET state = 'approved' WHERE key = 'refund:held'",
        ),
        (
            "a changed limit",
            "UPDATE refund_intents SET auto_limit_minor = 50000 WHERE key = 'refund:held'",
        ),
        ("a deleted intent", "DELETE FROM refund_intents"),
        (
            "an overwritten idempotency record",
            "UPDATE idempotency_records SET outcome = '{}'",
        ),
        ("a forgotten event", "DELETE FROM processed_events"),
        (
            "an edited decision",
            "UPDATE decision_log SET record = '{}'",
        ),
        ("a deleted decision", "DELETE FROM decision_log"),
    ] {
        assert!(c.execute(sql, []).is_err(), "the database accepted {what}");
    }
    assert!(
        c.execute(
            "UPDATE refund_intents SET state = 'succeeded' WHERE key = 'refund:1'",
            []
        )
        .is_ok(),
        "a legal transition is refused"
    );
    assert!(
        c.execute(
            "UPDATE refund_intents SET state = 'approved', approval_ticket = 't' \
             WHERE key = 'refund:held'",
            []
        )
        .is_ok(),
        "an approval with a ticket is refused"
    );
}

#[tokio::test]
async fn tampering_with_a_decision_breaks_the_chain_at_that_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let store = SqliteStore::open(&path).unwrap();
    for n in 1..=5 {
        store.append_decision(&decision(n)).await.unwrap();
    }
    assert!(store.verify_chain().await.unwrap().is_intact());

    // Someone with write access to the file drops the guard and edits row 3.
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch("DROP TRIGGER decision_log_never_changes")
        .unwrap();
    c.execute(
        "UPDATE decision_log SET record = json_set(record, '$.decision.outcome', 'deny')
         WHERE sequence = 3",
        [],
    )
    .unwrap();
    assert_eq!(
        store.verify_chain().await.unwrap(),
        ChainVerification::Broken {
            sequence: 3,
            problem: ChainBreak::HashMismatch
        }
    );

    // Recomputing row 3's hash only moves the break to row 4.
    let (prev, record): (String, String) = c
        .query_row(
            "SELECT prev_hash, record FROM decision_log WHERE sequence = 3",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let forged = forge_hash(&prev, 3, &record);
    c.execute(
        "UPDATE decision_log SET hash = ?1 WHERE sequence = 3",
        [forged],
    )
    .unwrap();
    assert_eq!(
        store.verify_chain().await.unwrap(),
        ChainVerification::Broken {
            sequence: 4,
            problem: ChainBreak::PrevHashMismatch
        }
    );
}

#[tokio::test]
async fn deleting_a_decision_breaks_the_chain_at_the_next_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let store = SqliteStore::open(&path).unwrap();
    for n in 1..=4 {
        store.append_decision(&decision(n)).await.unwrap();
    }
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch(
        "DROP TRIGGER decision_log_never_shrinks; DELETE FROM decision_log WHERE sequence = 2;",
    )
    .unwrap();
    assert_eq!(store.verify_chain().await.unwrap().first_broken(), Some(3));
}

/// The chain's hash, computed independently from its documented definition.
fn forge_hash(prev: &str, sequence: u64, record: &str) -> String {
    use sha2::{Digest, Sha256};
    let record: serde_json::Value = serde_json::from_str(record).unwrap();
    // serde_json's default map sorts keys, which is the canonical form for this record.
    let content =
        serde_json::to_string(&json!({ "record": record, "sequence": sequence })).unwrap();
    let mut hasher = Sha256::new();
    hasher.update(hex::decode(prev).unwrap());
    hasher.update(content.as_bytes());
    hex::encode(hasher.finalize())
}

#[tokio::test]
async fn the_export_is_one_verifiable_json_line_per_decision() {
    let store = SqliteStore::in_memory().unwrap();
    for n in 1..=3 {
        store.append_decision(&decision(n)).await.unwrap();
    }
    let mut out = Vec::new();
    assert_eq!(store.export_decisions(&mut out).await.unwrap(), 3);
    let lines: Vec<ExportedDecision> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0].prev_hash, "0".repeat(64));
    for (n, line) in lines.iter().enumerate() {
        assert_eq!(line.record, decision(n as u32 + 1));
        let record = serde_json::to_string(&line.record).unwrap();
        assert_eq!(
            line.hash,
            forge_hash(&line.prev_hash, line.sequence, &record)
        );
        if n > 0 {
            assert_eq!(line.prev_hash, lines[n - 1].hash);
        }
    }
}

#[tokio::test]
async fn awkward_values_read_back_exactly() {
    let store = SqliteStore::in_memory().unwrap();
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
}

#[tokio::test]
async fn invalid_input_never_reaches_the_database() {
    let store = SqliteStore::in_memory().unwrap();
    let err = store
        .put_idempotency_record(&IdempotencyRecord {
            key: String::new(),
            outcome: json!(null),
            recorded_at: Utc::now(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::InvalidInput);
    assert!(store.decisions(u64::MAX, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_locked_database_is_a_retryable_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let store = SqliteStore::open(&path).unwrap();
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let err = store.mark_processed("shopify", "evt_1").await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unavailable);
    assert!(err.is_retryable());
    c.execute_batch("ROLLBACK").unwrap();
    assert!(store.mark_processed("shopify", "evt_1").await.unwrap());
}

#[tokio::test]
async fn a_database_from_a_newer_library_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    drop(SqliteStore::open(&path).unwrap());
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute("INSERT INTO schema_version (version) VALUES (99)", [])
        .unwrap();
    let err = SqliteStore::open(&path).unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unexpected);
    assert!(err.to_string().contains("newer"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_on_one_file_never_double_act() {
    use order_agent_core::ports::{RefundIntentTransition, TransitionOutcome};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let stores = [
        std::sync::Arc::new(SqliteStore::open(&path).unwrap()),
        std::sync::Arc::new(SqliteStore::open(&path).unwrap()),
    ];
    let intent = RefundIntent {
        key: "refund:race".to_owned(),
        order_id: OrderId::new("o_1"),
        payment_id: PaymentId::new("pay_1"),
        amount: Money::from_minor(1_250, Currency::CHF),
        captured: None,
        auto_limit: None,
        state: RefundIntentState::Pending,
        approval_ticket: None,
        refund_id: None,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    };
    let mut tasks = Vec::new();
    for (n, store) in stores.iter().cycle().take(16).enumerate() {
        let (store, intent) = (std::sync::Arc::clone(store), intent.clone());
        tasks.push(tokio::spawn(async move {
            let created = store.create_refund_intent(&intent).await.unwrap();
            let paid = store
                .transition_refund_intent(
                    &intent.key,
                    &RefundIntentTransition {
                        from: RefundIntentState::Pending,
                        to: RefundIntentState::Succeeded,
                        approval_ticket: None,
                        refund_id: Some(order_agent_core::domain::RefundId::new(format!("re_{n}"))),
                        at: Utc::now(),
                    },
                )
                .await
                .unwrap();
            let first = store.mark_processed("shopify", "evt_race").await.unwrap();
            let seq = store.append_decision(&decision(n as u32)).await.unwrap();
            (
                created.is_inserted(),
                matches!(paid, TransitionOutcome::Applied(_)),
                first,
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
    assert!(stores[1].verify_chain().await.unwrap().is_intact());
    let c = rusqlite::Connection::open(&path).unwrap();
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_start_ups_migrate_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let opens: Vec<_> = (0..4)
        .map(|_| {
            let path = path.clone();
            tokio::task::spawn_blocking(move || SqliteStore::open(path))
        })
        .collect();
    for open in opens {
        let store = open.await.unwrap().unwrap();
        assert_eq!(
            store.schema_version().await.unwrap(),
            SqliteStore::SCHEMA_VERSION
        );
    }
}
