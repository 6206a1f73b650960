//! The state store in SQLite: a file, or memory.
//!
//! # Durability
//!
//! A file store runs in WAL mode with `synchronous=FULL`: every commit — a refund intent, an
//! idempotency record, a processed event, a decision — is on disk (the WAL is fsynced) before the
//! call returns, so a crash of the process *or of the machine* never loses a write that was
//! acknowledged.
//!
//! `synchronous=NORMAL` in WAL mode would still never corrupt the database, but it fsyncs only at
//! checkpoints: after a power cut or an OS crash the last commits may be gone although the caller
//! was told they were written. For a refund intent that is the double refund this store exists to
//! prevent (the intent was written, the processor was called, the machine died, and on restart
//! the intent is missing, so the agent decides and refunds again); for an idempotency record it is
//! a repeated action. It is not used: one connection commits everything here, and the cost of FULL
//! (one fsync per commit) is paid once per commit, which batching writes into one transaction
//! amortises. NORMAL would be acceptable only for a separate connection that writes what can be
//! rebuilt — processed-event marks whose loss means a redelivered webhook is processed again
//! (actions are idempotent) — and this store has no such connection yet.
//!
//! A memory store (`:memory:`) keeps nothing across a restart; it is for tests and trials.
//!
//! # Concurrency
//!
//! One connection behind a mutex, used from `tokio::task::spawn_blocking`, so calls never block
//! the async runtime and run one at a time. The constraints do not rely on that: every write is a
//! single insert-if-absent or compare-and-set statement, and an append to the decision log is a
//! `BEGIN IMMEDIATE` transaction, so several processes may share one file (each waits up to the
//! busy timeout for the write lock, then gets a retryable `unavailable` error).

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use order_agent_core::domain::{OrderId, ReturnAuthorisation, ReturnId};
use order_agent_core::ports::store::ops;
use order_agent_core::ports::{
    ConversationKey, ConversationState, ConversationStore, DecisionLog, DecisionRecord, EventInbox,
    IdempotencyRecord, IdempotencyStore, LoggedDecision, PortError, PortResult, PutOutcome,
    RefundIntent, RefundIntentStore, RefundIntentTransition, ReturnStore, TransitionOutcome,
    Versioned,
};
use rusqlite::{params, Connection, ErrorCode, OptionalExtension, TransactionBehavior};

use super::chain::{self, ChainRow, ChainVerification, ChainVerifier, GENESIS_HASH};
use super::codec::{
    channel_text, check_new_intent, check_transition, conversation_conflict, from_json,
    from_sql_int, parse_time, time_text, to_json, to_sql_int, IntentRow, INTENT_COLUMNS,
};

const OPEN: &str = "store.open";
const VERIFY_CHAIN: &str = "store.verify_chain";
const EXPORT_DECISIONS: &str = "store.export_decisions";
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long [`SqliteStore::open`] keeps trying while other processes hold the file's write lock.
pub const OPEN_PATIENCE: Duration = Duration::from_secs(30);
const PAGE: i64 = 1_000;

/// The schema, one migration per version, applied in order when a store opens.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, MIGRATION_1),
    (2, super::sqlite_queue::MIGRATION_2),
    (3, MIGRATION_3),
];

/// The money bounds of refund intents, held by the database itself: the intents of one payment
/// never exceed what it captured, an intent above the auto-refund limit starts waiting for
/// approval and is paid only after it, and an approval carries its ticket.
const MIGRATION_3: &str = r#"
ALTER TABLE refund_intents ADD COLUMN captured_minor INTEGER
    CHECK (captured_minor IS NULL OR captured_minor > 0);
ALTER TABLE refund_intents ADD COLUMN auto_limit_minor INTEGER
    CHECK (auto_limit_minor IS NULL OR auto_limit_minor >= 0);
CREATE INDEX refund_intents_of_payment ON refund_intents (payment_id);
CREATE TRIGGER refund_intents_within_captured BEFORE INSERT ON refund_intents
WHEN NEW.captured_minor IS NOT NULL
 AND NEW.amount_minor + (SELECT COALESCE(SUM(amount_minor), 0) FROM refund_intents
                         WHERE payment_id = NEW.payment_id AND state <> 'failed'
                           AND key <> NEW.key) > NEW.captured_minor
BEGIN SELECT RAISE(ABORT, 'refund intents would exceed what the payment captured'); END;
CREATE TRIGGER refund_intents_above_limit_wait BEFORE INSERT ON refund_intents
WHEN NEW.auto_limit_minor IS NOT NULL AND NEW.amount_minor > NEW.auto_limit_minor
 AND NEW.state <> 'needs_approval'
BEGIN SELECT RAISE(ABORT, 'a refund intent above the limit must wait for approval'); END;
DROP TRIGGER refund_intents_change_by_transition;
CREATE TRIGGER refund_intents_change_by_transition BEFORE UPDATE ON refund_intents
WHEN NEW.key IS NOT OLD.key
  OR NEW.order_id IS NOT OLD.order_id
  OR NEW.payment_id IS NOT OLD.payment_id
  OR NEW.amount_minor IS NOT OLD.amount_minor
  OR NEW.currency IS NOT OLD.currency
  OR NEW.created_at IS NOT OLD.created_at
  OR NEW.captured_minor IS NOT OLD.captured_minor
  OR NEW.auto_limit_minor IS NOT OLD.auto_limit_minor
  OR (OLD.state || '>' || NEW.state) NOT IN (
      'pending>needs_approval', 'pending>succeeded', 'pending>failed',
      'needs_approval>approved', 'needs_approval>failed',
      'approved>succeeded', 'approved>failed')
  OR (NEW.state = 'approved' AND NEW.approval_ticket IS NULL)
  OR (OLD.state = 'pending' AND NEW.state = 'succeeded'
      AND NEW.auto_limit_minor IS NOT NULL AND NEW.amount_minor > NEW.auto_limit_minor)
