//! [UPS](https://developer.ups.com/) as the [`Carrier`] port, over UPS's REST APIs with OAuth
//! client credentials.
//!
//! - Authentication: `POST /security/v1/oauth/token` (below [`UpsConfig::oauth_base_url`]) with
//!   HTTP basic auth (client id and secret) and `grant_type=client_credentials`. The token is
//!   cached until shortly before its `expires_in` and fetched again once when an API call answers
//!   401; a second 401 is [`Unauthorized`](PortErrorKind::Unauthorized). Calls that find no
//!   cached token at the same moment may each fetch one (harmless: UPS issues several).
//! - [`Carrier::track`]: `GET /track/v1/details/{inquiryNumber}` with the `transId` and
//!   `transactionSrc` headers. Each activity's status `type` (and its three-digit `statusCode`)
//!   maps to a status through the table in [`status`]; events come oldest first; the ETA is the
//!   rescheduled (`RDD`) or scheduled (`SDD`) delivery date. An unknown number (UPS answers 404,
//!   "tracking number information not found", or a shipment without a package or scan) is
//!   `None`.
//! - [`Carrier::create_return_label`]: `POST /shipments/{version}/ship` with a `ReturnService`
//!   (default code `9`, print return label): the customer is the ship-from, the returns
//!   warehouse the ship-to and the shipper (billed to [`UpsConfig::shipper_number`]), the return
//!   id is the package reference. The label is a GIF; its URL is UPS's `LabelURL` when present,
//!   else the base64 `GraphicImage` as a `data:image/gif;base64,..` URL the shell stores or
//!   renders. **Not idempotent**: UPS has no idempotency key, so every call buys a label; as the
//!   port says, the shell guards the call with its idempotency record keyed by the return.
//!   Incomplete addresses are refused before anything is bought.
//! - [`Carrier::validate_address`]: UPS Address Validation – Street Level,
//!   `POST /addressvalidation/v1/1` (format from UPS's public API reference; it is not in the
//!   OpenAPI files this crate is checked against, so its wire format is verified only against
//!   the loopback mock). UPS covers the United States and Puerto Rico only
//!   ([`requests::ADDRESS_VALIDATION_COUNTRIES`]); any other country is
//!   [`Rejected`](PortErrorKind::Rejected) ("cannot validate") without a request, so the shell
//!   asks a person instead of trusting an unchecked address.
//!
//! Not covered: tracking by reference number, multi-package shipments (the first package, or
//! the one whose number was asked, is reported), voiding labels, international forms and
//! customs, electronic return labels by email (`ReturnService` `8` needs a `LabelDelivery`
//! email this adapter does not send).
//!
//! Rate limits: UPS publishes no fixed request rate for its APIs (limits are set per
//! application and answered with 429, error code `10429`), hence
//! [`PUBLISHED_RATE_PER_SECOND`] is `None`. Errors map to kinds in one table; retries, rate
//! limiting and circuit breaking are the `resilience` wrappers' job.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

use responses::{ShipResponseWrapper, TokenResponse, TrackApiResponse, XavResponseWrapper};

/// UPS's production API base URL (the OpenAPI files' server, ending in `/api`).
pub const DEFAULT_BASE_URL: &str = "https://onlinetools.ups.com/api";
/// UPS's production OAuth base URL.
pub const DEFAULT_OAUTH_BASE_URL: &str = "https://onlinetools.ups.com";
/// UPS publishes no fixed request rate; see the module docs.
pub const PUBLISHED_RATE_PER_SECOND: Option<u32> = None;

/// The unit UPS weighs the parcel in (`KGS` outside the US, `LBS` for US shipments).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightUnit {
    /// Kilograms.
    Kgs,
    /// Pounds.
    Lbs,
}

impl WeightUnit {
    /// UPS's code.
    pub fn code(self) -> &'static str {
        match self {
            WeightUnit::Kgs => "KGS",
            WeightUnit::Lbs => "LBS",
        }
    }
}

