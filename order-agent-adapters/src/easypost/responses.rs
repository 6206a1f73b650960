//! What EasyPost answers: the objects the adapter reads and the error table.

use chrono::{DateTime, NaiveDate, Utc};
use order_agent_core::domain::{Address, TrackingEvent, TrackingNumber};
use order_agent_core::ports::carrier::{AddressValidation, ReturnLabel, Tracking};
use order_agent_core::ports::{PortError, PortResult};
use serde::Deserialize;

use super::status::normalise;
use super::ReturnService;
use crate::http::{status_error, WireResponse};

/// A tracker (`trk_...`).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Tracker {
    #[serde(default)]
    tracking_code: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    status_detail: Option<String>,
    #[serde(default)]
    est_delivery_date: Option<String>,
    #[serde(default)]
    tracking_details: Vec<TrackingDetail>,
}

#[derive(Debug, Clone, Deserialize)]
struct TrackingDetail {
    #[serde(default)]
    datetime: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    status_detail: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    carrier_code: Option<String>,
    #[serde(default)]
    tracking_location: Option<TrackingLocation>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct TrackingLocation {
    #[serde(default)]
    city: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    country: Option<String>,
}

/// A shipment (`shp_...`) with its rates and, once bought, its label.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Shipment {
    #[serde(default)]
    pub(crate) id: String,
    #[serde(default)]
    is_return: Option<bool>,
    #[serde(default)]
    rates: Vec<Rate>,
    #[serde(default)]
    postage_label: Option<PostageLabel>,
    #[serde(default)]
    tracking_code: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Rate {
    #[serde(default)]
    id: String,
    #[serde(default)]
    carrier: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    rate: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct PostageLabel {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    label_url: Option<String>,
    #[serde(default)]
    label_pdf_url: Option<String>,
}

/// An address with its verifications.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct VerifiedAddress {
    #[serde(default)]
    street1: Option<String>,
    #[serde(default)]
    street2: Option<String>,
    #[serde(default)]
    city: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    zip: Option<String>,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    verifications: Option<Verifications>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct Verifications {
    #[serde(default)]
    delivery: Option<Verification>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct Verification {
    #[serde(default)]
    success: bool,
    #[serde(default)]
    errors: Vec<FieldError>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct FieldError {
    #[serde(default)]
    message: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: ErrorObject,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct ErrorObject {
    #[serde(default)]
    code: String,
}

/// Parses a 2xx body.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(
    op: &'static str,
    response: &WireResponse,
) -> PortResult<T> {
    crate::http::parse_json("easypost", op, response)
}

/// The one table from EasyPost's status and error code to a port error kind.
pub(crate) fn error(op: &'static str, response: &WireResponse) -> PortError {
    let body: ErrorBody = serde_json::from_slice(&response.body).unwrap_or_default();
    let code = body.error.code;
    let err = match (response.status, code.as_str()) {
        (429, _) => PortError::rate_limited(op, response.retry_after()),
        (401 | 403, _) => PortError::unauthorized(op, "easypost refused the api key"),
        (404, _) => PortError::not_found(op, "not found"),
        (402, _) => PortError::rejected(op, "easypost refused: payment required"),
        (400..=499, c) if c.contains("POSTAGE") || c.contains("PAYMENT") || c.contains("BUY") => {
            PortError::rejected(op, "refused by easypost")
        }
        (409, _) => PortError::conflict(op, "conflicts with another request"),
        (400..=499, _) => PortError::invalid_input(op, "request refused by easypost"),
        (500..=599, _) => PortError::unavailable(op, "easypost server error"),
        _ => status_error(op, response),
    };
    let err = if err.context_value("status").is_some() {
        err
    } else {
        err.with_context("status", response.status)
    };
    if code.is_empty() {
        err
    } else {
        err.with_context("easypost_code", code)
    }
}

fn time(op: &'static str, text: &str) -> PortResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            PortError::unexpected(op, "unreadable time in the tracking")
                .with_context("time", text)
                .with_source(e)
        })
}

impl Tracker {
    /// The tracking, or `None` when EasyPost knows nothing of the parcel yet (status `unknown`
    /// without a single scan).
    pub(crate) fn into_tracking(
        self,
        op: &'static str,
        carrier: &str,
        number: Option<&TrackingNumber>,
    ) -> PortResult<Option<Tracking>> {
        let top = self.status.as_deref().unwrap_or("unknown");
        if self.tracking_details.is_empty() && top.eq_ignore_ascii_case("unknown") {
            return Ok(None);
        }
        let mut events = Vec::with_capacity(self.tracking_details.len());
        for d in self.tracking_details {
            let location = d
                .tracking_location
                .map(|l| {
                    [l.city, l.state, l.country]
                        .into_iter()
                        .flatten()
                        .filter(|s| !s.trim().is_empty())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .filter(|l| !l.is_empty());
            events.push(TrackingEvent {
                at: time(op, &d.datetime)?,
                status: normalise(
                    d.status.as_deref().unwrap_or(""),
                    d.status_detail.as_deref(),
                ),
                carrier_code: d
                    .carrier_code
                    .filter(|c| !c.is_empty())
                    .or(d.status_detail)
                    .or(d.status)
                    .unwrap_or_default(),
                description: d.message.or(d.description).unwrap_or_default(),
                location,
            });
        }
        // EasyPost lists oldest first already; sorting keeps that promise for any answer.
        events.sort_by_key(|e| e.at);
        let status = match events.last() {
            Some(last) => last.status,
            None => normalise(top, self.status_detail.as_deref()),
        };
        let eta = self
            .est_delivery_date
            .as_deref()
            .and_then(|d| d.get(..10))
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
        let tracking_number = match number {
            Some(n) => n.clone(),
            None if !self.tracking_code.trim().is_empty() => {
                TrackingNumber::new(self.tracking_code.trim())
            }
            None => return Err(PortError::unexpected(op, "tracker without a tracking code")),
        };
        Ok(Some(Tracking {
            carrier: carrier.to_owned(),
            tracking_number,
            status,
            events,
            eta,
        }))
    }
}

/// A decimal amount in millionths, for ordering rates without floats; `None` when unreadable.
fn micros(text: &str) -> Option<i128> {
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    if !whole.chars().all(|c| c.is_ascii_digit())
        || !fraction.chars().all(|c| c.is_ascii_digit())
        || fraction.len() > 6
    {
        return None;
    }
    let whole: i128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let fraction: i128 = format!("{fraction:0<6}").parse().ok()?;
    Some(whole * 1_000_000 + fraction)
}

impl Shipment {
    /// Whether the label is already bought.
    pub(crate) fn is_bought(&self) -> bool {
        self.postage_label
            .as_ref()
            .is_some_and(|l| l.label_url.as_deref().is_some_and(|u| !u.trim().is_empty()))
    }

    /// Whether EasyPost created it as a return.
    pub(crate) fn is_return(&self) -> bool {
        self.is_return.unwrap_or(false)
    }

    /// The cheapest rate of the configured carrier (and service, when one is configured).
    pub(crate) fn cheapest_rate(&self, service: &ReturnService) -> Option<String> {
        self.rates
            .iter()
            .filter(|r| r.carrier.eq_ignore_ascii_case(service.carrier.trim()))
            .filter(|r| {
                service
                    .service
                    .as_deref()
                    .is_none_or(|s| r.service.eq_ignore_ascii_case(s.trim()))
            })
            .filter_map(|r| micros(&r.rate).map(|amount| (amount, r)))
            .min_by_key(|(amount, _)| *amount)
            .map(|(_, r)| r.id.clone())
    }

    /// The bought label.
    pub(crate) fn into_label(self, op: &'static str, carrier: &str) -> PortResult<ReturnLabel> {
        let label = self.postage_label.unwrap_or_default();
        let url = label
            .label_url
            .filter(|u| !u.trim().is_empty())
            .or(label.label_pdf_url)
            .unwrap_or_default();
        let tracking = self.tracking_code.unwrap_or_default();
        let label_id = label.id.filter(|i| !i.trim().is_empty()).unwrap_or(self.id);
        if label_id.trim().is_empty() || tracking.trim().is_empty() || url.trim().is_empty() {
            return Err(PortError::unexpected(
                op,
                "label without id, tracking code or label url",
            ));
        }
        Ok(ReturnLabel {
            label_id,
            carrier: carrier.to_owned(),
            tracking_number: TrackingNumber::new(tracking.trim()),
            label_url: url,
        })
    }
}

impl VerifiedAddress {
    /// EasyPost's delivery verification: success is deliverable (corrected when EasyPost's
    /// standardised address differs), failure is not, with EasyPost's first error as the reason.
    pub(crate) fn into_validation(
        self,
        op: &'static str,
        address: &Address,
    ) -> PortResult<AddressValidation> {
        let Some(delivery) = self.verifications.and_then(|v| v.delivery) else {
            return Err(PortError::unexpected(
                op,
                "address answer without a delivery verification",
            ));
        };
        if !delivery.success {
            let reason = delivery
                .errors
                .iter()
                .map(|e| e.message.trim())
                .find(|m| !m.is_empty())
                // The carrier's words can quote the address.
                .map(|m| order_agent_core::redact::redact(m).into_owned())
                .unwrap_or_else(|| "the carrier cannot deliver to this address".to_owned());
            return Ok(AddressValidation::Invalid { reason });
        }
        let text = |v: Option<String>| v.map(|s| s.trim().to_owned()).unwrap_or_default();
        let optional = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        let suggestion = Address {
            name: address.name.clone(),
            line1: text(self.street1),
            line2: optional(self.street2),
            postcode: text(self.zip),
            city: text(self.city),
            region: optional(self.state),
            country: text(self.country),
        };
        if suggestion == *address {
            Ok(AddressValidation::Valid)
        } else {
            Ok(AddressValidation::Corrected { suggestion })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::micros;

    #[test]
    fn rates_order_as_decimals() {
        assert_eq!(micros("5.5"), Some(5_500_000));
        assert_eq!(micros("12.34"), Some(12_340_000));
        assert_eq!(micros("7"), Some(7_000_000));
        assert!(micros("12.34") > micros("5.50"));
        assert_eq!(micros("-1"), None);
        assert_eq!(micros("1e3"), None);
        assert_eq!(micros(""), None);
    }
}
