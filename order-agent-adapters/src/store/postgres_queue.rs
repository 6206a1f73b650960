//! The event queue in PostgreSQL, shared by several workers.
//!
//! One row per accepted event and one row per ordering key holding the key's current claim.
//! Every transaction locks the key row before any event row of that key, so none can deadlock
//! with another. A claim selects free keys with `FOR UPDATE SKIP LOCKED`: concurrent workers skip
//! each other's keys instead of waiting, and the "is this key free" test reads only the locked
//! key row, which PostgreSQL re-checks on its newest version, so two workers can never both take
//! one key.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use order_agent_core::ports::store::ops;
use order_agent_core::ports::{
    Claim, ClaimedEvent, Completion, EventQueue, PortError, PortResult, QueueStats, QueuedEvent,
    Retry,
};
use tokio_postgres::Transaction;

use super::codec::{from_json, from_sql_int, parse_time, time_text, to_json, to_sql_int};
use super::postgres::{get, pg_error, PostgresStore};

/// The queue tables; times are fixed-width UTC text (text order is time order), as elsewhere.
pub(super) const MIGRATION_2: &str = r#"
CREATE TABLE event_queue (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source       TEXT NOT NULL CHECK (source <> ''),
    event_id     TEXT NOT NULL CHECK (event_id <> ''),
    ordering_key TEXT NOT NULL CHECK (ordering_key <> ''),
    payload      TEXT NOT NULL,
    enqueued_at  TEXT COLLATE "C" NOT NULL,
    state        TEXT NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'completed', 'dead')),
    attempts     INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    in_flight    BOOLEAN NOT NULL DEFAULT false,
    due_at       TEXT COLLATE "C",
    last_error   TEXT,
    UNIQUE (source, event_id)
);
CREATE INDEX event_queue_pending_by_key ON event_queue (ordering_key, seq)
    WHERE state = 'pending';
CREATE FUNCTION event_queue_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'accepted events are never deleted';
    END IF;
    IF NEW.seq IS DISTINCT FROM OLD.seq OR NEW.source IS DISTINCT FROM OLD.source
       OR NEW.event_id IS DISTINCT FROM OLD.event_id
       OR NEW.ordering_key IS DISTINCT FROM OLD.ordering_key
       OR NEW.payload IS DISTINCT FROM OLD.payload
       OR NEW.enqueued_at IS DISTINCT FROM OLD.enqueued_at
       OR (OLD.state <> 'pending' AND NEW.state IS DISTINCT FROM OLD.state) THEN
        RAISE EXCEPTION 'an accepted event keeps its identity, and a final state stays';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER event_queue_guarded BEFORE UPDATE OR DELETE ON event_queue
    FOR EACH ROW EXECUTE FUNCTION event_queue_guard();
CREATE TRIGGER event_queue_never_truncated BEFORE TRUNCATE ON event_queue
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();

CREATE TABLE event_keys (
    ordering_key TEXT PRIMARY KEY,
    pending      INTEGER NOT NULL DEFAULT 0 CHECK (pending >= 0),
    worker       TEXT,
    token        BIGINT NOT NULL DEFAULT 0 CHECK (token >= 0),
    lease_until  TEXT COLLATE "C",
    in_flight    INTEGER NOT NULL DEFAULT 0 CHECK (in_flight >= 0),
    not_before   TEXT COLLATE "C"
);
CREATE INDEX event_keys_with_pending ON event_keys (lease_until NULLS FIRST, ordering_key)
    WHERE pending > 0;
CREATE FUNCTION event_keys_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.token < OLD.token THEN
        RAISE EXCEPTION 'claim tokens never go back';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER event_keys_tokens_grow BEFORE UPDATE ON event_keys
    FOR EACH ROW EXECUTE FUNCTION event_keys_guard();
"#;

