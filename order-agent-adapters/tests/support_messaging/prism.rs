//! Checks the requests a messaging adapter builds against the vendor's own API description,
//! served by Stoplight Prism 5.14.2 in mock mode (`spec-check/run.sh` starts it).
//!
//! A request passes only if Prism's status is not 400, 401, 415 or 422 **and** its
//! `sl-violations` header has no entry whose `location[0]` is `request`. Prism fails open when a
//! schema does not compile, so every checked operation also has a negative control that must be
//! rejected.

use std::path::PathBuf;
use std::time::Duration;

use order_agent_adapters::messaging::wire::{Sender, WireRequest};
use serde_json::Value;

/// Set to `1` (as the spec-check scripts do) to fail instead of skipping when Prism or the
/// spec file is missing.
pub const REQUIRE_VAR: &str = "ORDER_AGENT_REQUIRE_PRISM";

/// A running Prism mock of one spec file.
pub struct Prism {
    sender: Sender,
}

/// What Prism said about one request.
#[derive(Debug)]
pub struct Verdict {
    /// The HTTP status.
    pub status: u16,
    /// The `sl-violations` entries about the request.
    pub request_violations: Vec<Value>,
}

impl Verdict {
    /// Whether the request conforms to the spec.
    pub fn accepted(&self) -> bool {
        !matches!(self.status, 400 | 401 | 415 | 422) && self.request_violations.is_empty()
    }
}

fn specs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/specs")
}

fn skip_or_fail(reason: &str) -> Option<Prism> {
    if std::env::var(REQUIRE_VAR).as_deref() == Ok("1") {
        panic!("spec check cannot run: {reason}");
    }
    eprintln!("SKIPPED spec check: {reason} (run `spec-check/run.sh` to check against the spec)");
    None
}

impl Prism {
    /// The Prism mock of `spec` (below the shared specs folder) whose base URL is in `url_var`;
    /// `None` with a message when either is missing, unless [`REQUIRE_VAR`] is `1`.
    pub fn from_env(url_var: &str, spec: &str) -> Option<Prism> {
        let file = specs_dir().join(spec);
        if !file.is_file() {
            return skip_or_fail(&format!("spec file `{}` not found", file.display()));
        }
        let Ok(url) = std::env::var(url_var) else {
            return skip_or_fail(&format!(
                "`{url_var}` is not set (no prism running for `{spec}`)"
            ));
        };
        let sender = Sender::new("prism", &url, Duration::from_secs(60)).unwrap();
        Some(Prism { sender })
    }

    /// Sends `request` and reads Prism's verdict.
    pub async fn check(&self, request: &WireRequest) -> Verdict {
        let response = self
            .sender
            .send(request)
            .await
            .unwrap_or_else(|e| panic!("prism did not answer: {e}"));
        let violations: Vec<Value> = response
            .header("sl-violations")
            .map(|v| serde_json::from_str(v).unwrap_or_else(|_| vec![Value::String(v.into())]))
            .unwrap_or_default();
        Verdict {
            status: response.status,
            request_violations: violations
                .into_iter()
                .filter(|v| v["location"][0] == "request" || v.is_string())
                .collect(),
        }
    }
}
