//! The state-store conformance suites: one per store trait, and [`run_all`] for a whole
//! [`Store`].
//!
//! The per-trait suites are generic (`S: EventInbox + ?Sized`, ...), so they accept a concrete
//! adapter, a `dyn Store`, or a fake that implements one trait only.

use chrono::{DateTime, Duration, Utc};
use order_agent_core::domain::{
    Channel, CustomerId, LineId, Locale, OrderId, PaymentId, RefundId, ResolutionKind,
    ReturnAuthorisation, ReturnId, ReturnLine, ReturnReason, ReturnRequest, TicketId,
};
use order_agent_core::ports::{
    ConversationKey, ConversationState, ConversationStore, DecisionLog, DecisionRecord, EventInbox,
    IdempotencyRecord, IdempotencyStore, PendingQuestion, PortErrorKind, PutOutcome, RefundIntent,
    RefundIntentState, RefundIntentStore, RefundIntentTransition, ReturnStore, Store,
    TransitionOutcome,
};
use serde_json::json;

use super::sample_data::{at, chf};
use super::{ensure, expect_kind, ok, CheckResult, ConformanceFailure, ConformanceReport, Runner};

/// What the store suites need: a run id (keys and ids are derived from it) and a time.
#[derive(Debug, Clone)]
pub struct StoreFixture {
    /// Distinguishes this run's keys from earlier runs against the same database.
    pub run_id: String,
    /// The time stamped on records.
    pub now: DateTime<Utc>,
}

/// A fixture for a fresh store.
pub fn sample() -> StoreFixture {
    StoreFixture {
        run_id: "sample".to_owned(),
        now: at(2025, 3, 3, 9),
    }
}

/// Runs every store suite against a whole store.
pub async fn run_all(store: &dyn Store, fixture: &StoreFixture) -> Result<(), ConformanceReport> {
    let mut runner = Runner::new("store");
    idempotency_checks(&mut runner, store, fixture).await;
    return_checks(&mut runner, store, fixture).await;
    refund_intent_checks(&mut runner, store, fixture).await;
    inbox_checks(&mut runner, store, fixture).await;
    super::queue::queue_checks(&mut runner, store, fixture).await;
    runner
        .check(completed_events_count_as_processed(store, fixture))
        .await;
    conversation_checks(&mut runner, store, fixture).await;
    decision_log_checks(&mut runner, store, fixture).await;
    runner.finish()
}

/// The [`IdempotencyStore`] suite.
pub async fn idempotency_suite<S: IdempotencyStore + ?Sized>(
    store: &S,
    fixture: &StoreFixture,
) -> Result<(), ConformanceReport> {
    let mut runner = Runner::new("store.idempotency");
    idempotency_checks(&mut runner, store, fixture).await;
    runner.finish()
}

/// The [`ReturnStore`] suite.
pub async fn return_suite<S: ReturnStore + ?Sized>(
    store: &S,
    fixture: &StoreFixture,
) -> Result<(), ConformanceReport> {
    let mut runner = Runner::new("store.returns");
    return_checks(&mut runner, store, fixture).await;
    runner.finish()
}

/// The [`RefundIntentStore`] suite.
pub async fn refund_intent_suite<S: RefundIntentStore + ?Sized>(
    store: &S,
    fixture: &StoreFixture,
) -> Result<(), ConformanceReport> {
    let mut runner = Runner::new("store.refund_intents");
    refund_intent_checks(&mut runner, store, fixture).await;
    runner.finish()
}

/// The [`EventInbox`] suite.
pub async fn inbox_suite<S: EventInbox + ?Sized>(
    store: &S,
    fixture: &StoreFixture,
) -> Result<(), ConformanceReport> {
    let mut runner = Runner::new("store.inbox");
    inbox_checks(&mut runner, store, fixture).await;
    runner.finish()
}

/// The [`ConversationStore`] suite.
pub async fn conversation_suite<S: ConversationStore + ?Sized>(
    store: &S,
    fixture: &StoreFixture,
) -> Result<(), ConformanceReport> {
    let mut runner = Runner::new("store.conversations");
    conversation_checks(&mut runner, store, fixture).await;
    runner.finish()
}

/// The [`DecisionLog`] suite.
pub async fn decision_log_suite<S: DecisionLog + ?Sized>(
    store: &S,
    fixture: &StoreFixture,
) -> Result<(), ConformanceReport> {
    let mut runner = Runner::new("store.decision_log");
    decision_log_checks(&mut runner, store, fixture).await;
    runner.finish()
}

async fn idempotency_checks<S: IdempotencyStore + ?Sized>(r: &mut Runner, s: &S, f: &StoreFixture) {
    r.check(idempotency_put_if_absent(s, f)).await;
    r.check(idempotency_concurrent_puts_insert_once(s, f)).await;
    r.check(idempotency_empty_key_is_invalid(s, f)).await;
}

async fn return_checks<S: ReturnStore + ?Sized>(r: &mut Runner, s: &S, f: &StoreFixture) {
    r.check(return_insert_if_absent(s, f)).await;
    r.check(returns_of_order_oldest_first(s, f)).await;
}

async fn refund_intent_checks<S: RefundIntentStore + ?Sized>(
    r: &mut Runner,
    s: &S,
    f: &StoreFixture,
) {
    r.check(refund_intent_create_if_absent(s, f)).await;
    r.check(refund_intent_compare_and_set(s, f)).await;
    r.check(refund_intent_concurrent_transitions_apply_once(s, f))
        .await;
    r.check(refund_intents_of_order_oldest_first(s, f)).await;
    r.check(refund_intents_hold_their_money_bounds(s, f)).await;
    r.check(refund_intents_concurrent_creates_stay_within_captured(s, f))
        .await;
}