/// Locks the key of event `source`/`id` and returns the key, its current claim (worker, token),
/// and the event's state and in-flight flag.
async fn lock_event(
    op: &'static str,
    tx: &Transaction<'_>,
    source: &str,
    id: &str,
) -> PortResult<Option<(String, Option<String>, i64, String, bool)>> {
    let row = tx
        .query_opt(
            "SELECT k.ordering_key, k.worker, k.token
             FROM event_keys k
             WHERE k.ordering_key =
                 (SELECT ordering_key FROM event_queue WHERE source = $1 AND event_id = $2)
             FOR UPDATE",
            &[&source, &id],
        )
        .await
        .map_err(|e| pg_error(op, e))?;
    let Some(row) = row else {
        return Ok(None);
    };
    let (key, worker, token): (String, Option<String>, i64) =
        (get(op, &row, 0)?, get(op, &row, 1)?, get(op, &row, 2)?);
    let event = tx
        .query_one(
            "SELECT state, in_flight FROM event_queue WHERE source = $1 AND event_id = $2",
            &[&source, &id],
        )
        .await
        .map_err(|e| pg_error(op, e))?;
    Ok(Some((
        key,
        worker,
        token,
        get(op, &event, 0)?,
        get(op, &event, 1)?,
    )))
}

fn holds(op: &'static str, claim: &Claim, worker: Option<&str>, token: i64) -> PortResult<bool> {
    Ok(worker == Some(claim.worker.as_str()) && token == to_sql_int(op, claim.token)?)
}

