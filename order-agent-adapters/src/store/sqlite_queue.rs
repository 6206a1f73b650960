//! The event queue in SQLite: one row per accepted event, one row per ordering key holding the
//! key's current claim. Every operation is one `BEGIN IMMEDIATE` transaction, so concurrent
//! callers (threads or processes) are serialised by SQLite's write lock.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use order_agent_core::ports::store::ops;
use order_agent_core::ports::{
    Claim, ClaimedEvent, Completion, EventQueue, PortError, PortResult, QueueStats, QueuedEvent,
    Retry,
};
use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};

use super::codec::{from_json, from_sql_int, parse_time, time_text, to_json, to_sql_int};
use super::sqlite::{sqlite_error, SqliteStore};

/// The queue tables. `event_keys.in_flight` counts the key's events handed out under its current
/// claim and not yet completed or retried; `not_before` holds the key back while one of its events
/// waits for a retry.
pub(super) const MIGRATION_2: &str = r#"
CREATE TABLE event_queue (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    source       TEXT NOT NULL CHECK (source <> ''),
    event_id     TEXT NOT NULL CHECK (event_id <> ''),
    ordering_key TEXT NOT NULL CHECK (ordering_key <> ''),
    payload      TEXT NOT NULL CHECK (json_valid(payload)),
    enqueued_at  TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'completed', 'dead')),
    attempts     INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    in_flight    INTEGER NOT NULL DEFAULT 0 CHECK (in_flight IN (0, 1)),
    due_at       TEXT,
    last_error   TEXT,
    UNIQUE (source, event_id)
);
CREATE INDEX event_queue_pending_by_key ON event_queue (ordering_key, seq)
    WHERE state = 'pending';
CREATE TRIGGER event_queue_never_deleted BEFORE DELETE ON event_queue
BEGIN SELECT RAISE(ABORT, 'accepted events are never deleted'); END;
CREATE TRIGGER event_queue_identity_and_outcome_stay BEFORE UPDATE ON event_queue
WHEN NEW.seq IS NOT OLD.seq
  OR NEW.source IS NOT OLD.source
  OR NEW.event_id IS NOT OLD.event_id
  OR NEW.ordering_key IS NOT OLD.ordering_key
  OR NEW.payload IS NOT OLD.payload
  OR NEW.enqueued_at IS NOT OLD.enqueued_at
  OR (OLD.state <> 'pending' AND NEW.state IS NOT OLD.state)
BEGIN SELECT RAISE(ABORT, 'an accepted event keeps its identity, and a final state stays'); END;

CREATE TABLE event_keys (
    ordering_key TEXT PRIMARY KEY NOT NULL,
    pending      INTEGER NOT NULL DEFAULT 0 CHECK (pending >= 0),
    worker       TEXT,
    token        INTEGER NOT NULL DEFAULT 0 CHECK (token >= 0),
    lease_until  TEXT,
    in_flight    INTEGER NOT NULL DEFAULT 0 CHECK (in_flight >= 0),
    not_before   TEXT
);
CREATE INDEX event_keys_with_pending ON event_keys (lease_until) WHERE pending > 0;
CREATE TRIGGER event_key_tokens_grow BEFORE UPDATE ON event_keys
WHEN NEW.token < OLD.token
BEGIN SELECT RAISE(ABORT, 'claim tokens never go back'); END;
"#;

fn begin<'c>(op: &'static str, c: &'c mut rusqlite::Connection) -> PortResult<Transaction<'c>> {
    c.transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| sqlite_error(op, e))
}

/// The key's current claim, if anyone ever claimed it.
fn current_claim(
    op: &'static str,
    tx: &Transaction<'_>,
    key: &str,
) -> PortResult<Option<(String, i64)>> {
    tx.prepare_cached("SELECT worker, token FROM event_keys WHERE ordering_key = ?1")
        .and_then(|mut s| {
            s.query_row(params![key], |row| {
                Ok((row.get::<_, Option<String>>(0)?, row.get::<_, i64>(1)?))
            })
            .optional()
        })
        .map(|found| found.and_then(|(worker, token)| worker.map(|w| (w, token))))
        .map_err(|e| sqlite_error(op, e))
}

/// The event's key, state and whether it is in flight.
fn event_row(
    op: &'static str,
    tx: &Transaction<'_>,
    source: &str,
    id: &str,
) -> PortResult<Option<(String, String, bool)>> {
    tx.prepare_cached(
        "SELECT ordering_key, state, in_flight FROM event_queue WHERE source = ?1 AND event_id = ?2",
    )
    .and_then(|mut s| {
        s.query_row(params![source, id], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get::<_, i64>(2)? == 1))
        })
        .optional()
    })
    .map_err(|e| sqlite_error(op, e))
}

