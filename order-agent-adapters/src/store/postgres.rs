//! The state store in PostgreSQL, for several workers (threads or processes) sharing one
//! database.
//!
//! # Durability and concurrency
//!
//! Every connection starts with `synchronous_commit=on`, whatever the server's default, so a call
//! returns only after its commit is flushed to the server's WAL. Each write is one statement
//! (insert-if-absent or compare-and-set) in its own transaction; PostgreSQL's row locks make
//! concurrent writers of one key queue, and the loser re-reads the row and finds the winner's
//! change, so of concurrent writes exactly one wins. An append to the decision log locks the table
//! against other appends (`LOCK TABLE ... IN EXCLUSIVE MODE`, readers are not blocked) so that the
//! hash chain has one head.
//!
//! Connections come from a pool and speak plain TCP or a Unix socket without TLS: run the store
//! next to its database, or behind a TLS tunnel.

use std::collections::HashSet;
use std::fmt;
use std::io::Write;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, Pool, PoolError, Runtime};
use order_agent_core::domain::{OrderId, ReturnAuthorisation, ReturnId};
use order_agent_core::ports::store::ops;
use order_agent_core::ports::{
    ConversationKey, ConversationState, ConversationStore, DecisionLog, DecisionRecord, EventInbox,
    IdempotencyRecord, IdempotencyStore, LoggedDecision, PortError, PortResult, PutOutcome,
    RefundIntent, RefundIntentStore, RefundIntentTransition, ReturnStore, TransitionOutcome,
    Versioned,
};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio_postgres::{NoTls, Row};

use super::chain::{self, ChainRow, ChainVerification, ChainVerifier, GENESIS_HASH};
use super::codec::{
    channel_text, check_new_intent, check_transition, conversation_conflict, from_json,
    from_sql_int, parse_time, state_text, time_text, to_json, to_sql_int, IntentRow,
    INTENT_COLUMNS,
};

const OPEN: &str = "store.open";
const VERIFY_CHAIN: &str = "store.verify_chain";
const EXPORT_DECISIONS: &str = "store.export_decisions";
const PAGE: i64 = 1_000;
/// Serialises migrations of concurrent start-ups (any 64-bit number unique to this library).
const MIGRATION_LOCK: i64 = 0x6f72_6465_725f_6167;

/// Where the PostgreSQL store is and how it connects.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresConfig {
    /// The connection URL, e.g. `postgres://postgres@127.0.0.1:5432/test`; it may hold a
    /// password, so it is a secret that `Debug` does not show.
    pub url: SecretString,
    /// The schema that holds the store's tables, created when missing (default `order_agent`):
    /// lowercase letters, digits and `_`, not starting with a digit.
    #[serde(default = "default_schema")]
    pub schema: String,
    /// How many connections the pool keeps at most (default 8).
    #[serde(default = "default_pool_size")]
    pub pool_size: usize,
    /// How long to wait for a connection, in seconds (default 5).
    #[serde(default = "default_connect_timeout_secs")]
    pub connect_timeout_secs: u64,
}

fn default_schema() -> String {
    "order_agent".to_owned()
}

fn default_pool_size() -> usize {
    8
}

fn default_connect_timeout_secs() -> u64 {
    5
}

impl PostgresConfig {
    /// A config for `url` with the default schema and pool.
    pub fn new(url: impl Into<String>) -> PostgresConfig {
        PostgresConfig {
            url: SecretString::from(url.into()),
            schema: default_schema(),
            pool_size: default_pool_size(),
            connect_timeout_secs: default_connect_timeout_secs(),
        }
    }

    /// The same config with the tables in `schema`.
    #[must_use]
    pub fn with_schema(mut self, schema: impl Into<String>) -> PostgresConfig {
        self.schema = schema.into();
        self
    }
}

/// The schema, one migration per version, applied in order when a store connects.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, MIGRATION_1),
    (2, super::postgres_queue::MIGRATION_2),
    (3, MIGRATION_3),
];

/// The money bounds of refund intents, held by the database itself: the intents of one payment
/// never exceed what it captured (checked under a lock per payment, so concurrent inserts see
/// each other), an intent above the auto-refund limit starts waiting for approval and is paid
/// only after it, and an approval carries its ticket.
const MIGRATION_3: &str = r#"
ALTER TABLE refund_intents ADD COLUMN captured_minor BIGINT
    CHECK (captured_minor IS NULL OR captured_minor > 0);
ALTER TABLE refund_intents ADD COLUMN auto_limit_minor BIGINT
    CHECK (auto_limit_minor IS NULL OR auto_limit_minor >= 0);
