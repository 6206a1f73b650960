//! The WhatsApp Cloud API adapter: the messaging conformance suite against a loopback mock of
//! `POST /{version}/{phone-number-id}/messages`, the request on the wire, the error table, and
//! the spec check against Meta's own description
//! (`../shared/specs/whatsapp/business-messaging-api_v23.0.yaml`, served by Prism when
//! `ORDER_AGENT_PRISM_WHATSAPP` is set; `spec-check/run.sh` does that) with its negative
//! control.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support_messaging;

use order_agent_adapters::messaging::whatsapp::{send_text, WhatsAppConfig, WhatsAppMessaging};
use order_agent_adapters::messaging::wire::Body;
use order_agent_core::domain::{Channel, Locale};
use order_agent_core::ports::{Delivery, Messaging, OutboundMessage, PortErrorKind};
use order_agent_testkit::conformance::messaging::{run_all, MessagingFixture};
use secrecy::SecretString;
use serde_json::json;
use support_messaging::prism::Prism;
use support_messaging::vendors_mock::{
    VendorsMock, REFUSED_NUMBER, WHATSAPP_PHONE_ID, WHATSAPP_TOKEN,
};

fn config(base_url: &str) -> WhatsAppConfig {
    let mut config = WhatsAppConfig::new(SecretString::from(WHATSAPP_TOKEN), WHATSAPP_PHONE_ID);
    config.base_url = base_url.to_owned();
    config.timeout_ms = 5_000;
    config
}

fn message(to: &str) -> OutboundMessage {
    OutboundMessage {
        channel: Channel::Whatsapp,
        to: to.to_owned(),
        locale: Locale::It,
        subject: None,
        body: "Il suo pacco è in consegna.".to_owned(),
        idempotency_key: "order-1042:out-for-delivery".to_owned(),
    }
}

#[tokio::test]
async fn passes_the_messaging_conformance_suite() {
    let mock = VendorsMock::start().await;
    let whatsapp = WhatsAppMessaging::new(config(mock.base_url())).unwrap();
    let fixture = MessagingFixture {
        run_id: "whatsapp".to_owned(),
        deliverable: (Channel::Whatsapp, "+41790000001".to_owned()),
        refused: (Channel::Whatsapp, REFUSED_NUMBER.to_owned()),
    };
    run_all(&whatsapp, &fixture).await.unwrap();
    // Other channels are refused without a request.
    let before = mock.requests().len();
    let mut sms = message("+41790000001");
    sms.channel = Channel::Sms;
    assert!(!whatsapp.send(&sms).await.unwrap().is_accepted());
    assert_eq!(mock.requests().len(), before);
}

#[tokio::test]
async fn sends_the_documented_request() {
    let mock = VendorsMock::start().await;
    let whatsapp = WhatsAppMessaging::new(config(mock.base_url())).unwrap();
    let sent = whatsapp.send(&message("+41 79 000 00 01")).await.unwrap();
    let Delivery::Accepted {
        provider_message_id,
    } = sent
    else {
        panic!("not accepted: {sent:?}");
    };
    assert!(provider_message_id.starts_with("wamid."));
    let requests = mock.requests();
    assert_eq!(
        requests[0].path,
        format!("/v23.0/{WHATSAPP_PHONE_ID}/messages")
    );
    assert_eq!(requests[0].content_type, "application/json");
    assert_eq!(
        requests[0].json(),
        json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "41790000001",
            "type": "text",
            "text": { "preview_url": false, "body": "Il suo pacco è in consegna." },
        })
    );
    // Not a phone number: invalid input, nothing sent.
    let invalid = whatsapp
        .send(&message("anna@example.ch"))
        .await
        .unwrap_err();
    assert_eq!(invalid.kind(), PortErrorKind::InvalidInput);
    assert_eq!(mock.requests().len(), 1);
}

#[tokio::test]
async fn vendor_errors_map_to_port_kinds() {
    let mock = VendorsMock::start().await;
    let whatsapp = WhatsAppMessaging::new(config(mock.base_url())).unwrap();
    let to = message("+41790000001");

    // Outside the 24-hour window free text is refused: a rejection, not an error.
    mock.fail_next(400, None, json!({ "error": { "message": "(#131047) Re-engagement message", "type": "OAuthException", "code": 131047 } }));
    match whatsapp.send(&to).await.unwrap() {
        Delivery::Rejected { reason } => assert!(reason.contains("131047"), "{reason}"),
        other => panic!("outside the window was {other:?}"),
    }
    mock.fail_next(400, None, json!({ "error": { "message": "(#130429) Rate limit hit", "type": "OAuthException", "code": 130429 } }));
    assert!(matches!(
        whatsapp.send(&to).await.unwrap_err().kind(),
        PortErrorKind::RateLimited { .. }
    ));
    mock.fail_next(
        500,
        None,
        json!({ "error": { "message": "(#131000) Something went wrong", "code": 131000 } }),
    );
    assert_eq!(
        whatsapp.send(&to).await.unwrap_err().kind(),
        PortErrorKind::Unavailable
    );
    let wrong = WhatsAppMessaging::new(WhatsAppConfig {
        access_token: SecretString::from("EAAG-wrong"),
        ..config(mock.base_url())
    })
    .unwrap();
    let refused = wrong.send(&to).await.unwrap_err();
    assert_eq!(refused.kind(), PortErrorKind::Unauthorized);
    assert!(!format!("{wrong:?} {refused}").contains("EAAG-wrong"));
}

#[tokio::test]
async fn send_text_conforms_to_metas_description() {
    let Some(prism) = Prism::from_env(
        "ORDER_AGENT_PRISM_WHATSAPP",
        "whatsapp/business-messaging-api_v23.0.yaml",
    ) else {
        return;
    };
    let config = config("http://unused");
    let request = send_text(&config, &message("+41790000001")).unwrap();
    let verdict = prism.check(&request).await;
    assert!(
        verdict.accepted(),
        "send text violates the spec: {verdict:?}"
    );

    // Negative control: without `messaging_product` the request must be rejected.
    let mut broken = request.clone();
    if let Body::Json(body) = &mut broken.body {
        body.as_object_mut().unwrap().remove("messaging_product");
    }
    let verdict = prism.check(&broken).await;
    assert!(
        !verdict.accepted(),
        "prism accepted a message without `messaging_product`: {verdict:?}"
    );
}
