//! An in-memory inventory.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use async_trait::async_trait;
use order_agent_core::domain::{LocationId, Sku};
use order_agent_core::policy::RestockDisposition;
use order_agent_core::ports::inventory::ops;
use order_agent_core::ports::{Inventory, PortError, PortResult, RestockRequest, StockMovement};
use serde_json::json;

use super::faults::{instrumented, lock, Instrumentation};

#[derive(Debug, Default)]
struct InventoryState {
    locations: BTreeSet<LocationId>,
    /// Sellable units per SKU and location.
    sellable: BTreeMap<(Sku, LocationId), u32>,
    /// Units booked into other dispositions, per SKU, location and disposition.
    other: BTreeMap<(Sku, LocationId, String), u32>,
    keys: BTreeMap<String, (RestockRequest, StockMovement)>,
}

/// An inventory of SKUs per location, with idempotent restocking.
#[derive(Debug, Default)]
pub struct FakeInventory {
    state: Mutex<InventoryState>,
    instrumentation: Instrumentation,
}

instrumented!(FakeInventory);

impl FakeInventory {
    /// An inventory without SKUs or locations.
    pub fn new() -> FakeInventory {
        FakeInventory::default()
    }

    /// Adds a location.
    #[must_use]
    pub fn with_location(self, location: impl Into<LocationId>) -> FakeInventory {
        lock(&self.state).locations.insert(location.into());
        self
    }

    /// Sets the sellable stock of `sku` at `location` (adding both if new).
    #[must_use]
    pub fn with_stock(
        self,
        sku: impl Into<Sku>,
        location: impl Into<LocationId>,
        units: u32,
    ) -> FakeInventory {
        {
            let mut state = lock(&self.state);
            let location = location.into();
            state.locations.insert(location.clone());
            state.sellable.insert((sku.into(), location), units);
        }
        self
    }

    /// Units of `sku` at `location` booked into `disposition`.
    pub fn units(&self, sku: &Sku, location: &LocationId, disposition: RestockDisposition) -> u32 {
        let state = lock(&self.state);
        match disposition {
            RestockDisposition::Sellable => state
                .sellable
                .get(&(sku.clone(), location.clone()))
                .copied()
                .unwrap_or(0),
            other => state
                .other
                .get(&(sku.clone(), location.clone(), disposition_key(other)))
                .copied()
                .unwrap_or(0),
        }
    }

    /// The movements booked, in key order.
    pub fn movements(&self) -> Vec<StockMovement> {
        lock(&self.state)
            .keys
            .values()
            .map(|(_, m)| m.clone())
            .collect()
    }
}

fn disposition_key(disposition: RestockDisposition) -> String {
    serde_json::to_value(disposition)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{disposition:?}"))
}

#[async_trait]
impl Inventory for FakeInventory {
    async fn restock(&self, request: &RestockRequest) -> PortResult<StockMovement> {
        self.instrumentation
            .call(ops::RESTOCK, request, |_| {
                let mut state = lock(&self.state);
                if let Some((first, movement)) = state.keys.get(&request.idempotency_key) {
                    if first != request {
                        return Err(PortError::conflict(
                            ops::RESTOCK,
                            "idempotency key was used for another movement",
                        )
                        .with_context("idempotency_key", &request.idempotency_key));
                    }
                    return Ok(movement.clone());
                }
                if request.quantity == 0 {
                    return Err(PortError::invalid_input(
                        ops::RESTOCK,
                        "the quantity must be at least one",
                    ));
                }
                if !state.locations.contains(&request.location) {
                    return Err(PortError::not_found(ops::RESTOCK, "no such location")
                        .with_context("location", &request.location));
                }
                if !state.sellable.keys().any(|(sku, _)| sku == &request.sku) {
                    return Err(PortError::not_found(ops::RESTOCK, "no such sku")
                        .with_context("sku", &request.sku));
                }
                let slot = match request.disposition {
                    RestockDisposition::Sellable => state
                        .sellable
                        .entry((request.sku.clone(), request.location.clone()))
                        .or_insert(0),
                    other => state
                        .other
                        .entry((
                            request.sku.clone(),
                            request.location.clone(),
                            disposition_key(other),
                        ))
                        .or_insert(0),
                };
                *slot = slot.saturating_add(request.quantity);
                let movement = StockMovement {
                    movement_id: format!("mv_{}", state.keys.len() + 1),
                    sku: request.sku.clone(),
                    quantity: request.quantity,
                    disposition: request.disposition,
                    location: request.location.clone(),
                };
                state.keys.insert(
                    request.idempotency_key.clone(),
                    (request.clone(), movement.clone()),
                );
                Ok(movement)
            })
            .await
    }

    async fn available(&self, sku: &Sku) -> PortResult<Option<u32>> {
        self.instrumentation
            .call(ops::AVAILABLE, json!({ "sku": sku }), |_| {
                let state = lock(&self.state);
                let mut known = false;
                let mut total: u32 = 0;
                for ((s, _), units) in &state.sellable {
                    if s == sku {
                        known = true;
                        total = total.saturating_add(*units);
                    }
                }
                Ok(known.then_some(total))
            })
            .await
    }
}
