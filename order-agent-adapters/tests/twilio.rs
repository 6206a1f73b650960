//! The Twilio adapter (SMS and WhatsApp): the messaging conformance suite against a loopback
//! mock of `POST /2010-04-01/Accounts/{sid}/Messages.json`, the form on the wire, the error
//! table, and the spec check against Twilio's own description
//! (`../shared/specs/twilio/api_v2010.json`, served by Prism when `ORDER_AGENT_PRISM_TWILIO` is
//! set; `spec-check/run.sh` does that) with its negative control.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support_messaging;

use order_agent_adapters::messaging::twilio::{create_message, TwilioConfig, TwilioMessaging};
use order_agent_adapters::messaging::wire::Body;
use order_agent_core::domain::{Channel, Locale};
use order_agent_core::ports::{Delivery, Messaging, OutboundMessage, PortErrorKind};
use order_agent_testkit::conformance::messaging::{run_all, MessagingFixture};
use secrecy::SecretString;
use serde_json::json;
use support_messaging::prism::Prism;
use support_messaging::vendors_mock::{VendorsMock, REFUSED_NUMBER, TWILIO_SID, TWILIO_TOKEN};

fn config(base_url: &str) -> TwilioConfig {
    let mut config = TwilioConfig::new(TWILIO_SID, SecretString::from(TWILIO_TOKEN));
    config.base_url = base_url.to_owned();
    config.sms_from = Some("+15005550006".to_owned());
    config.whatsapp_from = Some("+14155238886".to_owned());
    config.timeout_ms = 5_000;
    config
}

fn message(channel: Channel, to: &str) -> OutboundMessage {
    OutboundMessage {
        channel,
        to: to.to_owned(),
        locale: Locale::Fr,
        subject: None,
        body: "Votre colis arrive demain & à l'heure.".to_owned(),
        idempotency_key: "order-1042:eta".to_owned(),
    }
}

#[tokio::test]
async fn passes_the_messaging_conformance_suite_on_both_channels() {
    let mock = VendorsMock::start().await;
    let twilio = TwilioMessaging::new(config(mock.base_url())).unwrap();
    for channel in [Channel::Sms, Channel::Whatsapp] {
        let fixture = MessagingFixture {
            run_id: format!("twilio-{channel:?}"),
            deliverable: (channel, "+41790000001".to_owned()),
            refused: (channel, REFUSED_NUMBER.to_owned()),
        };
        run_all(&twilio, &fixture).await.unwrap();
    }
}

#[tokio::test]
async fn sends_the_documented_form() {
    let mock = VendorsMock::start().await;
    let twilio = TwilioMessaging::new(config(mock.base_url())).unwrap();
    let sms = twilio
        .send(&message(Channel::Sms, "+41790000001"))
        .await
        .unwrap();
    let whatsapp = twilio
        .send(&message(Channel::Whatsapp, "+41790000001"))
        .await
        .unwrap();
    assert_ne!(sms, whatsapp);
    let Delivery::Accepted {
        provider_message_id,
    } = sms
    else {
        panic!("not accepted: {sms:?}");
    };
    assert!(provider_message_id.starts_with("SM"));
    let requests = mock.requests();
    assert_eq!(
        requests[0].path,
        format!("/2010-04-01/Accounts/{TWILIO_SID}/Messages.json")
    );
    assert_eq!(
        requests[0].content_type,
        "application/x-www-form-urlencoded"
    );
    let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    assert_eq!(
        requests[0].form(),
        [
            pair("To", "+41790000001"),
            pair("From", "+15005550006"),
            pair("Body", "Votre colis arrive demain & à l'heure."),
        ]
    );
    assert_eq!(
        requests[1].form()[..2],
        [
            pair("To", "whatsapp:+41790000001"),
            pair("From", "whatsapp:+14155238886"),
        ]
    );

    // Without a WhatsApp sender the channel is not served: rejected, nothing sent.
    let mut sms_only = config(mock.base_url());
    sms_only.whatsapp_from = None;
    let sms_only = TwilioMessaging::new(sms_only).unwrap();
    let refused = sms_only
        .send(&message(Channel::Whatsapp, "+41790000001"))
        .await
        .unwrap();
    assert!(!refused.is_accepted());
    let email = sms_only
        .send(&message(Channel::Email, "anna@example.ch"))
        .await
        .unwrap();
    assert!(!email.is_accepted());
    assert_eq!(mock.requests().len(), 2);
}

#[tokio::test]
async fn vendor_errors_map_to_port_kinds() {
    let mock = VendorsMock::start().await;
    let twilio = TwilioMessaging::new(config(mock.base_url())).unwrap();
    let sms = message(Channel::Sms, "+41790000001");

    mock.fail_next(
        429,
        Some(1),
        json!({ "code": 20429, "message": "Too Many Requests", "status": 429 }),
    );
    let limited = twilio.send(&sms).await.unwrap_err();
    assert!(matches!(limited.kind(), PortErrorKind::RateLimited { .. }));
    mock.fail_next(
        503,
        None,
        json!({ "code": 20503, "message": "Service unavailable", "status": 503 }),
    );
    assert_eq!(
        twilio.send(&sms).await.unwrap_err().kind(),
        PortErrorKind::Unavailable
    );
    mock.fail_next(400, None, json!({ "code": 21617, "message": "The concatenated message body exceeds the 1600 character limit", "status": 400 }));
    let long = twilio.send(&sms).await.unwrap_err();
    assert_eq!(long.kind(), PortErrorKind::InvalidInput);
    assert_eq!(long.context_value("twilio_code"), Some("21617"));

    let wrong = TwilioMessaging::new(TwilioConfig {
        auth_token: SecretString::from("wrong-token"),
        ..config(mock.base_url())
    })
    .unwrap();
    let refused = wrong.send(&sms).await.unwrap_err();
    assert_eq!(refused.kind(), PortErrorKind::Unauthorized);
    assert!(!format!("{wrong:?} {refused}").contains("wrong-token"));
}

#[tokio::test]
async fn create_message_conforms_to_twilios_description() {
    let Some(prism) = Prism::from_env("ORDER_AGENT_PRISM_TWILIO", "twilio/api_v2010.json") else {
        return;
    };
    let config = config("http://unused");
    for channel in [Channel::Sms, Channel::Whatsapp] {
        let request = create_message(&config, &message(channel, "+41790000001")).unwrap();
        let verdict = prism.check(&request).await;
        assert!(
            verdict.accepted(),
            "{channel:?} violates the spec: {verdict:?}"
        );

        // Negative control: without `To` the request must be rejected.
        let mut broken = request.clone();
        if let Body::Form(pairs) = &mut broken.body {
            pairs.retain(|(k, _)| k != "To");
        }
        let verdict = prism.check(&broken).await;
        assert!(
            !verdict.accepted(),
            "prism accepted a message without `To`: {verdict:?}"
        );
    }
}