BEGIN SELECT RAISE(ABORT, 'a refund intent changes only by a legal state transition'); END;
"#;

const MIGRATION_1: &str = r#"
CREATE TABLE idempotency_records (
    key         TEXT PRIMARY KEY NOT NULL CHECK (key <> ''),
    outcome     TEXT NOT NULL CHECK (json_valid(outcome)),
    recorded_at TEXT NOT NULL
);
CREATE TRIGGER idempotency_records_never_change BEFORE UPDATE ON idempotency_records
BEGIN SELECT RAISE(ABORT, 'idempotency records are never changed'); END;
CREATE TRIGGER idempotency_records_never_deleted BEFORE DELETE ON idempotency_records
BEGIN SELECT RAISE(ABORT, 'idempotency records are never deleted'); END;

CREATE TABLE return_authorisations (
    id            TEXT PRIMARY KEY NOT NULL CHECK (id <> ''),
    order_id      TEXT NOT NULL,
    authorised_at TEXT NOT NULL,
    authorisation TEXT NOT NULL CHECK (json_valid(authorisation))
);
CREATE INDEX return_authorisations_of_order
    ON return_authorisations (order_id, authorised_at);
CREATE TRIGGER return_authorisations_never_change BEFORE UPDATE ON return_authorisations
BEGIN SELECT RAISE(ABORT, 'return authorisations are never changed'); END;
CREATE TRIGGER return_authorisations_never_deleted BEFORE DELETE ON return_authorisations
BEGIN SELECT RAISE(ABORT, 'return authorisations are never deleted'); END;

