//! Carriers (Swiss Post, DHL, UPS, or an aggregator): tracking, return labels, address checks.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::error::PortResult;
use crate::domain::{Address, ReturnId, Shipment, TrackingEvent, TrackingNumber, TrackingStatus};

/// Operation names used in [`PortError::operation`](super::PortError::operation) and by fault
/// injection.
pub mod ops {
    /// [`Carrier::track`](super::Carrier::track).
    pub const TRACK: &str = "carrier.track";
    /// [`Carrier::create_return_label`](super::Carrier::create_return_label).
    pub const CREATE_RETURN_LABEL: &str = "carrier.create_return_label";
    /// [`Carrier::validate_address`](super::Carrier::validate_address).
    pub const VALIDATE_ADDRESS: &str = "carrier.validate_address";
}

/// A parcel's tracking, normalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tracking {
    /// Carrier slug, e.g. `swiss-post`.
    pub carrier: String,
    /// The tracking number.
    pub tracking_number: TrackingNumber,
    /// The current status.
    pub status: TrackingStatus,
    /// Scans, oldest first.
    pub events: Vec<TrackingEvent>,
    /// The carrier's delivery estimate, when it gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta: Option<NaiveDate>,
}

/// What a return label is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnLabelRequest {
    /// The return; printed on the label as the shipper's reference.
    pub return_id: ReturnId,
    /// Carrier slug, e.g. `swiss-post`.
    pub carrier: String,
    /// Where the parcel is picked up or dropped off: the customer.
    pub from: Address,
    /// Where it goes: the merchant's returns warehouse.
    pub to: Address,
    /// Parcel weight in grams, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_grams: Option<u32>,
}

/// A return label the carrier issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnLabel {
    /// The carrier's id of the label.
    pub label_id: String,
    /// Carrier slug.
    pub carrier: String,
    /// The tracking number of the return parcel.
    pub tracking_number: TrackingNumber,
    /// Where the customer downloads the label (PDF or QR code).
    pub label_url: String,
}

/// The carrier's verdict on an address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case", deny_unknown_fields)]
pub enum AddressValidation {
    /// Deliverable as given.
    Valid,
    /// Deliverable after a correction the customer should confirm.
    Corrected {
        /// The corrected address.
        suggestion: Address,
    },
    /// Not deliverable.
    Invalid {
        /// Why, in plain words for the customer.
        reason: String,
    },
}

/// A carrier, or an aggregator covering several.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait Carrier: Send + Sync + Debug + 'static {
    /// The tracking of parcel `tracking_number` with carrier `carrier` (a slug such as
    /// `swiss-post`).
    ///
    /// # Behavior
    ///
    /// - MUST return `Ok(None)` for a tracking number the carrier does not know, MUST NOT return
    ///   an error for it.
    /// - MUST return events oldest first (non-decreasing `at`).
    /// - When there are events, `status` MUST be the status of the last one.
    /// - MUST map every carrier code onto a [`TrackingStatus`], using
    ///   [`TrackingStatus::Unknown`] rather than failing for a code it cannot map.
    async fn track(
        &self,
        carrier: &str,
        tracking_number: &TrackingNumber,
    ) -> PortResult<Option<Tracking>>;

    /// Buys a prepaid return label.
    ///
    /// # Behavior
    ///
    /// - MUST return a non-empty label id, tracking number and label URL.
    /// - Each call buys a label: it MUST NOT be assumed idempotent, and the shell guards it with
    ///   an idempotency record keyed by the return.
    /// - MUST return [`InvalidInput`](super::PortErrorKind::InvalidInput) for an address the
    ///   carrier cannot ship from or to, and MUST NOT buy a label then.
    async fn create_return_label(&self, request: &ReturnLabelRequest) -> PortResult<ReturnLabel>;

    /// Checks whether the carrier can deliver to `address`.
    ///
    /// # Behavior
    ///
    /// - An undeliverable address MUST be `Ok(Invalid)`, MUST NOT be an error.
    /// - A `Corrected` suggestion MUST differ from `address` (otherwise the verdict is `Valid`).
    /// - Validating a `Corrected` suggestion MUST answer `Valid`.
    async fn validate_address(&self, address: &Address) -> PortResult<AddressValidation>;
}

/// A shared carrier.
pub type CarrierRef = Arc<dyn Carrier>;

/// Conveniences over any [`Carrier`]; adapters never implement this.
#[async_trait]
pub trait CarrierExt: Carrier {
    /// The tracking of `shipment`, or `None` when it has no tracking number yet.
    async fn track_shipment(&self, shipment: &Shipment) -> PortResult<Option<Tracking>> {
        match &shipment.tracking_number {
            Some(number) => self.track(&shipment.carrier, number).await,
            None => Ok(None),
        }
    }
}

impl<T: Carrier + ?Sized> CarrierExt for T {}
