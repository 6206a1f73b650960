//! The [`EventQueue`] conformance suite: accept once, hand each ordering key to one worker at a
//! time, fence expired claims, retry and give up.
//!
//! Each check first drains whatever earlier checks left due, so the suite runs on any store,
//! fresh or not, as long as nobody else uses its queue at the same time.

use chrono::{DateTime, Duration, Utc};
use order_agent_core::ports::{
    ClaimedEvent, Completion, EventQueue, PortErrorKind, QueuedEvent, Retry,
};
use serde_json::json;

use super::store::StoreFixture;
use super::{ensure, expect_kind, ok, CheckResult, ConformanceFailure, ConformanceReport, Runner};

/// The [`EventQueue`] suite.
pub async fn queue_suite<S: EventQueue + ?Sized>(
    store: &S,
    fixture: &StoreFixture,
) -> Result<(), ConformanceReport> {
    let mut runner = Runner::new("store.queue");
    queue_checks(&mut runner, store, fixture).await;
    runner.finish()
}

pub(crate) async fn queue_checks<S: EventQueue + ?Sized>(r: &mut Runner, s: &S, f: &StoreFixture) {
    r.check(queue_accepts_each_event_once(s, f)).await;
    r.check(queue_hands_a_key_to_one_worker_at_a_time(s, f))
        .await;
    r.check(queue_takes_over_expired_claims_and_fences_the_old_one(s, f))
        .await;
    r.check(queue_retries_in_order_and_gives_up(s, f)).await;
    r.check(queue_concurrent_claims_never_share_a_key(s, f))
        .await;
    r.check(queue_batches_behave_like_single_calls(s, f)).await;
}

fn event(f: &StoreFixture, name: &str, key: &str) -> QueuedEvent {
    QueuedEvent {
        source: format!("conformance:{}", f.run_id),
        id: name.to_owned(),
        ordering_key: format!("{}:{key}", f.run_id),
        payload: json!({ "name": name, "key": key }),
        enqueued_at: f.now,
    }
}

/// Far enough after the fixture's time that every claim an earlier check left has expired.
fn later(f: &StoreFixture, hours: i64) -> DateTime<Utc> {
    f.now + Duration::hours(hours)
}

/// Completes everything due at `now`, so a check starts from an idle queue.
async fn drain<S: EventQueue + ?Sized>(
    check: &'static str,
    s: &S,
    now: DateTime<Utc>,
) -> Result<(), ConformanceFailure> {
    for _ in 0..100 {
        let claimed = ok(
            check,
            "draining claim",
            s.claim_events("drain", now, now + Duration::minutes(1), 1_000)
                .await,
        )?;
        if claimed.is_empty() {
            return Ok(());
        }
        for c in claimed {
            ok(
                check,
                "draining complete",
                s.complete_event(&c.event.source, &c.event.id, &c.claim)
                    .await,
            )?;
        }
    }
    Err(ConformanceFailure::new(check, "the queue never drained"))
}

fn names(claimed: &[ClaimedEvent]) -> Vec<&str> {
    claimed.iter().map(|c| c.event.id.as_str()).collect()
}

/// The first enqueue of an event is new, every later one is not, also after completion; the
/// payload comes back as given; empty ids are refused.
pub async fn queue_accepts_each_event_once<S: EventQueue + ?Sized>(
    s: &S,
    f: &StoreFixture,
) -> CheckResult {
    const CHECK: &str = "store.queue_accepts_each_event_once";
    let now = later(f, 100);
    drain(CHECK, s, now).await?;
    let e = event(f, "once", "k-once");
    ensure!(
        CHECK,
        ok(CHECK, "first enqueue", s.enqueue_event(&e).await)?,
        "the first enqueue was not new"
    );
    let results = tokio::join!(
        s.enqueue_event(&e),
        s.enqueue_event(&e),
        s.enqueue_event(&e)
    );
    for again in [results.0, results.1, results.2] {
        ensure!(
            CHECK,
            !ok(CHECK, "enqueue again", again)?,
            "a repeated enqueue was new"
        );
    }
    let claimed = ok(
        CHECK,
        "claim",
        s.claim_events("w1", now, now + Duration::minutes(5), 10)
            .await,
    )?;
    ensure!(
        CHECK,
        names(&claimed) == ["once"],
        "claimed {:?}, expected the event once",
        names(&claimed)
    );
    ensure!(
        CHECK,
        claimed[0].event == e && claimed[0].attempt == 1,
        "handed out {:?}, enqueued {e:?} (attempt 1)",
        claimed[0]
    );
    let done = ok(
        CHECK,
        "complete",
        s.complete_event(&e.source, &e.id, &claimed[0].claim).await,
    )?;
    ensure!(CHECK, done, "completing under the claim failed");
    ensure!(
        CHECK,
        !ok(CHECK, "enqueue after completion", s.enqueue_event(&e).await)?,
        "an event was accepted again after it was completed"
    );
    let mut empty = e.clone();
    empty.id.clear();
    expect_kind(
        CHECK,
        "enqueue with an empty id",
        PortErrorKind::InvalidInput,
        s.enqueue_event(&empty).await,
    )
}

