//! The hash chain of the decision log.
//!
//! Row `n` stores `prev_hash`, the hash of the row before it (64 zeros for the first row), and
//! `hash = sha256(prev_hash || canonical_json({"record": record, "sequence": n}))`, where
//! `prev_hash` enters as its 32 raw bytes and the canonical JSON has its object keys sorted, no
//! whitespace, and serde_json's number and string formatting. Changing, removing or reordering a
//! row therefore breaks the chain from that row on; only cutting off the newest rows goes
//! unnoticed by the chain alone, so keep the head hash ([`ChainVerification::Intact`]) elsewhere
//! when that matters.

#![cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]

use std::io::Write;

use order_agent_core::ports::{DecisionRecord, LoggedDecision, PortError, PortResult};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first row.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The answer of `verify_chain`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ChainVerification {
    /// Every row links to the one before and its hash is right.
    Intact {
        /// How many rows were checked.
        records: u64,
        /// The hash of the newest row ([`GENESIS_HASH`] for an empty log).
        head_hash: String,
    },
    /// The chain breaks at a row.
    Broken {
        /// The sequence number of the first row that does not verify.
        sequence: u64,
        /// What is wrong with it.
        problem: ChainBreak,
    },
}

impl ChainVerification {
    /// Whether the chain verified.
    pub fn is_intact(&self) -> bool {
        matches!(self, ChainVerification::Intact { .. })
    }

    /// The sequence number of the first broken row, if any.
    pub fn first_broken(&self) -> Option<u64> {
        match self {
            ChainVerification::Intact { .. } => None,
            ChainVerification::Broken { sequence, .. } => Some(*sequence),
        }
    }
}

/// What is wrong with the first row that does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChainBreak {
    /// Its `prev_hash` is not the hash of the row before it: a row was removed, inserted or
    /// reordered, or `prev_hash` was edited.
    PrevHashMismatch,
    /// Its stored hash is not the hash of its content: the record or the hash was edited.
    HashMismatch,
    /// Its record is no longer a readable decision record.
    UnreadableRecord,
}

/// One row of the log as exported: a JSON line of
/// [`export_decisions`](crate::store::SqliteStore::export_decisions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportedDecision {
    /// Its place in the log.
    pub sequence: u64,
    /// The record.
    pub record: DecisionRecord,
    /// The hash of the row before it.
    pub prev_hash: String,
    /// Its own hash.
    pub hash: String,
}

/// A stored row, as read for verification and export.
#[derive(Debug, Clone)]
pub(crate) struct ChainRow {
    pub(crate) sequence: u64,
    pub(crate) record: String,
    pub(crate) prev_hash: String,
    pub(crate) hash: String,
}