CREATE TABLE refund_intents (
    key             TEXT PRIMARY KEY NOT NULL CHECK (key <> ''),
    order_id        TEXT NOT NULL,
    payment_id      TEXT NOT NULL,
    amount_minor    INTEGER NOT NULL CHECK (typeof(amount_minor) = 'integer' AND amount_minor > 0),
    currency        TEXT NOT NULL CHECK (length(currency) = 3),
    state           TEXT NOT NULL CHECK (state IN
                        ('pending', 'needs_approval', 'approved', 'succeeded', 'failed')),
    approval_ticket TEXT,
    refund_id       TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX refund_intents_of_order ON refund_intents (order_id, created_at);
CREATE TRIGGER refund_intents_start_pending BEFORE INSERT ON refund_intents
WHEN NEW.state NOT IN ('pending', 'needs_approval')
BEGIN SELECT RAISE(ABORT, 'a new refund intent is pending or needs approval'); END;
CREATE TRIGGER refund_intents_change_by_transition BEFORE UPDATE ON refund_intents
WHEN NEW.key IS NOT OLD.key
  OR NEW.order_id IS NOT OLD.order_id
  OR NEW.payment_id IS NOT OLD.payment_id
  OR NEW.amount_minor IS NOT OLD.amount_minor
  OR NEW.currency IS NOT OLD.currency
  OR NEW.created_at IS NOT OLD.created_at
  OR (OLD.state || '>' || NEW.state) NOT IN (
      'pending>needs_approval', 'pending>succeeded', 'pending>failed',
      'needs_approval>approved', 'needs_approval>failed',
      'approved>succeeded', 'approved>failed')
BEGIN SELECT RAISE(ABORT, 'a refund intent changes only by a legal state transition'); END;
CREATE TRIGGER refund_intents_never_deleted BEFORE DELETE ON refund_intents
BEGIN SELECT RAISE(ABORT, 'refund intents are never deleted'); END;

CREATE TABLE processed_events (
    source       TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    processed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (source, event_id)
);
CREATE TRIGGER processed_events_never_change BEFORE UPDATE ON processed_events
BEGIN SELECT RAISE(ABORT, 'processed events are never changed'); END;
CREATE TRIGGER processed_events_never_forgotten BEFORE DELETE ON processed_events
BEGIN SELECT RAISE(ABORT, 'processed events are never forgotten'); END;

-- A deleted conversation keeps its row with a null state, so that versions are never reused.
CREATE TABLE conversations (
    channel TEXT NOT NULL,
    sender  TEXT NOT NULL,
    version INTEGER NOT NULL CHECK (version >= 1),
    state   TEXT CHECK (state IS NULL OR json_valid(state)),
    PRIMARY KEY (channel, sender)
);
CREATE TRIGGER conversations_versions_grow BEFORE UPDATE ON conversations
WHEN NEW.version < OLD.version
BEGIN SELECT RAISE(ABORT, 'conversation versions never go back'); END;

CREATE TABLE decision_log (
    sequence  INTEGER PRIMARY KEY NOT NULL CHECK (sequence >= 1),
    record    TEXT NOT NULL CHECK (json_valid(record)),
    prev_hash TEXT NOT NULL CHECK (length(prev_hash) = 64),
    hash      TEXT NOT NULL UNIQUE CHECK (length(hash) = 64)
);
CREATE TRIGGER decision_log_never_changes BEFORE UPDATE ON decision_log
BEGIN SELECT RAISE(ABORT, 'the decision log is append-only'); END;
CREATE TRIGGER decision_log_never_shrinks BEFORE DELETE ON decision_log
BEGIN SELECT RAISE(ABORT, 'the decision log is append-only'); END;
"#;

/// The state store in a SQLite file or in memory; see the [module docs](self) for durability.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use order_agent_adapters::store::SqliteStore;
/// use order_agent_core::ports::EventInbox;
///
/// let store = SqliteStore::in_memory().unwrap();
/// assert!(store.mark_processed("shopify", "evt_1").await.unwrap());
/// assert!(!store.mark_processed("shopify", "evt_1").await.unwrap());
/// # });
/// ```
pub struct SqliteStore {
    connection: Arc<Mutex<Connection>>,
    path: Option<PathBuf>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the store in the file at `path` and brings its schema up to
    /// date. Blocks while it does; call it at start-up.
    ///
    /// Several processes may open one file at once: while another one holds the write lock
    /// (creating the file, switching it to WAL, migrating), this waits and tries again for up to
    /// [`OPEN_PATIENCE`], then fails with a retryable `unavailable` error.
    pub fn open(path: impl AsRef<Path>) -> PortResult<SqliteStore> {
        let path = path.as_ref();
        let deadline = std::time::Instant::now() + OPEN_PATIENCE;
        loop {
            match SqliteStore::open_once(path) {
                Err(e) if is_busy(&e) && std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                result => return result,
            }
        }
    }

    fn open_once(path: &Path) -> PortResult<SqliteStore> {
        let path = path.to_path_buf();
        let connection = Connection::open(&path)
            .map_err(|e| sqlite_error(OPEN, e).with_context("path", path.display()))?;
        // Set before switching to WAL, which waits for other connections to the file.
        connection
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| sqlite_error(OPEN, e))?;
        let journal: String = connection
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(|e| sqlite_error(OPEN, e))?;
        if !journal.eq_ignore_ascii_case("wal") {
            return Err(PortError::unexpected(OPEN, "the database refused WAL mode")
                .with_context("journal_mode", journal));
        }
        SqliteStore::prepare(connection, Some(path))
    }

    /// A store in memory, empty, lost when dropped.
    pub fn in_memory() -> PortResult<SqliteStore> {
        let connection = Connection::open_in_memory().map_err(|e| sqlite_error(OPEN, e))?;
        SqliteStore::prepare(connection, None)
    }

    /// The file, or `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    fn prepare(mut connection: Connection, path: Option<PathBuf>) -> PortResult<SqliteStore> {
        connection
            .pragma_update(None, "synchronous", "FULL")
            .and_then(|()| connection.pragma_update(None, "foreign_keys", "ON"))
            .and_then(|()| connection.busy_timeout(BUSY_TIMEOUT))
            .map_err(|e| sqlite_error(OPEN, e))?;
        migrate(&mut connection)?;
        Ok(SqliteStore {
            connection: Arc::new(Mutex::new(connection)),
            path,
        })
    }

    /// The schema version this library brings a database to.
    pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

    /// The schema version the database is at.
    pub async fn schema_version(&self) -> PortResult<i64> {
        self.run(OPEN, |c| {
            current_version(c).map_err(|e| sqlite_error(OPEN, e))
        })
        .await
    }

    /// Recomputes the hash chain of the decision log from the first row and reports the first
    /// row that does not verify; see [`chain`].
    pub async fn verify_chain(&self) -> PortResult<ChainVerification> {
        self.run(VERIFY_CHAIN, |c| {
            let mut verifier = ChainVerifier::new();
            let mut after = 0i64;
            loop {
                let rows = chain_rows(c, after, PAGE).map_err(|e| sqlite_error(VERIFY_CHAIN, e))?;
                let Some(last) = rows.last() else { break };
                after = to_sql_int(VERIFY_CHAIN, last.sequence)?;
                if !rows.iter().all(|row| verifier.check(row)) {
                    break;
                }
            }
            Ok(verifier.finish())
        })
        .await
    }

    /// Writes the whole decision log to `writer` as JSON lines of
    /// [`ExportedDecision`](super::ExportedDecision), oldest first, and returns how many rows it
    /// wrote.
    pub async fn export_decisions<W: Write + Send + ?Sized>(
        &self,
        writer: &mut W,
    ) -> PortResult<u64> {
        let mut after = 0i64;
        let mut written = 0u64;
        loop {
            let rows = self
                .run(EXPORT_DECISIONS, move |c| {
                    chain_rows(c, after, PAGE).map_err(|e| sqlite_error(EXPORT_DECISIONS, e))
                })
                .await?;
            let Some(last) = rows.last() else { break };
            after = to_sql_int(EXPORT_DECISIONS, last.sequence)?;
            chain::export_rows(EXPORT_DECISIONS, &rows, writer)?;
            written += rows.len() as u64;
        }
        writer.flush().map_err(|e| {
            PortError::unavailable(EXPORT_DECISIONS, "the export could not be written")
                .with_source(e)
        })?;
        Ok(written)
    }

    pub(super) async fn run<T, F>(&self, op: &'static str, f: F) -> PortResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> PortResult<T> + Send + 'static,
    {
        let connection = Arc::clone(&self.connection);
        tokio::task::spawn_blocking(move || {
            // A panic while the lock was held rolled its transaction back on unwinding.
            let mut guard = connection.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut guard)
        })
        .await
        .map_err(|e| PortError::unexpected(op, "the database task failed").with_source(e))?
    }
}

fn current_version(c: &Connection) -> rusqlite::Result<i64> {
    c.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_version",
        [],
        |row| row.get(0),
    )
}

fn migrate(connection: &mut Connection) -> PortResult<()> {
    let tx = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| sqlite_error(OPEN, e))?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (
             version    INTEGER PRIMARY KEY NOT NULL,
             applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
         );",
    )
    .map_err(|e| sqlite_error(OPEN, e))?;
    let at = current_version(&tx).map_err(|e| sqlite_error(OPEN, e))?;
    let newest = MIGRATIONS.last().map_or(0, |(v, _)| *v);
    if at > newest {
        return Err(
            PortError::unexpected(OPEN, "the database schema is newer than this library")
                .with_context("database_version", at)
                .with_context("library_version", newest),
        );
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > at) {
        tx.execute_batch(sql)
            .and_then(|()| {
                tx.execute(
                    "INSERT INTO schema_version (version) VALUES (?1)",
                    params![version],
                )
            })
            .map_err(|e| sqlite_error(OPEN, e).with_context("migration", version))?;
    }
    tx.commit().map_err(|e| sqlite_error(OPEN, e))
}