async fn inbox_checks<S: EventInbox + ?Sized>(r: &mut Runner, s: &S, f: &StoreFixture) {
    r.check(inbox_marks_each_event_once(s, f)).await;
    r.check(inbox_concurrent_marks_count_once(s, f)).await;
}

async fn conversation_checks<S: ConversationStore + ?Sized>(
    r: &mut Runner,
    s: &S,
    f: &StoreFixture,
) {
    r.check(conversation_compare_and_set(s, f)).await;
    r.check(conversation_keys_are_independent(s, f)).await;
    r.check(conversation_delete(s, f)).await;
    r.check(conversation_concurrent_saves_succeed_once(s, f))
        .await;
}

async fn decision_log_checks<S: DecisionLog + ?Sized>(r: &mut Runner, s: &S, f: &StoreFixture) {
    r.check(decision_log_sequence_strictly_increases(s, f))
        .await;
    r.check(decision_log_reads_ranges_in_order(s, f)).await;
}

fn key(f: &StoreFixture, name: &str) -> String {
    format!("conformance:{}:{name}", f.run_id)
}

fn fail(check: &'static str, message: impl Into<String>) -> ConformanceFailure {
    ConformanceFailure::new(check, message)
}

// ---------------------------------------------------------------------------------------------
// idempotency

fn record(f: &StoreFixture, name: &str, n: u32) -> IdempotencyRecord {
    IdempotencyRecord {
        key: key(f, name),
        outcome: json!({ "refund_id": format!("re_{n}"), "amount": "12.50", "n": n }),
        recorded_at: f.now,
    }
}

/// A put stores once; later puts return the first record unchanged.
pub async fn idempotency_put_if_absent<S: IdempotencyStore + ?Sized>(
    s: &S,
    f: &StoreFixture,
) -> CheckResult {
    const CHECK: &str = "store.idempotency_put_if_absent";
    let first = record(f, "put", 1);
    let missing = ok(
        CHECK,
        "get before put",
        s.idempotency_record(&first.key).await,
    )?;
    ensure!(
        CHECK,
        missing.is_none(),
        "a record exists before the first put"
    );
    let put = ok(CHECK, "first put", s.put_idempotency_record(&first).await)?;
    ensure!(
        CHECK,
        put == PutOutcome::Inserted,
        "the first put answered {put:?}"
    );
    let stored = ok(CHECK, "get", s.idempotency_record(&first.key).await)?;
    ensure!(
        CHECK,
        stored.as_ref() == Some(&first),
        "stored {stored:?}, put {first:?}"
    );
    let second = record(f, "put", 2);
    let again = ok(CHECK, "second put", s.put_idempotency_record(&second).await)?;
    ensure!(
        CHECK,
        again == PutOutcome::AlreadyPresent(first.clone()),
        "the second put answered {again:?}"
    );
    let still = ok(CHECK, "get", s.idempotency_record(&first.key).await)?;
    ensure!(
        CHECK,
        still.as_ref() == Some(&first),
        "the second put overwrote the record"
    );
    Ok(())
}

/// Of concurrent puts of one key exactly one inserts.
pub async fn idempotency_concurrent_puts_insert_once<S: IdempotencyStore + ?Sized>(
    s: &S,
    f: &StoreFixture,
) -> CheckResult {
    const CHECK: &str = "store.idempotency_concurrent_puts_insert_once";
    let (a, b, c, d) = (
        record(f, "race", 1),
        record(f, "race", 2),
        record(f, "race", 3),
        record(f, "race", 4),
    );
    let results = tokio::join!(
        s.put_idempotency_record(&a),
        s.put_idempotency_record(&b),
        s.put_idempotency_record(&c),
        s.put_idempotency_record(&d),
    );
    let outcomes = [
        ok(CHECK, "put", results.0)?,
        ok(CHECK, "put", results.1)?,
        ok(CHECK, "put", results.2)?,
        ok(CHECK, "put", results.3)?,
    ];
    let inserted = outcomes.iter().filter(|o| o.is_inserted()).count();
    ensure!(
        CHECK,
        inserted == 1,
        "{inserted} of 4 concurrent puts inserted"
    );
    let stored = ok(CHECK, "get", s.idempotency_record(&a.key).await)?
        .ok_or_else(|| fail(CHECK, "no record after concurrent puts"))?;
    ensure!(
        CHECK,
        outcomes.iter().all(|o| match o {
            PutOutcome::Inserted => true,
            PutOutcome::AlreadyPresent(r) => r == &stored,
        }),
        "a losing put saw another record than the one stored"
    );
    Ok(())
}

/// An empty key is invalid input.
pub async fn idempotency_empty_key_is_invalid<S: IdempotencyStore + ?Sized>(
    s: &S,
    f: &StoreFixture,
) -> CheckResult {
    const CHECK: &str = "store.idempotency_empty_key_is_invalid";
    let mut empty = record(f, "", 1);
    empty.key = String::new();
    expect_kind(
        CHECK,
        "put an empty key",
        PortErrorKind::InvalidInput,
        s.put_idempotency_record(&empty).await,
    )
}

// ---------------------------------------------------------------------------------------------
// returns