impl PostgresStore {
    /// Enqueues `events` in one transaction. Key rows are locked in key order, so concurrent
    /// batches cannot deadlock on them.
    async fn enqueue_in_one(
        &self,
        op: &'static str,
        events: &[QueuedEvent],
    ) -> PortResult<Vec<bool>> {
        let mut payloads = Vec::with_capacity(events.len());
        for event in events {
            if event.source.is_empty() || event.id.is_empty() || event.ordering_key.is_empty() {
                return Err(PortError::invalid_input(
                    op,
                    "source, id and ordering key must not be empty",
                )
                .with_context("event", &event.id));
            }
            payloads.push(to_json(op, &event.payload)?);
        }
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<&str> = events
            .iter()
            .map(|e| e.ordering_key.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let sources: Vec<&str> = events.iter().map(|e| e.source.as_str()).collect();
        let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
        let event_keys: Vec<&str> = events.iter().map(|e| e.ordering_key.as_str()).collect();
        let times: Vec<String> = events.iter().map(|e| time_text(e.enqueued_at)).collect();
        let mut client = self.client(op).await?;
        let tx = client.transaction().await.map_err(|e| pg_error(op, e))?;
        // The key rows first, in key order (created, or locked by the no-op update), so that
        // concurrent batches cannot deadlock; then the events, in the batch's order.
        tx.execute(
            "INSERT INTO event_keys (ordering_key)
             SELECT key FROM unnest($1::text[]) WITH ORDINALITY AS u(key, n) ORDER BY n
             ON CONFLICT (ordering_key) DO UPDATE SET pending = event_keys.pending",
            &[&keys],
        )
        .await
        .map_err(|e| pg_error(op, e))?;
        let inserted = tx
            .query(
                "INSERT INTO event_queue (source, event_id, ordering_key, payload, enqueued_at)
                 SELECT source, event_id, key, payload, at
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
                      WITH ORDINALITY AS u(source, event_id, key, payload, at, n)
                 ORDER BY n
                 ON CONFLICT (source, event_id) DO NOTHING
                 RETURNING source, event_id",
                &[&sources, &ids, &event_keys, &payloads, &times],
            )
            .await
            .map_err(|e| pg_error(op, e))?;
        let mut fresh = std::collections::HashSet::new();
        for row in &inserted {
            let source: String = get(op, row, 0)?;
            let id: String = get(op, row, 1)?;
            fresh.insert((source, id));
        }
        // New per event: the first occurrence of an inserted event.
        let mut new = Vec::with_capacity(events.len());
        let mut added: std::collections::BTreeMap<&str, i32> = std::collections::BTreeMap::new();
        for event in events {
            let is_new = fresh.remove(&(event.source.clone(), event.id.clone()));
            if is_new {
                *added.entry(event.ordering_key.as_str()).or_insert(0) += 1;
            }
            new.push(is_new);
        }
        if !added.is_empty() {
            let (keys, counts): (Vec<&str>, Vec<i32>) = added.into_iter().unzip();
            tx.execute(
                "UPDATE event_keys k SET pending = k.pending + d.n
                 FROM unnest($1::text[], $2::int[]) AS d(key, n)
                 WHERE k.ordering_key = d.key",
                &[&keys, &counts],
            )
            .await
            .map_err(|e| pg_error(op, e))?;
        }
        tx.commit().await.map_err(|e| pg_error(op, e))?;
        Ok(new)
    }

    /// Completes `completions` in one transaction, locking their keys in key order.
    async fn complete_in_one(
        &self,
        op: &'static str,
        completions: &[Completion],
    ) -> PortResult<Vec<bool>> {
        if completions.is_empty() {
            return Ok(Vec::new());
        }
        let sources: Vec<&str> = completions.iter().map(|c| c.source.as_str()).collect();
        let ids: Vec<&str> = completions.iter().map(|c| c.id.as_str()).collect();
        let mut client = self.client(op).await?;
        let tx = client.transaction().await.map_err(|e| pg_error(op, e))?;
        // Lock the keys involved, in key order (as every batch does, so batches cannot
        // deadlock), and read the events' rows, in one round trip each.
        let keys = tx
            .query(
                "SELECT k.ordering_key, k.worker, k.token FROM event_keys k
                 WHERE k.ordering_key IN (
                     SELECT q.ordering_key FROM event_queue q
                     JOIN unnest($1::text[], $2::text[]) AS u(source, event_id)
                       ON q.source = u.source AND q.event_id = u.event_id)
                 ORDER BY k.ordering_key FOR UPDATE",
                &[&sources, &ids],
            )
            .await
            .map_err(|e| pg_error(op, e))?;
        let mut claims = std::collections::HashMap::new();
        for row in &keys {
            let key: String = get(op, row, 0)?;
            let worker: Option<String> = get(op, row, 1)?;
            let token: i64 = get(op, row, 2)?;
            claims.insert(key, (worker, token));
        }
        let rows = tx
            .query(
                "SELECT q.source, q.event_id, q.ordering_key, q.state, q.in_flight
                 FROM event_queue q
                 JOIN unnest($1::text[], $2::text[]) AS u(source, event_id)
                   ON q.source = u.source AND q.event_id = u.event_id",
                &[&sources, &ids],
            )
            .await
            .map_err(|e| pg_error(op, e))?;
        let mut events = std::collections::HashMap::new();
        for row in &rows {
            let source: String = get(op, row, 0)?;
            let id: String = get(op, row, 1)?;
            let key: String = get(op, row, 2)?;
            let state: String = get(op, row, 3)?;
            let in_flight: bool = get(op, row, 4)?;
            events.insert((source, id), (key, state, in_flight));
        }
        let mut done = vec![false; completions.len()];
        // Per event to complete: its key and whether it was in flight.
        let (mut complete_sources, mut complete_ids, mut complete_keys, mut was_in_flight) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut seen = std::collections::HashSet::new();
        for (i, c) in completions.iter().enumerate() {
            let Some((key, state, in_flight)) = events.get(&(c.source.clone(), c.id.clone()))
            else {
                continue;
            };
            let Some((worker, token)) = claims.get(key) else {
                continue;
            };
            if !holds(op, &c.claim, worker.as_deref(), *token)? {
                continue;
            }
            done[i] = match state.as_str() {
                "pending" => {
                    if seen.insert((c.source.as_str(), c.id.as_str())) {
                        complete_sources.push(c.source.as_str());
                        complete_ids.push(c.id.as_str());
                        complete_keys.push(key.as_str());
                        was_in_flight.push(i32::from(*in_flight));
                    }
                    true
                }
                "completed" => true,
                _ => false,
            };
        }
        if !complete_ids.is_empty() {
            tx.execute(
                "UPDATE event_queue q SET state = 'completed', in_flight = false
                 FROM unnest($1::text[], $2::text[]) AS u(source, event_id)
                 WHERE q.source = u.source AND q.event_id = u.event_id",
                &[&complete_sources, &complete_ids],
            )
            .await
            .map_err(|e| pg_error(op, e))?;
            tx.execute(
                "UPDATE event_keys k SET pending = k.pending - d.completed,
                     in_flight = GREATEST(k.in_flight - d.in_flight, 0)
                 FROM (SELECT key, count(*)::int AS completed, sum(flying)::int AS in_flight
                       FROM unnest($1::text[], $2::int[]) AS u(key, flying) GROUP BY key) d
                 WHERE k.ordering_key = d.key",
                &[&complete_keys, &was_in_flight],
            )
            .await
            .map_err(|e| pg_error(op, e))?;
            // A completed event counts as processed in the inbox, in the same transaction.
            tx.execute(
                "INSERT INTO processed_events (source, event_id)
                 SELECT * FROM unnest($1::text[], $2::text[])
                 ON CONFLICT (source, event_id) DO NOTHING",
                &[&complete_sources, &complete_ids],
            )
            .await
            .map_err(|e| pg_error(op, e))?;
        }
        tx.commit().await.map_err(|e| pg_error(op, e))?;
        Ok(done)
    }
}

#[async_trait]
impl EventQueue for PostgresStore {
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
        let limit_sql = to_sql_int(OP, limit as u64)?;
        let (now_text, until_text) = (time_text(now), time_text(until));
        let mut client = self.client(OP).await?;
        let tx = client.transaction().await.map_err(|e| pg_error(OP, e))?;
        let keys = tx
            .query(
                "SELECT ordering_key FROM event_keys
                 WHERE pending > 0
                   AND NOT (in_flight > 0 AND lease_until > $1)
                   AND (not_before IS NULL OR not_before <= $1)
                 ORDER BY lease_until NULLS FIRST, ordering_key
                 LIMIT $2
                 FOR UPDATE SKIP LOCKED",
                &[&now_text, &limit_sql],
            )
            .await
            .map_err(|e| pg_error(OP, e))?;
        let mut handed = Vec::new();
        for key_row in keys {
            if handed.len() >= limit {
                break;
            }
            let key: String = get(OP, &key_row, 0)?;
            let rows = tx
                .query(
                    "SELECT seq, source, event_id, payload, enqueued_at, attempts, due_at
                     FROM event_queue WHERE ordering_key = $1 AND state = 'pending'
                     ORDER BY seq LIMIT $2",
                    // Only as many as may still be handed out: a key with a long backlog must
                    // not cost its whole backlog on every claim.
                    &[&key, &((limit - handed.len()) as i64)],
                )
                .await
                .map_err(|e| pg_error(OP, e))?;
            let mut due = Vec::new();
            for row in &rows {
                let due_at: Option<String> = get(OP, row, 6)?;
                if due.len() >= limit - handed.len()
                    || due_at.as_deref().is_some_and(|d| d > now_text.as_str())
                {
                    break;
                }
                due.push(row);
            }
            if due.is_empty() {
                continue;
            }
            let in_flight = i32::try_from(due.len()).unwrap_or(i32::MAX);
            let token: i64 = tx
                .query_one(
                    "UPDATE event_keys
                     SET worker = $2, token = token + 1, lease_until = $3, in_flight = $4
                     WHERE ordering_key = $1 RETURNING token",
                    &[&key, &worker, &until_text, &in_flight],
                )
                .await
                .and_then(|row| row.try_get(0))
                .map_err(|e| pg_error(OP, e))?;
            let claim = Claim {
                worker: worker.to_owned(),
                token: from_sql_int(OP, token)?,
                until,
            };
            let seqs: Vec<i64> = due
                .iter()
                .map(|row| get(OP, row, 0))
                .collect::<PortResult<_>>()?;
            tx.execute(
                "UPDATE event_queue SET attempts = attempts + 1, in_flight = true
                 WHERE seq = ANY($1)",
                &[&seqs],
            )
            .await
            .map_err(|e| pg_error(OP, e))?;
            for row in due {
                let payload: String = get(OP, row, 3)?;
                let enqueued_at: String = get(OP, row, 4)?;
                let attempts: i32 = get(OP, row, 5)?;
                handed.push(ClaimedEvent {
                    event: QueuedEvent {
                        source: get(OP, row, 1)?,
                        id: get(OP, row, 2)?,
                        ordering_key: key.clone(),
                        payload: from_json(OP, &payload)?,
                        enqueued_at: parse_time(OP, &enqueued_at)?,
                    },
                    attempt: u32::try_from(attempts).unwrap_or(0).saturating_add(1),
                    claim: claim.clone(),
                });
            }
        }
        tx.commit().await.map_err(|e| pg_error(OP, e))?;
        Ok(handed)
    }