fn chain_rows(c: &Connection, after: i64, limit: i64) -> rusqlite::Result<Vec<ChainRow>> {
    let mut statement = c.prepare_cached(
        "SELECT sequence, record, prev_hash, hash FROM decision_log
         WHERE sequence > ?1 ORDER BY sequence LIMIT ?2",
    )?;
    let rows = statement.query_map(params![after, limit], |row| {
        Ok(ChainRow {
            sequence: u64::try_from(row.get::<_, i64>(0)?).unwrap_or(0),
            record: row.get(1)?,
            prev_hash: row.get(2)?,
            hash: row.get(3)?,
        })
    })?;
    rows.collect()
}

/// Maps SQLite's result codes onto port error kinds.
/// Whether `error` is SQLite's "another connection holds the lock" (worth waiting for), as
/// opposed to a file that cannot be opened at all.
fn is_busy(error: &PortError) -> bool {
    std::error::Error::source(error)
        .and_then(|s| s.downcast_ref::<rusqlite::Error>())
        .is_some_and(|e| {
            matches!(
                e.sqlite_error_code(),
                Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
            )
        })
}

pub(super) fn sqlite_error(op: &'static str, error: rusqlite::Error) -> PortError {
    let kind_error = match &error {
        rusqlite::Error::SqliteFailure(failure, _) => match failure.code {
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                PortError::unavailable(op, "the database is busy")
            }
            ErrorCode::CannotOpen
            | ErrorCode::SystemIoFailure
            | ErrorCode::DiskFull
            | ErrorCode::OutOfMemory
            | ErrorCode::PermissionDenied
            | ErrorCode::ReadOnly => PortError::unavailable(op, "the database cannot be written"),
            ErrorCode::ConstraintViolation => PortError::unexpected(
                op,
                "the database refused the write as breaking one of its rules",
            ),
            ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => {
                PortError::unexpected(op, "the database file is damaged")
            }
            _ => PortError::unexpected(op, "the database failed"),
        },
        _ => PortError::unexpected(op, "the database failed"),
    };
    kind_error.with_source(error)
}

fn read_intent(row: &rusqlite::Row<'_>) -> rusqlite::Result<IntentRow> {
    Ok(IntentRow {
        key: row.get(0)?,
        order_id: row.get(1)?,
        payment_id: row.get(2)?,
        amount_minor: row.get(3)?,
        currency: row.get(4)?,
        state: row.get(5)?,
        approval_ticket: row.get(6)?,
        refund_id: row.get(7)?,
        created_at: row.get(8)?,
        updated_at: row.get(9)?,
        captured_minor: row.get(10)?,
        auto_limit_minor: row.get(11)?,
    })
}

fn intent_by_key(c: &Connection, key: &str) -> rusqlite::Result<Option<IntentRow>> {
    c.prepare_cached(&format!(
        "SELECT {INTENT_COLUMNS} FROM refund_intents WHERE key = ?1"
    ))?
    .query_row(params![key], read_intent)
    .optional()
}

#[async_trait]
impl IdempotencyStore for SqliteStore {
    async fn put_idempotency_record(
        &self,
        record: &IdempotencyRecord,
    ) -> PortResult<PutOutcome<IdempotencyRecord>> {
        const OP: &str = ops::PUT_IDEMPOTENCY_RECORD;
        if record.key.is_empty() {
            return Err(PortError::invalid_input(OP, "the key is empty"));
        }
        let key = record.key.clone();
        let outcome = to_json(OP, &record.outcome)?;
        let recorded_at = time_text(record.recorded_at);
        let existing = self
            .run(OP, move |c| {
                let inserted = c
                    .prepare_cached(
                        "INSERT INTO idempotency_records (key, outcome, recorded_at)
                         VALUES (?1, ?2, ?3) ON CONFLICT (key) DO NOTHING",
                    )
                    .and_then(|mut s| s.execute(params![key, outcome, recorded_at]))
                    .map_err(|e| sqlite_error(OP, e))?;
                if inserted == 1 {
                    return Ok(None);
                }
                idempotency_row(c, &key)
                    .map_err(|e| sqlite_error(OP, e))?
                    .ok_or_else(|| PortError::unexpected(OP, "the record vanished"))
                    .map(Some)
            })
            .await?;
        match existing {
            None => Ok(PutOutcome::Inserted),
            Some(row) => Ok(PutOutcome::AlreadyPresent(row.into_record(OP)?)),
        }
    }

    async fn idempotency_record(&self, key: &str) -> PortResult<Option<IdempotencyRecord>> {
        const OP: &str = ops::IDEMPOTENCY_RECORD;
        let key = key.to_owned();
        let row = self
            .run(OP, move |c| {
                idempotency_row(c, &key).map_err(|e| sqlite_error(OP, e))
            })
            .await?;
        row.map(|r| r.into_record(OP)).transpose()
    }
}

struct IdempotencyRow {
    key: String,
    outcome: String,
    recorded_at: String,
}

impl IdempotencyRow {
    fn into_record(self, op: &'static str) -> PortResult<IdempotencyRecord> {
        Ok(IdempotencyRecord {
            outcome: from_json(op, &self.outcome)?,
            recorded_at: parse_time(op, &self.recorded_at)?,
            key: self.key,
        })
    }
}

fn idempotency_row(c: &Connection, key: &str) -> rusqlite::Result<Option<IdempotencyRow>> {
    c.prepare_cached("SELECT key, outcome, recorded_at FROM idempotency_records WHERE key = ?1")?
        .query_row(params![key], |row| {
            Ok(IdempotencyRow {
                key: row.get(0)?,
                outcome: row.get(1)?,
                recorded_at: row.get(2)?,
            })
        })
        .optional()
}

