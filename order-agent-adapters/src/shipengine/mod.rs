//! [ShipEngine](https://www.shipengine.com/docs/) as the [`Carrier`] port: many carriers behind
//! one API.
//!
//! - [`Carrier::track`]: `GET /v1/tracking?carrier_code=..&tracking_number=..`; ShipEngine's codes
//!   map to [`TrackingStatus`](order_agent_core::domain::TrackingStatus) through the tables in
//!   [`status`], a new code being a row; an unknown parcel (`UN`/`NY` without scans, or 404) is
//!   `None`.
//! - [`Carrier::create_return_label`]: `POST /v1/labels` with `is_return_label: true`, the
//!   carrier account and service configured per carrier slug, the return id as RMA number.
//! - [`Carrier::validate_address`]: `POST /v1/addresses/validate` with one address.
//!
//! Requests are built as data in [`requests`]; errors map to kinds in one table. Retries, rate
//! limits and circuit breaking are the `resilience` wrappers' job.

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

use responses::{LabelInfo, TrackingInfo, ValidationResult};

/// ShipEngine's API.
pub const DEFAULT_BASE_URL: &str = "https://api.shipengine.com";

/// How to reach one ShipEngine account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShipEngineConfig {
    /// The API key (`API-Key` header). Never logged.
    pub api_key: SecretString,
    /// The API base URL; [`DEFAULT_BASE_URL`] unless testing against a mock.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// Carrier slug → ShipEngine carrier code, where the code is not the slug with `_` for `-`.
    #[serde(default)]
    pub carrier_codes: BTreeMap<String, String>,
    /// Carrier slug → the account and service return labels are bought with.
    #[serde(default)]
    pub return_services: BTreeMap<String, ReturnService>,
    /// The phone number printed on labels where ShipEngine requires one (the sender's): the
    /// shop's support line.
    pub label_phone: String,
    /// The parcel weight when a return does not say, in grams.
    #[serde(default = "default_weight_grams")]
    pub default_weight_grams: u32,
    /// Gives up on one HTTP request after this many milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

/// A carrier account and service for return labels.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnService {
    /// ShipEngine's carrier account id, `se-...`.
    pub carrier_id: String,
    /// The service code, e.g. `swiss_post_priority`.
    pub service_code: String,
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

impl ShipEngineConfig {
    /// A configuration for `api_key` against the real API, printing `label_phone` on labels.
    pub fn new(api_key: SecretString, label_phone: impl Into<String>) -> ShipEngineConfig {
        ShipEngineConfig {
            api_key,
            base_url: default_base_url(),
            carrier_codes: BTreeMap::new(),
            return_services: BTreeMap::new(),
            label_phone: label_phone.into(),
            default_weight_grams: default_weight_grams(),
            timeout_ms: default_timeout_ms(),
        }
    }

    /// The same configuration against another base URL (a mock, a proxy).
    #[must_use]
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> ShipEngineConfig {
        self.base_url = base_url.into();
        self
    }

    /// Buys return labels for carrier `slug` with `service`.
    #[must_use]
    pub fn with_return_service(
        mut self,
        slug: impl Into<String>,
        service: ReturnService,
    ) -> ShipEngineConfig {
        self.return_services.insert(slug.into(), service);
        self
    }
}

/// The ShipEngine [`Carrier`] adapter.
#[derive(Debug, Clone)]
pub struct ShipEngineCarrier {
    config: ShipEngineConfig,
    http: HttpSender,
}

impl ShipEngineCarrier {
    /// An adapter for the account `config` describes.
    pub fn new(config: ShipEngineConfig) -> PortResult<ShipEngineCarrier> {
        let http = HttpSender::new(&config.base_url, Duration::from_millis(config.timeout_ms))?;
        Ok(ShipEngineCarrier { config, http })
    }

    /// The configuration.
    pub fn config(&self) -> &ShipEngineConfig {
        &self.config
    }

    async fn call(&self, request: &WireRequest) -> PortResult<WireResponse> {
        self.http.send_checked(request, responses::error).await
    }
}

#[async_trait]
impl Carrier for ShipEngineCarrier {
    async fn track(
        &self,
        carrier: &str,
        tracking_number: &TrackingNumber,
    ) -> PortResult<Option<Tracking>> {
        let op = ops::TRACK;
        let request = requests::track(&self.config, carrier, tracking_number);
        let response = match self.call(&request).await {
            Ok(response) => response,
            Err(e) if e.kind() == PortErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.with_context("tracking_number", tracking_number)),
        };
        let info: TrackingInfo = responses::parse(op, &response)?;
        info.into_tracking(op, carrier, tracking_number)
    }

    async fn create_return_label(&self, request: &ReturnLabelRequest) -> PortResult<ReturnLabel> {
        let op = ops::CREATE_RETURN_LABEL;
        let wire = requests::create_return_label(&self.config, request)?;
        let response = self
            .call(&wire)
            .await
            .map_err(|e| e.with_context("return_id", &request.return_id))?;
        let label: LabelInfo = responses::parse(op, &response)?;
        label.into_label(op, &request.carrier)
    }

    async fn validate_address(&self, address: &Address) -> PortResult<AddressValidation> {
        let op = ops::VALIDATE_ADDRESS;
        // ShipEngine cannot take an address without these parts; it is undeliverable as given.
        if let Some(reason) = requests::missing_parts(address) {
            return Ok(AddressValidation::Invalid { reason });
        }
        let response = self
            .call(&requests::validate_address(&self.config, address))
            .await?;
        let results: Vec<ValidationResult> = responses::parse(op, &response)?;
        let Some(result) = results.into_iter().next() else {
            return Err(PortError::unexpected(op, "no validation result"));
        };
        result.into_validation(op, address)
    }
}