    async fn complete_event(&self, source: &str, id: &str, claim: &Claim) -> PortResult<bool> {
        const OP: &str = ops::COMPLETE_EVENT;
        let completion = Completion {
            source: source.to_owned(),
            id: id.to_owned(),
            claim: claim.clone(),
        };
        let mut done = self
            .complete_in_one(OP, std::slice::from_ref(&completion))
            .await?;
        done.pop()
            .ok_or_else(|| PortError::unexpected(OP, "no answer for the event"))
    }

    async fn complete_events(&self, completions: &[Completion]) -> PortResult<Vec<bool>> {
        self.complete_in_one(ops::COMPLETE_EVENTS, completions)
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
        let mut client = self.client(OP).await?;
        let tx = client.transaction().await.map_err(|e| pg_error(OP, e))?;
        let Some((key, worker, token, state, in_flight)) = lock_event(OP, &tx, source, id).await?
        else {
            return Ok(false);
        };
        if state != "pending" || !holds(OP, claim, worker.as_deref(), token)? {
            return Ok(false);
        }
        let in_flight = i32::from(in_flight);
        match retry {
            Retry::At { at } => {
                let at = time_text(*at);
                tx.execute(
                    "UPDATE event_queue SET in_flight = false, due_at = $3, last_error = $4
                     WHERE source = $1 AND event_id = $2",
                    &[&source, &id, &at, &error],
                )
                .await
                .map_err(|e| pg_error(OP, e))?;
                tx.execute(
                    "UPDATE event_keys SET in_flight = GREATEST(in_flight - $2, 0),
                         not_before = GREATEST(COALESCE(not_before, $3), $3)
                     WHERE ordering_key = $1",
                    &[&key, &in_flight, &at],
                )
                .await
                .map_err(|e| pg_error(OP, e))?;
            }
            Retry::GiveUp => {
                tx.execute(
                    "UPDATE event_queue SET state = 'dead', in_flight = false, last_error = $3
                     WHERE source = $1 AND event_id = $2",
                    &[&source, &id, &error],
                )
                .await
                .map_err(|e| pg_error(OP, e))?;
                tx.execute(
                    "UPDATE event_keys SET pending = pending - 1,
                         in_flight = GREATEST(in_flight - $2, 0)
                     WHERE ordering_key = $1",
                    &[&key, &in_flight],
                )
                .await
                .map_err(|e| pg_error(OP, e))?;
            }
        }
        tx.commit().await.map_err(|e| pg_error(OP, e))?;
        Ok(true)
    }

    async fn queue_stats(&self, now: DateTime<Utc>) -> PortResult<QueueStats> {
        const OP: &str = ops::QUEUE_STATS;
        let client = self.client(OP).await?;
        let row = client
            .query_one(
                "SELECT count(*) FILTER (WHERE q.state = 'pending'),
                        count(*) FILTER (WHERE q.state = 'pending' AND q.in_flight
                                           AND k.lease_until > $1),
                        count(*) FILTER (WHERE q.state = 'completed'),
                        count(*) FILTER (WHERE q.state = 'dead')
                 FROM event_queue q JOIN event_keys k USING (ordering_key)",
                &[&time_text(now)],
            )
            .await
            .map_err(|e| pg_error(OP, e))?;
        Ok(QueueStats {
            pending: from_sql_int(OP, get(OP, &row, 0)?)?,
            leased: from_sql_int(OP, get(OP, &row, 1)?)?,
            completed: from_sql_int(OP, get(OP, &row, 2)?)?,
            dead: from_sql_int(OP, get(OP, &row, 3)?)?,
        })
    }
}