CREATE INDEX refund_intents_of_payment ON refund_intents (payment_id);
CREATE OR REPLACE FUNCTION refund_intent_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    others BIGINT;
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.state NOT IN ('pending', 'needs_approval') THEN
            RAISE EXCEPTION 'a new refund intent is pending or needs approval';
        END IF;
        IF NEW.auto_limit_minor IS NOT NULL AND NEW.amount_minor > NEW.auto_limit_minor
           AND NEW.state <> 'needs_approval' THEN
            RAISE EXCEPTION 'refund intent `%` is above the limit and must wait for approval',
                NEW.key;
        END IF;
        IF NEW.captured_minor IS NOT NULL THEN
            PERFORM pg_advisory_xact_lock(hashtextextended('refund-intents:' || NEW.payment_id, 0));
            SELECT COALESCE(SUM(amount_minor), 0) INTO others FROM refund_intents
             WHERE payment_id = NEW.payment_id AND state <> 'failed' AND key <> NEW.key;
            IF others + NEW.amount_minor > NEW.captured_minor THEN
                RAISE EXCEPTION 'refund intents of payment `%` would exceed what it captured',
                    NEW.payment_id;
            END IF;
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.key IS DISTINCT FROM OLD.key
        OR NEW.position IS DISTINCT FROM OLD.position
        OR NEW.order_id IS DISTINCT FROM OLD.order_id
        OR NEW.payment_id IS DISTINCT FROM OLD.payment_id
        OR NEW.amount_minor IS DISTINCT FROM OLD.amount_minor
        OR NEW.currency IS DISTINCT FROM OLD.currency
        OR NEW.created_at IS DISTINCT FROM OLD.created_at
        OR NEW.captured_minor IS DISTINCT FROM OLD.captured_minor
        OR NEW.auto_limit_minor IS DISTINCT FROM OLD.auto_limit_minor
        OR (OLD.state || '>' || NEW.state) NOT IN (
            'pending>needs_approval', 'pending>succeeded', 'pending>failed',
            'needs_approval>approved', 'needs_approval>failed',
            'approved>succeeded', 'approved>failed')
        OR (NEW.state = 'approved' AND NEW.approval_ticket IS NULL)
        OR (OLD.state = 'pending' AND NEW.state = 'succeeded'
            AND NEW.auto_limit_minor IS NOT NULL AND NEW.amount_minor > NEW.auto_limit_minor)
    THEN
        RAISE EXCEPTION 'refund intent `%` changes only by a legal state transition', OLD.key;
    END IF;
    RETURN NEW;
END $$;
"#;

// JSON is kept as text, exactly as serde_json wrote it; jsonb would refuse the escape `\u0000`
// that serde_json writes for a NUL character in a string.
const MIGRATION_1: &str = r#"
CREATE FUNCTION forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'rows of % are never changed or removed (% refused)', TG_TABLE_NAME, TG_OP;
END $$;

