//! Evaluation of a request against a policy.

use chrono::{DateTime, Utc};

use super::decision::{Decision, Facts, Outcome, Request};
use super::model::Policy;

/// Decides `request` given `facts` under `policy` at time `now`. Pure and total.
pub fn decide(request: &Request, facts: &Facts, policy: &Policy, now: DateTime<Utc>) -> Decision {
    let _ = (request, facts, now);
    Decision {
        outcome: Outcome::NeedsHuman,
        reasons: Vec::new(),
        policy_version: policy.version.clone(),
        lines: Vec::new(),
        refund: None,
        errors: Vec::new(),
    }
}
