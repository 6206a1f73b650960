//! The ports: one small object-safe async trait per outside system the agent talks to.
//!
//! Every trait is `Send + Sync + Debug + 'static`, is used as an `Arc<dyn Port>` (`OmsRef`,
//! `PaymentsRef`, ...), and states its contract in a `# Behavior` section of each method: what
//! MUST be idempotent, what "not found" returns, in which order lists come. The conformance suites
//! in `order-agent-testkit` test exactly those sentences, and every adapter runs them.
//!
//! Every port returns [`PortError`]. Lookups answer `Ok(None)` (or an empty list) for what does
//! not exist; [`PortErrorKind::NotFound`] is only for commands that act on something missing.
//! Conveniences live in `...Ext` traits (e.g. [`OmsExt`]) implemented for every port; adapters
//! never implement them. Retries, timeouts, rate limiting and circuit breaking are wrappers around
//! a port, never code inside an adapter.
//!
//! With the `mock` feature each trait also has a `mockall` mock (`MockOms`, `MockPayments`, ...).
//!
//! ```
//! use std::sync::Arc;
//! use order_agent_core::ports::{Clock, ClockRef, SystemClock};
//!
//! let clock: ClockRef = Arc::new(SystemClock::new());
//! let before = clock.now();
//! assert!(clock.now() >= before);
//! ```

pub mod carrier;
pub mod clock;
mod error;
pub mod helpdesk;
pub mod inventory;
pub mod language;
pub mod messaging;
pub mod metered;
pub mod oms;
pub mod payments;
pub mod store;

pub use carrier::{
    AddressValidation, Carrier, CarrierExt, CarrierRef, ReturnLabel, ReturnLabelRequest, Tracking,
};
pub use clock::{Clock, ClockRef, SystemClock};
pub use error::{PortError, PortErrorKind, PortResult};
pub use helpdesk::{Helpdesk, HelpdeskRef, Ticket, TicketNote, TicketStatus, TicketUpdate};
pub use inventory::{Inventory, InventoryRef, RestockRequest, StockMovement};
pub use language::{Entities, Intent, Interpretation, Interpreter, InterpreterRef};
pub use messaging::{Delivery, Messaging, MessagingRef, OutboundMessage};
pub use metered::{CallMetrics, Metered};
pub use oms::{Oms, OmsExt, OmsRef};
pub use payments::{Payments, PaymentsExt, PaymentsRef, RefundRequest};
pub use store::{
    Claim, ClaimedEvent, Completion, ConversationKey, ConversationState, ConversationStore,
    DecisionLog, DecisionRecord, EventInbox, EventQueue, IdempotencyRecord, IdempotencyStore,
    IdempotencyStoreExt, LoggedDecision, PendingQuestion, PutOutcome, QueueStats, QueuedEvent,
    RefundIntent, RefundIntentState, RefundIntentStore, RefundIntentTransition, Retry, ReturnStore,
    Store, StoreRef, TransitionOutcome, Versioned,
};

/// The `mockall` mocks of every port, for unit tests of code that uses the ports.
#[cfg(any(test, feature = "mock"))]
#[cfg_attr(docsrs, doc(cfg(feature = "mock")))]
pub mod mocks {
    pub use super::carrier::MockCarrier;
    pub use super::clock::MockClock;
    pub use super::helpdesk::MockHelpdesk;
    pub use super::inventory::MockInventory;
    pub use super::language::MockInterpreter;
    pub use super::messaging::MockMessaging;
    pub use super::oms::MockOms;
    pub use super::payments::MockPayments;
    pub use super::store::{
        MockConversationStore, MockDecisionLog, MockEventInbox, MockEventQueue,
        MockIdempotencyStore, MockRefundIntentStore, MockReturnStore,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    // Compile-time proof that every port is object-safe and shareable.
    #[allow(dead_code)]
    type AllPorts = (
        OmsRef,
        CarrierRef,
        PaymentsRef,
        MessagingRef,
        HelpdeskRef,
        InventoryRef,
        ClockRef,
        InterpreterRef,
        StoreRef,
    );
    #[allow(dead_code)]
    fn object_safe(_: AllPorts) {}

    #[tokio::test]
    async fn mocks_implement_the_ports() {
        let mut oms = mocks::MockOms::new();
        oms.expect_order().returning(|_| Ok(None));
        let oms: OmsRef = std::sync::Arc::new(oms);
        let found = oms.order(&crate::domain::OrderId::new("o_1")).await;
        assert!(matches!(found, Ok(None)));
    }
}
