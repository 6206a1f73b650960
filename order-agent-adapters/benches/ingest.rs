//! Run: `cargo bench -p order-agent-adapters --bench ingest`
//!
//! How many events per second the state stores make durable with batched group commit, against
//! the raw batched insert rate of the same database with the same durability settings, in one run.
//!
//! Each event is an inbox dedup mark (insert-if-absent into `processed_events`) plus one decision
//! record appended to the hash-chained decision log. The store side calls
//! `mark_processed_with_decisions` once per batch: one transaction that marks the batch, computes
//! the chain hashes and appends the decisions, and returns once the commit is durable. The raw side
//! inserts the same rows (the event key; the decision JSON with a 64-character hash) with plain
//! `INSERT`s in one transaction per batch, straight through rusqlite or tokio-postgres, into
//! tables with the same keys but no triggers, no conflict handling and no hashing.
//!
//! - SQLite: a file in a temporary directory, WAL, `synchronous=FULL` (as `SqliteStore::open`
//!   sets); the raw side uses a second file beside it with the same settings.
//! - PostgreSQL: `ORDER_AGENT_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`),
//!   `synchronous_commit=on`, one worker (one batch in flight), fresh schemas dropped at the end;
//!   skipped, with a message, when the server is unreachable.
//!
//! It prints events/s, p50/p99 time from the start of a batch to its durable commit, and the
//! ratio store/raw; it asserts nothing about timings. After the store run it verifies the hash
//! chain and redelivers the first batch, so a fast but wrong path shows in the output.
//!
//! Each database then runs the same comparison for the inbox marks alone (`mark_processed_batch`
//! against a plain insert of the event keys), which shows what the decision log costs.
//!
//! Last, PostgreSQL runs the full path again with `ORDER_AGENT_BENCH_PG_WORKERS` (default 4)
//! workers sharing one store, each ingesting its own share of the batches concurrently.
//!
//! `ORDER_AGENT_BENCH_EVENTS` (default 100000) and `ORDER_AGENT_BENCH_BATCH` (default 256) change
//! the size of the run.

use std::error::Error;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use order_agent_adapters::store::{ChainVerification, PostgresConfig, PostgresStore, SqliteStore};
use order_agent_core::ports::{DecisionRecord, PortErrorKind};
use serde_json::json;

type BenchResult<T> = Result<T, Box<dyn Error + Send + Sync>>;

/// One batch as the store takes it.
type StoreBatch = Vec<(String, String, DecisionRecord)>;

/// One row of the raw tables: source, event id, sequence, record, previous hash, hash.
type RawRow = (String, String, i64, String, String, String);

const SQLITE_TARGET: f64 = 20_000.0;
const POSTGRES_TARGET_PER_WORKER: f64 = 5_000.0;

/// What one event writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The inbox mark and one decision record.
    MarkAndDecision,
    /// The inbox mark alone.
    MarkOnly,
}

impl Mode {
    fn title(self) -> &'static str {
        match self {
            Mode::MarkAndDecision => "inbox mark + decision record per event",
            Mode::MarkOnly => "inbox mark only per event",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Mode::MarkAndDecision => "full",
            Mode::MarkOnly => "marks",
        }
    }
}

/// The same events for both sides, cut into batches.
struct Workload {
    store: Vec<StoreBatch>,
    marks: Vec<Vec<(String, String)>>,
    raw: Vec<Vec<RawRow>>,
}

