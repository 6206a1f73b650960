//! What UPS answers: the objects the adapter reads and the error table.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc};
use order_agent_core::domain::{Address, TrackingEvent, TrackingNumber};
use order_agent_core::ports::carrier::{AddressValidation, ReturnLabel, Tracking};
use order_agent_core::ports::{PortError, PortResult};
use serde::Deserialize;

use super::status::normalise;
use crate::http::{status_error, WireResponse};

/// One value or a list of them: UPS answers a single element as an object in older versions.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum OneOrMany<T> {
    Many(Vec<T>),
    One(T),
}

impl<T> OneOrMany<T> {
    fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::Many(v) => v,
            OneOrMany::One(t) => vec![t],
        }
    }
}

impl<T> Default for OneOrMany<T> {
    fn default() -> Self {
        OneOrMany::Many(Vec::new())
    }
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct TokenResponse {
    #[serde(default)]
    pub(crate) access_token: String,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

impl TokenResponse {
    /// How long the token lives; UPS sends `expires_in` as a string of seconds.
    pub(crate) fn lifetime(&self) -> Duration {
        let seconds = match &self.expires_in {
            Some(serde_json::Value::String(s)) => s.trim().parse::<u64>().ok(),
            Some(serde_json::Value::Number(n)) => n.as_u64(),
            _ => None,
        };
        // Without a lifetime the token is used for one minute, then fetched again.
        Duration::from_secs(seconds.unwrap_or(60).min(86_400))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TrackApiResponse {
    #[serde(default)]
    track_response: Option<TrackResponse>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct TrackResponse {
    #[serde(default)]
    shipment: Vec<Shipment>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct Shipment {
    #[serde(default)]
    package: Vec<Package>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Package {
    #[serde(default)]
    tracking_number: Option<String>,
    #[serde(default)]
    activity: Vec<Activity>,
    #[serde(default)]
    current_status: Option<Status>,
    #[serde(default)]
    delivery_date: Vec<DeliveryDate>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Activity {
    #[serde(default)]
    date: String,
    #[serde(default)]
    time: String,
    #[serde(default)]
    gmt_offset: Option<String>,
    #[serde(default)]
    location: Option<Location>,
    #[serde(default)]
    status: Option<Status>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    status_code: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct Location {
    #[serde(default)]
    address: Option<TrackAddress>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TrackAddress {
    #[serde(default)]
    city: Option<String>,
    #[serde(default)]
    state_province: Option<String>,
    #[serde(default)]
    country_code: Option<String>,
    #[serde(default)]
    country: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct DeliveryDate {
    #[serde(default)]
    date: String,
    #[serde(default, rename = "type")]
    kind: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ShipResponseWrapper {
    shipment_response: ShipmentResponse,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ShipmentResponse {
    #[serde(default)]
    shipment_results: Option<ShipmentResults>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ShipmentResults {
    #[serde(default)]
    shipment_identification_number: Option<String>,
    #[serde(default)]
    package_results: OneOrMany<PackageResult>,
    #[serde(default, rename = "LabelURL")]
    label_url: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PackageResult {
    #[serde(default)]
    tracking_number: String,
    #[serde(default)]
    shipping_label: Option<ShippingLabel>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ShippingLabel {
    #[serde(default)]
    image_format: Option<ImageFormat>,
    #[serde(default)]
    graphic_image: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ImageFormat {
    #[serde(default)]
    code: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct XavResponseWrapper {
    #[serde(rename = "XAVResponse")]
    xav_response: XavResponse,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct XavResponse {
    #[serde(default)]
    valid_address_indicator: Option<serde_json::Value>,
    #[serde(default)]
    ambiguous_address_indicator: Option<serde_json::Value>,
    #[serde(default)]
    no_candidates_indicator: Option<serde_json::Value>,
    #[serde(default)]
    candidate: OneOrMany<Candidate>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Candidate {
    #[serde(default)]
    address_key_format: Option<AddressKeyFormat>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AddressKeyFormat {
    #[serde(default)]
    address_line: OneOrMany<String>,
    #[serde(default)]
    political_division2: Option<String>,
    #[serde(default)]
    political_division1: Option<String>,
    #[serde(default)]
    postcode_primary_low: Option<String>,
    #[serde(default)]
    country_code: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    response: ErrorResponse,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct ErrorResponse {
    #[serde(default)]
    errors: Vec<UpsError>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct UpsError {
    #[serde(default)]
    code: String,
}

/// Parses a 2xx body.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(
    op: &'static str,
    response: &WireResponse,
) -> PortResult<T> {
    crate::http::parse_json("ups", op, response)
}

/// The one table from UPS's status to a port error kind; UPS's error code goes in the context.
pub(crate) fn error(op: &'static str, response: &WireResponse) -> PortError {
    let body: ErrorBody = serde_json::from_slice(&response.body).unwrap_or_default();
    let code = body
        .response
        .errors
        .into_iter()
        .map(|e| e.code)
        .find(|c| !c.is_empty());
    let err = match response.status {
        429 => PortError::rate_limited(op, response.retry_after()),
        401 => PortError::unauthorized(op, "ups refused the credentials"),
        403 => PortError::unauthorized(op, "ups blocked this account"),
        404 => PortError::not_found(op, "not found"),
        400 | 422 => PortError::invalid_input(op, "request refused by ups"),
        500..=599 => PortError::unavailable(op, "ups server error"),
        _ => status_error(op, response),
    };
    let err = if err.context_value("status").is_some() {
        err
    } else {
        err.with_context("status", response.status)
    };
    match code {
        Some(code) => err.with_context("ups_code", code),
        None => err,
    }
}

/// A GMT offset such as `-05:00` or `+0100`.
fn parse_offset(text: &str) -> Option<FixedOffset> {
    let text = text.trim();
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let hours: i32 = digits.get(..2)?.parse().ok()?;
    let minutes: i32 = digits.get(2..)?.parse().ok()?;
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

fn event_time(op: &'static str, activity: &Activity) -> PortResult<DateTime<Utc>> {
    let bad = || {
        PortError::unexpected(op, "unreadable time in the tracking")
            .with_context("date", &activity.date)
            .with_context("time", &activity.time)
    };
    let date = NaiveDate::parse_from_str(activity.date.trim(), "%Y%m%d").map_err(|_| bad())?;
    let time_text = format!("{:0>6}", activity.time.trim());
    let time = if activity.time.trim().is_empty() {
        NaiveTime::MIN
    } else {
        NaiveTime::parse_from_str(&time_text, "%H%M%S").map_err(|_| bad())?
    };
    let local = NaiveDateTime::new(date, time);
    // The local time plus its GMT offset, when UPS gives one; otherwise the local time as UTC.
    let offset = activity
        .gmt_offset
        .as_deref()
        .and_then(parse_offset)
        .unwrap_or(Utc.fix());
    offset
        .from_local_datetime(&local)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(bad)
}

impl TrackApiResponse {
    /// The tracking of the package numbered `number` (or the first one), `None` when UPS knows
    /// no package or no scan for it.
    pub(crate) fn into_tracking(
        self,
        op: &'static str,
        carrier: &str,
        number: &TrackingNumber,
    ) -> PortResult<Option<Tracking>> {
        let packages: Vec<Package> = self
            .track_response
            .unwrap_or_default()
            .shipment
            .into_iter()
            .flat_map(|s| s.package)
            .collect();
        let wanted = number.as_str().trim();
        let index = packages
            .iter()
            .position(|p| {
                p.tracking_number
                    .as_deref()
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case(wanted))
            })
            .unwrap_or(0);
        let Some(package) = packages.into_iter().nth(index) else {
            return Ok(None);
        };
        if package.activity.is_empty() && package.current_status.is_none() {
            return Ok(None);
        }
        let mut events = Vec::with_capacity(package.activity.len());
        for activity in &package.activity {
            let status = activity.status.clone().unwrap_or_default();
            let location = activity
                .location
                .as_ref()
                .and_then(|l| l.address.as_ref())
                .map(|a| {
                    [
                        a.city.clone(),
                        a.state_province.clone(),
                        a.country_code.clone().or_else(|| a.country.clone()),
                    ]
                    .into_iter()
                    .flatten()
                    .filter(|s| !s.trim().is_empty())
                    .collect::<Vec<_>>()
                    .join(", ")
                })
                .filter(|l| !l.is_empty());
            events.push(TrackingEvent {
                at: event_time(op, activity)?,
                status: normalise(
                    status.kind.as_deref().unwrap_or(""),
                    status.status_code.as_deref(),
                ),
                carrier_code: status
                    .code
                    .clone()
                    .or(status.status_code.clone())
                    .or(status.kind.clone())
                    .unwrap_or_default(),
                description: status
                    .description
                    .clone()
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
                location,
            });
        }
        // UPS lists the most recent activity first; a stable sort keeps same-time scans in order.
        events.reverse();
        events.sort_by_key(|e| e.at);
        let status = match events.last() {
            Some(last) => last.status,
            None => {
                let current = package.current_status.unwrap_or_default();
                normalise(
                    current.kind.as_deref().unwrap_or(""),
                    current.status_code.as_deref(),
                )
            }
        };
        let eta = ["RDD", "SDD"].iter().find_map(|kind| {
            package
                .delivery_date
                .iter()
                .find(|d| d.kind.eq_ignore_ascii_case(kind))
                .and_then(|d| NaiveDate::parse_from_str(d.date.trim(), "%Y%m%d").ok())
        });
        Ok(Some(Tracking {
            carrier: carrier.to_owned(),
            tracking_number: number.clone(),
            status,
            events,
            eta,
        }))
    }
}

impl ShipResponseWrapper {
    /// The label: the shipment id, the first package's tracking number, and the label's URL
    /// (UPS's `LabelURL` when it sent one, else the base64 label image as a `data:` URL).
    pub(crate) fn into_label(self, op: &'static str, carrier: &str) -> PortResult<ReturnLabel> {
        let results = self.shipment_response.shipment_results.unwrap_or_default();
        let package = results
            .package_results
            .into_vec()
            .into_iter()
            .next()
            .unwrap_or_default();
        let tracking = package.tracking_number.trim().to_owned();
        let label_id = results
            .shipment_identification_number
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| tracking.clone());
        let url = match results.label_url.filter(|u| !u.trim().is_empty()) {
            Some(url) => url,
            None => {
                let label = package.shipping_label.unwrap_or_default();
                let image = label.graphic_image.trim();
                if image.is_empty() || STANDARD.decode(image).is_err() {
                    String::new()
                } else {
                    let code = label.image_format.unwrap_or_default().code;
                    let mime = match code.to_ascii_uppercase().as_str() {
                        "PNG" => "image/png",
                        "PDF" => "application/pdf",
                        "GIF" => "image/gif",
                        _ => "application/octet-stream",
                    };
                    format!("data:{mime};base64,{image}")
                }
            }
        };
        if label_id.is_empty() || tracking.is_empty() || url.is_empty() {
            return Err(PortError::unexpected(
                op,
                "label without shipment id, tracking number or label image",
            ));
        }
        Ok(ReturnLabel {
            label_id,
            carrier: carrier.to_owned(),
            tracking_number: TrackingNumber::new(tracking),
            label_url: url,
        })
    }
}

impl XavResponseWrapper {
    /// UPS's verdict: a valid address whose candidate differs is corrected; an ambiguous one
    /// with a candidate is corrected to the first candidate; no candidate is undeliverable.
    pub(crate) fn into_validation(
        self,
        op: &'static str,
        address: &Address,
    ) -> PortResult<AddressValidation> {
        let xav = self.xav_response;
        let candidate = xav
            .candidate
            .into_vec()
            .into_iter()
            .find_map(|c| c.address_key_format);
        let suggestion = candidate.map(|key| {
            let mut lines = key
                .address_line
                .into_vec()
                .into_iter()
                .map(|l| l.trim().to_owned())
                .filter(|l| !l.is_empty());
            let line1 = lines.next().unwrap_or_default();
            let line2 = lines.next();
            let optional =
                |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
            Address {
                name: address.name.clone(),
                line1,
                line2,
                postcode: key
                    .postcode_primary_low
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
                city: key
                    .political_division2
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
                region: optional(key.political_division1),
                country: key.country_code.unwrap_or_default().trim().to_owned(),
            }
        });
        if xav.no_candidates_indicator.is_some() {
            return Ok(AddressValidation::Invalid {
                reason: "ups knows no deliverable address like this one".to_owned(),
            });
        }
        let found =
            xav.valid_address_indicator.is_some() || xav.ambiguous_address_indicator.is_some();
        match (found, suggestion) {
            (true, Some(suggestion)) if suggestion == *address => Ok(AddressValidation::Valid),
            (true, Some(suggestion)) => Ok(AddressValidation::Corrected { suggestion }),
            (true, None) if xav.valid_address_indicator.is_some() => Ok(AddressValidation::Valid),
            (true, None) => Ok(AddressValidation::Invalid {
                reason: "ups found the address ambiguous and offered no candidate".to_owned(),
            }),
            (false, _) => Err(PortError::unexpected(
                op,
                "address validation answer without a verdict",
            )),
        }
    }
}