#[async_trait]
impl ReturnStore for SqliteStore {
    async fn insert_return_authorisation(
        &self,
        authorisation: &ReturnAuthorisation,
    ) -> PortResult<PutOutcome<ReturnAuthorisation>> {
        const OP: &str = ops::INSERT_RETURN_AUTHORISATION;
        let id = authorisation.id.as_str().to_owned();
        let order = authorisation.request.order_id.as_str().to_owned();
        let at = time_text(authorisation.authorised_at);
        let json = to_json(OP, authorisation)?;
        let existing = self
            .run(OP, move |c| {
                let inserted = c
                    .prepare_cached(
                        "INSERT INTO return_authorisations (id, order_id, authorised_at, authorisation)
                         VALUES (?1, ?2, ?3, ?4) ON CONFLICT (id) DO NOTHING",
                    )
                    .and_then(|mut s| s.execute(params![id, order, at, json]))
                    .map_err(|e| sqlite_error(OP, e))?;
                if inserted == 1 {
                    return Ok(None);
                }
                c.prepare_cached("SELECT authorisation FROM return_authorisations WHERE id = ?1")
                    .and_then(|mut s| s.query_row(params![id], |row| row.get::<_, String>(0)))
                    .map(Some)
                    .map_err(|e| sqlite_error(OP, e))
            })
            .await?;
        match existing {
            None => Ok(PutOutcome::Inserted),
            Some(json) => Ok(PutOutcome::AlreadyPresent(from_json(OP, &json)?)),
        }
    }

    async fn return_authorisation(&self, id: &ReturnId) -> PortResult<Option<ReturnAuthorisation>> {
        const OP: &str = ops::RETURN_AUTHORISATION;
        let id = id.as_str().to_owned();
        let json = self
            .run(OP, move |c| {
                c.prepare_cached("SELECT authorisation FROM return_authorisations WHERE id = ?1")
                    .and_then(|mut s| {
                        s.query_row(params![id], |row| row.get::<_, String>(0))
                            .optional()
                    })
                    .map_err(|e| sqlite_error(OP, e))
            })
            .await?;
        json.map(|j| from_json(OP, &j)).transpose()
    }

    async fn return_authorisations_of_order(
        &self,
        order: &OrderId,
    ) -> PortResult<Vec<ReturnAuthorisation>> {
        const OP: &str = ops::RETURN_AUTHORISATIONS_OF_ORDER;
        let order = order.as_str().to_owned();
        let rows = self
            .run(OP, move |c| {
                c.prepare_cached(
                    "SELECT authorisation FROM return_authorisations WHERE order_id = ?1
                     ORDER BY authorised_at, rowid",
                )
                .and_then(|mut s| {
                    s.query_map(params![order], |row| row.get::<_, String>(0))?
                        .collect::<rusqlite::Result<Vec<String>>>()
                })
                .map_err(|e| sqlite_error(OP, e))
            })
            .await?;
        rows.iter().map(|j| from_json(OP, j)).collect()
    }
}

#[async_trait]
impl RefundIntentStore for SqliteStore {
    async fn create_refund_intent(
        &self,
        intent: &RefundIntent,
    ) -> PortResult<PutOutcome<RefundIntent>> {
        const OP: &str = ops::CREATE_REFUND_INTENT;
        check_new_intent(intent)?;
        let row = IntentRow::of(intent);
        let candidate = intent.clone();
        let existing = self
            .run(OP, move |c| {
                // One write transaction: the sum of the payment's intents cannot change between
                // the check and the insert.
                let tx = c
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(|e| sqlite_error(OP, e))?;
                if let Some(existing) =
                    intent_by_key(&tx, &row.key).map_err(|e| sqlite_error(OP, e))?
                {
                    return Ok(Some(existing));
                }
                let others: i64 = tx
                    .prepare_cached(
                        "SELECT COALESCE(SUM(amount_minor), 0) FROM refund_intents
                         WHERE payment_id = ?1 AND state <> 'failed'",
                    )
                    .and_then(|mut s| s.query_row(params![row.payment_id], |r| r.get(0)))
                    .map_err(|e| sqlite_error(OP, e))?;
                candidate.check_within_captured(others)?;
                tx.prepare_cached(&format!(
                    "INSERT INTO refund_intents ({INTENT_COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
                ))
                .and_then(|mut s| {
                    s.execute(params![
                        row.key,
                        row.order_id,
                        row.payment_id,
                        row.amount_minor,
                        row.currency,
                        row.state,
                        row.approval_ticket,
                        row.refund_id,
                        row.created_at,
                        row.updated_at,
                        row.captured_minor,
                        row.auto_limit_minor
                    ])
                })
                .map_err(|e| sqlite_error(OP, e))?;
                tx.commit().map_err(|e| sqlite_error(OP, e))?;
                Ok(None)
            })
            .await?;
        match existing {
            None => Ok(PutOutcome::Inserted),
            Some(row) => Ok(PutOutcome::AlreadyPresent(row.into_intent(OP)?)),
        }
    }

    async fn refund_intent(&self, key: &str) -> PortResult<Option<RefundIntent>> {
        const OP: &str = ops::REFUND_INTENT;
        let key = key.to_owned();
        let row = self
            .run(OP, move |c| {
                intent_by_key(c, &key).map_err(|e| sqlite_error(OP, e))
            })
            .await?;
        row.map(|r| r.into_intent(OP)).transpose()
    }