fn main() -> BenchResult<()> {
    let events = env_number("ORDER_AGENT_BENCH_EVENTS", 100_000)?;
    let batch = env_number("ORDER_AGENT_BENCH_BATCH", 256)?.max(1);
    let work = workload(events, batch)?;
    println!(
        "ingest: {events} events in batches of {batch}, one transaction per batch, \
         timed from the start of a batch to its durable commit"
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;

    let dir = tempfile::tempdir()?;
    for mode in [Mode::MarkAndDecision, Mode::MarkOnly] {
        println!(
            "\nSQLite, {} (WAL, synchronous=FULL, files in {})",
            mode.title(),
            dir.path().display()
        );
        let store = runtime.block_on(sqlite_store(dir.path(), &work, mode))?;
        let raw = sqlite_raw(dir.path(), &work, mode)?;
        report(
            &store,
            &raw,
            (mode == Mode::MarkAndDecision).then_some(SQLITE_TARGET),
            "",
        );
    }

    let url = std::env::var("ORDER_AGENT_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    for mode in [Mode::MarkAndDecision, Mode::MarkOnly] {
        println!(
            "\nPostgreSQL, {} (synchronous_commit=on, one worker)",
            mode.title()
        );
        match runtime.block_on(postgres(&url, &work, mode))? {
            Some((store, raw)) => {
                let target = (mode == Mode::MarkAndDecision).then_some(POSTGRES_TARGET_PER_WORKER);
                report(&store, &raw, target, " per worker");
            }
            None => return Ok(()),
        }
    }
    let workers = env_number("ORDER_AGENT_BENCH_PG_WORKERS", 4)?.max(1);
    println!(
        "\nPostgreSQL, {} ({workers} workers on one store, each its own share of the batches)",
        Mode::MarkAndDecision.title()
    );
    let work = Arc::new(work);
    if let Some(run) = runtime.block_on(postgres_workers(&url, &work, workers))? {
        run.print();
        let per_worker = run.per_second() / workers as f64;
        println!(
            "  per worker {per_worker:.0} events/s; target >= {POSTGRES_TARGET_PER_WORKER:.0} \
             events/s per worker: {}",
            if per_worker >= POSTGRES_TARGET_PER_WORKER {
                "met"
            } else {
                "NOT met"
            }
        );
    }
    Ok(())
}

fn env_number(name: &str, default: usize) -> BenchResult<usize> {
    match std::env::var(name) {
        Ok(text) => Ok(text
            .parse()
            .map_err(|e| format!("`{name}` is not a number: {e}"))?),
        Err(_) => Ok(default),
    }
}

/// Builds every batch up front: the raw rows here, outside the timing, while the store serialises
/// and hashes its records inside it.
fn workload(events: usize, batch: usize) -> BenchResult<Workload> {
    let base = Utc::now();
    let mut work = Workload {
        store: Vec::new(),
        marks: Vec::new(),
        raw: Vec::new(),
    };
    let mut sequence = 0i64;
    for first in (0..events).step_by(batch) {
        let mut store_batch = Vec::with_capacity(batch);
        let mut raw_batch = Vec::with_capacity(batch);
        for n in first..(first + batch).min(events) {
            let offset = chrono::Duration::milliseconds(i64::try_from(n)?);
            let record = DecisionRecord {
                at: base + offset,
                subject: format!("order:o_{}", 100_000 + n),
                decision: json!({
                    "outcome": "reply",
                    "template": "wismo.in_transit",
                    "policy_version": "2026-11-01",
                    "rules": ["wismo.carrier_in_transit"],
                    "errors": [],
                }),
                reasons: vec!["wismo.carrier_in_transit".to_owned()],
            };
            let source = "shopify".to_owned();
            let event_id = format!("evt_{n:010}");
            sequence += 1;
            raw_batch.push((
                source.clone(),
                event_id.clone(),
                sequence,
                serde_json::to_string(&record)?,
                format!("{:064x}", sequence - 1),
                format!("{sequence:064x}"),
            ));
            store_batch.push((source, event_id, record));
        }
        work.marks.push(
            store_batch
                .iter()
                .map(|(source, event_id, _)| (source.clone(), event_id.clone()))
                .collect(),
        );
        work.store.push(store_batch);
        work.raw.push(raw_batch);
    }
    Ok(work)
}

/// Batch latencies of one side of a run.
struct Run {
    label: &'static str,
    events: usize,
    elapsed: Duration,
    batches: Vec<Duration>,
}

impl Run {
    fn new(label: &'static str) -> Run {
        Run {
            label,
            events: 0,
            elapsed: Duration::ZERO,
            batches: Vec::new(),
        }
    }

    fn per_second(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.events as f64 / secs
        } else {
            0.0
        }
    }

    fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.batches.clone();
        sorted.sort_unstable();
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted
            .get(rank.saturating_sub(1).min(sorted.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    }

    fn print(&self) {
        println!(
            "  {:<6} {:>9.0} events/s  p50 {:>7.2} ms  p99 {:>7.2} ms per batch  \
             ({} events, {} batches, {:.2} s)",
            self.label,
            self.per_second(),
            self.percentile(50.0).as_secs_f64() * 1e3,
            self.percentile(99.0).as_secs_f64() * 1e3,
            self.events,
            self.batches.len(),
            self.elapsed.as_secs_f64(),
        );
    }
}

fn report(store: &Run, raw: &Run, target: Option<f64>, unit: &str) {
    store.print();
    raw.print();
    let rate = store.per_second();
    let ratio = if raw.per_second() > 0.0 {
        rate / raw.per_second()
    } else {
        0.0
    };
    match target {
        Some(target) => println!(
            "  ratio  store/raw {ratio:.2}; target >= {target:.0} events/s{unit}: {}",
            if rate >= target { "met" } else { "NOT met" }
        ),
        None => println!("  ratio  store/raw {ratio:.2}"),
    }
}

fn describe(chain: &ChainVerification) -> String {
    match chain {
        ChainVerification::Intact { records, .. } => format!("intact, {records} records"),
        ChainVerification::Broken { sequence, problem } => {
            format!("BROKEN at sequence {sequence} ({problem:?})")
        }
    }
}

/// What a store run checks after its timing: how many events were marked the first time, how many
/// of a redelivered first batch were marked again (0 is right; not run when `redelivered` is 0),
/// and the decision chain.
struct Checks {
    marked: usize,
    redelivered: usize,
    remarked: usize,
    chain: Option<ChainVerification>,
}

impl Checks {
    fn print(&self) {
        let chain = self
            .chain
            .as_ref()
            .map_or_else(|| "not written".to_owned(), describe);
        let redelivery = if self.redelivered > 0 {
            format!(
                "redelivered batch: {} of {} marked again; ",
                self.remarked, self.redelivered
            )
        } else {
            String::new()
        };
        println!(
            "  check  {} events marked the first time; {redelivery}decision chain: {chain}",
            self.marked
        );
    }
}

/// The two batched calls of a store, behind one face for the timing loop.
trait BatchedStore {
    /// Ingests batch `n` of `work` in `mode` and returns how many events it marked the first time.
    async fn ingest(&self, work: &Workload, n: usize, mode: Mode) -> BenchResult<usize>;

    async fn verify(&self) -> BenchResult<ChainVerification>;
}

impl BatchedStore for SqliteStore {
    async fn ingest(&self, work: &Workload, n: usize, mode: Mode) -> BenchResult<usize> {
        Ok(match mode {
            Mode::MarkAndDecision => count_some(
                &self
                    .mark_processed_with_decisions(batch_of(&work.store, n)?)
                    .await?,
            ),
            Mode::MarkOnly => {
                count_true(&self.mark_processed_batch(batch_of(&work.marks, n)?).await?)
            }
        })
    }

    async fn verify(&self) -> BenchResult<ChainVerification> {
        Ok(self.verify_chain().await?)
    }
}

impl BatchedStore for PostgresStore {
    async fn ingest(&self, work: &Workload, n: usize, mode: Mode) -> BenchResult<usize> {
        Ok(match mode {
            Mode::MarkAndDecision => count_some(
                &self
                    .mark_processed_with_decisions(batch_of(&work.store, n)?)
                    .await?,
            ),
            Mode::MarkOnly => {
                count_true(&self.mark_processed_batch(batch_of(&work.marks, n)?).await?)
            }
        })
    }

    async fn verify(&self) -> BenchResult<ChainVerification> {
        Ok(self.verify_chain().await?)
    }
}

fn batch_of<T>(batches: &[T], n: usize) -> BenchResult<&T> {
    batches.get(n).ok_or_else(|| "no such batch".into())
}

fn count_some(sequences: &[Option<u64>]) -> usize {
    sequences.iter().filter(|s| s.is_some()).count()
}

fn count_true(marks: &[bool]) -> usize {
    marks.iter().filter(|m| **m).count()
}

async fn timed_store_run<S: BatchedStore>(
    store: &S,
    work: &Workload,
    mode: Mode,
) -> BenchResult<Run> {
    let mut run = Run::new("store");
    let mut marked = 0;
    let start = Instant::now();
    for (n, batch) in work.raw.iter().enumerate() {
        let began = Instant::now();
        marked += store.ingest(work, n, mode).await?;
        run.batches.push(began.elapsed());
        run.events += batch.len();
    }
    run.elapsed = start.elapsed();
    let checks = Checks {
        marked,
        redelivered: work.raw.first().map_or(0, Vec::len),
        remarked: if work.raw.is_empty() {
            0
        } else {
            store.ingest(work, 0, mode).await?
        },
        chain: match mode {
            Mode::MarkAndDecision => Some(store.verify().await?),
            Mode::MarkOnly => None,
        },
    };
    checks.print();
    Ok(run)
}

async fn sqlite_store(dir: &Path, work: &Workload, mode: Mode) -> BenchResult<Run> {
    let store = SqliteStore::open(dir.join(format!("store_{}.db", mode.name())))?;
    timed_store_run(&store, work, mode).await
}

fn sqlite_raw(dir: &Path, work: &Workload, mode: Mode) -> BenchResult<Run> {
    let mut connection = rusqlite::Connection::open(dir.join(format!("raw_{}.db", mode.name())))?;
    connection.busy_timeout(Duration::from_secs(5))?;
    let journal: String =
        connection.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !journal.eq_ignore_ascii_case("wal") {
        return Err(format!("the raw database refused WAL mode (`{journal}`)").into());
    }
    connection.pragma_update(None, "synchronous", "FULL")?;
    connection.execute_batch(
        "CREATE TABLE processed_events (
             source       TEXT NOT NULL,
             event_id     TEXT NOT NULL,
             processed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
             PRIMARY KEY (source, event_id)
         );
         CREATE TABLE decision_log (
             sequence  INTEGER PRIMARY KEY NOT NULL,
             record    TEXT NOT NULL,
             prev_hash TEXT NOT NULL,
             hash      TEXT NOT NULL
         );",
    )?;
    let mut run = Run::new("raw");
    let start = Instant::now();
    for batch in &work.raw {
        let began = Instant::now();
        let tx = connection.transaction()?;
        {
            let mut mark = tx.prepare_cached(
                "INSERT INTO processed_events (source, event_id) VALUES (?1, ?2)",
            )?;
            let mut append = tx.prepare_cached(
                "INSERT INTO decision_log (sequence, record, prev_hash, hash)
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (source, event_id, sequence, record, prev_hash, hash) in batch {
                mark.execute(rusqlite::params![source, event_id])?;
                if mode == Mode::MarkAndDecision {
                    append.execute(rusqlite::params![sequence, record, prev_hash, hash])?;
                }
            }
        }
        tx.commit()?;
        run.batches.push(began.elapsed());
        run.events += batch.len();
    }
    run.elapsed = start.elapsed();
    Ok(run)
}

/// The store run and the raw run on PostgreSQL, or `None` (after saying why) when the server is
/// unreachable.
async fn postgres(url: &str, work: &Workload, mode: Mode) -> BenchResult<Option<(Run, Run)>> {
    let suffix = format!(
        "{}_{}_{}",
        mode.name(),
        std::process::id(),
        Utc::now().timestamp()
    );
    let store_schema = format!("oa_bench_store_{suffix}");
    let raw_schema = format!("oa_bench_raw_{suffix}");
    let config = PostgresConfig::new(url).with_schema(&store_schema);
    let store = match PostgresStore::connect(&config).await {
        Ok(store) => store,
        Err(e) if e.kind() == PortErrorKind::Unavailable => {
            println!("  SKIPPED: PostgreSQL is unreachable at ORDER_AGENT_POSTGRES_URL ({e})");
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };

    let mut pg: tokio_postgres::Config = url.parse()?;
    pg.options("-c synchronous_commit=on");
    let (mut client, connection) = pg.connect(tokio_postgres::NoTls).await?;
    let driver = tokio::spawn(connection);

    let runs = async {
        let store_run = timed_store_run(&store, work, mode).await?;
        let raw_run = postgres_raw(&mut client, &raw_schema, work, mode).await?;
        BenchResult::Ok((store_run, raw_run))
    }
    .await;
    let dropped = client
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {store_schema} CASCADE;
             DROP SCHEMA IF EXISTS {raw_schema} CASCADE;"
        ))
        .await;
    drop(client);
    driver.await??;
    let runs = runs?;
    dropped?;
    Ok(Some(runs))
}

