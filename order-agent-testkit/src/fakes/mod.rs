//! In-memory fakes of every port, seeded from data, recording their calls, with fault injection.
//!
//! Every fake implements its port's contract exactly (the conformance suites prove it) and takes
//! a shared [`Faults`] configuration: per operation a latency, an error of any kind, a failure of
//! the next N calls, a timeout before the effect, a timeout *after* the effect (the refund exists
//! but the caller never heard), or a duplicate delivery of a message. Every call is recorded in a
//! [`CallLog`], which several fakes can share to give one timeline.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use order_agent_core::domain::{Payment, PaymentId, Tender};
//! use order_agent_core::ports::{payments::ops, Payments, PortErrorKind, RefundRequest};
//! use order_agent_core::{Currency, Money};
//! use order_agent_testkit::fakes::{Fault, FakePayments, Faults};
//!
//! let chf = Currency::CHF;
//! let faults = Faults::new();
//! let payments = FakePayments::new()
//!     .with_payments([Payment {
//!         id: PaymentId::new("pay_1"),
//!         tender: Tender::Card,
//!         captured: Money::from_minor(10_000, chf),
//!         refunded: Money::zero(chf),
//!     }])
//!     .with_faults(faults.clone());
//! faults.once(ops::REFUND, Fault::TimeoutAfterEffect);
//!
//! let request = RefundRequest {
//!     payment_id: PaymentId::new("pay_1"),
//!     amount: Money::from_minor(2_500, chf),
//!     idempotency_key: "refund:ret_1".into(),
//!     metadata: Default::default(),
//! };
//! // The refund happened, but the answer was lost.
//! let lost = payments.refund(&request).await.unwrap_err();
//! assert_eq!(lost.kind(), PortErrorKind::Timeout);
//! // Retrying with the same key returns that refund instead of refunding again.
//! let refund = payments.refund(&request).await.unwrap();
//! assert_eq!(payments.all_refunds(), vec![refund]);
//! # });
//! ```

pub mod broken;
mod carrier;
mod clock;
mod faults;
mod helpdesk;
mod interpreter;
mod inventory;
mod messaging;
mod oms;
mod payments;
mod store;

pub use carrier::FakeCarrier;
pub use clock::FakeClock;
pub use faults::{Call, CallLog, CallOutcome, Fault, Faults};
pub use helpdesk::FakeHelpdesk;
pub use interpreter::{interpret_by_rules, FakeInterpreter};
pub use inventory::FakeInventory;
pub use messaging::{Delivered, FakeMessaging};
pub use oms::{FakeOms, RecordedReturn};
pub use payments::FakePayments;
pub use store::FakeStore;

/// The `mockall` mocks of every port, re-exported from `order_agent_core::ports::mocks`, for
/// tests that want expectations rather than a working fake.
pub mod mocks {
    pub use order_agent_core::ports::mocks::*;
}