/// How to reach one UPS account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpsConfig {
    /// The application's client id.
    pub client_id: String,
    /// The application's client secret. Never logged.
    pub client_secret: SecretString,
    /// The six-character UPS account number labels are billed to.
    pub shipper_number: String,
    /// The API base URL, ending in `/api`; [`DEFAULT_BASE_URL`] unless testing.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// The OAuth base URL; [`DEFAULT_OAUTH_BASE_URL`] unless testing.
    #[serde(default = "default_oauth_base_url")]
    pub oauth_base_url: String,
    /// The Shipping API version in the path, e.g. `v2409`.
    #[serde(default = "default_api_version")]
    pub api_version: String,
    /// The service return labels are bought with, e.g. `11` (UPS Standard) or `03` (Ground).
    #[serde(default = "default_service_code")]
    pub service_code: String,
    /// The return service: `9` print return label (default), `3`/`5` return service attempts.
    #[serde(default = "default_return_service_code")]
    pub return_service_code: String,
    /// The description of goods printed on return labels.
    #[serde(default = "default_goods_description")]
    pub goods_description: String,
    /// The phone number printed on labels: the shop's support line.
    pub label_phone: String,
    /// The `transactionSrc` header: this application's name.
    #[serde(default = "default_transaction_src")]
    pub transaction_src: String,
    /// The tracking locale, e.g. `en_US` or `de_CH`.
    #[serde(default = "default_locale")]
    pub locale: String,
    /// The unit parcels are weighed in.
    #[serde(default = "default_weight_unit")]
    pub weight_unit: WeightUnit,
    /// The parcel weight when a return does not say, in grams.
    #[serde(default = "default_weight_grams")]
    pub default_weight_grams: u32,
    /// Gives up on one HTTP request after this many milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_base_url() -> String {
    DEFAULT_BASE_URL.to_owned()
}
fn default_oauth_base_url() -> String {
    DEFAULT_OAUTH_BASE_URL.to_owned()
}
fn default_api_version() -> String {
    "v2409".to_owned()
}
fn default_service_code() -> String {
    "11".to_owned()
}
fn default_return_service_code() -> String {
    "9".to_owned()
}
fn default_goods_description() -> String {
    "Returned merchandise".to_owned()
}
fn default_transaction_src() -> String {
    "order-agent".to_owned()
}
fn default_locale() -> String {
    "en_US".to_owned()
}
fn default_weight_unit() -> WeightUnit {
    WeightUnit::Kgs
}
fn default_weight_grams() -> u32 {
    1_000
}
fn default_timeout_ms() -> u64 {
    20_000
}

impl UpsConfig {
    /// A configuration for the application `client_id`/`client_secret` billing account
    /// `shipper_number`, printing `label_phone` on labels, against the real API.
    pub fn new(
        client_id: impl Into<String>,
        client_secret: SecretString,
        shipper_number: impl Into<String>,
        label_phone: impl Into<String>,
    ) -> UpsConfig {
        UpsConfig {
            client_id: client_id.into(),
            client_secret,
            shipper_number: shipper_number.into(),
            base_url: default_base_url(),
            oauth_base_url: default_oauth_base_url(),
            api_version: default_api_version(),
            service_code: default_service_code(),
            return_service_code: default_return_service_code(),
            goods_description: default_goods_description(),
            label_phone: label_phone.into(),
            transaction_src: default_transaction_src(),
            locale: default_locale(),
            weight_unit: default_weight_unit(),
            default_weight_grams: default_weight_grams(),
            timeout_ms: default_timeout_ms(),
        }
    }

    /// The same configuration against other base URLs (a mock, a proxy): the API's (ending in
    /// `/api` for UPS itself) and the OAuth endpoint's.
    #[must_use]
    pub fn with_base_urls(
        mut self,
        base_url: impl Into<String>,
        oauth_base_url: impl Into<String>,
    ) -> UpsConfig {
        self.base_url = base_url.into();
        self.oauth_base_url = oauth_base_url.into();
        self
    }
}

struct CachedToken {
    token: SecretString,
    valid_until: Instant,
}

/// The UPS [`Carrier`] adapter.
#[derive(Clone)]
pub struct UpsCarrier {
    config: UpsConfig,
    api: HttpSender,
    oauth: HttpSender,
    token: Arc<Mutex<Option<CachedToken>>>,
    requests_sent: Arc<AtomicU64>,
}

