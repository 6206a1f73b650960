//! The [`Carrier`] conformance suite.

use order_agent_core::domain::{ReturnId, TrackingEvent, TrackingNumber, TrackingStatus};
use order_agent_core::ports::{
    AddressValidation, Carrier, PortErrorKind, ReturnLabelRequest, Tracking,
};

use super::sample_data::{address, at};
use super::{ensure, expect_kind, ok, CheckResult, ConformanceFailure, ConformanceReport, Runner};
use order_agent_core::domain::Address;

/// What the carrier under test knows.
#[derive(Debug, Clone)]
pub struct CarrierFixture {
    /// Distinguishes this run's labels from earlier runs.
    pub run_id: String,
    /// The carrier slug to use.
    pub carrier: String,
    /// A parcel with at least two scans.
    pub tracked: TrackingNumber,
    /// A tracking number the carrier does not know.
    pub unknown: TrackingNumber,
    /// A deliverable address, exactly as the carrier would write it.
    pub valid_address: Address,
    /// An address the carrier corrects.
    pub correctable_address: Address,
    /// An undeliverable address.
    pub invalid_address: Address,
    /// The merchant's returns warehouse.
    pub returns_warehouse: Address,
}

/// Seed tracking for the fake and the fixture that matches it.
#[derive(Debug, Clone)]
pub struct CarrierSample {
    /// Parcels to seed; their events are deliberately stored newest first.
    pub tracking: Vec<Tracking>,
    /// The fixture.
    pub fixture: CarrierFixture,
}

fn event(day: u32, hour: u32, status: TrackingStatus, code: &str) -> TrackingEvent {
    TrackingEvent {
        at: at(2025, 2, day, hour),
        status,
        carrier_code: code.to_owned(),
        description: format!("scan {code}"),
        location: Some("Zürich-Mülligen".to_owned()),
    }
}

/// A sample for the in-memory carrier.
pub fn sample() -> CarrierSample {
    let mut correctable = address("Anna Muster", " Langstrasse 1 ", "8004", "Zürich");
    correctable.country = "ch".to_owned();
    CarrierSample {
        tracking: vec![Tracking {
            carrier: "swiss-post".to_owned(),
            tracking_number: TrackingNumber::new("99.60.123456.12345678"),
            status: TrackingStatus::Unknown,
            events: vec![
                event(4, 9, TrackingStatus::OutForDelivery, "OUT"),
                event(3, 8, TrackingStatus::InTransit, "TRN"),
                event(2, 17, TrackingStatus::PickedUp, "PUP"),
            ],
            eta: None,
        }],
        fixture: CarrierFixture {
            run_id: "sample".to_owned(),
            carrier: "swiss-post".to_owned(),
            tracked: TrackingNumber::new("99.60.123456.12345678"),
            unknown: TrackingNumber::new("99.00.000000.00000000"),
            valid_address: address("Anna Muster", "Langstrasse 1", "8004", "Zürich"),
            correctable_address: correctable,
            invalid_address: address("Anna Muster", "", "", "Zürich"),
            returns_warehouse: address("Shop Returns", "Industriestrasse 5", "8050", "Zürich"),
        },
    }
}

/// Runs every carrier check.
pub async fn run_all(
    carrier: &dyn Carrier,
    fixture: &CarrierFixture,
) -> Result<(), ConformanceReport> {
    let mut runner = Runner::new("carrier");
    runner.check(unknown_parcel_is_none(carrier, fixture)).await;
    runner.check(events_oldest_first(carrier, fixture)).await;
    runner.check(return_label(carrier, fixture)).await;
    runner.check(address_validation(carrier, fixture)).await;
    runner.finish()
}

/// An unknown tracking number is `Ok(None)`.
pub async fn unknown_parcel_is_none(carrier: &dyn Carrier, f: &CarrierFixture) -> CheckResult {
    const CHECK: &str = "carrier.unknown_parcel_is_none";
    let found = ok(
        CHECK,
        "track an unknown parcel",
        carrier.track(&f.carrier, &f.unknown).await,
    )?;
    ensure!(
        CHECK,
        found.is_none(),
        "found unknown parcel `{}`",
        f.unknown
    );
    Ok(())
}

