//! What ShipEngine answers: the objects the adapter reads and the error table.

use chrono::{DateTime, NaiveDate, Utc};
use order_agent_core::domain::{Address, TrackingEvent, TrackingNumber};
use order_agent_core::ports::carrier::{AddressValidation, ReturnLabel, Tracking};
use order_agent_core::ports::{PortError, PortResult};
use serde::Deserialize;

use super::status::normalise;
use crate::http::{status_error, WireResponse};

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct TrackingInfo {
    #[serde(default)]
    status_code: Option<String>,
    #[serde(default)]
    status_detail_code: Option<String>,
    #[serde(default)]
    estimated_delivery_date: Option<String>,
    #[serde(default)]
    events: Vec<TrackEvent>,
}

#[derive(Debug, Clone, Deserialize)]
struct TrackEvent {
    occurred_at: String,
    #[serde(default)]
    status_code: Option<String>,
    #[serde(default)]
    status_detail_code: Option<String>,
    #[serde(default)]
    carrier_status_code: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    carrier_status_description: Option<String>,
    #[serde(default)]
    city_locality: Option<String>,
    #[serde(default)]
    country_code: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct LabelInfo {
    #[serde(default)]
    label_id: String,
    #[serde(default)]
    tracking_number: String,
    #[serde(default)]
    label_download: Option<LabelDownload>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct LabelDownload {
    #[serde(default)]
    pdf: Option<String>,
    #[serde(default)]
    href: Option<String>,
    #[serde(default)]
    png: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ValidationResult {
    status: String,
    #[serde(default)]
    matched_address: Option<SeAddress>,
    #[serde(default)]
    messages: Vec<SeMessage>,
}

#[derive(Debug, Clone, Deserialize)]
struct SeAddress {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    address_line1: Option<String>,
    #[serde(default)]
    address_line2: Option<String>,
    #[serde(default)]
    city_locality: Option<String>,
    #[serde(default)]
    state_province: Option<String>,
    #[serde(default)]
    postal_code: Option<String>,
    #[serde(default)]
    country_code: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct SeMessage {
    #[serde(default)]
    message: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<SeError>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct SeError {
    #[serde(default)]
    error_type: String,
    #[serde(default)]
    error_code: String,
}

/// Parses a 2xx body.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(
    op: &'static str,
    response: &WireResponse,
) -> PortResult<T> {
    crate::http::parse_json("shipengine", op, response)
}

/// The one table from ShipEngine's status and error type to a port error kind.
pub(crate) fn error(op: &'static str, response: &WireResponse) -> PortError {
    let body: ErrorBody = serde_json::from_slice(&response.body).unwrap_or_default();
    let first = body.errors.into_iter().next().unwrap_or_default();
    let err = match (response.status, first.error_type.as_str()) {
        (429, _) => PortError::rate_limited(op, response.retry_after()),
        (401 | 403, _) | (_, "security") => PortError::unauthorized(op, "api key refused"),
        (404, _) => PortError::not_found(op, "not found"),
        (400..=499, "business_rules" | "account_status" | "wallet") => {
            PortError::rejected(op, "refused by shipengine")
        }
        (400..=499, _) => PortError::invalid_input(op, "request refused by shipengine"),
        (500..=599, _) | (_, "system") => PortError::unavailable(op, "shipengine server error"),
        _ => status_error(op, response),
    };
    let mut err = if err.context_value("status").is_some() {
        err
    } else {
        err.with_context("status", response.status)
    };
    for (key, value) in [
        ("shipengine_type", &first.error_type),
        ("shipengine_code", &first.error_code),
    ] {
        if !value.is_empty() {
            err = err.with_context(key, value);
        }
    }
    err
}

fn time(op: &'static str, text: &str) -> PortResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            PortError::unexpected(op, "unreadable time in the tracking")
                .with_context("time", text)
                .with_source(e)
        })
}

impl TrackingInfo {
    /// The tracking, or `None` when ShipEngine does not know the parcel (`UN` or `NY` without a
    /// single scan).
    pub(crate) fn into_tracking(
        self,
        op: &'static str,
        carrier: &str,
        number: &TrackingNumber,
    ) -> PortResult<Option<Tracking>> {
        let top = self.status_code.as_deref().unwrap_or("UN");
        if self.events.is_empty() && matches!(top, "UN" | "NY") {
            return Ok(None);
        }
        let mut events = Vec::with_capacity(self.events.len());
        for e in self.events {
            let status = normalise(
                e.status_code.as_deref().unwrap_or(""),
                e.status_detail_code.as_deref(),
            );
            let location = [e.city_locality, e.country_code]
                .into_iter()
                .flatten()
                .filter(|s| !s.trim().is_empty())
                .collect::<Vec<_>>()
                .join(", ");
            events.push(TrackingEvent {
                at: time(op, &e.occurred_at)?,
                status,
                carrier_code: e
                    .carrier_status_code
                    .or(e.status_detail_code)
                    .or(e.status_code)
                    .unwrap_or_default(),
                description: e
                    .description
                    .or(e.carrier_status_description)
                    .unwrap_or_default(),
                location: (!location.is_empty()).then_some(location),
            });
        }
        // ShipEngine lists newest first; a stable sort keeps same-time scans in scan order.
        events.reverse();
        events.sort_by_key(|e| e.at);
        let status = match events.last() {
            Some(last) => last.status,
            None => normalise(top, self.status_detail_code.as_deref()),
        };
        let eta = self
            .estimated_delivery_date
            .as_deref()
            .and_then(|d| d.get(..10))
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
        Ok(Some(Tracking {
            carrier: carrier.to_owned(),
            tracking_number: number.clone(),
            status,
            events,
            eta,
        }))
    }
}

impl LabelInfo {
    pub(crate) fn into_label(self, op: &'static str, carrier: &str) -> PortResult<ReturnLabel> {
        let download = self.label_download.unwrap_or_default();
        let url = download
            .pdf
            .or(download.href)
            .or(download.png)
            .unwrap_or_default();
        if self.label_id.trim().is_empty()
            || self.tracking_number.trim().is_empty()
            || url.trim().is_empty()
        {
            return Err(PortError::unexpected(
                op,
                "label without id, tracking number or download url",
            ));
        }
        Ok(ReturnLabel {
            label_id: self.label_id,
            carrier: carrier.to_owned(),
            tracking_number: TrackingNumber::new(self.tracking_number),
            label_url: url,
        })
    }
}

impl ValidationResult {
    /// ShipEngine's verdict: `verified`/`warning` are deliverable (corrected when the matched
    /// address differs), `error` is not, and `unverified` (the carrier could not check) is
    /// treated as not deliverable so a person looks at it.
    pub(crate) fn into_validation(
        self,
        op: &'static str,
        address: &Address,
    ) -> PortResult<AddressValidation> {
        let reason = || {
            self.messages
                .iter()
                .map(|m| m.message.trim())
                .find(|m| !m.is_empty())
                // The carrier's words can quote the address.
                .map(|m| order_agent_core::redact::redact(m).into_owned())
        };
        match self.status.as_str() {
            "verified" | "warning" => {
                let Some(matched) = &self.matched_address else {
                    return Ok(AddressValidation::Valid);
                };
                let text = |v: &Option<String>| v.clone().unwrap_or_default();
                let optional = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
                let suggestion = Address {
                    name: matched.name.clone().unwrap_or_else(|| address.name.clone()),
                    line1: text(&matched.address_line1),
                    line2: optional(&matched.address_line2),
                    postcode: text(&matched.postal_code),
                    city: text(&matched.city_locality),
                    region: optional(&matched.state_province),
                    country: text(&matched.country_code),
                };
                if suggestion == *address {
                    Ok(AddressValidation::Valid)
                } else {
                    Ok(AddressValidation::Corrected { suggestion })
                }
            }
            "error" => Ok(AddressValidation::Invalid {
                reason: reason()
                    .unwrap_or_else(|| "the carrier cannot deliver to this address".to_owned()),
            }),
            "unverified" => Ok(AddressValidation::Invalid {
                reason: reason()
                    .unwrap_or_else(|| "the carrier could not verify this address".to_owned()),
            }),
            other => Err(
                PortError::unexpected(op, "unknown address validation status")
                    .with_context("status", other),
            ),
        }
    }
}