fn holds(claim: &Claim, current: Option<&(String, i64)>) -> PortResult<bool> {
    let token = to_sql_int(ops::COMPLETE_EVENT, claim.token)?;
    Ok(current.is_some_and(|(worker, t)| *worker == claim.worker && *t == token))
}

impl SqliteStore {
    /// Enqueues `events` in one transaction (one fsync for the whole batch).
    async fn enqueue_in_one(
        &self,
        op: &'static str,
        events: &[QueuedEvent],
    ) -> PortResult<Vec<bool>> {
        let mut rows = Vec::with_capacity(events.len());
        for event in events {
            if event.source.is_empty() || event.id.is_empty() || event.ordering_key.is_empty() {
                return Err(PortError::invalid_input(
                    op,
                    "source, id and ordering key must not be empty",
                )
                .with_context("event", &event.id));
            }
            rows.push((
                event.source.clone(),
                event.id.clone(),
                event.ordering_key.clone(),
                to_json(op, &event.payload)?,
                time_text(event.enqueued_at),
            ));
        }
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        self.run(op, move |c| {
            let tx = begin(op, c)?;
            let mut new = Vec::with_capacity(rows.len());
            {
                let mut insert = tx
                    .prepare_cached(
                        "INSERT INTO event_queue (source, event_id, ordering_key, payload, enqueued_at)
                         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (source, event_id) DO NOTHING",
                    )
                    .map_err(|e| sqlite_error(op, e))?;
                let mut count_key = tx
                    .prepare_cached(
                        "INSERT INTO event_keys (ordering_key, pending) VALUES (?1, 1)
                         ON CONFLICT (ordering_key) DO UPDATE SET pending = pending + 1",
                    )
                    .map_err(|e| sqlite_error(op, e))?;
                for (source, id, key, payload, at) in &rows {
                    let inserted = insert
                        .execute(params![source, id, key, payload, at])
                        .map_err(|e| sqlite_error(op, e))?
                        == 1;
                    if inserted {
                        count_key
                            .execute(params![key])
                            .map_err(|e| sqlite_error(op, e))?;
                    }
                    new.push(inserted);
                }
            }
            tx.commit().map_err(|e| sqlite_error(op, e))?;
            Ok(new)
        })
        .await
    }

    /// Completes `completions` in one transaction.
    async fn complete_in_one(
        &self,
        op: &'static str,
        completions: Vec<Completion>,
    ) -> PortResult<Vec<bool>> {
        if completions.is_empty() {
            return Ok(Vec::new());
        }
        self.run(op, move |c| {
            let tx = begin(op, c)?;
            let mut done = Vec::with_capacity(completions.len());
            // Per key: its current claim (read once) and how many of its events this batch
            // completes, and how many of those were in flight (written once, at the end).
            let mut claims: HashMap<String, Option<(String, i64)>> = HashMap::new();
            let mut counts: HashMap<String, (i64, i64)> = HashMap::new();
            for completion in &completions {
                done.push(complete_in(op, &tx, completion, &mut claims, &mut counts)?);
            }
            for (key, (completed, in_flight)) in counts {
                tx.prepare_cached(
                    "UPDATE event_keys SET pending = pending - ?2,
                         in_flight = MAX(in_flight - ?3, 0)
                     WHERE ordering_key = ?1",
                )
                .and_then(|mut s| s.execute(params![key, completed, in_flight]))
                .map_err(|e| sqlite_error(op, e))?;
            }
            tx.commit().map_err(|e| sqlite_error(op, e))?;
            Ok(done)
        })
        .await
    }
}

/// Completes one event inside `tx`, if its claim still holds; counts it against its key in
/// `counts` (the caller updates the keys once per batch).
fn complete_in(
    op: &'static str,
    tx: &Transaction<'_>,
    completion: &Completion,
    claims: &mut HashMap<String, Option<(String, i64)>>,
    counts: &mut HashMap<String, (i64, i64)>,
) -> PortResult<bool> {
    let Completion { source, id, claim } = completion;
    let Some((key, state, in_flight)) = event_row(op, tx, source, id)? else {
        return Ok(false);
    };
    let current = match claims.get(&key) {
        Some(current) => current.clone(),
        None => {
            let current = current_claim(op, tx, &key)?;
            claims.insert(key.clone(), current.clone());
            current
        }
    };
    if !holds(claim, current.as_ref())? {
        return Ok(false);
    }
    Ok(match state.as_str() {
        "pending" => {
            tx.prepare_cached(
                "UPDATE event_queue SET state = 'completed', in_flight = 0
                 WHERE source = ?1 AND event_id = ?2",
            )
            .and_then(|mut s| s.execute(params![source, id]))
            .map_err(|e| sqlite_error(op, e))?;
            // A completed event counts as processed in the inbox, in the same transaction.
            tx.prepare_cached(
                "INSERT INTO processed_events (source, event_id) VALUES (?1, ?2)
                 ON CONFLICT (source, event_id) DO NOTHING",
            )
            .and_then(|mut s| s.execute(params![source, id]))
            .map_err(|e| sqlite_error(op, e))?;
            let count = counts.entry(key).or_insert((0, 0));
            count.0 += 1;
            count.1 += i64::from(in_flight);
            true
        }
        "completed" => true,
        _ => false,
    })
}

