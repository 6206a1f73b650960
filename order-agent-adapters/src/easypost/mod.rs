//! [EasyPost](https://docs.easypost.com/) as the [`Carrier`] port: many carriers behind one API.
//! EasyPost publishes no OpenAPI file; the wire format follows its API reference and client
//! libraries, and the webhook event shape the vectors in `../shared/specs/webhook-vectors`.
//!
//! - Authentication: HTTP basic auth with the API key as the user name.
//! - [`Carrier::track`]: `POST /v2/trackers` with `tracker[tracking_code]` (and
//!   `tracker[carrier]` when [`EasyPostConfig::carrier_names`] names the slug) creates the tracker
//!   or returns the existing one (EasyPost deduplicates trackers), with its scans;
//!   [`EasyPostCarrier::track_by_id`] reads a known tracker with `GET /v2/trackers/{id}`.
//!   `status` and `status_detail` map through the table in [`status`]; `tracking_details` come
//!   oldest first; the ETA is `est_delivery_date`. A tracker with status `unknown` and no scan
//!   (or a 404) is `None`.
//! - [`Carrier::create_return_label`]: first `GET /v2/shipments/{reference}` with the return id
//!   as the reference (EasyPost accepts a reference in place of an id): a return shipment already
//!   bought for this return is answered as is, one created but not bought is bought. Otherwise
//!   `POST /v2/shipments` with `is_return: true` and `reference` = the return id, then
//!   `POST /v2/shipments/{id}/buy` with the cheapest rate of the carrier (and service) configured
//!   for the slug in [`EasyPostConfig::return_services`]. Limits of this idempotency: EasyPost
//!   does not enforce unique references, two concurrent calls for one return can both create
//!   (and buy) a shipment, and a failed lookup (other than 404) fails the call rather than risk
//!   a second label; the shell's idempotency record keyed by the return remains the guard the
//!   port asks for. Incomplete addresses are refused before anything is created.
//! - [`Carrier::validate_address`]: `POST /v2/addresses` with `verify: ["delivery"]`;
//!   `verifications.delivery.success` decides, EasyPost's standardised address is the correction,
//!   its first error message the reason.
//! - Webhooks: [`tracking_from_event`] turns a verified `tracker.updated` (or `tracker.created`)
//!   event body (see `webhooks::easypost`) into a [`Tracking`] through the same table.
//!
//! Not covered: customs forms (international returns that need them fail with EasyPost's error),
//! insurance, refunds of unused labels, batch trackers, carrier accounts selection beyond the
//! carrier and service names.
//!
//! Rate limits: EasyPost limits by load for buying and rating (no published figure) and by a
//! fixed [`PUBLISHED_INDEX_RATE_PER_SECOND`] on list (index) endpoints; over a limit it answers
//! 429, mapped to `RateLimited`. Errors map to kinds in one table; retries, rate limiting and
//! circuit breaking are the `resilience` wrappers' job.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use order_agent_core::domain::{Address, TrackingNumber};
use order_agent_core::ports::carrier::{
    ops, AddressValidation, ReturnLabel, ReturnLabelRequest, Tracking,
};
use order_agent_core::ports::{Carrier, PortError, PortErrorKind, PortResult};
use secrecy::SecretString;
use serde::Deserialize;

use crate::http::{HttpSender, WireRequest, WireResponse};

pub mod requests;
mod responses;
pub mod status;

use responses::{Shipment, Tracker, VerifiedAddress};

/// EasyPost's API.
pub const DEFAULT_BASE_URL: &str = "https://api.easypost.com";

/// EasyPost's published fixed limit on index (list) endpoints, requests per second; other
/// endpoints are limited dynamically by load.
pub const PUBLISHED_INDEX_RATE_PER_SECOND: u32 = 5;

/// How to reach one EasyPost account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EasyPostConfig {
    /// The API key (production `EZAK...` or test `EZTK...`). Never logged.
    pub api_key: SecretString,
    /// The API base URL; [`DEFAULT_BASE_URL`] unless testing against a mock.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// Carrier slug → EasyPost's carrier name (`ups` → `UPS`, `usps` → `USPS`); unnamed slugs
    /// let EasyPost detect the carrier from the tracking code.
    #[serde(default)]
    pub carrier_names: BTreeMap<String, String>,
    /// Carrier slug → the carrier (and service) return labels are bought with.
    #[serde(default)]
    pub return_services: BTreeMap<String, ReturnService>,
    /// The phone number printed on labels: the shop's support line.
    #[serde(default)]
    pub label_phone: String,
    /// The parcel weight when a return does not say, in grams.
    #[serde(default = "default_weight_grams")]
    pub default_weight_grams: u32,
    /// Gives up on one HTTP request after this many milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

