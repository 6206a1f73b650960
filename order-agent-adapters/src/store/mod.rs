//! Durable implementations of the state-store port ([`Store`](order_agent_core::ports::Store)).
//!
//! - [`SqliteStore`] (feature `sqlite`, the default): one file, or memory, embedded in the process;
//!   its durability settings are explained in [`sqlite`].
//! - [`PostgresStore`] (feature `postgres`): a PostgreSQL server shared by several workers; see
//!   [`postgres`].
//!
//! Both keep the same schema, applied by versioned migrations when a store opens (a
//! `schema_version` table records which ran), and both let the database itself hold the money
//! rules, so that they hold even if the code above is wrong:
//!
//! - refund intents are keyed by a primary key, their amount is checked to be positive, their
//!   state is one of the five known states, and a trigger refuses every update that is not a legal
//!   state transition ([`RefundIntentState::can_become`](order_agent_core::ports::RefundIntentState::can_become))
//!   or that touches the key, order, payment, amount or creation time; intents are never deleted;
//! - transitions are a compare-and-set `UPDATE ... WHERE key = ? AND state = ?`, so of concurrent
//!   transitions from one state exactly one changes a row;
//! - idempotency records, processed events and return authorisations are inserted if absent
//!   (`ON CONFLICT DO NOTHING`, then read back) and never updated or deleted;
//! - the decision log is append-only (triggers refuse updates and deletes) and hash-chained: each
//!   row stores the hash of the row before it, so a change made behind the triggers' back is found
//!   by `verify_chain` (see [`chain`]).
//!
//! Times are stored as RFC 3339 text with nine fractional digits in UTC (fixed width, so text
//! order is time order), so that a time read back equals the time written to the nanosecond.

pub mod chain;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod codec;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub mod postgres;
#[cfg(feature = "postgres")]
mod postgres_queue;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub mod sqlite;
#[cfg(feature = "sqlite")]
mod sqlite_queue;

pub use chain::{ChainBreak, ChainVerification, ExportedDecision};
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use postgres::{PostgresConfig, PostgresStore};
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use sqlite::SqliteStore;