/// JSON with object keys sorted at every level and no whitespace.
pub(crate) fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (n, (key, value)) in entries.into_iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(value, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The canonical JSON of `record`, as stored in the `record` column.
pub(crate) fn record_json(op: &'static str, record: &DecisionRecord) -> PortResult<String> {
    let value = serde_json::to_value(record).map_err(|e| {
        PortError::invalid_input(op, "the decision record is not serialisable").with_source(e)
    })?;
    Ok(canonical_json(&value))
}

/// The hash of the row `sequence` holding `record_json` after a row hashed `prev_hash`; `None`
/// when `prev_hash` is not 64 hex digits.
///
/// The hashed content is the canonical JSON of `{"record": record, "sequence": sequence}`. Since
/// `record_json` is stored in canonical form (see [`record_json`]) and `"record"` sorts before
/// `"sequence"`, that content is the plain concatenation below: no parsing, no re-encoding. A
/// stored record edited into another spelling of the same JSON therefore no longer verifies,
/// which is what a tamper check wants.
pub(crate) fn row_hash(prev_hash: &str, sequence: u64, record_json: &str) -> Option<String> {
    let prev = hex::decode(prev_hash).ok().filter(|b| b.len() == 32)?;
    let mut hasher = Sha256::new();
    hasher.update(&prev);
    hasher.update(b"{\"record\":");
    hasher.update(record_json.as_bytes());
    hasher.update(b",\"sequence\":");
    hasher.update(sequence.to_string().as_bytes());
    hasher.update(b"}");
    Some(hex::encode(hasher.finalize()))
}

/// Checks rows in ascending sequence order, one page at a time.
#[derive(Debug)]
pub(crate) struct ChainVerifier {
    expected_prev: String,
    records: u64,
    broken: Option<(u64, ChainBreak)>,
}

impl ChainVerifier {
    pub(crate) fn new() -> ChainVerifier {
        ChainVerifier {
            expected_prev: GENESIS_HASH.to_owned(),
            records: 0,
            broken: None,
        }
    }

    /// Checks the next row; false once the chain is broken.
    pub(crate) fn check(&mut self, row: &ChainRow) -> bool {
        if self.broken.is_some() {
            return false;
        }
        let problem = if row.prev_hash != self.expected_prev {
            Some(ChainBreak::PrevHashMismatch)
        } else if serde_json::from_str::<DecisionRecord>(&row.record).is_err() {
            Some(ChainBreak::UnreadableRecord)
        } else if row_hash(&row.prev_hash, row.sequence, &row.record).as_deref()
            != Some(row.hash.as_str())
        {
            Some(ChainBreak::HashMismatch)
        } else {
            None
        };
        match problem {
            Some(problem) => {
                self.broken = Some((row.sequence, problem));
                false
            }
            None => {
                self.records += 1;
                self.expected_prev.clone_from(&row.hash);
                true
            }
        }
    }

    pub(crate) fn finish(self) -> ChainVerification {
        match self.broken {
            Some((sequence, problem)) => ChainVerification::Broken { sequence, problem },
            None => ChainVerification::Intact {
                records: self.records,
                head_hash: self.expected_prev,
            },
        }
    }
}

/// Decodes a stored row into a logged decision.
pub(crate) fn logged_decision(op: &'static str, row: &ChainRow) -> PortResult<LoggedDecision> {
    let record = serde_json::from_str(&row.record).map_err(|e| {
        PortError::unexpected(op, "a stored decision record is unreadable")
            .with_context("sequence", row.sequence)
            .with_source(e)
    })?;
    Ok(LoggedDecision {
        sequence: row.sequence,
        record,
    })
}

/// Writes `rows` to `writer` as JSON lines of [`ExportedDecision`].
pub(crate) fn export_rows<W: Write + ?Sized>(
    op: &'static str,
    rows: &[ChainRow],
    writer: &mut W,
) -> PortResult<()> {
    for row in rows {
        let logged = logged_decision(op, row)?;
        let line = ExportedDecision {
            sequence: row.sequence,
            record: logged.record,
            prev_hash: row.prev_hash.clone(),
            hash: row.hash.clone(),
        };
        let json = serde_json::to_string(&line).map_err(|e| {
            PortError::unexpected(op, "a decision could not be exported").with_source(e)
        })?;
        writeln!(writer, "{json}").map_err(|e| {
            PortError::unavailable(op, "the export could not be written").with_source(e)
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let value = serde_json::json!({ "b": [ { "z": 1, "a": "x" } ], "a": null });
        assert_eq!(
            canonical_json(&value),
            r#"{"a":null,"b":[{"a":"x","z":1}]}"#
        );
    }

    #[test]
    fn the_fast_hash_is_the_hash_of_the_canonical_content() {
        let record =
            canonical_json(&serde_json::json!({"z": [1, {"b": "x", "a": null}], "a": 2.5}));
        let content = canonical_json(&serde_json::json!({
            "record": serde_json::from_str::<Value>(&record).unwrap(),
            "sequence": 42,
        }));
        let mut hasher = Sha256::new();
        hasher.update(hex::decode(GENESIS_HASH).unwrap());
        hasher.update(content.as_bytes());
        let slow = hex::encode(hasher.finalize());
        assert_eq!(row_hash(GENESIS_HASH, 42, &record), Some(slow));
    }

    #[test]
    fn a_hash_depends_on_the_previous_hash_the_sequence_and_the_record() {
        let h = row_hash(GENESIS_HASH, 1, r#"{"a":1}"#).unwrap();
        assert_eq!(h.len(), 64);
        assert_ne!(Some(h.clone()), row_hash(GENESIS_HASH, 2, r#"{"a":1}"#));
        assert_ne!(Some(h.clone()), row_hash(GENESIS_HASH, 1, r#"{"a":2}"#));
        assert_ne!(Some(h.clone()), row_hash(&h, 1, r#"{"a":1}"#));
        assert_eq!(row_hash("zz", 1, "{}"), None);
    }
}