impl fmt::Debug for UpsCarrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpsCarrier")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl UpsCarrier {
    /// An adapter for the account `config` describes.
    pub fn new(config: UpsConfig) -> PortResult<UpsCarrier> {
        let timeout = Duration::from_millis(config.timeout_ms);
        let api = HttpSender::new(&config.base_url, timeout)?;
        let oauth = HttpSender::new(&config.oauth_base_url, timeout)?;
        Ok(UpsCarrier {
            config,
            api,
            oauth,
            token: Arc::new(Mutex::new(None)),
            requests_sent: Arc::new(AtomicU64::new(0)),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &UpsConfig {
        &self.config
    }

    /// A `transId` unique to this request: the time and a per-adapter counter, at most 32
    /// characters as UPS asks.
    fn trans_id(&self) -> String {
        let n = self.requests_sent.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let mut id = format!("oa{nanos:x}{n:x}");
        id.truncate(32);
        id
    }

    fn cached_token(&self) -> Option<SecretString> {
        let guard = self.token.lock().ok()?;
        guard
            .as_ref()
            .filter(|t| Instant::now() < t.valid_until)
            .map(|t| t.token.clone())
    }

    fn forget_token(&self) {
        if let Ok(mut guard) = self.token.lock() {
            *guard = None;
        }
    }

    async fn fetch_token(&self, op: &'static str) -> PortResult<SecretString> {
        let request = requests::oauth_token(&self.config);
        let response = self
            .oauth
            .send(&request)
            .await
            .map_err(|e| e.with_operation(op))?;
        if !(200..300).contains(&response.status) {
            return Err(responses::error(op, &response).with_context("step", "oauth token"));
        }
        let token: TokenResponse = responses::parse(op, &response)?;
        if token.access_token.trim().is_empty() {
            return Err(PortError::unexpected(op, "ups sent no access token"));
        }
        let lifetime = token.lifetime();
        // Refresh a little early so a token does not expire between check and use.
        let margin = (lifetime / 10).min(Duration::from_secs(60));
        let secret = SecretString::from(token.access_token);
        if let Ok(mut guard) = self.token.lock() {
            *guard = Some(CachedToken {
                token: secret.clone(),
                valid_until: Instant::now() + lifetime.saturating_sub(margin),
            });
        }
        Ok(secret)
    }

    async fn token(&self, op: &'static str) -> PortResult<SecretString> {
        match self.cached_token() {
            Some(token) => Ok(token),
            None => self.fetch_token(op).await,
        }
    }

    /// Builds the request with a token, sends it, and on 401 fetches a fresh token and sends it
    /// once more.
    async fn call(
        &self,
        op: &'static str,
        build: impl Fn(&SecretString, &str) -> PortResult<WireRequest>,
    ) -> PortResult<WireResponse> {
        let token = self.token(op).await?;
        let response = self.api.send(&build(&token, &self.trans_id())?).await?;
        let response = if response.status == 401 {
            self.forget_token();
            let fresh = self.fetch_token(op).await?;
            self.api.send(&build(&fresh, &self.trans_id())?).await?
        } else {
            response
        };
        if (200..300).contains(&response.status) {
            Ok(response)
        } else {
            Err(responses::error(op, &response))
        }
    }
}

#[async_trait]
impl Carrier for UpsCarrier {
    async fn track(
        &self,
        carrier: &str,
        tracking_number: &TrackingNumber,
    ) -> PortResult<Option<Tracking>> {
        let op = ops::TRACK;
        let response = match self
            .call(op, |token, trans_id| {
                Ok(requests::track(
                    &self.config,
                    token,
                    trans_id,
                    tracking_number,
                ))
            })
            .await
        {
            Ok(response) => response,
            Err(e) if e.kind() == PortErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.with_context("tracking_number", tracking_number)),
        };
        let answer: TrackApiResponse = responses::parse(op, &response)?;
        answer.into_tracking(op, carrier, tracking_number)
    }

    async fn create_return_label(&self, request: &ReturnLabelRequest) -> PortResult<ReturnLabel> {
        let op = ops::CREATE_RETURN_LABEL;
        // Refused before the token is fetched, so nothing is sent for an invalid request.
        requests::check_return_label(&self.config, request)?;
        let response = self
            .call(op, |token, trans_id| {
                requests::create_return_label(&self.config, token, trans_id, request)
            })
            .await
            .map_err(|e| e.with_context("return_id", &request.return_id))?;
        let answer: ShipResponseWrapper = responses::parse(op, &response)?;
        answer.into_label(op, &request.carrier)
    }

    async fn validate_address(&self, address: &Address) -> PortResult<AddressValidation> {
        let op = ops::VALIDATE_ADDRESS;
        if let Some(reason) = requests::missing_parts(address) {
            return Ok(AddressValidation::Invalid { reason });
        }
        let country = address.country.trim().to_ascii_uppercase();
        if !requests::ADDRESS_VALIDATION_COUNTRIES.contains(&country.as_str()) {
            return Err(PortError::rejected(
                op,
                "ups validates addresses in the united states and puerto rico only",
            )
            .with_context("country", country));
        }
        let response = self
            .call(op, |token, trans_id| {
                Ok(requests::validate_address(
                    &self.config,
                    token,
                    trans_id,
                    address,
                ))
            })
            .await?;
        let answer: XavResponseWrapper = responses::parse(op, &response)?;
        answer.into_validation(op, address)
    }
}