/// The carrier and service return labels are bought with.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnService {
    /// EasyPost's carrier name, e.g. `USPS`.
    pub carrier: String,
    /// The service, e.g. `GroundAdvantage`; without one the cheapest of the carrier's rates.
    #[serde(default)]
    pub service: Option<String>,
}

fn default_base_url() -> String {
    DEFAULT_BASE_URL.to_owned()
}

fn default_weight_grams() -> u32 {
    1_000
}

fn default_timeout_ms() -> u64 {
    20_000
}

impl EasyPostConfig {
    /// A configuration for `api_key` against the real API.
    pub fn new(api_key: SecretString) -> EasyPostConfig {
        EasyPostConfig {
            api_key,
            base_url: default_base_url(),
            carrier_names: BTreeMap::new(),
            return_services: BTreeMap::new(),
            label_phone: String::new(),
            default_weight_grams: default_weight_grams(),
            timeout_ms: default_timeout_ms(),
        }
    }

    /// The same configuration against another base URL (a mock, a proxy).
    #[must_use]
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> EasyPostConfig {
        self.base_url = base_url.into();
        self
    }

    /// Names carrier `slug` `name` at EasyPost.
    #[must_use]
    pub fn with_carrier_name(
        mut self,
        slug: impl Into<String>,
        name: impl Into<String>,
    ) -> EasyPostConfig {
        self.carrier_names.insert(slug.into(), name.into());
        self
    }

    /// Buys return labels for carrier `slug` with `service`.
    #[must_use]
    pub fn with_return_service(
        mut self,
        slug: impl Into<String>,
        service: ReturnService,
    ) -> EasyPostConfig {
        self.return_services.insert(slug.into(), service);
        self
    }

    /// The slug of EasyPost carrier `name` (the configured one, else `name` lower-cased).
    pub fn slug_of(&self, name: &str) -> String {
        self.carrier_names
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name.trim()))
            .map(|(slug, _)| slug.clone())
            .unwrap_or_else(|| name.trim().to_ascii_lowercase())
    }
}

/// The tracking a verified EasyPost webhook body carries: `Some` for a `tracker.created` or
/// `tracker.updated` event whose tracker has scans (or a known status), `None` for any other
/// event or a tracker EasyPost knows nothing about yet. The carrier slug comes from
/// [`EasyPostConfig::slug_of`]. Verify the body first (`webhooks::easypost`).
pub fn tracking_from_event(config: &EasyPostConfig, body: &[u8]) -> PortResult<Option<Tracking>> {
    const OP: &str = "carrier.easypost.webhook";
    #[derive(Deserialize)]
    struct Event {
        #[serde(default)]
        description: String,
        #[serde(default)]
        result: Option<serde_json::Value>,
    }
    let event: Event = serde_json::from_slice(body).map_err(|e| {
        PortError::invalid_input(OP, "the webhook body is not an easypost event").with_source(e)
    })?;
    if !matches!(
        event.description.as_str(),
        "tracker.updated" | "tracker.created"
    ) {
        return Ok(None);
    }
    let Some(result) = event.result else {
        return Err(PortError::invalid_input(
            OP,
            "tracker event without a result",
        ));
    };
    let carrier = result
        .get("carrier")
        .and_then(serde_json::Value::as_str)
        .map(|name| config.slug_of(name))
        .unwrap_or_default();
    let tracker: Tracker = serde_json::from_value(result).map_err(|e| {
        PortError::invalid_input(OP, "the event's tracker is unreadable").with_source(e)
    })?;
    tracker.into_tracking(OP, &carrier, None)
}

/// The EasyPost [`Carrier`] adapter.
#[derive(Debug, Clone)]
pub struct EasyPostCarrier {
    config: EasyPostConfig,
    http: HttpSender,
}