CREATE TABLE idempotency_records (
    key         TEXT PRIMARY KEY CHECK (key <> ''),
    outcome     TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE TRIGGER idempotency_records_append_only BEFORE UPDATE OR DELETE ON idempotency_records
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER idempotency_records_never_truncated BEFORE TRUNCATE ON idempotency_records
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();

CREATE TABLE return_authorisations (
    id            TEXT PRIMARY KEY CHECK (id <> ''),
    position      BIGINT GENERATED ALWAYS AS IDENTITY,
    order_id      TEXT NOT NULL,
    authorised_at TEXT COLLATE "C" NOT NULL,
    authorisation TEXT NOT NULL
);
CREATE INDEX return_authorisations_of_order
    ON return_authorisations (order_id, authorised_at, position);
CREATE TRIGGER return_authorisations_append_only BEFORE UPDATE OR DELETE ON return_authorisations
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER return_authorisations_never_truncated BEFORE TRUNCATE ON return_authorisations
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();

CREATE TABLE refund_intents (
    key             TEXT PRIMARY KEY CHECK (key <> ''),
    position        BIGINT GENERATED ALWAYS AS IDENTITY,
    order_id        TEXT NOT NULL,
    payment_id      TEXT NOT NULL,
    amount_minor    BIGINT NOT NULL CHECK (amount_minor > 0),
    currency        TEXT NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    state           TEXT NOT NULL CHECK (state IN
                        ('pending', 'needs_approval', 'approved', 'succeeded', 'failed')),
    approval_ticket TEXT,
    refund_id       TEXT,
    created_at      TEXT COLLATE "C" NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX refund_intents_of_order ON refund_intents (order_id, created_at, position);
CREATE FUNCTION refund_intent_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.state NOT IN ('pending', 'needs_approval') THEN
            RAISE EXCEPTION 'a new refund intent is pending or needs approval';
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.key IS DISTINCT FROM OLD.key
        OR NEW.position IS DISTINCT FROM OLD.position
        OR NEW.order_id IS DISTINCT FROM OLD.order_id
        OR NEW.payment_id IS DISTINCT FROM OLD.payment_id
        OR NEW.amount_minor IS DISTINCT FROM OLD.amount_minor
        OR NEW.currency IS DISTINCT FROM OLD.currency
        OR NEW.created_at IS DISTINCT FROM OLD.created_at
        OR (OLD.state || '>' || NEW.state) NOT IN (
            'pending>needs_approval', 'pending>succeeded', 'pending>failed',
            'needs_approval>approved', 'needs_approval>failed',
            'approved>succeeded', 'approved>failed')
    THEN
        RAISE EXCEPTION 'refund intent `%` changes only by a legal state transition', OLD.key;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER refund_intents_change_by_transition BEFORE INSERT OR UPDATE ON refund_intents
    FOR EACH ROW EXECUTE FUNCTION refund_intent_guard();
CREATE TRIGGER refund_intents_never_deleted BEFORE DELETE ON refund_intents
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER refund_intents_never_truncated BEFORE TRUNCATE ON refund_intents
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();

CREATE TABLE processed_events (
    source       TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    processed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (source, event_id)
);
CREATE TRIGGER processed_events_append_only BEFORE UPDATE OR DELETE ON processed_events
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER processed_events_never_truncated BEFORE TRUNCATE ON processed_events
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();

-- A deleted conversation keeps its row with a null state, so that versions are never reused.
CREATE TABLE conversations (
    channel TEXT NOT NULL,
    sender  TEXT NOT NULL,
    version BIGINT NOT NULL CHECK (version >= 1),
    state   TEXT,
    PRIMARY KEY (channel, sender)
);
CREATE FUNCTION conversation_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.version < OLD.version THEN
        RAISE EXCEPTION 'conversation versions never go back';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER conversations_versions_grow BEFORE UPDATE ON conversations
    FOR EACH ROW EXECUTE FUNCTION conversation_guard();

CREATE TABLE decision_log (
    sequence  BIGINT PRIMARY KEY CHECK (sequence >= 1),
    record    TEXT NOT NULL,
    prev_hash TEXT NOT NULL CHECK (length(prev_hash) = 64),
    hash      TEXT NOT NULL UNIQUE CHECK (length(hash) = 64)
);
CREATE TRIGGER decision_log_append_only BEFORE UPDATE OR DELETE ON decision_log
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER decision_log_never_truncated BEFORE TRUNCATE ON decision_log
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();
"#;

/// The state store in a PostgreSQL schema; see the [module docs](self).
///
/// ```no_run
/// # async fn run() -> Result<(), order_agent_core::ports::PortError> {
/// use order_agent_adapters::store::{PostgresConfig, PostgresStore};
/// use order_agent_core::ports::EventInbox;
///
/// let config = PostgresConfig::new("postgres://postgres@127.0.0.1:5432/test");
/// let store = PostgresStore::connect(&config).await?;
/// let first_time = store.mark_processed("shopify", "evt_1").await?;
/// # let _ = first_time;
/// # Ok(())
/// # }
/// ```
pub struct PostgresStore {
    pool: Pool,
    schema: String,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects, creates the schema when missing and brings it up to date.
    ///
    /// Fails with [`Unavailable`](order_agent_core::ports::PortErrorKind::Unavailable) when the
    /// server cannot be reached, and with
    /// [`InvalidInput`](order_agent_core::ports::PortErrorKind::InvalidInput) for a malformed URL
    /// or schema name.
    pub async fn connect(config: &PostgresConfig) -> PortResult<PostgresStore> {
        let schema = &config.schema;
        let valid_schema = schema.len() <= 63
            && schema
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
            && schema
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid_schema {
            return Err(
                PortError::invalid_input(OPEN, "the schema name is not allowed")
                    .with_context("schema", schema),
            );
        }
        let mut pg: tokio_postgres::Config = config.url.expose_secret().parse().map_err(|e| {
            // The URL is secret: its parse error is kept, not the URL.
            PortError::invalid_input(OPEN, "the database url is malformed").with_source(e)
        })?;
        let timeout = Duration::from_secs(config.connect_timeout_secs);
        pg.options(format!("-c search_path={schema} -c synchronous_commit=on"))
            .connect_timeout(timeout);
        let pool = Pool::builder(Manager::new(pg, NoTls))
            .max_size(config.pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(timeout))
            .wait_timeout(Some(timeout.saturating_mul(6)))
            .build()
            .map_err(|e| {
                PortError::unexpected(OPEN, "the connection pool could not be built").with_source(e)
            })?;
        let store = PostgresStore {
            pool,
            schema: schema.clone(),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// The schema the tables are in.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    async fn migrate(&self) -> PortResult<()> {
        let mut client = self.client(OPEN).await?;
        let tx = client.transaction().await.map_err(|e| pg_error(OPEN, e))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(|e| pg_error(OPEN, e))?;
        tx.batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {schema};
             CREATE TABLE IF NOT EXISTS {schema}.schema_version (
                 version    BIGINT PRIMARY KEY,
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
             );",
            schema = self.schema
        ))
        .await
        .map_err(|e| pg_error(OPEN, e))?;
        let at: i64 = tx
            .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])
            .await
            .and_then(|row| row.try_get(0))
            .map_err(|e| pg_error(OPEN, e))?;
        let newest = MIGRATIONS.last().map_or(0, |(v, _)| *v);
        if at > newest {
            return Err(PortError::unexpected(
                OPEN,
                "the database schema is newer than this library",
            )
            .with_context("database_version", at)
            .with_context("library_version", newest));
        }
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > at) {
            tx.batch_execute(sql)
                .await
                .map_err(|e| pg_error(OPEN, e).with_context("migration", version))?;
            tx.execute(
                "INSERT INTO schema_version (version) VALUES ($1)",
                &[version],
            )
            .await
            .map_err(|e| pg_error(OPEN, e))?;
        }
        tx.commit().await.map_err(|e| pg_error(OPEN, e))
    }

    /// The schema version this library brings a database to.
    pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

    /// The schema version the database is at.
    pub async fn schema_version(&self) -> PortResult<i64> {
        let client = self.client(OPEN).await?;
        client
            .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])
            .await
            .and_then(|row| row.try_get(0))
            .map_err(|e| pg_error(OPEN, e))
    }

    /// Recomputes the hash chain of the decision log from the first row and reports the first
    /// row that does not verify; see [`chain`].
    pub async fn verify_chain(&self) -> PortResult<ChainVerification> {
        let mut verifier = ChainVerifier::new();
        let mut after = 0i64;
        loop {
            let rows = self.chain_rows(VERIFY_CHAIN, after, PAGE).await?;
            let Some(last) = rows.last() else { break };
            after = to_sql_int(VERIFY_CHAIN, last.sequence)?;
            if !rows.iter().all(|row| verifier.check(row)) {
                break;
            }
        }
        Ok(verifier.finish())
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
            let rows = self.chain_rows(EXPORT_DECISIONS, after, PAGE).await?;
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

    pub(super) async fn client(&self, op: &'static str) -> PortResult<deadpool_postgres::Client> {
        self.pool.get().await.map_err(|e| pool_error(op, e))
    }

    async fn chain_rows(
        &self,
        op: &'static str,
        after: i64,
        limit: i64,
    ) -> PortResult<Vec<ChainRow>> {
        let client = self.client(op).await?;
        let statement = client
            .prepare_cached(
                "SELECT sequence, record, prev_hash, hash FROM decision_log
                 WHERE sequence > $1 ORDER BY sequence LIMIT $2",
            )
            .await
            .map_err(|e| pg_error(op, e))?;
        let rows = client
            .query(&statement, &[&after, &limit])
            .await
            .map_err(|e| pg_error(op, e))?;
        rows.iter()
            .map(|row| {
                Ok(ChainRow {
                    sequence: from_sql_int(op, get(op, row, 0)?)?,
                    record: get(op, row, 1)?,
                    prev_hash: get(op, row, 2)?,
                    hash: get(op, row, 3)?,
                })
            })
            .collect()
    }
}