async fn postgres_raw(
    client: &mut tokio_postgres::Client,
    raw_schema: &str,
    work: &Workload,
    mode: Mode,
) -> BenchResult<Run> {
    client
        .batch_execute(&format!(
            "CREATE SCHEMA {raw_schema};
             SET search_path = {raw_schema};
             CREATE TABLE processed_events (
                 source       TEXT NOT NULL,
                 event_id     TEXT NOT NULL,
                 processed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                 PRIMARY KEY (source, event_id)
             );
             CREATE TABLE decision_log (
                 sequence  BIGINT PRIMARY KEY,
                 record    TEXT NOT NULL,
                 prev_hash TEXT NOT NULL,
                 hash      TEXT NOT NULL
             );"
        ))
        .await?;
    let mark = client
        .prepare(
            "INSERT INTO processed_events (source, event_id)
             SELECT * FROM unnest($1::text[], $2::text[])",
        )
        .await?;
    let append = client
        .prepare(
            "INSERT INTO decision_log (sequence, record, prev_hash, hash)
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[])",
        )
        .await?;
    let mut run = Run::new("raw");
    let start = Instant::now();
    for batch in &work.raw {
        let began = Instant::now();
        let sources: Vec<&str> = batch.iter().map(|r| r.0.as_str()).collect();
        let event_ids: Vec<&str> = batch.iter().map(|r| r.1.as_str()).collect();
        let tx = client.transaction().await?;
        tx.execute(&mark, &[&sources, &event_ids]).await?;
        if mode == Mode::MarkAndDecision {
            let sequences: Vec<i64> = batch.iter().map(|r| r.2).collect();
            let records: Vec<&str> = batch.iter().map(|r| r.3.as_str()).collect();
            let prev_hashes: Vec<&str> = batch.iter().map(|r| r.4.as_str()).collect();
            let hashes: Vec<&str> = batch.iter().map(|r| r.5.as_str()).collect();
            tx.execute(&append, &[&sequences, &records, &prev_hashes, &hashes])
                .await?;
        }
        tx.commit().await?;
        run.batches.push(began.elapsed());
        run.events += batch.len();
    }
    run.elapsed = start.elapsed();
    Ok(run)
}

