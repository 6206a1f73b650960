//! Checks requests an adapter builds against a vendor's own API description, served by Stoplight
//! Prism 5.14.2 in mock mode (`spec-check/run.sh` installs and starts it on loopback).
//!
//! A request passes only if Prism's status is not 400, 401, 415 or 422 **and** its
//! `sl-violations` header has no entry whose `location[0]` is `request`. Prism fails open when a
//! schema does not compile, so every checked operation also needs a negative control: a broken
//! request that must be rejected.
// Shared by several test crates, each using a part.
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::time::Duration;

use order_agent_adapters::http::{HttpSender, WireRequest};
use serde_json::Value;

/// Set to `1` (as `spec-check/run.sh` does) to fail instead of skipping when Prism or the spec
/// file is missing.
pub const REQUIRE_VAR: &str = "ORDER_AGENT_REQUIRE_PRISM";

/// A running Prism mock of one spec file.
pub struct Prism {
    sender: HttpSender,
}

/// What Prism said about one request.
#[derive(Debug)]
pub struct Verdict {
    /// The HTTP status.
    pub status: u16,
    /// The `sl-violations` entries about the request, as `location: message`.
    pub request_violations: Vec<String>,
}

impl Verdict {
    /// Whether the request conforms to the spec.
    pub fn accepted(&self) -> bool {
        !matches!(self.status, 400 | 401 | 415 | 422) && self.request_violations.is_empty()
    }
}

/// The shared specs folder, `../shared/specs` from the workspace root.
pub fn specs_dir() -> PathBuf {
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
    /// The Prism mock of `spec` (a path below the shared specs folder) whose base URL is in
    /// environment variable `url_var`; `None` with a message on stderr when the spec file or the
    /// variable is missing, unless [`REQUIRE_VAR`] is set.
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
        let sender = HttpSender::new(&url, Duration::from_secs(30)).unwrap();
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
            .map(|v| {
                serde_json::from_str(v).unwrap_or_else(|e| panic!("bad sl-violations `{v}`: {e}"))
            })
            .unwrap_or_default();
        let request_violations = violations
            .iter()
            .filter(|v| v["location"][0] == "request")
            .map(|v| format!("{}: {}", v["location"], v["message"]))
            .collect();
        Verdict {
            status: response.status,
            request_violations,
        }
    }

    /// Asserts that `request` conforms.
    pub async fn assert_accepted(&self, what: &str, request: &WireRequest) {
        let verdict = self.check(request).await;
        assert!(
            verdict.accepted(),
            "{what}: the spec rejects the adapter's request {} {}: {verdict:?}",
            request.method.as_str(),
            request.path_and_query()
        );
    }

    /// Asserts that the deliberately broken `request` is rejected (the negative control).
    pub async fn assert_rejected(&self, what: &str, request: &WireRequest) {
        let verdict = self.check(request).await;
        assert!(
            !verdict.accepted(),
            "negative control `{what}` was accepted, so the check cannot see this kind of error: {} {}: {verdict:?}",
            request.method.as_str(),
            request.path_and_query()
        );
    }
}
