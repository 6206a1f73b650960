//! `POST /webhooks/vendor/{vendor}`: vendors' own webhooks (Shopify, Stripe, Adyen, EasyPost,
//! Twilio, SendGrid, Zendesk), verified with the vendor's signature and translated into agent
//! events by [`WebhookIngress`], then accepted through the service's batcher.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use order_agent_adapters::easypost::EasyPostConfig;
use order_agent_adapters::webhooks::adyen::AdyenVerifier;
use order_agent_adapters::webhooks::easypost::EasyPostVerifier;
use order_agent_adapters::webhooks::ingress::{
    AdyenTranslator, EasyPostTranslator, InMemoryShipmentResolver, IngressOutcome, NotForTheQueue,
    ShipmentResolver, ShopifyTranslator, WebhookIngress,
};
use order_agent_adapters::webhooks::sendgrid::SendGridVerifier;
use order_agent_adapters::webhooks::shopify::ShopifyVerifier;
use order_agent_adapters::webhooks::stripe::StripeVerifier;
use order_agent_adapters::webhooks::twilio::TwilioVerifier;
use order_agent_adapters::webhooks::zendesk::ZendeskVerifier;
use order_agent_adapters::webhooks::{SigningSecrets, Vendor};
use order_agent_testkit::world::World;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::error::CliError;

use super::config::VendorHookConfig;
use super::AppState;

/// The largest vendor webhook body, in bytes.
pub(crate) const MAX_VENDOR_BODY: usize = 1024 * 1024;

/// One configured vendor.
#[derive(Debug)]
struct VendorHook {
    ingress: WebhookIngress,
    /// The URL the vendor signs (Twilio), empty when not configured.
    public_url: String,
}

/// The configured vendors' ingresses, by vendor name.
#[derive(Debug, Default)]
pub(crate) struct VendorHooks {
    hooks: BTreeMap<&'static str, VendorHook>,
}

impl VendorHooks {
    /// The ingresses of the `[webhooks.vendors.<name>]` tables. EasyPost parcels are looked up
    /// among the demo shop's shipments.
    pub(crate) fn from_config(
        vendors: BTreeMap<String, VendorHookConfig>,
        world: &World,
    ) -> Result<VendorHooks, CliError> {
        let mut hooks = BTreeMap::new();
        for (name, config) in vendors {
            let vendor = Vendor::ALL
                .into_iter()
                .find(|v| v.as_str() == name)
                .ok_or_else(|| {
                    CliError::usage(format!(
                        "[webhooks.vendors.{name}]: unknown vendor `{name}`; expected one of {}",
                        Vendor::ALL.map(|v| format!("`{v}`")).join(", ")
                    ))
                })?;
            if vendor == Vendor::Twilio && config.public_url.is_none() {
                return Err(CliError::usage(
                    "[webhooks.vendors.twilio]: `public_url` is required: Twilio signs the URL it \
                     calls",
                ));
            }
            let ingress = ingress(vendor, &config, world)?;
            hooks.insert(
                vendor.as_str(),
                VendorHook {
                    ingress,
                    public_url: config.public_url.unwrap_or_default(),
                },
            );
        }
        Ok(VendorHooks { hooks })
    }
}

fn secrets(config: &VendorHookConfig) -> SigningSecrets {
    let current = SigningSecrets::new(config.secret.clone());
    match &config.previous_secret {
        Some(previous) => current.with_previous(previous.clone()),
        None => current,
    }
}