/// Events of one key go to one worker under one claim, in order; nobody else gets the key while
/// one of them is in flight; the key is free again once they are done.
pub async fn queue_hands_a_key_to_one_worker_at_a_time<S: EventQueue + ?Sized>(
    s: &S,
    f: &StoreFixture,
) -> CheckResult {
    const CHECK: &str = "store.queue_hands_a_key_to_one_worker_at_a_time";
    let now = later(f, 200);
    drain(CHECK, s, now).await?;
    for (name, key) in [("a1", "k-a"), ("b1", "k-b"), ("a2", "k-a")] {
        ok(
            CHECK,
            "enqueue",
            s.enqueue_event(&event(f, name, key)).await,
        )?;
    }
    let until = now + Duration::minutes(5);
    let first = ok(CHECK, "claim", s.claim_events("w1", now, until, 10).await)?;
    let mut got = names(&first);
    let a1_before_a2 = got.iter().position(|n| *n == "a1") < got.iter().position(|n| *n == "a2");
    got.sort_unstable();
    ensure!(
        CHECK,
        got == ["a1", "a2", "b1"] && a1_before_a2,
        "claimed {:?}, expected a1, a2 and b1 with a1 before a2",
        names(&first)
    );
    let claim_of = |name: &str| first.iter().find(|c| c.event.id == name).map(|c| &c.claim);
    ensure!(
        CHECK,
        claim_of("a1") == claim_of("a2") && claim_of("a1").is_some_and(|c| c.worker == "w1"),
        "the events of one key came under different claims: {:?} and {:?}",
        claim_of("a1"),
        claim_of("a2")
    );
    let a1 = first.iter().find(|c| c.event.id == "a1").cloned();
    let Some(a1) = a1 else {
        return Err(ConformanceFailure::new(CHECK, "a1 was not handed out"));
    };
    let second = ok(CHECK, "claim", s.claim_events("w2", now, until, 10).await)?;
    ensure!(
        CHECK,
        second.is_empty(),
        "a second worker got {:?} while the keys were in flight",
        names(&second)
    );
    ok(
        CHECK,
        "complete",
        s.complete_event(&a1.event.source, "a1", &a1.claim).await,
    )?;
    let third = ok(CHECK, "claim", s.claim_events("w2", now, until, 10).await)?;
    ensure!(
        CHECK,
        third.is_empty(),
        "a second worker got {:?} while a2 was still in flight",
        names(&third)
    );
    for c in first.iter().filter(|c| c.event.id != "a1") {
        let done = ok(
            CHECK,
            "complete",
            s.complete_event(&c.event.source, &c.event.id, &c.claim)
                .await,
        )?;
        ensure!(
            CHECK,
            done,
            "completing {} under its claim failed",
            c.event.id
        );
    }
    ok(
        CHECK,
        "enqueue",
        s.enqueue_event(&event(f, "a3", "k-a")).await,
    )?;
    let fourth = ok(CHECK, "claim", s.claim_events("w2", now, until, 10).await)?;
    ensure!(
        CHECK,
        names(&fourth) == ["a3"],
        "after the key's events were done, a new one was not handed out: {:?}",
        names(&fourth)
    );
    ensure!(
        CHECK,
        fourth[0].claim.token > a1.claim.token,
        "token {} did not grow past {}",
        fourth[0].claim.token,
        a1.claim.token
    );
    ok(
        CHECK,
        "complete",
        s.complete_event(&fourth[0].event.source, "a3", &fourth[0].claim)
            .await,
    )?;
    Ok(())
}

