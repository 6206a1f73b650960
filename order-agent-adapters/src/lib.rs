//! Vendor adapters for the order-agent ports. Each vendor is a cargo feature.
//!
//! - [`store`]: the durable state store ([`Store`](order_agent_core::ports::Store)), on SQLite
//!   (feature `sqlite`, on by default: one file, nothing to run beside the agent) or on PostgreSQL
//!   (feature `postgres`: several workers sharing one database). Both keep the money rules in the
//!   database's own constraints and hash-chain the decision log.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "adyen")]
#[cfg_attr(docsrs, doc(cfg(feature = "adyen")))]
pub mod adyen;
#[cfg(any(feature = "shipengine", feature = "ups", feature = "easypost"))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(feature = "shipengine", feature = "ups", feature = "easypost")))
)]
pub mod carrier_status;
#[cfg(feature = "commercetools")]
#[cfg_attr(docsrs, doc(cfg(feature = "commercetools")))]
pub mod commercetools;
#[cfg(feature = "datatrans")]
#[cfg_attr(docsrs, doc(cfg(feature = "datatrans")))]
pub mod datatrans;
#[cfg(feature = "easypost")]
#[cfg_attr(docsrs, doc(cfg(feature = "easypost")))]
pub mod easypost;
#[cfg(feature = "nats")]
#[cfg_attr(docsrs, doc(cfg(feature = "nats")))]
pub mod events;
#[cfg(any(
    feature = "stripe",
    feature = "shipengine",
    feature = "shopify",
    feature = "commercetools",
    feature = "adyen",
    feature = "datatrans",
    feature = "ups",
    feature = "easypost",
    feature = "sendgrid",
    feature = "twilio",
    feature = "whatsapp"
))]
pub mod http;
#[cfg(feature = "llm")]
pub mod llm;
#[cfg(any(
    feature = "smtp",
    feature = "sendgrid",
    feature = "twilio",
    feature = "whatsapp"
))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(
        feature = "smtp",
        feature = "sendgrid",
        feature = "twilio",
        feature = "whatsapp"
    )))
)]
pub mod messaging;
#[cfg(feature = "resilience")]
#[cfg_attr(docsrs, doc(cfg(feature = "resilience")))]
pub mod resilience;
#[cfg(feature = "shipengine")]
#[cfg_attr(docsrs, doc(cfg(feature = "shipengine")))]
pub mod shipengine;
#[cfg(feature = "shopify")]
#[cfg_attr(docsrs, doc(cfg(feature = "shopify")))]
pub mod shopify;
pub mod store;
#[cfg(feature = "stripe")]
#[cfg_attr(docsrs, doc(cfg(feature = "stripe")))]
pub mod stripe;
#[cfg(feature = "ups")]
#[cfg_attr(docsrs, doc(cfg(feature = "ups")))]
pub mod ups;
#[cfg(feature = "webhooks")]
pub mod webhooks;
#[cfg(feature = "zendesk")]
#[cfg_attr(docsrs, doc(cfg(feature = "zendesk")))]
pub mod zendesk;