pub(super) fn get<'a, T: tokio_postgres::types::FromSql<'a>>(
    op: &'static str,
    row: &'a Row,
    column: usize,
) -> PortResult<T> {
    row.try_get(column).map_err(|e| pg_error(op, e))
}

fn read_intent(op: &'static str, row: &Row) -> PortResult<IntentRow> {
    Ok(IntentRow {
        key: get(op, row, 0)?,
        order_id: get(op, row, 1)?,
        payment_id: get(op, row, 2)?,
        amount_minor: get(op, row, 3)?,
        currency: get(op, row, 4)?,
        state: get(op, row, 5)?,
        approval_ticket: get(op, row, 6)?,
        refund_id: get(op, row, 7)?,
        created_at: get(op, row, 8)?,
        updated_at: get(op, row, 9)?,
        captured_minor: get(op, row, 10)?,
        auto_limit_minor: get(op, row, 11)?,
    })
}

/// Maps PostgreSQL's SQLSTATE classes and connection failures onto port error kinds.
pub(super) fn pg_error(op: &'static str, error: tokio_postgres::Error) -> PortError {
    let mapped = match error.code().map(|c| c.code()) {
        Some(code) if code.starts_with("08") => {
            PortError::unavailable(op, "the connection to the database failed")
        }
        Some("40001" | "40P01") => {
            PortError::unavailable(op, "the database aborted the transaction, retry it")
        }
        Some(code) if code.starts_with("53") || code.starts_with("57P") => {
            PortError::unavailable(op, "the database cannot serve now")
        }
        Some(code) if code.starts_with("23") || code == "P0001" => PortError::unexpected(
            op,
            "the database refused the write as breaking one of its rules",
        ),
        Some(_) => PortError::unexpected(op, "the database failed"),
        None if error.is_closed()
            || std::error::Error::source(&error)
                .is_some_and(|s| s.downcast_ref::<std::io::Error>().is_some()) =>
        {
            PortError::unavailable(op, "the connection to the database failed")
        }
        None => PortError::unexpected(op, "the database failed"),
    };
    mapped.with_source(error)
}

fn pool_error(op: &'static str, error: PoolError) -> PortError {
    match error {
        PoolError::Backend(e) => pg_error(op, e),
        other => {
            PortError::unavailable(op, "no database connection is available").with_source(other)
        }
    }
}

#[async_trait]
impl IdempotencyStore for PostgresStore {
    async fn put_idempotency_record(
        &self,
        record: &IdempotencyRecord,
    ) -> PortResult<PutOutcome<IdempotencyRecord>> {
        const OP: &str = ops::PUT_IDEMPOTENCY_RECORD;
        if record.key.is_empty() {
            return Err(PortError::invalid_input(OP, "the key is empty"));
        }
        let outcome = to_json(OP, &record.outcome)?;
        let recorded_at = time_text(record.recorded_at);
        let client = self.client(OP).await?;
        let inserted = client
            .execute(
                "INSERT INTO idempotency_records (key, outcome, recorded_at)
                 VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING",
                &[&record.key, &outcome, &recorded_at],
            )
            .await
            .map_err(|e| pg_error(OP, e))?;
        if inserted == 1 {
            return Ok(PutOutcome::Inserted);
        }
        drop(client);
        self.idempotency_record(&record.key)
            .await
            .map_err(|e| e.with_operation(OP))?
            .map(PutOutcome::AlreadyPresent)
            .ok_or_else(|| PortError::unexpected(OP, "the record vanished"))
    }

    async fn idempotency_record(&self, key: &str) -> PortResult<Option<IdempotencyRecord>> {
        const OP: &str = ops::IDEMPOTENCY_RECORD;
        let client = self.client(OP).await?;
        let row = client
            .query_opt(
                "SELECT outcome, recorded_at FROM idempotency_records WHERE key = $1",
                &[&key],
            )
            .await
            .map_err(|e| pg_error(OP, e))?;
        row.map(|row| {
            Ok(IdempotencyRecord {
                key: key.to_owned(),
                outcome: from_json(OP, &get::<String>(OP, &row, 0)?)?,
                recorded_at: parse_time(OP, &get::<String>(OP, &row, 1)?)?,
            })
        })
        .transpose()
    }
}

