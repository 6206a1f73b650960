//! Plain data: orders, payments, shipments and tracking, customers, returns, changes, escalations.
//!
//! Every type is `serde`-serialisable with a stable JSON shape (snake_case enums, amounts as
//! strings), so callers in other languages can build requests and read decisions.

pub mod changes;
pub mod customer;
pub mod ids;
pub mod order;
pub mod payment;
pub mod returns;
pub mod shipment;

pub use changes::*;
pub use customer::*;
pub use ids::*;
pub use order::*;
pub use payment::*;
pub use returns::*;
pub use shipment::*;