    async fn transition_refund_intent(
        &self,
        key: &str,
        transition: &RefundIntentTransition,
    ) -> PortResult<TransitionOutcome> {
        const OP: &str = ops::TRANSITION_REFUND_INTENT;
        check_transition(transition)?;
        let key = key.to_owned();
        let from = super::codec::state_text(transition.from);
        let to = super::codec::state_text(transition.to);
        let ticket = transition
            .approval_ticket
            .as_ref()
            .map(|t| t.as_str().to_owned());
        let refund = transition.refund_id.as_ref().map(|r| r.as_str().to_owned());
        let at = time_text(transition.at);
        let check = transition.clone();
        let (applied, row) = self
            .run(OP, move |c| {
                let current = intent_by_key(c, &key)
                    .map_err(|e| sqlite_error(OP, e))?
                    .ok_or_else(|| {
                        PortError::not_found(OP, "no such intent").with_context("key", &key)
                    })?;
                if current.state == from {
                    current.clone().into_intent(OP)?.check_transition(&check)?;
                }
                let applied = c
                    .prepare_cached(&format!(
                        "UPDATE refund_intents
                         SET state = ?3, updated_at = ?4,
                             approval_ticket = COALESCE(?5, approval_ticket),
                             refund_id = COALESCE(?6, refund_id)
                         WHERE key = ?1 AND state = ?2
                         RETURNING {INTENT_COLUMNS}"
                    ))
                    .and_then(|mut s| {
                        s.query_row(params![key, from, to, at, ticket, refund], read_intent)
                            .optional()
                    })
                    .map_err(|e| sqlite_error(OP, e))?;
                if let Some(row) = applied {
                    return Ok((true, row));
                }
                let current = intent_by_key(c, &key).map_err(|e| sqlite_error(OP, e))?;
                current.map(|row| (false, row)).ok_or_else(|| {
                    PortError::not_found(OP, "no such intent").with_context("key", &key)
                })
            })
            .await?;
        let intent = row.into_intent(OP)?;
        Ok(if applied {
            TransitionOutcome::Applied(intent)
        } else {
            TransitionOutcome::Stale(intent)
        })
    }

    async fn refund_intents_of_order(&self, order: &OrderId) -> PortResult<Vec<RefundIntent>> {
        const OP: &str = ops::REFUND_INTENTS_OF_ORDER;
        let order = order.as_str().to_owned();
        let rows = self
            .run(OP, move |c| {
                c.prepare_cached(&format!(
                    "SELECT {INTENT_COLUMNS} FROM refund_intents WHERE order_id = ?1
                     ORDER BY created_at, rowid"
                ))
                .and_then(|mut s| {
                    s.query_map(params![order], read_intent)?
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(|e| sqlite_error(OP, e))
            })
            .await?;
        rows.into_iter().map(|r| r.into_intent(OP)).collect()
    }
}

#[async_trait]
impl EventInbox for SqliteStore {
    async fn mark_processed(&self, source: &str, event_id: &str) -> PortResult<bool> {
        const OP: &str = ops::MARK_PROCESSED;
        let (source, event_id) = (source.to_owned(), event_id.to_owned());
        self.run(OP, move |c| {
            c.prepare_cached(
                "INSERT INTO processed_events (source, event_id) VALUES (?1, ?2)
                 ON CONFLICT (source, event_id) DO NOTHING",
            )
            .and_then(|mut s| s.execute(params![source, event_id]))
            .map(|inserted| inserted == 1)
            .map_err(|e| sqlite_error(OP, e))
        })
        .await
    }

    async fn is_processed(&self, source: &str, event_id: &str) -> PortResult<bool> {
        const OP: &str = ops::IS_PROCESSED;
        let (source, event_id) = (source.to_owned(), event_id.to_owned());
        self.run(OP, move |c| {
            c.prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM processed_events WHERE source = ?1 AND event_id = ?2)",
            )
            .and_then(|mut s| s.query_row(params![source, event_id], |row| row.get(0)))
            .map_err(|e| sqlite_error(OP, e))
        })
        .await
    }
}

const MARK_PROCESSED_BATCH: &str = "store.mark_processed_batch";
const MARK_PROCESSED_WITH_DECISIONS: &str = "store.mark_processed_with_decisions";

/// Batched ingestion: many inbox entries (and their decisions) in one transaction, so one fsync
/// (`synchronous=FULL`, as every other write) makes the whole batch durable.
impl SqliteStore {
    /// Marks every `(source, event_id)` of `events` processed, in one transaction, and returns for
    /// each, in order, whether this was the first time, as
    /// [`mark_processed`](EventInbox::mark_processed) would one by one (an event twice in the batch
    /// is `true` only the first time).
    ///
    /// The batch commits whole or not at all; when this returns, every mark is on disk.
    pub async fn mark_processed_batch(&self, events: &[(String, String)]) -> PortResult<Vec<bool>> {
        const OP: &str = MARK_PROCESSED_BATCH;
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let events = events.to_vec();
        self.run(OP, move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| sqlite_error(OP, e))?;
            let marked = {
                let mut mark = tx
                    .prepare_cached(
                        "INSERT INTO processed_events (source, event_id) VALUES (?1, ?2)
                         ON CONFLICT (source, event_id) DO NOTHING",
                    )
                    .map_err(|e| sqlite_error(OP, e))?;
                events
                    .iter()
                    .map(|(source, event_id)| {
                        mark.execute(params![source, event_id])
                            .map(|inserted| inserted == 1)
                            .map_err(|e| sqlite_error(OP, e))
                    })
                    .collect::<PortResult<Vec<bool>>>()?
            };
            tx.commit().map_err(|e| sqlite_error(OP, e))?;
            Ok(marked)
        })
        .await
    }

    /// Marks every `(source, event_id, decision)` of `events` processed and appends `decision` to
    /// the decision log for each event marked the first time, all in one transaction; returns for
    /// each event, in order, the sequence number of its decision, or `None` when the event was
    /// already processed (its decision is then not appended).
    ///
    /// The batch commits whole or not at all; when this returns, every mark and decision is on
    /// disk, and the hash chain continues as with
    /// [`append_decision`](DecisionLog::append_decision).
    pub async fn mark_processed_with_decisions(
        &self,
        events: &[(String, String, DecisionRecord)],
    ) -> PortResult<Vec<Option<u64>>> {
        const OP: &str = MARK_PROCESSED_WITH_DECISIONS;
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let entries = events
            .iter()
            .map(|(source, event_id, record)| {
                Ok((
                    source.clone(),
                    event_id.clone(),
                    chain::record_json(OP, record)?,
                ))
            })
            .collect::<PortResult<Vec<_>>>()?;
        self.run(OP, move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| sqlite_error(OP, e))?;
            let sequences = {
                let head: Option<(i64, String)> = tx
                    .prepare_cached(
                        "SELECT sequence, hash FROM decision_log ORDER BY sequence DESC LIMIT 1",
                    )
                    .and_then(|mut s| {
                        s.query_row([], |row| Ok((row.get(0)?, row.get(1)?)))
                            .optional()
                    })
                    .map_err(|e| sqlite_error(OP, e))?;
                let (mut last, mut prev_hash) = head.unwrap_or((0, GENESIS_HASH.to_owned()));
                let mut mark = tx
                    .prepare_cached(
                        "INSERT INTO processed_events (source, event_id) VALUES (?1, ?2)
                         ON CONFLICT (source, event_id) DO NOTHING",
                    )
                    .map_err(|e| sqlite_error(OP, e))?;
                let mut append = tx
                    .prepare_cached(
                        "INSERT INTO decision_log (sequence, record, prev_hash, hash)
                         VALUES (?1, ?2, ?3, ?4)",
                    )
                    .map_err(|e| sqlite_error(OP, e))?;
                let mut sequences = Vec::with_capacity(entries.len());
                for (source, event_id, json) in &entries {
                    let inserted = mark
                        .execute(params![source, event_id])
                        .map_err(|e| sqlite_error(OP, e))?;
                    if inserted != 1 {
                        sequences.push(None);
                        continue;
                    }
                    let sequence = from_sql_int(OP, last)? + 1;
                    let hash = chain::row_hash(&prev_hash, sequence, json).ok_or_else(|| {
                        PortError::unexpected(OP, "the newest decision's hash is unreadable")
                            .with_context("sequence", last)
                    })?;
                    append
                        .execute(params![last + 1, json, prev_hash, hash])
                        .map_err(|e| sqlite_error(OP, e))?;
                    last += 1;
                    prev_hash = hash;
                    sequences.push(Some(sequence));
                }
                sequences
            };
            tx.commit().map_err(|e| sqlite_error(OP, e))?;
            Ok(sequences)
        })
        .await
    }
}