#[async_trait]
impl ReturnStore for PostgresStore {
    async fn insert_return_authorisation(
        &self,
        authorisation: &ReturnAuthorisation,
    ) -> PortResult<PutOutcome<ReturnAuthorisation>> {
        const OP: &str = ops::INSERT_RETURN_AUTHORISATION;
        let json = to_json(OP, authorisation)?;
        let client = self.client(OP).await?;
        let inserted = client
            .execute(
                "INSERT INTO return_authorisations (id, order_id, authorised_at, authorisation)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
                &[
                    &authorisation.id.as_str(),
                    &authorisation.request.order_id.as_str(),
                    &time_text(authorisation.authorised_at),
                    &json,
                ],
            )
            .await
            .map_err(|e| pg_error(OP, e))?;
        if inserted == 1 {
            return Ok(PutOutcome::Inserted);
        }
        drop(client);
        self.return_authorisation(&authorisation.id)
            .await
            .map_err(|e| e.with_operation(OP))?
            .map(PutOutcome::AlreadyPresent)
            .ok_or_else(|| PortError::unexpected(OP, "the authorisation vanished"))
    }

    async fn return_authorisation(&self, id: &ReturnId) -> PortResult<Option<ReturnAuthorisation>> {
        const OP: &str = ops::RETURN_AUTHORISATION;
        let client = self.client(OP).await?;
        let row = client
            .query_opt(
                "SELECT authorisation FROM return_authorisations WHERE id = $1",
                &[&id.as_str()],
            )
            .await
            .map_err(|e| pg_error(OP, e))?;
        row.map(|row| from_json(OP, &get::<String>(OP, &row, 0)?))
            .transpose()
    }

    async fn return_authorisations_of_order(
        &self,
        order: &OrderId,
    ) -> PortResult<Vec<ReturnAuthorisation>> {
        const OP: &str = ops::RETURN_AUTHORISATIONS_OF_ORDER;
        let client = self.client(OP).await?;
        let rows = client
            .query(
                "SELECT authorisation FROM return_authorisations WHERE order_id = $1
                 ORDER BY authorised_at, position",
                &[&order.as_str()],
            )
            .await
            .map_err(|e| pg_error(OP, e))?;
        rows.iter()
            .map(|row| from_json(OP, &get::<String>(OP, row, 0)?))
            .collect()
    }
}

impl PostgresStore {
    async fn intent_row(&self, op: &'static str, key: &str) -> PortResult<Option<IntentRow>> {
        let client = self.client(op).await?;
        let row = client
            .query_opt(
                &format!("SELECT {INTENT_COLUMNS} FROM refund_intents WHERE key = $1"),
                &[&key],
            )
            .await
            .map_err(|e| pg_error(op, e))?;
        row.map(|row| read_intent(op, &row)).transpose()
    }
}

#[async_trait]
impl RefundIntentStore for PostgresStore {
    async fn create_refund_intent(
        &self,
        intent: &RefundIntent,
    ) -> PortResult<PutOutcome<RefundIntent>> {
        const OP: &str = ops::CREATE_REFUND_INTENT;
        check_new_intent(intent)?;
        let row = IntentRow::of(intent);
        let mut client = self.client(OP).await?;
        let tx = client.transaction().await.map_err(|e| pg_error(OP, e))?;
        // One lock per payment: concurrent creates for it queue here, so each one's sum sees
        // the others' intents.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('refund-intents:' || $1, 0))",
            &[&row.payment_id],
        )
        .await
        .map_err(|e| pg_error(OP, e))?;
        let existing = tx
            .query_opt(
                &format!("SELECT {INTENT_COLUMNS} FROM refund_intents WHERE key = $1"),
                &[&row.key],
            )
            .await
            .map_err(|e| pg_error(OP, e))?;
        if let Some(existing) = existing {
            let existing = read_intent(OP, &existing)?.into_intent(OP)?;
            tx.commit().await.map_err(|e| pg_error(OP, e))?;
            return Ok(PutOutcome::AlreadyPresent(existing));
        }
        let others: i64 = tx
            .query_one(
                "SELECT COALESCE(SUM(amount_minor), 0)::BIGINT FROM refund_intents
                 WHERE payment_id = $1 AND state <> 'failed'",
                &[&row.payment_id],
            )
            .await
            .and_then(|r| r.try_get(0))
            .map_err(|e| pg_error(OP, e))?;
        intent.check_within_captured(others)?;
        tx.execute(
            &format!(
                "INSERT INTO refund_intents ({INTENT_COLUMNS})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
            ),
            &[
                &row.key,
                &row.order_id,
                &row.payment_id,
                &row.amount_minor,
                &row.currency,
                &row.state,
                &row.approval_ticket,
                &row.refund_id,
                &row.created_at,
                &row.updated_at,
                &row.captured_minor,
                &row.auto_limit_minor,
            ],
        )
        .await
        .map_err(|e| pg_error(OP, e))?;
        tx.commit().await.map_err(|e| pg_error(OP, e))?;
        Ok(PutOutcome::Inserted)
    }

    async fn refund_intent(&self, key: &str) -> PortResult<Option<RefundIntent>> {
        const OP: &str = ops::REFUND_INTENT;
        self.intent_row(OP, key)
            .await?
            .map(|row| row.into_intent(OP))
            .transpose()
    }

    async fn transition_refund_intent(
        &self,
        key: &str,
        transition: &RefundIntentTransition,
    ) -> PortResult<TransitionOutcome> {
        const OP: &str = ops::TRANSITION_REFUND_INTENT;
        check_transition(transition)?;
        let ticket = transition.approval_ticket.as_ref().map(|t| t.as_str());
        let refund = transition.refund_id.as_ref().map(|r| r.as_str());
        match self.intent_row(OP, key).await? {
            None => return Err(PortError::not_found(OP, "no such intent").with_context("key", key)),
            Some(current) if current.state == state_text(transition.from) => {
                current.into_intent(OP)?.check_transition(transition)?;
            }
            Some(_) => {}
        }
        let client = self.client(OP).await?;
        let applied = client
            .query_opt(
                &format!(
                    "UPDATE refund_intents
                     SET state = $3, updated_at = $4,
                         approval_ticket = COALESCE($5, approval_ticket),
                         refund_id = COALESCE($6, refund_id)
                     WHERE key = $1 AND state = $2
                     RETURNING {INTENT_COLUMNS}"
                ),
                &[
                    &key,
                    &state_text(transition.from),
                    &state_text(transition.to),
                    &time_text(transition.at),
                    &ticket,
                    &refund,
                ],
            )
            .await
            .map_err(|e| pg_error(OP, e))?;
        drop(client);
        if let Some(row) = applied {
            return Ok(TransitionOutcome::Applied(
                read_intent(OP, &row)?.into_intent(OP)?,
            ));
        }
        match self.intent_row(OP, key).await? {
            Some(row) => Ok(TransitionOutcome::Stale(row.into_intent(OP)?)),
            None => Err(PortError::not_found(OP, "no such intent").with_context("key", key)),
        }
    }

    async fn refund_intents_of_order(&self, order: &OrderId) -> PortResult<Vec<RefundIntent>> {
        const OP: &str = ops::REFUND_INTENTS_OF_ORDER;
        let client = self.client(OP).await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {INTENT_COLUMNS} FROM refund_intents WHERE order_id = $1
                     ORDER BY created_at, position"
                ),
                &[&order.as_str()],
            )
            .await
            .map_err(|e| pg_error(OP, e))?;
        rows.iter()
            .map(|row| read_intent(OP, row)?.into_intent(OP))
            .collect()
    }
}