/// A claim that expired is taken over with a greater token, and the old holder can no longer
/// complete or retry the event.
pub async fn queue_takes_over_expired_claims_and_fences_the_old_one<S: EventQueue + ?Sized>(
    s: &S,
    f: &StoreFixture,
) -> CheckResult {
    const CHECK: &str = "store.queue_takes_over_expired_claims_and_fences_the_old_one";
    let now = later(f, 300);
    drain(CHECK, s, now).await?;
    let e = event(f, "c1", "k-c");
    ok(CHECK, "enqueue", s.enqueue_event(&e).await)?;
    let old = ok(
        CHECK,
        "claim",
        s.claim_events("w1", now, now + Duration::minutes(1), 10)
            .await,
    )?;
    ensure!(CHECK, names(&old) == ["c1"], "claimed {:?}", names(&old));
    let before_expiry = now + Duration::seconds(30);
    let blocked = ok(
        CHECK,
        "claim before expiry",
        s.claim_events(
            "w2",
            before_expiry,
            before_expiry + Duration::minutes(1),
            10,
        )
        .await,
    )?;
    ensure!(
        CHECK,
        blocked.is_empty(),
        "the key was handed out before its claim expired"
    );
    let after_expiry = now + Duration::minutes(2);
    let new = ok(
        CHECK,
        "claim after expiry",
        s.claim_events("w2", after_expiry, after_expiry + Duration::minutes(1), 10)
            .await,
    )?;
    ensure!(
        CHECK,
        names(&new) == ["c1"],
        "after the claim expired, w2 got {:?}",
        names(&new)
    );
    ensure!(
        CHECK,
        new[0].attempt == 2 && new[0].claim.token > old[0].claim.token,
        "taken over as attempt {} with token {} (old token {})",
        new[0].attempt,
        new[0].claim.token,
        old[0].claim.token
    );
    let stale_retry = ok(
        CHECK,
        "retry under the expired claim",
        s.retry_event(&e.source, &e.id, &old[0].claim, &Retry::GiveUp, "late")
            .await,
    )?;
    let stale_complete = ok(
        CHECK,
        "complete under the expired claim",
        s.complete_event(&e.source, &e.id, &old[0].claim).await,
    )?;
    ensure!(
        CHECK,
        !stale_retry && !stale_complete,
        "the old holder still changed the event (retry {stale_retry}, complete {stale_complete})"
    );
    for attempt in ["complete", "complete again"] {
        let done = ok(
            CHECK,
            attempt,
            s.complete_event(&e.source, &e.id, &new[0].claim).await,
        )?;
        ensure!(CHECK, done, "{attempt} under the current claim failed");
    }
    let after = ok(
        CHECK,
        "claim after completion",
        s.claim_events("w3", after_expiry, after_expiry + Duration::minutes(1), 10)
            .await,
    )?;
    ensure!(
        CHECK,
        after.is_empty(),
        "a completed event was handed out again: {:?}",
        names(&after)
    );
    Ok(())
}

