//! Test support for order-agent: builders for realistic orders, proptest strategies, and (with the
//! agent) in-memory fakes and the conformance suite every adapter must pass.

pub mod builders;
pub mod conformance;
pub mod demo_shop;
pub mod fakes;
pub mod strategies;
pub mod world;