#[async_trait]
impl EventInbox for PostgresStore {
    async fn mark_processed(&self, source: &str, event_id: &str) -> PortResult<bool> {
        const OP: &str = ops::MARK_PROCESSED;
        let client = self.client(OP).await?;
        client
            .execute(
                "INSERT INTO processed_events (source, event_id) VALUES ($1, $2)
                 ON CONFLICT (source, event_id) DO NOTHING",
                &[&source, &event_id],
            )
            .await
            .map(|inserted| inserted == 1)
            .map_err(|e| pg_error(OP, e))
    }

    async fn is_processed(&self, source: &str, event_id: &str) -> PortResult<bool> {
        const OP: &str = ops::IS_PROCESSED;
        let client = self.client(OP).await?;
        let row = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM processed_events WHERE source = $1 AND event_id = $2)",
                &[&source, &event_id],
            )
            .await
            .map_err(|e| pg_error(OP, e))?;
        get(OP, &row, 0)
    }
}

const MARK_PROCESSED_BATCH: &str = "store.mark_processed_batch";
const MARK_PROCESSED_WITH_DECISIONS: &str = "store.mark_processed_with_decisions";

/// Batched ingestion: many inbox entries (and their decisions) in one transaction, so one WAL
/// flush (`synchronous_commit=on`, as every other write) makes the whole batch durable.
impl PostgresStore {
    /// Marks every `(source, event_id)` of `events` processed, in one transaction, and returns for
    /// each, in order, whether this was the first time, as
    /// [`mark_processed`](EventInbox::mark_processed) would one by one (an event twice in the batch
    /// is `true` only the first time; of concurrent batches marking one event, exactly one gets
    /// `true` for it).
    ///
    /// The batch commits whole or not at all; when this returns, every mark is flushed.
    pub async fn mark_processed_batch(&self, events: &[(String, String)]) -> PortResult<Vec<bool>> {
        const OP: &str = MARK_PROCESSED_BATCH;
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<(&str, &str)> = events
            .iter()
            .map(|(source, event_id)| (source.as_str(), event_id.as_str()))
            .collect();
        let mut client = self.client(OP).await?;
        let tx = client.transaction().await.map_err(|e| pg_error(OP, e))?;
        let inserted = insert_marks(&tx, OP, &keys).await?;
        tx.commit().await.map_err(|e| pg_error(OP, e))?;
        Ok(first_marks(&keys, inserted))
    }

