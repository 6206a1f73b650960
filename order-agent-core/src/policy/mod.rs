//! The policy engine: a merchant's rules as data ([`Policy`]), checked before use
//! ([`Policy::validate`]) and evaluated purely ([`decide`]).
//!
//! Evaluation is synchronous, deterministic and total: the same request, facts, policy and time
//! always give the same [`Decision`], every decision says why, and whatever the engine cannot
//! decide safely comes out as [`Outcome::NeedsHuman`], never as [`Outcome::Approve`].

mod decision;
mod evaluate;
mod model;
mod validate;

pub use decision::*;
pub use evaluate::decide;
pub use model::*;
pub use validate::*;