fn authorisation(f: &StoreFixture, name: &str, order: &str, hours: i64) -> ReturnAuthorisation {
    ReturnAuthorisation {
        id: ReturnId::new(key(f, name)),
        request: ReturnRequest {
            order_id: OrderId::new(key(f, order)),
            lines: vec![ReturnLine {
                line_id: LineId::new("l1"),
                quantity: 1,
                reason: ReturnReason::DoesNotFit,
                exchange_for: None,
            }],
            resolution: ResolutionKind::Refund,
        },
        authorised_at: f.now + Duration::hours(hours),
        policy_version: "2025-03".to_owned(),
    }
}

/// An authorisation is stored once; later inserts return the first unchanged.
pub async fn return_insert_if_absent<S: ReturnStore + ?Sized>(
    s: &S,
    f: &StoreFixture,
) -> CheckResult {
    const CHECK: &str = "store.return_insert_if_absent";
    let first = authorisation(f, "ret-insert", "order-insert", 0);
    let missing = ok(
        CHECK,
        "get before insert",
        s.return_authorisation(&first.id).await,
    )?;
    ensure!(
        CHECK,
        missing.is_none(),
        "an authorisation exists before the first insert"
    );
    let mut second = first.clone();
    second.policy_version = "other".to_owned();
    let (a, b) = tokio::join!(
        s.insert_return_authorisation(&first),
        s.insert_return_authorisation(&second)
    );
    let (a, b) = (ok(CHECK, "insert", a)?, ok(CHECK, "insert", b)?);
    ensure!(
        CHECK,
        usize::from(a.is_inserted()) + usize::from(b.is_inserted()) == 1,
        "two inserts of one id answered {a:?} and {b:?}"
    );
    let stored = ok(CHECK, "get", s.return_authorisation(&first.id).await)?
        .ok_or_else(|| fail(CHECK, "the authorisation cannot be read back"))?;
    for outcome in [&a, &b] {
        if let PutOutcome::AlreadyPresent(existing) = outcome {
            ensure!(
                CHECK,
                existing == &stored,
                "the losing insert saw {existing:?}"
            );
        }
    }
    let third = ok(
        CHECK,
        "insert again",
        s.insert_return_authorisation(&second).await,
    )?;
    ensure!(
        CHECK,
        third == PutOutcome::AlreadyPresent(stored.clone()),
        "insert again answered {third:?}"
    );
    let still = ok(CHECK, "get", s.return_authorisation(&first.id).await)?;
    ensure!(
        CHECK,
        still.as_ref() == Some(&stored),
        "a later insert overwrote the authorisation"
    );
    Ok(())
}

