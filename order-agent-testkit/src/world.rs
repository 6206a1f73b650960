//! A whole shop of fakes wired to an [`Agent`]: the demo shop's orders and customers in the OMS,
//! their payments at the processor, a clock at the demo's "now", and every other port empty.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use order_agent_core::domain::Channel;
//! use order_agent_testkit::world::World;
//!
//! let world = World::demo();
//! let agent = world.agent(World::demo_policy().unwrap()).unwrap();
//! let turn = agent.handle_message(Channel::WebChat, "chat-1", "Where is my order?").await.unwrap();
//! // Nothing is revealed before the sender proves who they are.
//! assert!(matches!(turn.reply, order_agent_core::replies::Reply::AskVerification { .. }));
//! # });
//! ```

use std::sync::Arc;

use chrono::{DateTime, Utc};
use order_agent_core::agent::{Agent, AgentConfig, AgentError, Ports};
use order_agent_core::domain::Address;
use order_agent_core::policy::{Policy, PolicyParseError};
use order_agent_core::understanding::BuiltinInterpreter;

use crate::demo_shop::{demo_now, DemoShop};
use crate::fakes::{
    FakeCarrier, FakeClock, FakeHelpdesk, FakeInterpreter, FakeInventory, FakeMessaging, FakeOms,
    FakePayments, FakeStore,
};

/// The sample policy of the Swiss demo shop (the same file as `examples/policies/swiss-shop.toml`).
pub const DEMO_POLICY: &str = include_str!("../../examples/policies/swiss-shop.toml");

/// Every port as a fake, kept so tests can look inside after the agent acted.
#[derive(Debug, Clone)]
pub struct World {
    /// The demo data the fakes were seeded with.
    pub shop: DemoShop,
    /// Orders and customers.
    pub oms: Arc<FakeOms>,
    /// Tracking and labels.
    pub carrier: Arc<FakeCarrier>,
    /// Payments and refunds.
    pub payments: Arc<FakePayments>,
    /// Sent messages.
    pub messaging: Arc<FakeMessaging>,
    /// Tickets.
    pub helpdesk: Arc<FakeHelpdesk>,
    /// Stock.
    pub inventory: Arc<FakeInventory>,
    /// State.
    pub store: Arc<FakeStore>,
    /// Rule-based understanding.
    pub interpreter: Arc<FakeInterpreter>,
    /// The clock, settable.
    pub clock: Arc<FakeClock>,
}

impl World {
    /// The demo shop at [`demo_now`].
    pub fn demo() -> World {
        World::demo_at(demo_now())
    }

    /// The demo shop as it stands at `now`.
    pub fn demo_at(now: DateTime<Utc>) -> World {
        let shop = DemoShop::new(now);
        let clock = Arc::new(FakeClock::at(now));
        // Every SKU the shop sells is stocked at the Zürich warehouse, where returns arrive.
        let mut inventory = FakeInventory::new().with_location("zrh-1");
        for line in shop.orders.iter().flat_map(|o| &o.lines) {
            inventory = inventory.with_stock(line.sku.clone(), "zrh-1", 10);
        }
        for offer in &shop.exchange_offers {
            inventory = inventory.with_stock(offer.sku.clone(), "zrh-1", offer.available);
        }
        World {
            oms: Arc::new(
                FakeOms::new()
                    .with_orders(shop.orders.clone())
                    .with_customers(shop.customers.clone())
                    .with_variants(shop.exchange_offers.clone()),
            ),
            carrier: Arc::new(FakeCarrier::new()),
            payments: Arc::new(
                FakePayments::new()
                    .with_payments_of(shop.orders.iter())
                    .with_clock(clock.shared()),
            ),
            messaging: Arc::new(FakeMessaging::new()),
            helpdesk: Arc::new(FakeHelpdesk::new().with_clock(clock.shared())),
            inventory: Arc::new(inventory),
            store: Arc::new(FakeStore::new()),
            interpreter: Arc::new(FakeInterpreter::new()),
            clock,
            shop,
        }
    }

    /// The demo policy, parsed.
    pub fn demo_policy() -> Result<Policy, PolicyParseError> {
        Policy::from_toml_str(DEMO_POLICY)
    }

    /// The ports, as the agent takes them.
    pub fn ports(&self) -> Ports {
        Ports {
            oms: self.oms.clone(),
            carrier: self.carrier.clone(),
            payments: self.payments.clone(),
            messaging: self.messaging.clone(),
            helpdesk: self.helpdesk.clone(),
            inventory: self.inventory.clone(),
            store: self.store.clone(),
            interpreter: self.interpreter.clone(),
            clock: self.clock.shared(),
        }
    }

    /// Runtime settings for the demo: returns go to the Zürich warehouse by Swiss Post.
    pub fn demo_config() -> AgentConfig {
        AgentConfig {
            min_confidence: 0.6,
            max_verification_attempts: 3,
            returns_address: Address {
                name: "Demo Shop Returns".to_owned(),
                line1: "Industriestrasse 10".to_owned(),
                line2: None,
                postcode: "8304".to_owned(),
                city: "Wallisellen".to_owned(),
                region: None,
                country: "CH".to_owned(),
            },
            return_carrier: "swiss-post".to_owned(),
            recent_orders: 10,
            queue: Default::default(),
            payment_idempotency_window_hours: 24,
        }
    }

    /// An agent on these fakes with `policy`, reading messages with the testkit's rule-based
    /// interpreter (predictable, for tests).
    pub fn agent(&self, policy: Policy) -> Result<Agent, AgentError> {
        Agent::new(self.ports(), policy, World::demo_config())
    }

    /// An agent on these fakes with `policy`, reading messages with the library's built-in
    /// understanding ([`BuiltinInterpreter`]), as a shop would run it.
    pub fn agent_with_builtin_understanding(&self, policy: Policy) -> Result<Agent, AgentError> {
        let mut ports = self.ports();
        ports.interpreter = Arc::new(BuiltinInterpreter::new());
        Agent::new(ports, policy, World::demo_config())
    }
}
