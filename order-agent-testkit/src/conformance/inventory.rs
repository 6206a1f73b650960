//! The [`Inventory`] conformance suite.

use order_agent_core::domain::{LocationId, Sku};
use order_agent_core::policy::RestockDisposition;
use order_agent_core::ports::{Inventory, PortErrorKind, RestockRequest};

use super::{ensure, expect_kind, ok, CheckResult, ConformanceFailure, ConformanceReport, Runner};

/// What the inventory under test holds.
#[derive(Debug, Clone)]
pub struct InventoryFixture {
    /// Distinguishes this run's idempotency keys from earlier runs.
    pub run_id: String,
    /// A known SKU.
    pub sku: Sku,
    /// A known location.
    pub location: LocationId,
    /// A SKU the inventory does not know.
    pub unknown_sku: Sku,
    /// A location the inventory does not know.
    pub unknown_location: LocationId,
}

/// A fixture for the in-memory inventory; seed it with
/// `FakeInventory::new().with_stock("SKU-CONF", "wh_zurich", 5)`.
pub fn sample() -> InventoryFixture {
    InventoryFixture {
        run_id: "sample".to_owned(),
        sku: Sku::new("SKU-CONF"),
        location: LocationId::new("wh_zurich"),
        unknown_sku: Sku::new("SKU-404"),
        unknown_location: LocationId::new("wh_404"),
    }
}

/// Runs every inventory check.
pub async fn run_all(
    inventory: &dyn Inventory,
    fixture: &InventoryFixture,
) -> Result<(), ConformanceReport> {
    let mut runner = Runner::new("inventory");
    runner
        .check(unknown_sku_and_location(inventory, fixture))
        .await;
    runner
        .check(sellable_restock_is_idempotent(inventory, fixture))
        .await;
    runner
        .check(key_reuse_for_another_movement_conflicts(inventory, fixture))
        .await;
    runner
        .check(other_dispositions_leave_available_alone(inventory, fixture))
        .await;
    runner
        .check(zero_quantity_is_invalid(inventory, fixture))
        .await;
    runner.finish()
}

fn request(
    f: &InventoryFixture,
    key: &str,
    quantity: u32,
    disposition: RestockDisposition,
) -> RestockRequest {
    RestockRequest {
        idempotency_key: format!("conformance:{}:{key}", f.run_id),
        sku: f.sku.clone(),
        quantity,
        disposition,
        location: f.location.clone(),
    }
}

async fn available(
    check: &'static str,
    inventory: &dyn Inventory,
    f: &InventoryFixture,
) -> Result<u32, ConformanceFailure> {
    ok(check, "available", inventory.available(&f.sku).await)?.ok_or_else(|| {
        ConformanceFailure::new(check, format!("fixture sku `{}` is unknown", f.sku))
    })
}

/// An unknown SKU has `None` available and cannot be restocked; nor can an unknown location.
pub async fn unknown_sku_and_location(
    inventory: &dyn Inventory,
    f: &InventoryFixture,
) -> CheckResult {
    const CHECK: &str = "inventory.unknown_sku_and_location";
    let found = ok(
        CHECK,
        "available of an unknown sku",
        inventory.available(&f.unknown_sku).await,
    )?;
    ensure!(
        CHECK,
        found.is_none(),
        "unknown sku `{}` has {found:?} available",
        f.unknown_sku
    );
    let mut unknown_sku = request(f, "unknown-sku", 1, RestockDisposition::Sellable);
    unknown_sku.sku = f.unknown_sku.clone();
    expect_kind(
        CHECK,
        "restock an unknown sku",
        PortErrorKind::NotFound,
        inventory.restock(&unknown_sku).await,
    )?;
    let mut unknown_location = request(f, "unknown-location", 1, RestockDisposition::Sellable);
    unknown_location.location = f.unknown_location.clone();
    expect_kind(
        CHECK,
        "restock at an unknown location",
        PortErrorKind::NotFound,
        inventory.restock(&unknown_location).await,
    )
}

/// Sellable units raise `available` by their quantity, once per key.
pub async fn sellable_restock_is_idempotent(
    inventory: &dyn Inventory,
    f: &InventoryFixture,
) -> CheckResult {
    const CHECK: &str = "inventory.sellable_restock_is_idempotent";
    let before = available(CHECK, inventory, f).await?;
    let req = request(f, "sellable", 2, RestockDisposition::Sellable);
    let first = ok(CHECK, "restock", inventory.restock(&req).await)?;
    let after_first = available(CHECK, inventory, f).await?;
    ensure!(
        CHECK,
        after_first == before + 2,
        "available went from {before} to {after_first}, expected {}",
        before + 2
    );
    let second = ok(CHECK, "restock again", inventory.restock(&req).await)?;
    ensure!(
        CHECK,
        second.movement_id == first.movement_id,
        "the same key booked movement `{}` after `{}`",
        second.movement_id,
        first.movement_id
    );
    let after_second = available(CHECK, inventory, f).await?;
    ensure!(
        CHECK,
        after_second == after_first,
        "the same key moved stock twice"
    );
    Ok(())
}

/// A key reused for another movement is a conflict and moves nothing.
pub async fn key_reuse_for_another_movement_conflicts(
    inventory: &dyn Inventory,
    f: &InventoryFixture,
) -> CheckResult {
    const CHECK: &str = "inventory.key_reuse_for_another_movement_conflicts";
    ok(
        CHECK,
        "restock",
        inventory
            .restock(&request(f, "reuse", 1, RestockDisposition::Sellable))
            .await,
    )?;
    let before = available(CHECK, inventory, f).await?;
    expect_kind(
        CHECK,
        "the same key with another quantity",
        PortErrorKind::Conflict,
        inventory
            .restock(&request(f, "reuse", 3, RestockDisposition::Sellable))
            .await,
    )?;
    let after = available(CHECK, inventory, f).await?;
    ensure!(CHECK, after == before, "a conflicting request moved stock");
    Ok(())
}

/// Open box, refurbish, return-to-vendor and scrap do not change what is available to sell.
pub async fn other_dispositions_leave_available_alone(
    inventory: &dyn Inventory,
    f: &InventoryFixture,
) -> CheckResult {
    const CHECK: &str = "inventory.other_dispositions_leave_available_alone";
    for (n, disposition) in [
        RestockDisposition::OpenBox,
        RestockDisposition::Refurbish,
        RestockDisposition::ReturnToVendor,
        RestockDisposition::Scrap,
    ]
    .into_iter()
    .enumerate()
    {
        let before = available(CHECK, inventory, f).await?;
        ok(
            CHECK,
            "restock",
            inventory
                .restock(&request(f, &format!("disposition-{n}"), 1, disposition))
                .await,
        )?;
        let after = available(CHECK, inventory, f).await?;
        ensure!(
            CHECK,
            after == before,
            "{disposition:?} changed available from {before} to {after}"
        );
    }
    Ok(())
}

/// A quantity of zero is invalid input.
pub async fn zero_quantity_is_invalid(
    inventory: &dyn Inventory,
    f: &InventoryFixture,
) -> CheckResult {
    const CHECK: &str = "inventory.zero_quantity_is_invalid";
    expect_kind(
        CHECK,
        "restock zero units",
        PortErrorKind::InvalidInput,
        inventory
            .restock(&request(f, "zero", 0, RestockDisposition::Sellable))
            .await,
    )
}
