//! Inventory: putting returned items back into stock, and what is available for exchanges.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::error::PortResult;
use crate::domain::{LocationId, Sku};
use crate::policy::RestockDisposition;

/// Operation names used in [`PortError::operation`](super::PortError::operation) and by fault
/// injection.
pub mod ops {
    /// [`Inventory::restock`](super::Inventory::restock).
    pub const RESTOCK: &str = "inventory.restock";
    /// [`Inventory::available`](super::Inventory::available).
    pub const AVAILABLE: &str = "inventory.available";
}

/// Returned units to book in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestockRequest {
    /// The caller's key: the same key always means the same stock movement.
    pub idempotency_key: String,
    /// The SKU.
    pub sku: Sku,
    /// Units; at least one.
    pub quantity: u32,
    /// Where the units go, as the policy decided.
    pub disposition: RestockDisposition,
    /// The location that received them.
    pub location: LocationId,
}

/// A stock movement the inventory system booked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StockMovement {
    /// The inventory system's id of the movement.
    pub movement_id: String,
    /// The SKU.
    pub sku: Sku,
    /// Units moved.
    pub quantity: u32,
    /// Where they went.
    pub disposition: RestockDisposition,
    /// The location.
    pub location: LocationId,
}

/// An inventory system.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait Inventory: Send + Sync + Debug + 'static {
    /// Books returned units in.
    ///
    /// # Behavior
    ///
    /// - MUST be idempotent by `request.idempotency_key`: the same key with the same request MUST
    ///   return the movement of the first call and MUST NOT move stock again.
    /// - The same key with a different request MUST return
    ///   [`Conflict`](super::PortErrorKind::Conflict) and MUST NOT move stock.
    /// - [`RestockDisposition::Sellable`] MUST raise [`available`](Self::available) by
    ///   `quantity`; every other disposition MUST NOT change it.
    /// - MUST return [`InvalidInput`](super::PortErrorKind::InvalidInput) for a quantity of zero
    ///   and [`NotFound`](super::PortErrorKind::NotFound) for an unknown SKU or location.
    async fn restock(&self, request: &RestockRequest) -> PortResult<StockMovement>;

    /// Units of `sku` available to sell, across all locations.
    ///
    /// # Behavior
    ///
    /// - MUST return `Ok(None)` for an unknown SKU, MUST NOT return an error for it; a known SKU
    ///   without stock is `Ok(Some(0))`.
    async fn available(&self, sku: &Sku) -> PortResult<Option<u32>>;
}

/// A shared inventory system.
pub type InventoryRef = Arc<dyn Inventory>;