/// An order's authorisations come oldest first, only that order's, each once.
pub async fn returns_of_order_oldest_first<S: ReturnStore + ?Sized>(
    s: &S,
    f: &StoreFixture,
) -> CheckResult {
    const CHECK: &str = "store.returns_of_order_oldest_first";
    let later = authorisation(f, "ret-later", "order-list", 2);
    let earlier = authorisation(f, "ret-earlier", "order-list", 1);
    let other = authorisation(f, "ret-other", "order-list-other", 0);
    for a in [&later, &earlier, &other] {
        ok(CHECK, "insert", s.insert_return_authorisation(a).await)?;
    }
    let listed = ok(
        CHECK,
        "list",
        s.return_authorisations_of_order(&later.request.order_id)
            .await,
    )?;
    ensure!(
        CHECK,
        listed == vec![earlier.clone(), later.clone()],
        "listed {:?}, expected the earlier then the later",
        listed.iter().map(|a| a.id.as_str()).collect::<Vec<_>>()
    );
    let none = ok(
        CHECK,
        "list an order without returns",
        s.return_authorisations_of_order(&OrderId::new(key(f, "order-without-returns")))
            .await,
    )?;
    ensure!(
        CHECK,
        none.is_empty(),
        "an order without returns lists {}",
        none.len()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// refund intents

fn intent(f: &StoreFixture, name: &str, order: &str, hours: i64) -> RefundIntent {
    RefundIntent {
        key: key(f, name),
        order_id: OrderId::new(key(f, order)),
        payment_id: PaymentId::new("pay_1"),
        amount: chf(4_990),
        captured: None,
        auto_limit: None,
        state: RefundIntentState::Pending,
        approval_ticket: None,
        refund_id: None,
        created_at: f.now + Duration::hours(hours),
        updated_at: f.now + Duration::hours(hours),
    }
}

/// An intent on payment `payment` of this run, with the bounds given.
fn bounded(
    f: &StoreFixture,
    name: &str,
    payment: &str,
    minor: i64,
    captured: Option<i64>,
    auto_limit: Option<i64>,
) -> RefundIntent {
    RefundIntent {
        payment_id: PaymentId::new(key(f, payment)),
        amount: chf(minor),
        captured: captured.map(chf),
        auto_limit: auto_limit.map(chf),
        ..intent(f, name, "order-bounds", 0)
    }
}

/// The money bounds hold at the store: the live intents of a payment never exceed what it
/// captured (failed ones do not count), an intent above the limit starts waiting for approval,
/// an approval needs a ticket, and nothing refused is stored.
pub async fn refund_intents_hold_their_money_bounds<S: RefundIntentStore + ?Sized>(
    s: &S,
    f: &StoreFixture,
) -> CheckResult {
    const CHECK: &str = "store.refund_intents_hold_their_money_bounds";
    let first = bounded(f, "bounds-1", "pay-bounds", 6_000, Some(10_000), None);
    ok(
        CHECK,
        "create within captured",
        s.create_refund_intent(&first).await,
    )?;
    let second = bounded(f, "bounds-2", "pay-bounds", 5_000, Some(10_000), None);
    expect_kind(
        CHECK,
        "create beyond captured",
        PortErrorKind::Conflict,
        s.create_refund_intent(&second).await,
    )?;
    let stored = ok(CHECK, "get", s.refund_intent(&second.key).await)?;
    ensure!(
        CHECK,
        stored.is_none(),
        "a refused intent was stored: {stored:?}"
    );
    let again = ok(
        CHECK,
        "create the first again",
        s.create_refund_intent(&first).await,
    )?;
    ensure!(
        CHECK,
        again == PutOutcome::AlreadyPresent(first.clone()),
        "creating the first intent again answered {again:?}"
    );
    ok(
        CHECK,
        "fail the first",
        s.transition_refund_intent(
            &first.key,
            &transition(f, RefundIntentState::Pending, RefundIntentState::Failed, 1),
        )
        .await,
    )?;
    let after_failure = ok(
        CHECK,
        "create once the first failed",
        s.create_refund_intent(&second).await,
    )?;
    ensure!(
        CHECK,
        after_failure.is_inserted(),
        "a failed intent still counted against what was captured: {after_failure:?}"
    );

    let above = bounded(f, "bounds-3", "pay-limit", 20_000, None, Some(15_000));
    expect_kind(
        CHECK,
        "create a pending intent above the limit",
        PortErrorKind::InvalidInput,
        s.create_refund_intent(&above).await,
    )?;
    let held = RefundIntent {
        state: RefundIntentState::NeedsApproval,
        ..above.clone()
    };
    ok(CHECK, "create it held", s.create_refund_intent(&held).await)?;
    expect_kind(
        CHECK,
        "approve without a ticket",
        PortErrorKind::InvalidInput,
        s.transition_refund_intent(
            &held.key,
            &transition(
                f,
                RefundIntentState::NeedsApproval,
                RefundIntentState::Approved,
                2,
            ),
        )
        .await,
    )?;
    let mut approve = transition(
        f,
        RefundIntentState::NeedsApproval,
        RefundIntentState::Approved,
        3,
    );
    approve.approval_ticket = Some(TicketId::new("tkt-bounds"));
    let approved = ok(
        CHECK,
        "approve with a ticket",
        s.transition_refund_intent(&held.key, &approve).await,
    )?;
    ensure!(
        CHECK,
        matches!(&approved, TransitionOutcome::Applied(i) if i.state == RefundIntentState::Approved),
        "approving with a ticket answered {approved:?}"
    );
    let mut usd = bounded(f, "bounds-4", "pay-usd", 1_000, None, None);
    usd.captured = Some(crate::conformance::sample_data::usd(5_000));
    expect_kind(
        CHECK,
        "create with a bound in another currency",
        PortErrorKind::InvalidInput,
        s.create_refund_intent(&usd).await,
    )?;
    Ok(())
}

/// Concurrent creates of different intents on one payment never pass the captured check
/// together when both would not fit.
pub async fn refund_intents_concurrent_creates_stay_within_captured<
    S: RefundIntentStore + ?Sized,
>(
    s: &S,
    f: &StoreFixture,
) -> CheckResult {
    const CHECK: &str = "store.refund_intents_concurrent_creates_stay_within_captured";
    let intents: Vec<RefundIntent> = (0..4)
        .map(|n| {
            bounded(
                f,
                &format!("race-cap-{n}"),
                "pay-race",
                4_000,
                Some(10_000),
                None,
            )
        })
        .collect();
    let results = tokio::join!(
        s.create_refund_intent(&intents[0]),
        s.create_refund_intent(&intents[1]),
        s.create_refund_intent(&intents[2]),
        s.create_refund_intent(&intents[3]),
    );
    let mut created = 0;
    for result in [results.0, results.1, results.2, results.3] {
        match result {
            Ok(PutOutcome::Inserted) => created += 1,
            Ok(other) => {
                return Err(fail(CHECK, format!("a fresh key answered {other:?}")));
            }
            Err(e) if e.kind() == PortErrorKind::Conflict => {}
            Err(e) => return Err(fail(CHECK, format!("create failed: {e}"))),
        }
    }
    ensure!(
        CHECK,
        created == 2,
        "{created} of 4 intents of CHF 40 were created on a payment that captured CHF 100"
    );
    Ok(())
}

fn transition(
    f: &StoreFixture,
    from: RefundIntentState,
    to: RefundIntentState,
    minutes: i64,
) -> RefundIntentTransition {
    RefundIntentTransition {
        from,
        to,
        approval_ticket: None,
        refund_id: None,
        at: f.now + Duration::minutes(minutes),
    }
}

/// An intent is created once; invalid intents are refused.
pub async fn refund_intent_create_if_absent<S: RefundIntentStore + ?Sized>(
    s: &S,
    f: &StoreFixture,
) -> CheckResult {
    const CHECK: &str = "store.refund_intent_create_if_absent";
    let first = intent(f, "intent-create", "order-intent", 0);
    let missing = ok(
        CHECK,
        "get before create",
        s.refund_intent(&first.key).await,
    )?;
    ensure!(
        CHECK,
        missing.is_none(),
        "an intent exists before it was created"
    );
    let created = ok(CHECK, "create", s.create_refund_intent(&first).await)?;
    ensure!(
        CHECK,
        created == PutOutcome::Inserted,
        "create answered {created:?}"
    );
    let stored = ok(CHECK, "get", s.refund_intent(&first.key).await)?;
    ensure!(CHECK, stored.as_ref() == Some(&first), "stored {stored:?}");
    let mut other = first.clone();
    other.amount = chf(1);
    let again = ok(CHECK, "create again", s.create_refund_intent(&other).await)?;
    ensure!(
        CHECK,
        again == PutOutcome::AlreadyPresent(first.clone()),
        "create again answered {again:?}"
    );
    let still = ok(CHECK, "get", s.refund_intent(&first.key).await)?;
    ensure!(
        CHECK,
        still.as_ref() == Some(&first),
        "a second create overwrote the intent"
    );

    let mut done = intent(f, "intent-create-succeeded", "order-intent", 0);
    done.state = RefundIntentState::Succeeded;
    expect_kind(
        CHECK,
        "create a succeeded intent",
        PortErrorKind::InvalidInput,
        s.create_refund_intent(&done).await,
    )?;
    let mut zero = intent(f, "intent-create-zero", "order-intent", 0);
    zero.amount = chf(0);
    expect_kind(
        CHECK,
        "create a zero intent",
        PortErrorKind::InvalidInput,
        s.create_refund_intent(&zero).await,
    )
}

/// Transitions apply only from the expected state, keep what they do not set, refuse illegal
/// moves and unknown keys.
pub async fn refund_intent_compare_and_set<S: RefundIntentStore + ?Sized>(
    s: &S,
    f: &StoreFixture,
) -> CheckResult {
    use RefundIntentState::*;
    const CHECK: &str = "store.refund_intent_compare_and_set";
    let created = intent(f, "intent-cas", "order-cas", 0);
    ok(CHECK, "create", s.create_refund_intent(&created).await)?;
    let ticket = TicketId::new("tkt_cas");

    let mut ask = transition(f, Pending, NeedsApproval, 1);
    ask.approval_ticket = Some(ticket.clone());
    let asked = match ok(
        CHECK,
        "pending → needs_approval",
        s.transition_refund_intent(&created.key, &ask).await,
    )? {
        TransitionOutcome::Applied(i) => i,
        TransitionOutcome::Stale(i) => {
            return Err(fail(CHECK, format!("a valid transition was stale: {i:?}")))
        }
    };
    ensure!(
        CHECK,
        asked.state == NeedsApproval
            && asked.approval_ticket.as_ref() == Some(&ticket)
            && asked.updated_at == ask.at,
        "after the transition the intent is {asked:?}"
    );
    ensure!(
        CHECK,
        asked.amount == created.amount && asked.created_at == created.created_at,
        "a transition changed the amount or creation time"
    );

    let stale = ok(
        CHECK,
        "repeat the transition",
        s.transition_refund_intent(&created.key, &ask).await,
    )?;
    ensure!(
        CHECK,
        stale == TransitionOutcome::Stale(asked.clone()),
        "repeating answered {stale:?}"
    );

    let approved = match ok(
        CHECK,
        "needs_approval → approved",
        s.transition_refund_intent(&created.key, &transition(f, NeedsApproval, Approved, 2))
            .await,
    )? {
        TransitionOutcome::Applied(i) => i,
        other => return Err(fail(CHECK, format!("approve answered {other:?}"))),
    };
    ensure!(
        CHECK,
        approved.approval_ticket.as_ref() == Some(&ticket),
        "a transition without a ticket dropped the ticket"
    );
    let mut pay = transition(f, Approved, Succeeded, 3);
    pay.refund_id = Some(RefundId::new("re_cas"));
    let paid = match ok(
        CHECK,
        "approved → succeeded",
        s.transition_refund_intent(&created.key, &pay).await,
    )? {
        TransitionOutcome::Applied(i) => i,
        other => return Err(fail(CHECK, format!("succeed answered {other:?}"))),
    };
    ensure!(
        CHECK,
        paid.refund_id == pay.refund_id,
        "the refund id was not stored"
    );

    expect_kind(
        CHECK,
        "succeeded → pending",
        PortErrorKind::InvalidInput,
        s.transition_refund_intent(&created.key, &transition(f, Succeeded, Pending, 4))
            .await,
    )?;
    let after = ok(CHECK, "get", s.refund_intent(&created.key).await)?;
    ensure!(
        CHECK,
        after.as_ref() == Some(&paid),
        "an illegal transition changed the intent"
    );
    expect_kind(
        CHECK,
        "transition an unknown intent",
        PortErrorKind::NotFound,
        s.transition_refund_intent(
            &key(f, "intent-unknown"),
            &transition(f, Pending, Failed, 5),
        )
        .await,
    )
}

/// Of concurrent transitions from one state at most one applies.
pub async fn refund_intent_concurrent_transitions_apply_once<S: RefundIntentStore + ?Sized>(
    s: &S,
    f: &StoreFixture,
) -> CheckResult {
    use RefundIntentState::*;
    const CHECK: &str = "store.refund_intent_concurrent_transitions_apply_once";
    let created = intent(f, "intent-race", "order-race", 0);
    ok(CHECK, "create", s.create_refund_intent(&created).await)?;
    let (t1, t2, t3, t4) = (
        transition(f, Pending, Succeeded, 1),
        transition(f, Pending, Failed, 2),
        transition(f, Pending, Succeeded, 3),
        transition(f, Pending, NeedsApproval, 4),
    );
    let results = tokio::join!(
        s.transition_refund_intent(&created.key, &t1),
        s.transition_refund_intent(&created.key, &t2),
        s.transition_refund_intent(&created.key, &t3),
        s.transition_refund_intent(&created.key, &t4),
    );
    let outcomes = [
        ok(CHECK, "transition", results.0)?,
        ok(CHECK, "transition", results.1)?,
        ok(CHECK, "transition", results.2)?,
        ok(CHECK, "transition", results.3)?,
    ];
    let applied = outcomes
        .iter()
        .filter(|o| matches!(o, TransitionOutcome::Applied(_)))
        .count();
    ensure!(
        CHECK,
        applied == 1,
        "{applied} of 4 concurrent transitions from pending applied"
    );
    Ok(())
}

/// An order's intents come oldest first, only that order's.
pub async fn refund_intents_of_order_oldest_first<S: RefundIntentStore + ?Sized>(
    s: &S,
    f: &StoreFixture,
) -> CheckResult {
    const CHECK: &str = "store.refund_intents_of_order_oldest_first";
    let later = intent(f, "intent-later", "order-intents", 2);
    let earlier = intent(f, "intent-earlier", "order-intents", 1);
    let other = intent(f, "intent-other", "order-intents-other", 0);
    for i in [&later, &earlier, &other] {
        ok(CHECK, "create", s.create_refund_intent(i).await)?;
    }
    let listed = ok(
        CHECK,
        "list",
        s.refund_intents_of_order(&later.order_id).await,
    )?;
    ensure!(
        CHECK,
        listed == vec![earlier.clone(), later.clone()],
        "listed {:?}, expected the earlier then the later",
        listed.iter().map(|i| i.key.as_str()).collect::<Vec<_>>()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// inbox

/// An event is new once, then never again; sources are separate; asking does not mark.
pub async fn inbox_marks_each_event_once<S: EventInbox + ?Sized>(
    s: &S,
    f: &StoreFixture,
) -> CheckResult {
    const CHECK: &str = "store.inbox_marks_each_event_once";
    let source = key(f, "webhooks");
    let other_source = key(f, "warehouse");
    let event = "evt_1";
    let seen = ok(CHECK, "is processed", s.is_processed(&source, event).await)?;
    ensure!(CHECK, !seen, "an event is processed before it was marked");
    let seen = ok(
        CHECK,
        "is processed again",
        s.is_processed(&source, event).await,
    )?;
    ensure!(CHECK, !seen, "asking marked the event");
    let first = ok(CHECK, "mark", s.mark_processed(&source, event).await)?;
    ensure!(CHECK, first, "the first mark answered false");
    let seen = ok(CHECK, "is processed", s.is_processed(&source, event).await)?;
    ensure!(CHECK, seen, "a marked event is not processed");
    for n in 2..=3 {
        let again = ok(CHECK, "mark again", s.mark_processed(&source, event).await)?;
        ensure!(
            CHECK,
            !again,
            "mark number {n} answered true: the inbox forgot the event"
        );
    }
    let elsewhere = ok(
        CHECK,
        "mark from another source",
        s.mark_processed(&other_source, event).await,
    )?;
    ensure!(
        CHECK,
        elsewhere,
        "the same id from another source counted as seen"
    );
    Ok(())
}

/// Of concurrent marks of one event exactly one is first.
pub async fn inbox_concurrent_marks_count_once<S: EventInbox + ?Sized>(
    s: &S,
    f: &StoreFixture,
) -> CheckResult {
    const CHECK: &str = "store.inbox_concurrent_marks_count_once";
    let source = key(f, "race");
    let results = tokio::join!(
        s.mark_processed(&source, "evt_race"),
        s.mark_processed(&source, "evt_race"),
        s.mark_processed(&source, "evt_race"),
        s.mark_processed(&source, "evt_race"),
    );
    let firsts = [
        ok(CHECK, "mark", results.0)?,
        ok(CHECK, "mark", results.1)?,
        ok(CHECK, "mark", results.2)?,
        ok(CHECK, "mark", results.3)?,
    ]
    .into_iter()
    .filter(|first| *first)
    .count();
    ensure!(
        CHECK,
        firsts == 1,
        "{firsts} of 4 concurrent marks were first"
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// conversations

fn conversation_key(f: &StoreFixture, channel: Channel, name: &str) -> ConversationKey {
    ConversationKey {
        channel,
        sender: key(f, name),
    }
}

fn conversation(f: &StoreFixture, attempts: u32) -> ConversationState {
    ConversationState {
        verified_customer: Some(CustomerId::new("cus_anna")),
        locale: Some(Locale::De),
        pending_question: Some(PendingQuestion {
            kind: "order_number".to_owned(),
            context: json!({ "intent": "wismo" }),
            asked_at: f.now,
        }),
        attempts: [("verification".to_owned(), attempts)]
            .into_iter()
            .collect(),
        updated_at: f.now + Duration::minutes(i64::from(attempts)),
    }
}

/// Saves apply only at the expected version, versions grow, reads return what was saved.
pub async fn conversation_compare_and_set<S: ConversationStore + ?Sized>(
    s: &S,
    f: &StoreFixture,
) -> CheckResult {
    const CHECK: &str = "store.conversation_compare_and_set";
    let k = conversation_key(f, Channel::Whatsapp, "cas");
    let missing = ok(CHECK, "get before save", s.conversation(&k).await)?;
    ensure!(
        CHECK,
        missing.is_none(),
        "a conversation exists before it was saved"
    );
    let one = conversation(f, 1);
    let v1 = ok(
        CHECK,
        "first save",
        s.save_conversation(&k, &one, None).await,
    )?;
    ensure!(CHECK, v1 >= 1, "the first version is {v1}");
    let read = ok(CHECK, "get", s.conversation(&k).await)?
        .ok_or_else(|| fail(CHECK, "the saved conversation cannot be read back"))?;
    ensure!(
        CHECK,
        read.version == v1 && read.value == one,
        "read back {read:?}"
    );
    expect_kind(
        CHECK,
        "save expecting nothing stored",
        PortErrorKind::Conflict,
        s.save_conversation(&k, &conversation(f, 9), None).await,
    )?;
    expect_kind(
        CHECK,
        "save expecting a wrong version",
        PortErrorKind::Conflict,
        s.save_conversation(&k, &conversation(f, 9), Some(v1 + 100))
            .await,
    )?;
    let two = conversation(f, 2);
    let v2 = ok(
        CHECK,
        "save at the current version",
        s.save_conversation(&k, &two, Some(v1)).await,
    )?;
    ensure!(CHECK, v2 > v1, "the version went from {v1} to {v2}");
    expect_kind(
        CHECK,
        "save at a stale version",
        PortErrorKind::Conflict,
        s.save_conversation(&k, &conversation(f, 9), Some(v1)).await,
    )?;
    let read = ok(CHECK, "get", s.conversation(&k).await)?;
    ensure!(
        CHECK,
        read.as_ref().map(|r| (r.version, &r.value)) == Some((v2, &two)),
        "after the refused saves the conversation is {read:?}"
    );
    Ok(())
}

/// Another channel or sender is another conversation.
pub async fn conversation_keys_are_independent<S: ConversationStore + ?Sized>(
    s: &S,
    f: &StoreFixture,
) -> CheckResult {
    const CHECK: &str = "store.conversation_keys_are_independent";
    let sms = conversation_key(f, Channel::Sms, "independent");
    let chat = conversation_key(f, Channel::WebChat, "independent");
    ok(
        CHECK,
        "save",
        s.save_conversation(&sms, &conversation(f, 1), None).await,
    )?;
    let other = ok(CHECK, "get on another channel", s.conversation(&chat).await)?;
    ensure!(
        CHECK,
        other.is_none(),
        "a conversation leaked to another channel"
    );
    ok(
        CHECK,
        "save on another channel",
        s.save_conversation(&chat, &conversation(f, 5), None).await,
    )?;
    let first = ok(CHECK, "get", s.conversation(&sms).await)?;
    ensure!(
        CHECK,
        first.map(|c| c.value) == Some(conversation(f, 1)),
        "saving another channel changed this one"
    );
    Ok(())
}

/// Deleting is idempotent, and a deleted conversation starts afresh.
pub async fn conversation_delete<S: ConversationStore + ?Sized>(
    s: &S,
    f: &StoreFixture,
) -> CheckResult {
    const CHECK: &str = "store.conversation_delete";
    let k = conversation_key(f, Channel::Email, "delete");
    ok(
        CHECK,
        "delete an unknown conversation",
        s.delete_conversation(&k).await,
    )?;
    ok(
        CHECK,
        "save",
        s.save_conversation(&k, &conversation(f, 1), None).await,
    )?;
    ok(CHECK, "delete", s.delete_conversation(&k).await)?;
    let gone = ok(CHECK, "get", s.conversation(&k).await)?;
    ensure!(
        CHECK,
        gone.is_none(),
        "a deleted conversation is still there"
    );
    ok(CHECK, "delete again", s.delete_conversation(&k).await)?;
    ok(
        CHECK,
        "save afresh",
        s.save_conversation(&k, &conversation(f, 2), None).await,
    )?;
    Ok(())
}

/// Of concurrent saves expecting one version at most one succeeds.
pub async fn conversation_concurrent_saves_succeed_once<S: ConversationStore + ?Sized>(
    s: &S,
    f: &StoreFixture,
) -> CheckResult {
    const CHECK: &str = "store.conversation_concurrent_saves_succeed_once";
    let k = conversation_key(f, Channel::Whatsapp, "race");
    let v = ok(
        CHECK,
        "save",
        s.save_conversation(&k, &conversation(f, 0), None).await,
    )?;
    let (a, b, c, d) = (
        conversation(f, 1),
        conversation(f, 2),
        conversation(f, 3),
        conversation(f, 4),
    );
    let results = tokio::join!(
        s.save_conversation(&k, &a, Some(v)),
        s.save_conversation(&k, &b, Some(v)),
        s.save_conversation(&k, &c, Some(v)),
        s.save_conversation(&k, &d, Some(v)),
    );
    let results = [results.0, results.1, results.2, results.3];
    let saved = results.iter().filter(|r| r.is_ok()).count();
    ensure!(
        CHECK,
        saved <= 1,
        "{saved} of 4 concurrent saves at version {v} succeeded"
    );
    for r in &results {
        if let Err(e) = r {
            ensure!(
                CHECK,
                e.kind() == PortErrorKind::Conflict,
                "a losing save failed with `{e}` instead of a conflict"
            );
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// decision log

fn decision(f: &StoreFixture, n: u32) -> DecisionRecord {
    DecisionRecord {
        at: f.now + Duration::seconds(i64::from(n)),
        subject: key(f, &format!("order-{n}")),
        decision: json!({ "outcome": "approve", "n": n, "policy_version": "2025-03" }),
        reasons: vec!["within_window".to_owned(), "restocking_fee".to_owned()],
    }
}

/// Sequence numbers are at least 1 and each greater than every earlier one, concurrent appends
/// included.
pub async fn decision_log_sequence_strictly_increases<S: DecisionLog + ?Sized>(
    s: &S,
    f: &StoreFixture,
) -> CheckResult {
    const CHECK: &str = "store.decision_log_sequence_strictly_increases";
    let mut previous = 0u64;
    for n in 1..=5 {
        let seq = ok(CHECK, "append", s.append_decision(&decision(f, n)).await)?;
        ensure!(CHECK, seq >= 1, "sequence number {seq}");
        ensure!(CHECK, seq > previous, "sequence {seq} after {previous}");
        previous = seq;
    }
    let (d6, d7, d8, d9) = (
        decision(f, 6),
        decision(f, 7),
        decision(f, 8),
        decision(f, 9),
    );
    let results = tokio::join!(
        s.append_decision(&d6),
        s.append_decision(&d7),
        s.append_decision(&d8),
        s.append_decision(&d9),
    );
    let mut seqs = vec![
        ok(CHECK, "append", results.0)?,
        ok(CHECK, "append", results.1)?,
        ok(CHECK, "append", results.2)?,
        ok(CHECK, "append", results.3)?,
    ];
    seqs.sort_unstable();
    seqs.dedup();
    ensure!(
        CHECK,
        seqs.len() == 4,
        "concurrent appends shared sequence numbers"
    );
    ensure!(
        CHECK,
        seqs.iter().all(|s| *s > previous),
        "a concurrent append got a number at or below {previous}"
    );
    Ok(())
}

/// Ranges come in ascending order, start at the first number at or above `from`, skip nothing,
/// hold the records as appended, and are empty past the end.
pub async fn decision_log_reads_ranges_in_order<S: DecisionLog + ?Sized>(
    s: &S,
    f: &StoreFixture,
) -> CheckResult {
    const CHECK: &str = "store.decision_log_reads_ranges_in_order";
    let mut appended = Vec::new();
    for n in 101..=105 {
        let record = decision(f, n);
        let seq = ok(CHECK, "append", s.append_decision(&record).await)?;
        appended.push((seq, record));
    }
    let first = appended[0].0;
    let all = ok(
        CHECK,
        "read from the first",
        s.decisions(first, 1_000).await,
    )?;
    ensure!(
        CHECK,
        all.windows(2).all(|w| w[0].sequence < w[1].sequence),
        "a range is not in strictly ascending order"
    );
    ensure!(
        CHECK,
        all.first().map(|d| d.sequence) == Some(first),
        "reading from {first} started at {:?}",
        all.first().map(|d| d.sequence)
    );
    for (seq, record) in &appended {
        let found: Vec<_> = all.iter().filter(|d| d.sequence == *seq).collect();
        ensure!(
            CHECK,
            found.len() == 1,
            "sequence {seq} appears {} times",
            found.len()
        );
        ensure!(
            CHECK,
            &found[0].record == record,
            "record {seq} differs from what was appended"
        );
    }
    let page = ok(CHECK, "read a page of two", s.decisions(first, 2).await)?;
    ensure!(
        CHECK,
        page.iter().map(|d| d.sequence).collect::<Vec<_>>()
            == all.iter().take(2).map(|d| d.sequence).collect::<Vec<_>>(),
        "a page of two is not the first two of the range"
    );
    let second = appended[1].0;
    let from_middle = ok(CHECK, "read from between", s.decisions(first + 1, 1).await)?;
    ensure!(
        CHECK,
        from_middle.first().map(|d| d.sequence)
            == all.iter().map(|d| d.sequence).find(|q| *q > first),
        "reading from {} did not start at the next record (expected {second} or earlier)",
        first + 1
    );
    let past = ok(CHECK, "read past the end", s.decisions(u64::MAX, 10).await)?;
    ensure!(
        CHECK,
        past.is_empty(),
        "reading past the end returned {} records",
        past.len()
    );
    Ok(())
}

/// A store that is both the queue and the inbox records a completed event as processed.
pub async fn completed_events_count_as_processed(
    store: &dyn Store,
    f: &StoreFixture,
) -> CheckResult {
    const CHECK: &str = "store.completed_events_count_as_processed";
    let now = f.now + Duration::hours(700);
    let event = order_agent_core::ports::QueuedEvent {
        source: format!("conformance:{}", f.run_id),
        id: "processed-on-completion".to_owned(),
        ordering_key: format!("{}:k-processed", f.run_id),
        payload: json!({}),
        enqueued_at: f.now,
    };
    ok(CHECK, "enqueue", store.enqueue_event(&event).await)?;
    let claimed = ok(
        CHECK,
        "claim",
        store
            .claim_events("w-processed", now, now + Duration::minutes(5), 1_000)
            .await,
    )?;
    ensure!(
        CHECK,
        claimed.iter().any(|c| c.event.id == event.id),
        "the event was not handed out"
    );
    for c in &claimed {
        ok(
            CHECK,
            "complete",
            store
                .complete_event(&c.event.source, &c.event.id, &c.claim)
                .await,
        )?;
    }
    ensure!(
        CHECK,
        ok(
            CHECK,
            "is_processed",
            store.is_processed(&event.source, &event.id).await
        )?,
        "a completed event is not processed in the inbox"
    );
    Ok(())
}