#[async_trait]
impl ConversationStore for SqliteStore {
    async fn conversation(
        &self,
        key: &ConversationKey,
    ) -> PortResult<Option<Versioned<ConversationState>>> {
        const OP: &str = ops::CONVERSATION;
        let channel = channel_text(OP, key.channel)?;
        let sender = key.sender.clone();
        let row = self
            .run(OP, move |c| {
                c.prepare_cached(
                    "SELECT version, state FROM conversations
                     WHERE channel = ?1 AND sender = ?2 AND state IS NOT NULL",
                )
                .and_then(|mut s| {
                    s.query_row(params![channel, sender], |row| {
                        Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
                    })
                    .optional()
                })
                .map_err(|e| sqlite_error(OP, e))
            })
            .await?;
        row.map(|(version, state)| {
            Ok(Versioned {
                version: from_sql_int(OP, version)?,
                value: from_json(OP, &state)?,
            })
        })
        .transpose()
    }

    async fn save_conversation(
        &self,
        key: &ConversationKey,
        state: &ConversationState,
        expected_version: Option<u64>,
    ) -> PortResult<u64> {
        const OP: &str = ops::SAVE_CONVERSATION;
        let channel = channel_text(OP, key.channel)?;
        let sender = key.sender.clone();
        let json = to_json(OP, state)?;
        let expected = expected_version.map(|v| to_sql_int(OP, v)).transpose()?;
        let saved = self
            .run(OP, move |c| {
                let version: Option<i64> = match expected {
                    None => c
                        .prepare_cached(
                            "INSERT INTO conversations (channel, sender, version, state)
                         VALUES (?1, ?2, 1, ?3)
                         ON CONFLICT (channel, sender) DO UPDATE
                             SET version = conversations.version + 1, state = excluded.state
                             WHERE conversations.state IS NULL
                         RETURNING version",
                        )
                        .and_then(|mut s| {
                            s.query_row(params![channel, sender, json], |row| row.get(0))
                                .optional()
                        }),
                    Some(expected) => c
                        .prepare_cached(
                            "UPDATE conversations SET version = version + 1, state = ?3
                             WHERE channel = ?1 AND sender = ?2 AND version = ?4
                                 AND state IS NOT NULL
                             RETURNING version",
                        )
                        .and_then(|mut s| {
                            s.query_row(params![channel, sender, json, expected], |row| row.get(0))
                                .optional()
                        }),
                }
                .map_err(|e| sqlite_error(OP, e))?;
                let stored = if version.is_none() {
                    c.prepare_cached(
                        "SELECT version FROM conversations
                         WHERE channel = ?1 AND sender = ?2 AND state IS NOT NULL",
                    )
                    .and_then(|mut s| {
                        s.query_row(params![channel, sender], |row| row.get::<_, i64>(0))
                            .optional()
                    })
                    .map_err(|e| sqlite_error(OP, e))?
                } else {
                    None
                };
                Ok((version, stored))
            })
            .await?;
        match saved {
            (Some(version), _) => from_sql_int(OP, version),
            (None, stored) => Err(conversation_conflict(expected_version, stored)),
        }
    }

    async fn delete_conversation(&self, key: &ConversationKey) -> PortResult<()> {
        const OP: &str = ops::DELETE_CONVERSATION;
        let channel = channel_text(OP, key.channel)?;
        let sender = key.sender.clone();
        self.run(OP, move |c| {
            c.prepare_cached(
                "UPDATE conversations SET state = NULL WHERE channel = ?1 AND sender = ?2",
            )
            .and_then(|mut s| s.execute(params![channel, sender]))
            .map(|_| ())
            .map_err(|e| sqlite_error(OP, e))
        })
        .await
    }
}