/// A retried event waits until its time, later events of its key wait behind it, and an event
/// given up is never handed out again.
pub async fn queue_retries_in_order_and_gives_up<S: EventQueue + ?Sized>(
    s: &S,
    f: &StoreFixture,
) -> CheckResult {
    const CHECK: &str = "store.queue_retries_in_order_and_gives_up";
    let now = later(f, 400);
    drain(CHECK, s, now).await?;
    let stats_before = ok(CHECK, "stats", s.queue_stats(now).await)?;
    ok(
        CHECK,
        "enqueue",
        s.enqueue_event(&event(f, "d1", "k-d")).await,
    )?;
    let claimed = ok(
        CHECK,
        "claim",
        s.claim_events("w1", now, now + Duration::minutes(5), 10)
            .await,
    )?;
    ensure!(
        CHECK,
        names(&claimed) == ["d1"],
        "claimed {:?}",
        names(&claimed)
    );
    let d1 = &claimed[0];
    ok(
        CHECK,
        "enqueue",
        s.enqueue_event(&event(f, "d2", "k-d")).await,
    )?;
    let retry_at = now + Duration::minutes(10);
    let retried = ok(
        CHECK,
        "retry",
        s.retry_event(
            &d1.event.source,
            "d1",
            &d1.claim,
            &Retry::At { at: retry_at },
            "vendor down",
        )
        .await,
    )?;
    ensure!(CHECK, retried, "retrying under the claim failed");
    let early = now + Duration::minutes(6);
    let waiting = ok(
        CHECK,
        "claim before the retry time",
        s.claim_events("w2", early, early + Duration::minutes(5), 10)
            .await,
    )?;
    ensure!(
        CHECK,
        waiting.is_empty(),
        "handed out {:?} before d1's retry time (d2 must wait behind d1)",
        names(&waiting)
    );
    let due = retry_at + Duration::seconds(1);
    let again = ok(
        CHECK,
        "claim after the retry time",
        s.claim_events("w2", due, due + Duration::minutes(5), 10)
            .await,
    )?;
    ensure!(
        CHECK,
        names(&again) == ["d1", "d2"] && again[0].attempt == 2 && again[1].attempt == 1,
        "after the retry time got {:?} (attempts {:?}), expected d1 (2), d2 (1)",
        names(&again),
        again.iter().map(|c| c.attempt).collect::<Vec<_>>()
    );
    let gave_up = ok(
        CHECK,
        "give up",
        s.retry_event(
            &again[0].event.source,
            "d1",
            &again[0].claim,
            &Retry::GiveUp,
            "bad",
        )
        .await,
    )?;
    ensure!(CHECK, gave_up, "giving up under the claim failed");
    let complete_dead = ok(
        CHECK,
        "complete a given-up event",
        s.complete_event(&again[0].event.source, "d1", &again[0].claim)
            .await,
    )?;
    ensure!(
        CHECK,
        !complete_dead,
        "an event given up was completed afterwards"
    );
    ok(
        CHECK,
        "complete",
        s.complete_event(&again[1].event.source, "d2", &again[1].claim)
            .await,
    )?;
    let much_later = due + Duration::days(1);
    let none = ok(
        CHECK,
        "claim much later",
        s.claim_events("w3", much_later, much_later + Duration::minutes(5), 10)
            .await,
    )?;
    ensure!(
        CHECK,
        none.is_empty(),
        "handed out {:?} after everything was completed or given up",
        names(&none)
    );
    let stats = ok(CHECK, "stats", s.queue_stats(much_later).await)?;
    ensure!(
        CHECK,
        stats.dead == stats_before.dead + 1
            && stats.completed == stats_before.completed + 1
            && stats.pending == stats_before.pending,
        "stats went from {stats_before:?} to {stats:?}: expected one more dead, one more completed"
    );
    Ok(())
}

/// Concurrent claims by several workers never hand the same key (or event) to two of them, and
/// together they hand out everything due.
pub async fn queue_concurrent_claims_never_share_a_key<S: EventQueue + ?Sized>(
    s: &S,
    f: &StoreFixture,
) -> CheckResult {
    const CHECK: &str = "store.queue_concurrent_claims_never_share_a_key";
    let now = later(f, 500);
    drain(CHECK, s, now).await?;
    for n in 0..24 {
        let e = event(f, &format!("e{n:02}"), &format!("k-race-{}", n % 6));
        ok(CHECK, "enqueue", s.enqueue_event(&e).await)?;
    }
    let until = now + Duration::minutes(5);
    let results = tokio::join!(
        s.claim_events("w1", now, until, 5),
        s.claim_events("w2", now, until, 5),
        s.claim_events("w3", now, until, 5),
        s.claim_events("w4", now, until, 5),
    );
    let answers = [
        ok(CHECK, "claim", results.0)?,
        ok(CHECK, "claim", results.1)?,
        ok(CHECK, "claim", results.2)?,
        ok(CHECK, "claim", results.3)?,
    ];
    let mut owner: std::collections::BTreeMap<String, String> = Default::default();
    let mut seen: std::collections::BTreeSet<String> = Default::default();
    for answer in &answers {
        ensure!(
            CHECK,
            answer.len() <= 5,
            "a claim of 5 handed out {}",
            answer.len()
        );
        for c in answer {
            ensure!(
                CHECK,
                seen.insert(c.event.id.clone()),
                "event {} was handed out twice",
                c.event.id
            );
            let previous = owner.insert(c.event.ordering_key.clone(), c.claim.worker.clone());
            ensure!(
                CHECK,
                previous.is_none() || previous.as_deref() == Some(c.claim.worker.as_str()),
                "key {} went to {} and {}",
                c.event.ordering_key,
                previous.unwrap_or_default(),
                c.claim.worker
            );
        }
    }
    ensure!(CHECK, !seen.is_empty(), "four claims handed out nothing");
    for answer in &answers {
        for c in answer {
            ok(
                CHECK,
                "complete",
                s.complete_event(&c.event.source, &c.event.id, &c.claim)
                    .await,
            )?;
        }
    }
    drain(CHECK, s, now).await?;
    Ok(())
}

