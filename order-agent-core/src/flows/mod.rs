//! The agent's decision logic per mission flow, as pure functions from gathered facts to a
//! decision plus the actions to take. No I/O, no clock reads: the runtime gathers facts through the
//! ports, calls these, and executes what they return.

pub mod events;
pub mod identity;
pub mod monitor;
pub mod shipping;
pub mod wismo;
