//! An in-memory carrier.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use order_agent_core::domain::{Address, TrackingNumber, TrackingStatus};
use order_agent_core::ports::carrier::ops;
use order_agent_core::ports::{
    AddressValidation, Carrier, PortError, PortResult, ReturnLabel, ReturnLabelRequest, Tracking,
};
use serde_json::json;

use super::faults::{instrumented, lock, Instrumentation};

#[derive(Debug, Default)]
struct CarrierState {
    tracking: BTreeMap<(String, TrackingNumber), Tracking>,
    verdicts: Vec<(Address, AddressValidation)>,
    labels: Vec<(ReturnLabelRequest, ReturnLabel)>,
}

/// A carrier with tracking seeded by the test, labels numbered in order, and address checks by
/// simple rules (or verdicts the test sets).
///
/// Address rules, unless a verdict was set for the address: a blank street, postcode, city or a
/// country code that is not two letters is invalid; surrounding whitespace or a lower-case country
/// code is corrected; anything else is valid.
#[derive(Debug, Default)]
pub struct FakeCarrier {
    state: Mutex<CarrierState>,
    instrumentation: Instrumentation,
}

instrumented!(FakeCarrier);

impl FakeCarrier {
    /// A carrier that knows no parcels.
    pub fn new() -> FakeCarrier {
        FakeCarrier::default()
    }

    /// Adds parcels; their events are stored as given, so a test may seed them in any order and
    /// the fake sorts them when tracked.
    #[must_use]
    pub fn with_tracking(self, tracking: impl IntoIterator<Item = Tracking>) -> FakeCarrier {
        for t in tracking {
            self.set_tracking(t);
        }
        self
    }

    /// Adds or replaces a parcel's tracking, e.g. to simulate a new scan.
    pub fn set_tracking(&self, tracking: Tracking) {
        lock(&self.state).tracking.insert(
            (tracking.carrier.clone(), tracking.tracking_number.clone()),
            tracking,
        );
    }

    /// Answers `verdict` when `address` is validated.
    #[must_use]
    pub fn with_address_verdict(self, address: Address, verdict: AddressValidation) -> FakeCarrier {
        lock(&self.state).verdicts.push((address, verdict));
        self
    }

    /// The labels bought, in order, with their requests.
    pub fn labels(&self) -> Vec<(ReturnLabelRequest, ReturnLabel)> {
        lock(&self.state).labels.clone()
    }

    fn verdict(&self, address: &Address) -> AddressValidation {
        let state = lock(&self.state);
        if let Some((_, verdict)) = state.verdicts.iter().find(|(a, _)| a == address) {
            return verdict.clone();
        }
        rule_verdict(address)
    }
}

fn rule_verdict(address: &Address) -> AddressValidation {
    let blank = |s: &str| s.trim().is_empty();
    if blank(&address.line1) || blank(&address.postcode) || blank(&address.city) {
        return AddressValidation::Invalid {
            reason: "street, postcode and city are required".to_owned(),
        };
    }
    let country = address.country.trim();
    if country.len() != 2 || !country.chars().all(|c| c.is_ascii_alphabetic()) {
        return AddressValidation::Invalid {
            reason: format!("`{}` is not a country code", address.country),
        };
    }
    let trim_opt = |s: &Option<String>| s.as_ref().map(|v| v.trim().to_owned());
    let corrected = Address {
        name: address.name.trim().to_owned(),
        line1: address.line1.trim().to_owned(),
        line2: trim_opt(&address.line2),
        postcode: address.postcode.trim().to_owned(),
        city: address.city.trim().to_owned(),
        region: trim_opt(&address.region),
        country: country.to_ascii_uppercase(),
    };
    if corrected == *address {
        AddressValidation::Valid
    } else {
        AddressValidation::Corrected {
            suggestion: corrected,
        }
    }
}

#[async_trait]
impl Carrier for FakeCarrier {
    async fn track(
        &self,
        carrier: &str,
        tracking_number: &TrackingNumber,
    ) -> PortResult<Option<Tracking>> {
        self.instrumentation
            .call(
                ops::TRACK,
                json!({ "carrier": carrier, "tracking_number": tracking_number }),
                |_| {
                    let state = lock(&self.state);
                    let Some(found) = state
                        .tracking
                        .get(&(carrier.to_owned(), tracking_number.clone()))
                    else {
                        return Ok(None);
                    };
                    let mut tracking = found.clone();
                    tracking.events.sort_by_key(|e| e.at);
                    if let Some(last) = tracking.events.last() {
                        tracking.status = last.status;
                    }
                    Ok(Some(tracking))
                },
            )
            .await
    }

    async fn create_return_label(&self, request: &ReturnLabelRequest) -> PortResult<ReturnLabel> {
        self.instrumentation
            .call(ops::CREATE_RETURN_LABEL, request, |_| {
                for (which, address) in [("from", &request.from), ("to", &request.to)] {
                    if let AddressValidation::Invalid { reason } = self.verdict(address) {
                        return Err(PortError::invalid_input(ops::CREATE_RETURN_LABEL, reason)
                            .with_context("address", which));
                    }
                }
                let mut state = lock(&self.state);
                let n = state.labels.len() + 1;
                let tracking_number = TrackingNumber::new(format!("99.00.{n:06}"));
                let label = ReturnLabel {
                    label_id: format!("lbl_{n}"),
                    carrier: request.carrier.clone(),
                    tracking_number: tracking_number.clone(),
                    label_url: format!("https://labels.example.invalid/lbl_{n}.pdf"),
                };
                state.tracking.insert(
                    (request.carrier.clone(), tracking_number.clone()),
                    Tracking {
                        carrier: request.carrier.clone(),
                        tracking_number,
                        status: TrackingStatus::LabelCreated,
                        events: Vec::new(),
                        eta: None,
                    },
                );
                state.labels.push((request.clone(), label.clone()));
                Ok(label)
            })
            .await
    }

    async fn validate_address(&self, address: &Address) -> PortResult<AddressValidation> {
        self.instrumentation
            .call(
                ops::VALIDATE_ADDRESS,
                address,
                |_| Ok(self.verdict(address)),
            )
            .await
    }
}