/// Events come oldest first and the status is the last event's.
pub async fn events_oldest_first(carrier: &dyn Carrier, f: &CarrierFixture) -> CheckResult {
    const CHECK: &str = "carrier.events_oldest_first";
    let tracking =
        ok(CHECK, "track", carrier.track(&f.carrier, &f.tracked).await)?.ok_or_else(|| {
            ConformanceFailure::new(CHECK, format!("fixture parcel `{}` is unknown", f.tracked))
        })?;
    ensure!(
        CHECK,
        tracking.events.len() >= 2,
        "fixture parcel needs two scans, has {}",
        tracking.events.len()
    );
    ensure!(
        CHECK,
        tracking.events.windows(2).all(|w| w[0].at <= w[1].at),
        "events are not oldest first: {:?}",
        tracking.events.iter().map(|e| e.at).collect::<Vec<_>>()
    );
    if let Some(last) = tracking.events.last() {
        ensure!(
            CHECK,
            tracking.status == last.status,
            "status is {:?} but the last event says {:?}",
            tracking.status,
            last.status
        );
    }
    Ok(())
}

/// A label has an id, a tracking number and a URL; an undeliverable address is invalid input.
pub async fn return_label(carrier: &dyn Carrier, f: &CarrierFixture) -> CheckResult {
    const CHECK: &str = "carrier.return_label";
    let request = ReturnLabelRequest {
        return_id: ReturnId::new(format!("ret_{}_label", f.run_id)),
        carrier: f.carrier.clone(),
        from: f.valid_address.clone(),
        to: f.returns_warehouse.clone(),
        weight_grams: Some(800),
    };
    let label = ok(
        CHECK,
        "create a return label",
        carrier.create_return_label(&request).await,
    )?;
    ensure!(
        CHECK,
        !label.label_id.trim().is_empty(),
        "the label id is empty"
    );
    ensure!(
        CHECK,
        !label.tracking_number.as_str().trim().is_empty(),
        "the tracking number is empty"
    );
    ensure!(
        CHECK,
        !label.label_url.trim().is_empty(),
        "the label url is empty"
    );

    let bad = ReturnLabelRequest {
        from: f.invalid_address.clone(),
        ..request
    };
    expect_kind(
        CHECK,
        "label from an undeliverable address",
        PortErrorKind::InvalidInput,
        carrier.create_return_label(&bad).await,
    )
}

/// Valid is valid, a correction differs and validates, invalid is `Ok(Invalid)` with a reason.
pub async fn address_validation(carrier: &dyn Carrier, f: &CarrierFixture) -> CheckResult {
    const CHECK: &str = "carrier.address_validation";
    let valid = ok(
        CHECK,
        "validate a valid address",
        carrier.validate_address(&f.valid_address).await,
    )?;
    ensure!(
        CHECK,
        valid == AddressValidation::Valid,
        "a valid address came back {valid:?}"
    );

    let corrected = ok(
        CHECK,
        "validate a correctable address",
        carrier.validate_address(&f.correctable_address).await,
    )?;
    let AddressValidation::Corrected { suggestion } = corrected else {
        return Err(ConformanceFailure::new(
            CHECK,
            format!("a correctable address came back {corrected:?}"),
        ));
    };
    ensure!(
        CHECK,
        suggestion != f.correctable_address,
        "the suggestion equals the input"
    );
    let again = ok(
        CHECK,
        "validate the suggestion",
        carrier.validate_address(&suggestion).await,
    )?;
    ensure!(
        CHECK,
        again == AddressValidation::Valid,
        "the suggestion itself came back {again:?}"
    );

    let invalid = ok(
        CHECK,
        "validate an undeliverable address",
        carrier.validate_address(&f.invalid_address).await,
    )?;
    match invalid {
        AddressValidation::Invalid { reason } => {
            ensure!(
                CHECK,
                !reason.trim().is_empty(),
                "an invalid address has no reason"
            );
            Ok(())
        }
        other => Err(ConformanceFailure::new(
            CHECK,
            format!("an undeliverable address came back {other:?}"),
        )),
    }
}