    /// Marks every `(source, event_id, decision)` of `events` processed and appends `decision` to
    /// the decision log for each event marked the first time, all in one transaction; returns for
    /// each event, in order, the sequence number of its decision, or `None` when the event was
    /// already processed (its decision is then not appended).
    ///
    /// The batch commits whole or not at all; when this returns, every mark and decision is
    /// flushed, and the hash chain continues as with
    /// [`append_decision`](DecisionLog::append_decision).
    pub async fn mark_processed_with_decisions(
        &self,
        events: &[(String, String, DecisionRecord)],
    ) -> PortResult<Vec<Option<u64>>> {
        const OP: &str = MARK_PROCESSED_WITH_DECISIONS;
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<(&str, &str)> = events
            .iter()
            .map(|(source, event_id, _)| (source.as_str(), event_id.as_str()))
            .collect();
        let records = events
            .iter()
            .map(|(_, _, record)| chain::record_json(OP, record))
            .collect::<PortResult<Vec<String>>>()?;
        let mut client = self.client(OP).await?;
        let tx = client.transaction().await.map_err(|e| pg_error(OP, e))?;
        let inserted = insert_marks(&tx, OP, &keys).await?;
        let firsts = first_marks(&keys, inserted);
        let mut sequences = vec![None; firsts.len()];
        if firsts.iter().any(|first| *first) {
            // Taken after the marks, so batches of other workers mark concurrently and queue only
            // to extend the chain.
            tx.batch_execute("LOCK TABLE decision_log IN EXCLUSIVE MODE")
                .await
                .map_err(|e| pg_error(OP, e))?;
            let head = tx
                .query_opt(
                    "SELECT sequence, hash FROM decision_log ORDER BY sequence DESC LIMIT 1",
                    &[],
                )
                .await
                .map_err(|e| pg_error(OP, e))?;
            let (mut last, mut prev_hash): (i64, String) = match head {
                Some(row) => (get(OP, &row, 0)?, get(OP, &row, 1)?),
                None => (0, GENESIS_HASH.to_owned()),
            };
            let (mut rows_sequence, mut rows_record, mut rows_prev, mut rows_hash) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for ((first, json), slot) in firsts.iter().zip(&records).zip(sequences.iter_mut()) {
                if !first {
                    continue;
                }
                let sequence = from_sql_int(OP, last)? + 1;
                let hash = chain::row_hash(&prev_hash, sequence, json).ok_or_else(|| {
                    PortError::unexpected(OP, "the newest decision's hash is unreadable")
                        .with_context("sequence", last)
                })?;
                last += 1;
                rows_sequence.push(last);
                rows_record.push(json.as_str());
                rows_prev.push(std::mem::replace(&mut prev_hash, hash.clone()));
                rows_hash.push(hash);
                *slot = Some(sequence);
            }
            tx.execute(
                "INSERT INTO decision_log (sequence, record, prev_hash, hash)
                 SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[])",
                &[&rows_sequence, &rows_record, &rows_prev, &rows_hash],
            )
            .await
            .map_err(|e| pg_error(OP, e))?;
        }
        tx.commit().await.map_err(|e| pg_error(OP, e))?;
        Ok(sequences)
    }
}

/// Inserts the marks absent from `processed_events` in one statement and returns those it
/// inserted. Keys go in sorted, so that concurrent batches lock shared keys in one order and
/// cannot deadlock on each other.
async fn insert_marks(
    tx: &tokio_postgres::Transaction<'_>,
    op: &'static str,
    keys: &[(&str, &str)],
) -> PortResult<HashSet<(String, String)>> {
    let (sources, event_ids): (Vec<&str>, Vec<&str>) = keys.iter().copied().unzip();
    let rows = tx
        .query(
            "INSERT INTO processed_events (source, event_id)
             SELECT * FROM unnest($1::text[], $2::text[]) AS e (source, event_id)
             ORDER BY source, event_id
             ON CONFLICT (source, event_id) DO NOTHING
             RETURNING source, event_id",
            &[&sources, &event_ids],
        )
        .await
        .map_err(|e| pg_error(op, e))?;
    rows.iter()
        .map(|row| Ok((get(op, row, 0)?, get(op, row, 1)?)))
        .collect()
}

/// Whether each key was marked by this batch: the first occurrence of an inserted key.
fn first_marks(keys: &[(&str, &str)], mut inserted: HashSet<(String, String)>) -> Vec<bool> {
    keys.iter()
        .map(|(source, event_id)| inserted.remove(&((*source).to_owned(), (*event_id).to_owned())))
        .collect()
}