impl EasyPostCarrier {
    /// An adapter for the account `config` describes.
    pub fn new(config: EasyPostConfig) -> PortResult<EasyPostCarrier> {
        let http = HttpSender::new(&config.base_url, Duration::from_millis(config.timeout_ms))?;
        Ok(EasyPostCarrier { config, http })
    }

    /// The configuration.
    pub fn config(&self) -> &EasyPostConfig {
        &self.config
    }

    async fn call(&self, request: &WireRequest) -> PortResult<WireResponse> {
        self.http.send_checked(request, responses::error).await
    }

    /// The tracking of tracker `id` (`trk_...`), e.g. one a webhook named, for carrier slug
    /// `carrier`; `None` when EasyPost has no such tracker or it has no scan yet.
    pub async fn track_by_id(&self, carrier: &str, id: &str) -> PortResult<Option<Tracking>> {
        let op = ops::TRACK;
        let response = match self
            .call(&requests::retrieve_tracker(&self.config, id))
            .await
        {
            Ok(response) => response,
            Err(e) if e.kind() == PortErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.with_context("tracker", id)),
        };
        let tracker: Tracker = responses::parse(op, &response)?;
        tracker.into_tracking(op, carrier, None)
    }

    async fn buy(
        &self,
        shipment: Shipment,
        service: &ReturnService,
        carrier: &str,
    ) -> PortResult<ReturnLabel> {
        let op = ops::CREATE_RETURN_LABEL;
        let Some(rate) = shipment.cheapest_rate(service) else {
            return Err(PortError::rejected(
                op,
                "easypost offered no rate for the configured carrier and service",
            )
            .with_context("shipment", &shipment.id)
            .with_context("carrier", &service.carrier));
        };
        let response = self
            .call(&requests::buy_shipment(&self.config, &shipment.id, &rate))
            .await
            .map_err(|e| e.with_context("shipment", &shipment.id))?;
        let bought: Shipment = responses::parse(op, &response)?;
        bought.into_label(op, carrier)
    }
}

#[async_trait]
impl Carrier for EasyPostCarrier {
    async fn track(
        &self,
        carrier: &str,
        tracking_number: &TrackingNumber,
    ) -> PortResult<Option<Tracking>> {
        let op = ops::TRACK;
        let request = requests::create_tracker(&self.config, carrier, tracking_number);
        let response = match self.call(&request).await {
            Ok(response) => response,
            Err(e) if e.kind() == PortErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.with_context("tracking_number", tracking_number)),
        };
        let tracker: Tracker = responses::parse(op, &response)?;
        tracker.into_tracking(op, carrier, Some(tracking_number))
    }

    async fn create_return_label(&self, request: &ReturnLabelRequest) -> PortResult<ReturnLabel> {
        let op = ops::CREATE_RETURN_LABEL;
        // Built first so an invalid request is refused before any call.
        let create = requests::create_return_shipment(&self.config, request)?;
        let service = self
            .config
            .return_services
            .get(request.carrier.trim())
            .ok_or_else(|| PortError::invalid_input(op, "no return service configured"))?;
        let context = |e: PortError| e.with_context("return_id", &request.return_id);
        let existing = match self
            .call(&requests::find_shipment(
                &self.config,
                request.return_id.as_str(),
            ))
            .await
        {
            Ok(response) => Some(responses::parse::<Shipment>(op, &response)?),
            Err(e) if e.kind() == PortErrorKind::NotFound => None,
            Err(e) => return Err(context(e)),
        };
        if let Some(shipment) = existing.filter(Shipment::is_return) {
            return if shipment.is_bought() {
                shipment.into_label(op, &request.carrier)
            } else {
                self.buy(shipment, service, &request.carrier)
                    .await
                    .map_err(context)
            };
        }
        let response = self.call(&create).await.map_err(context)?;
        let shipment: Shipment = responses::parse(op, &response)?;
        self.buy(shipment, service, &request.carrier)
            .await
            .map_err(context)
    }

    async fn validate_address(&self, address: &Address) -> PortResult<AddressValidation> {
        let op = ops::VALIDATE_ADDRESS;
        if let Some(reason) = requests::missing_parts(address) {
            return Ok(AddressValidation::Invalid { reason });
        }
        let response = self
            .call(&requests::verify_address(&self.config, address))
            .await?;
        let verified: VerifiedAddress = responses::parse(op, &response)?;
        verified.into_validation(op, address)
    }
}