fn ingress(
    vendor: Vendor,
    config: &VendorHookConfig,
    world: &World,
) -> Result<WebhookIngress, CliError> {
    // The vendor's own error never holds the key; it says what is wrong with it.
    let unusable = |e: &dyn std::fmt::Display| {
        CliError::usage(format!(
            "[webhooks.vendors.{vendor}]: the secret is unusable: {e}"
        ))
    };
    let ingress = match vendor {
        Vendor::Shopify => WebhookIngress::new(
            Box::new(ShopifyVerifier::new(secrets(config))),
            Box::new(ShopifyTranslator),
        ),
        Vendor::Stripe => WebhookIngress::new(
            Box::new(StripeVerifier::new(secrets(config))),
            Box::new(NotForTheQueue::new(Vendor::Stripe)),
        ),
        Vendor::Adyen => WebhookIngress::new(
            Box::new(AdyenVerifier::new(secrets(config)).map_err(|e| unusable(&e))?),
            Box::new(AdyenTranslator::new()),
        ),
        Vendor::EasyPost => WebhookIngress::new(
            Box::new(EasyPostVerifier::new(secrets(config))),
            Box::new(EasyPostTranslator::new(
                // Only the carrier names are read; no API call is made.
                EasyPostConfig::new(SecretString::from(String::new())),
                demo_parcels(world),
            )),
        ),
        Vendor::Twilio => WebhookIngress::new(
            Box::new(TwilioVerifier::new(secrets(config))),
            Box::new(NotForTheQueue::new(Vendor::Twilio)),
        ),
        Vendor::SendGrid => {
            let mut verifier =
                SendGridVerifier::new(config.secret.expose_secret()).map_err(|e| unusable(&e))?;
            if let Some(previous) = &config.previous_secret {
                verifier = verifier
                    .with_previous(previous.expose_secret())
                    .map_err(|e| unusable(&e))?;
            }
            WebhookIngress::new(
                Box::new(verifier),
                Box::new(NotForTheQueue::new(Vendor::SendGrid)),
            )
        }
        Vendor::Zendesk => WebhookIngress::new(
            Box::new(ZendeskVerifier::new(secrets(config))),
            Box::new(NotForTheQueue::new(Vendor::Zendesk)),
        ),
        other => {
            return Err(CliError::usage(format!(
                "[webhooks.vendors.{other}]: not supported yet"
            )))
        }
    };
    Ok(ingress)
}

/// The demo shop's parcels by tracking number: the demo's stand-in for the OMS lookup.
fn demo_parcels(world: &World) -> Arc<dyn ShipmentResolver> {
    let parcels = InMemoryShipmentResolver::new();
    for order in &world.shop.orders {
        for shipment in &order.shipments {
            if let Some(number) = &shipment.tracking_number {
                parcels.insert(number.as_str(), order.id.clone(), shipment.id.clone());
            }
        }
    }
    Arc::new(parcels)
}

/// The headers as name and value pairs, for the verifiers.
fn header_pairs(headers: &HeaderMap) -> Vec<(String, Vec<u8>)> {
    headers
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()))
        .collect()
}

fn reply(outcome: &IngressOutcome) -> Response {
    let status = StatusCode::from_u16(outcome.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Some(body) = outcome.body.clone().filter(|_| outcome.is_success()) {
        return (status, [(header::CONTENT_TYPE, "text/plain")], body).into_response();
    }
    let json = match &outcome.error {
        Some(error) => json!({"error": error, "code": code(outcome.status)}),
        None => json!({
            "accepted": outcome.accepted,
            "new": outcome.new,
            "ignored": outcome.ignored,
        }),
    };
    (status, Json(json)).into_response()
}

fn code(status: u16) -> &'static str {
    match status {
        401 => "bad_signature",
        400 => "bad_delivery",
        503 => "unavailable",
        _ => "rejected",
    }
}

/// `POST /webhooks/vendor/{vendor}`.
pub(crate) async fn vendor_webhook(
    State(state): State<Arc<AppState>>,
    Path(vendor): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(hook) = state.vendor_hooks.hooks.get(vendor.as_str()) else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({
                "error": format!("no webhooks are configured for vendor `{vendor}`"),
                "code": "not_found",
            })),
        )
            .into_response();
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            state.metrics.webhook_rejected("body");
            return (
                rejection.status(),
                Json(json!({"error": rejection.body_text(), "code": "bad_body"})),
            )
                .into_response();
        }
    };
    let headers = header_pairs(&headers);
    // Vendors sign with the wall clock, not the demo shop's clock.
    let outcome = hook
        .ingress
        .receive(
            &state.accepter,
            &hook.public_url,
            &headers,
            &body,
            chrono::Utc::now(),
        )
        .await;
    match outcome.status {
        200..=299 => {
            for n in 0..outcome.accepted {
                state.metrics.event_accepted(n < outcome.new);
            }
        }
        401 => state.metrics.webhook_rejected("signature"),
        400..=499 => state.metrics.webhook_rejected("malformed"),
        _ => {
            if let Some(error) = &outcome.error {
                eprintln!("order-agent serve: {vendor} webhook: {error}");
            }
        }
    }
    reply(&outcome)
}