/// A batch enqueue answers per event as single enqueues would (a repeat within the batch or of
/// an earlier event is not new); a batch with an invalid event accepts nothing; a batch
/// completion answers per event as single completions would (a stale claim is refused).
pub async fn queue_batches_behave_like_single_calls<S: EventQueue + ?Sized>(
    s: &S,
    f: &StoreFixture,
) -> CheckResult {
    const CHECK: &str = "store.queue_batches_behave_like_single_calls";
    let now = later(f, 600);
    drain(CHECK, s, now).await?;
    let (a, b, c) = (
        event(f, "batch-a", "k-batch-1"),
        event(f, "batch-b", "k-batch-1"),
        event(f, "batch-c", "k-batch-2"),
    );
    ensure!(
        CHECK,
        ok(CHECK, "single enqueue", s.enqueue_event(&a).await)?,
        "the first enqueue was not new"
    );
    let mut bad = event(f, "batch-bad", "k-batch-3");
    bad.source.clear();
    expect_kind(
        CHECK,
        "a batch with an event without source",
        PortErrorKind::InvalidInput,
        s.enqueue_events(&[b.clone(), bad]).await,
    )?;
    let new = ok(
        CHECK,
        "batch enqueue",
        s.enqueue_events(&[a.clone(), b.clone(), c.clone(), b.clone()])
            .await,
    )?;
    ensure!(
        CHECK,
        new == [false, true, true, false],
        "batch enqueue answered {new:?}, expected [false, true, true, false] (a was enqueued \
         before; b twice in the batch; the refused batch must have accepted nothing)"
    );
    let claimed = ok(
        CHECK,
        "claim",
        s.claim_events("w-batch", now, now + Duration::minutes(5), 10)
            .await,
    )?;
    let mut got = names(&claimed);
    got.sort_unstable();
    ensure!(
        CHECK,
        got == ["batch-a", "batch-b", "batch-c"],
        "claimed {got:?}, expected each batch event once"
    );
    let mut completions: Vec<Completion> = claimed
        .iter()
        .map(|c| Completion {
            source: c.event.source.clone(),
            id: c.event.id.clone(),
            claim: c.claim.clone(),
        })
        .collect();
    // A stale claim on one of them must be refused without spoiling the others.
    let mut stale = completions[0].clone();
    stale.claim.token = stale.claim.token.saturating_sub(1);
    stale.claim.worker = "someone-else".to_owned();
    completions.insert(0, stale);
    let done = ok(
        CHECK,
        "batch complete",
        s.complete_events(&completions).await,
    )?;
    ensure!(
        CHECK,
        done == [false, true, true, true],
        "batch completion answered {done:?}, expected [false, true, true, true]"
    );
    let again = ok(
        CHECK,
        "claim after completion",
        s.claim_events("w-batch", now, now + Duration::minutes(5), 10)
            .await,
    )?;
    ensure!(
        CHECK,
        again.is_empty(),
        "completed events were handed out again: {:?}",
        names(&again)
    );
    Ok(())
}