#[async_trait]
impl ConversationStore for PostgresStore {
    async fn conversation(
        &self,
        key: &ConversationKey,
    ) -> PortResult<Option<Versioned<ConversationState>>> {
        const OP: &str = ops::CONVERSATION;
        let channel = channel_text(OP, key.channel)?;
        let client = self.client(OP).await?;
        let row = client
            .query_opt(
                "SELECT version, state FROM conversations
                 WHERE channel = $1 AND sender = $2 AND state IS NOT NULL",
                &[&channel, &key.sender],
            )
            .await
            .map_err(|e| pg_error(OP, e))?;
        row.map(|row| {
            Ok(Versioned {
                version: from_sql_int(OP, get(OP, &row, 0)?)?,
                value: from_json(OP, &get::<String>(OP, &row, 1)?)?,
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
        let json = to_json(OP, state)?;
        let client = self.client(OP).await?;
        let saved = match expected_version {
            None => {
                client
                    .query_opt(
                        "INSERT INTO conversations (channel, sender, version, state)
                         VALUES ($1, $2, 1, $3)
                         ON CONFLICT (channel, sender) DO UPDATE
                             SET version = conversations.version + 1, state = EXCLUDED.state
                             WHERE conversations.state IS NULL
                         RETURNING version",
                        &[&channel, &key.sender, &json],
                    )
                    .await
            }
            Some(expected) => {
                let expected = to_sql_int(OP, expected)?;
                client
                    .query_opt(
                        "UPDATE conversations SET version = version + 1, state = $3
                         WHERE channel = $1 AND sender = $2 AND version = $4
                             AND state IS NOT NULL
                         RETURNING version",
                        &[&channel, &key.sender, &json, &expected],
                    )
                    .await
            }
        }
        .map_err(|e| pg_error(OP, e))?;
        if let Some(row) = saved {
            return from_sql_int(OP, get(OP, &row, 0)?);
        }
        let stored = client
            .query_opt(
                "SELECT version FROM conversations
                 WHERE channel = $1 AND sender = $2 AND state IS NOT NULL",
                &[&channel, &key.sender],
            )
            .await
            .map_err(|e| pg_error(OP, e))?
            .map(|row| get::<i64>(OP, &row, 0))
            .transpose()?;
        Err(conversation_conflict(expected_version, stored))
    }

    async fn delete_conversation(&self, key: &ConversationKey) -> PortResult<()> {
        const OP: &str = ops::DELETE_CONVERSATION;
        let channel = channel_text(OP, key.channel)?;
        let client = self.client(OP).await?;
        client
            .execute(
                "UPDATE conversations SET state = NULL WHERE channel = $1 AND sender = $2",
                &[&channel, &key.sender],
            )
            .await
            .map(|_| ())
            .map_err(|e| pg_error(OP, e))
    }
}

#[async_trait]
impl DecisionLog for PostgresStore {
    async fn append_decision(&self, record: &DecisionRecord) -> PortResult<u64> {
        const OP: &str = ops::APPEND_DECISION;
        let json = chain::record_json(OP, record)?;
        let mut client = self.client(OP).await?;
        let tx = client.transaction().await.map_err(|e| pg_error(OP, e))?;
        tx.batch_execute("LOCK TABLE decision_log IN EXCLUSIVE MODE")
            .await
            .map_err(|e| pg_error(OP, e))?;
        let head = tx
            .query_opt(
                "SELECT sequence, hash FROM decision_log ORDER BY sequence DESC LIMIT 1",
                &[],
            )
            .await
            .map_err(|e| pg_error(OP, e))?;
        let (last, prev_hash): (i64, String) = match head {
            Some(row) => (get(OP, &row, 0)?, get(OP, &row, 1)?),
            None => (0, GENESIS_HASH.to_owned()),
        };
        let sequence = from_sql_int(OP, last)? + 1;
        let hash = chain::row_hash(&prev_hash, sequence, &json).ok_or_else(|| {
            PortError::unexpected(OP, "the newest decision's hash is unreadable")
                .with_context("sequence", last)
        })?;
        tx.execute(
            "INSERT INTO decision_log (sequence, record, prev_hash, hash) VALUES ($1, $2, $3, $4)",
            &[&(last + 1), &json, &prev_hash, &hash],
        )
        .await
        .map_err(|e| pg_error(OP, e))?;
        tx.commit().await.map_err(|e| pg_error(OP, e))?;
        Ok(sequence)
    }

    async fn decisions(&self, from: u64, limit: usize) -> PortResult<Vec<LoggedDecision>> {
        const OP: &str = ops::DECISIONS;
        let Ok(from) = i64::try_from(from) else {
            return Ok(Vec::new());
        };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.chain_rows(OP, from.saturating_sub(1), limit).await?;
        rows.iter()
            .map(|row| chain::logged_decision(OP, row))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn record(n: i64) -> DecisionRecord {
        DecisionRecord {
            at: chrono::DateTime::from_timestamp(1_790_000_000 + n, 0).unwrap(),
            subject: format!("order:o_{n}"),
            decision: serde_json::json!({ "outcome": "reply", "n": n }),
            reasons: vec!["wismo.in_transit".to_owned()],
        }
    }

    /// A store in a fresh schema, or `None` when the server is unreachable and
    /// `ORDER_AGENT_SKIP_POSTGRES=1` is set (as the integration tests do).
    async fn fresh_store(name: &str) -> Option<PostgresStore> {
        let url = std::env::var("ORDER_AGENT_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        let schema = format!(
            "oa_unit_{name}_{}_{}",
            std::process::id(),
            chrono::Utc::now().timestamp_subsec_nanos()
        );
        match PostgresStore::connect(&PostgresConfig::new(url).with_schema(schema)).await {
            Ok(store) => Some(store),
            Err(e)
                if e.kind() == order_agent_core::ports::PortErrorKind::Unavailable
                    && std::env::var("ORDER_AGENT_SKIP_POSTGRES").as_deref() == Ok("1") =>
            {
                eprintln!("SKIPPED: PostgreSQL is unreachable ({e})");
                None
            }
            Err(e) => panic!("PostgreSQL is unreachable: {e}"),
        }
    }

    async fn drop_schema(store: &PostgresStore) {
        let client = store.client(OPEN).await.unwrap();
        client
            .batch_execute(&format!("DROP SCHEMA {} CASCADE", store.schema))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn batches_mark_once_append_one_decision_per_new_event_and_keep_the_chain() {
        let Some(store) = fresh_store("batch").await else {
            return;
        };
        assert!(store.mark_processed("shopify", "evt_seen").await.unwrap());
        let marks = [
            ("shopify".to_owned(), "evt_seen".to_owned()),
            ("shopify".to_owned(), "evt_m".to_owned()),
            ("shopify".to_owned(), "evt_m".to_owned()),
            ("warehouse".to_owned(), "evt_m".to_owned()),
        ];
        assert_eq!(
            store.mark_processed_batch(&marks).await.unwrap(),
            [false, true, false, true]
        );
        assert_eq!(store.append_decision(&record(0)).await.unwrap(), 1);
        let batch: Vec<_> = ["evt_a", "evt_seen", "evt_b", "evt_a"]
            .iter()
            .zip(1..)
            .map(|(id, n)| ("shopify".to_owned(), (*id).to_owned(), record(n)))
            .collect();
        let sequences = store.mark_processed_with_decisions(&batch).await.unwrap();
        assert_eq!(sequences, [Some(2), None, Some(3), None]);
        assert_eq!(store.append_decision(&record(9)).await.unwrap(), 4);
        let logged = store.decisions(1, 10).await.unwrap();
        let subjects: Vec<_> = logged.iter().map(|d| d.record.subject.as_str()).collect();
        assert_eq!(
            subjects,
            ["order:o_0", "order:o_1", "order:o_3", "order:o_9"]
        );
        assert!(store.verify_chain().await.unwrap().is_intact());
        let again = store.mark_processed_with_decisions(&batch).await.unwrap();
        assert_eq!(again, [None, None, None, None]);
        drop_schema(&store).await;
    }
}