/// The full path on PostgreSQL with `workers` concurrent workers on one store, or `None` when the
/// server is unreachable.
async fn postgres_workers(
    url: &str,
    work: &Arc<Workload>,
    workers: usize,
) -> BenchResult<Option<Run>> {
    let schema = format!(
        "oa_bench_store_workers_{}_{}",
        std::process::id(),
        Utc::now().timestamp()
    );
    let mut config = PostgresConfig::new(url).with_schema(&schema);
    config.pool_size = config.pool_size.max(workers);
    let store = match PostgresStore::connect(&config).await {
        Ok(store) => Arc::new(store),
        Err(e) if e.kind() == PortErrorKind::Unavailable => {
            println!("  SKIPPED: PostgreSQL is unreachable at ORDER_AGENT_POSTGRES_URL ({e})");
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    let outcome = async {
        let mut tasks = tokio::task::JoinSet::new();
        let start = Instant::now();
        for worker in 0..workers {
            let (store, work) = (Arc::clone(&store), Arc::clone(work));
            tasks.spawn(async move {
                let mut latencies = Vec::new();
                let (mut events, mut marked) = (0, 0);
                for n in (worker..work.store.len()).step_by(workers) {
                    let began = Instant::now();
                    marked += store.ingest(&work, n, Mode::MarkAndDecision).await?;
                    latencies.push(began.elapsed());
                    events += batch_of(&work.store, n)?.len();
                }
                BenchResult::Ok((latencies, events, marked))
            });
        }
        let mut run = Run::new("store");
        let mut marked = 0;
        while let Some(joined) = tasks.join_next().await {
            let (latencies, events, worker_marked) = joined??;
            run.batches.extend(latencies);
            run.events += events;
            marked += worker_marked;
        }
        run.elapsed = start.elapsed();
        Checks {
            marked,
            redelivered: 0,
            remarked: 0,
            chain: Some(store.verify().await?),
        }
        .print();
        BenchResult::Ok(run)
    }
    .await;
    let dropped = async {
        let (client, connection) = url
            .parse::<tokio_postgres::Config>()?
            .connect(tokio_postgres::NoTls)
            .await?;
        let driver = tokio::spawn(connection);
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .await?;
        drop(client);
        driver.await??;
        BenchResult::Ok(())
    }
    .await;
    let run = outcome?;
    dropped?;
    Ok(Some(run))
}
