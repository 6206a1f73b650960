#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod agent;
pub mod domain;
pub mod flows;
pub mod money;
pub mod policy;
pub mod ports;
pub mod redact;
pub mod replies;
pub mod understanding;

pub use money::{Currency, Money, MoneyError};
pub use policy::{decide, Decision, Facts, Outcome, Policy, Request};