#[async_trait]
impl DecisionLog for SqliteStore {
    async fn append_decision(&self, record: &DecisionRecord) -> PortResult<u64> {
        const OP: &str = ops::APPEND_DECISION;
        let json = chain::record_json(OP, record)?;
        self.run(OP, move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| sqlite_error(OP, e))?;
            let head: Option<(i64, String)> = tx
                .prepare_cached("SELECT sequence, hash FROM decision_log ORDER BY sequence DESC LIMIT 1")
                .and_then(|mut s| {
                    s.query_row([], |row| Ok((row.get(0)?, row.get(1)?)))
                        .optional()
                })
                .map_err(|e| sqlite_error(OP, e))?;
            let (last, prev_hash) = head.unwrap_or((0, GENESIS_HASH.to_owned()));
            let sequence = from_sql_int(OP, last)? + 1;
            let hash = chain::row_hash(&prev_hash, sequence, &json).ok_or_else(|| {
                PortError::unexpected(OP, "the newest decision's hash is unreadable")
                    .with_context("sequence", last)
            })?;
            tx.prepare_cached(
                "INSERT INTO decision_log (sequence, record, prev_hash, hash) VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut s| s.execute(params![last + 1, json, prev_hash, hash]))
            .map_err(|e| sqlite_error(OP, e))?;
            tx.commit().map_err(|e| sqlite_error(OP, e))?;
            Ok(sequence)
        })
        .await
    }

    async fn decisions(&self, from: u64, limit: usize) -> PortResult<Vec<LoggedDecision>> {
        const OP: &str = ops::DECISIONS;
        let Ok(from) = i64::try_from(from) else {
            return Ok(Vec::new());
        };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .run(OP, move |c| {
                chain_rows(c, from.saturating_sub(1), limit).map_err(|e| sqlite_error(OP, e))
            })
            .await?;
        rows.iter()
            .map(|row| chain::logged_decision(OP, row))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn pragma(store: &SqliteStore, name: &str) -> String {
        let c = store.connection.lock().unwrap();
        c.query_row(&format!("PRAGMA {name}"), [], |row| {
            row.get::<_, rusqlite::types::Value>(0)
        })
        .map(|v| match v {
            rusqlite::types::Value::Integer(n) => n.to_string(),
            rusqlite::types::Value::Text(t) => t,
            other => format!("{other:?}"),
        })
        .unwrap()
    }

    #[test]
    fn a_locked_file_is_busy_and_a_missing_directory_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        drop(SqliteStore::open(&path).unwrap());
        let mut holder = Connection::open(&path).unwrap();
        let tx = holder
            .transaction_with_behavior(TransactionBehavior::Exclusive)
            .unwrap();
        let mut waiting = Connection::open(&path).unwrap();
        waiting.busy_timeout(Duration::from_millis(10)).unwrap();
        let busy = waiting
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map(|_| ())
            .map_err(|e| sqlite_error(OPEN, e))
            .unwrap_err();
        assert!(is_busy(&busy), "{busy:?}");
        drop(tx);
        let missing = SqliteStore::open(dir.path().join("no/such/dir/state.db")).unwrap_err();
        assert!(!is_busy(&missing), "{missing:?}");
    }

    #[test]
    fn a_file_store_commits_in_wal_mode_with_full_sync() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("state.db")).unwrap();
        assert_eq!(pragma(&store, "journal_mode"), "wal");
        // 2 is FULL (NORMAL is 1).
        assert_eq!(pragma(&store, "synchronous"), "2");
        assert_eq!(pragma(&store, "foreign_keys"), "1");
    }

    fn record(n: i64) -> DecisionRecord {
        DecisionRecord {
            at: chrono::DateTime::from_timestamp(1_790_000_000 + n, 0).unwrap(),
            subject: format!("order:o_{n}"),
            decision: serde_json::json!({ "outcome": "reply", "n": n }),
            reasons: vec!["wismo.in_transit".to_owned()],
        }
    }

    fn event(id: &str) -> (String, String) {
        ("shopify".to_owned(), id.to_owned())
    }

    #[tokio::test]
    async fn a_batch_of_marks_answers_as_marks_one_by_one_would() {
        let store = SqliteStore::in_memory().unwrap();
        assert!(store.mark_processed("shopify", "evt_0").await.unwrap());
        let batch = [
            event("evt_0"),
            event("evt_1"),
            event("evt_1"),
            ("warehouse".to_owned(), "evt_1".to_owned()),
        ];
        assert_eq!(
            store.mark_processed_batch(&batch).await.unwrap(),
            [false, true, false, true]
        );
        assert!(store.is_processed("warehouse", "evt_1").await.unwrap());
        assert!(!store.mark_processed("shopify", "evt_1").await.unwrap());
        assert!(store.mark_processed_batch(&[]).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_batch_with_decisions_appends_one_per_new_event_and_keeps_the_chain() {
        let store = SqliteStore::in_memory().unwrap();
        assert_eq!(store.append_decision(&record(0)).await.unwrap(), 1);
        assert!(store.mark_processed("shopify", "evt_seen").await.unwrap());
        let batch: Vec<_> = ["evt_a", "evt_seen", "evt_b", "evt_a"]
            .iter()
            .zip(1..)
            .map(|(id, n)| {
                let (source, id) = event(id);
                (source, id, record(n))
            })
            .collect();
        let sequences = store.mark_processed_with_decisions(&batch).await.unwrap();
        assert_eq!(sequences, [Some(2), None, Some(3), None]);
        assert_eq!(store.append_decision(&record(9)).await.unwrap(), 4);
        let logged: Vec<_> = store.decisions(1, 10).await.unwrap();
        let subjects: Vec<_> = logged.iter().map(|d| d.record.subject.as_str()).collect();
        assert_eq!(
            subjects,
            ["order:o_0", "order:o_1", "order:o_3", "order:o_9"]
        );
        assert!(store.verify_chain().await.unwrap().is_intact());
        assert!(store.is_processed("shopify", "evt_b").await.unwrap());
        let again = store.mark_processed_with_decisions(&batch).await.unwrap();
        assert_eq!(again, [None, None, None, None]);
    }
}