#[async_trait]
impl EventQueue for SqliteStore {
    async fn enqueue_event(&self, event: &QueuedEvent) -> PortResult<bool> {
        const OP: &str = ops::ENQUEUE_EVENT;
        let mut new = self.enqueue_in_one(OP, std::slice::from_ref(event)).await?;
        new.pop()
            .ok_or_else(|| PortError::unexpected(OP, "no answer for the event"))
    }

    async fn enqueue_events(&self, events: &[QueuedEvent]) -> PortResult<Vec<bool>> {
        self.enqueue_in_one(ops::ENQUEUE_EVENTS, events).await
    }

    async fn claim_events(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> PortResult<Vec<ClaimedEvent>> {
        const OP: &str = ops::CLAIM_EVENTS;
        if limit == 0 {
            return Ok(Vec::new());
        }
        let worker = worker.to_owned();
        let limit_sql = to_sql_int(OP, limit as u64)?;
        self.run(OP, move |c| {
            let tx = begin(OP, c)?;
            let (now_text, until_text) = (time_text(now), time_text(until));
            let keys: Vec<String> = tx
                .prepare_cached(
                    "SELECT ordering_key FROM event_keys
                     WHERE pending > 0
                       AND NOT (in_flight > 0 AND lease_until > ?1)
                       AND (not_before IS NULL OR not_before <= ?1)
                     ORDER BY lease_until NULLS FIRST, ordering_key
                     LIMIT ?2",
                )
                .and_then(|mut s| {
                    s.query_map(params![now_text, limit_sql], |row| row.get(0))?
                        .collect()
                })
                .map_err(|e| sqlite_error(OP, e))?;
            let mut handed = Vec::new();
            for key in keys {
                if handed.len() >= limit {
                    break;
                }
                let rows: Vec<(i64, String, String, String, String, i64, Option<String>)> = tx
                    .prepare_cached(
                        "SELECT seq, source, event_id, payload, enqueued_at, attempts, due_at
                         FROM event_queue WHERE ordering_key = ?1 AND state = 'pending'
                         ORDER BY seq LIMIT ?2",
                    )
                    .and_then(|mut s| {
                        // Only as many as may still be handed out: a key with a long backlog
                        // must not cost its whole backlog on every claim.
                        let room = (limit - handed.len()) as i64;
                        s.query_map(params![key, room], |row| {
                            Ok((
                                row.get(0)?,
                                row.get(1)?,
                                row.get(2)?,
                                row.get(3)?,
                                row.get(4)?,
                                row.get(5)?,
                                row.get(6)?,
                            ))
                        })?
                        .collect()
                    })
                    .map_err(|e| sqlite_error(OP, e))?;
                let due: Vec<_> = rows
                    .into_iter()
                    .take_while(|r| r.6.as_deref().is_none_or(|due| due <= now_text.as_str()))
                    .take(limit - handed.len())
                    .collect();
                if due.is_empty() {
                    continue;
                }
                let token: i64 = tx
                    .prepare_cached(
                        "UPDATE event_keys
                         SET worker = ?2, token = token + 1, lease_until = ?3, in_flight = ?4
                         WHERE ordering_key = ?1 RETURNING token",
                    )
                    .and_then(|mut s| {
                        s.query_row(params![key, worker, until_text, due.len() as i64], |row| {
                            row.get(0)
                        })
                    })
                    .map_err(|e| sqlite_error(OP, e))?;
                let claim = Claim {
                    worker: worker.clone(),
                    token: from_sql_int(OP, token)?,
                    until,
                };
                // The due events are the key's first pending ones, so one statement marks
                // exactly them: its pending events up to the last due one.
                let last = due.last().map_or(0, |r| r.0);
                let marked = tx
                    .prepare_cached(
                        "UPDATE event_queue SET attempts = attempts + 1, in_flight = 1
                         WHERE ordering_key = ?1 AND state = 'pending' AND seq <= ?2",
                    )
                    .and_then(|mut s| s.execute(params![key, last]))
                    .map_err(|e| sqlite_error(OP, e))?;
                if marked != due.len() {
                    return Err(PortError::unexpected(
                        OP,
                        "the key's pending events changed during the claim",
                    ));
                }
                for (_, source, id, payload, enqueued_at, attempts, _) in due {
                    handed.push(ClaimedEvent {
                        event: QueuedEvent {
                            source,
                            id,
                            ordering_key: key.clone(),
                            payload: from_json(OP, &payload)?,
                            enqueued_at: parse_time(OP, &enqueued_at)?,
                        },
                        attempt: u32::try_from(attempts + 1).unwrap_or(u32::MAX),
                        claim: claim.clone(),
                    });
                }
            }
            tx.commit().map_err(|e| sqlite_error(OP, e))?;
            Ok(handed)
        })
        .await
    }

    async fn complete_event(&self, source: &str, id: &str, claim: &Claim) -> PortResult<bool> {
        const OP: &str = ops::COMPLETE_EVENT;
        let completion = Completion {
            source: source.to_owned(),
            id: id.to_owned(),
            claim: claim.clone(),
        };
        let mut done = self.complete_in_one(OP, vec![completion]).await?;
        done.pop()
            .ok_or_else(|| PortError::unexpected(OP, "no answer for the event"))
    }

    async fn complete_events(&self, completions: &[Completion]) -> PortResult<Vec<bool>> {
        self.complete_in_one(ops::COMPLETE_EVENTS, completions.to_vec())
            .await
    }

    async fn retry_event(
        &self,
        source: &str,
        id: &str,
        claim: &Claim,
        retry: &Retry,
        error: &str,
    ) -> PortResult<bool> {
        const OP: &str = ops::RETRY_EVENT;
        let (source, id, claim, retry, error) = (
            source.to_owned(),
            id.to_owned(),
            claim.clone(),
            retry.clone(),
            error.to_owned(),
        );
        self.run(OP, move |c| {
            let tx = begin(OP, c)?;
            let Some((key, state, in_flight)) = event_row(OP, &tx, &source, &id)? else {
                return Ok(false);
            };
            if state != "pending" || !holds(&claim, current_claim(OP, &tx, &key)?.as_ref())? {
                return Ok(false);
            }
            match retry {
                Retry::At { at } => {
                    let at = time_text(at);
                    tx.prepare_cached(
                        "UPDATE event_queue SET in_flight = 0, due_at = ?3, last_error = ?4
                         WHERE source = ?1 AND event_id = ?2",
                    )
                    .and_then(|mut s| s.execute(params![source, id, at, error]))
                    .map_err(|e| sqlite_error(OP, e))?;
                    tx.prepare_cached(
                        "UPDATE event_keys SET in_flight = MAX(in_flight - ?2, 0),
                             not_before = MAX(COALESCE(not_before, ?3), ?3)
                         WHERE ordering_key = ?1",
                    )
                    .and_then(|mut s| s.execute(params![key, i64::from(in_flight), at]))
                    .map_err(|e| sqlite_error(OP, e))?;
                }
                Retry::GiveUp => {
                    tx.prepare_cached(
                        "UPDATE event_queue SET state = 'dead', in_flight = 0, last_error = ?3
                         WHERE source = ?1 AND event_id = ?2",
                    )
                    .and_then(|mut s| s.execute(params![source, id, error]))
                    .map_err(|e| sqlite_error(OP, e))?;
                    tx.prepare_cached(
                        "UPDATE event_keys SET pending = pending - 1,
                             in_flight = MAX(in_flight - ?2, 0)
                         WHERE ordering_key = ?1",
                    )
                    .and_then(|mut s| s.execute(params![key, i64::from(in_flight)]))
                    .map_err(|e| sqlite_error(OP, e))?;
                }
            }
            tx.commit().map_err(|e| sqlite_error(OP, e))?;
            Ok(true)
        })
        .await
    }

    async fn queue_stats(&self, now: DateTime<Utc>) -> PortResult<QueueStats> {
        const OP: &str = ops::QUEUE_STATS;
        self.run(OP, move |c| {
            let now = time_text(now);
            let (pending, completed, dead): (i64, i64, i64) = c
                .prepare_cached(
                    "SELECT COALESCE(SUM(state = 'pending'), 0), COALESCE(SUM(state = 'completed'), 0),
                            COALESCE(SUM(state = 'dead'), 0)
                     FROM event_queue",
                )
                .and_then(|mut s| s.query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))))
                .map_err(|e| sqlite_error(OP, e))?;
            let leased: i64 = c
                .prepare_cached(
                    "SELECT COUNT(*) FROM event_queue q JOIN event_keys k USING (ordering_key)
                     WHERE q.state = 'pending' AND q.in_flight = 1 AND k.lease_until > ?1",
                )
                .and_then(|mut s| s.query_row(params![now], |r| r.get(0)))
                .map_err(|e| sqlite_error(OP, e))?;
            Ok(QueueStats {
                pending: from_sql_int(OP, pending)?,
                leased: from_sql_int(OP, leased)?,
                completed: from_sql_int(OP, completed)?,
                dead: from_sql_int(OP, dead)?,
            })
        })
        .await
    }
}
