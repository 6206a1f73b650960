//! `Metered` ports count calls by outcome and time them, over the testkit's fakes with injected
//! faults, and run each call in a `port_call` span without personal data.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use order_agent_core::domain::{Address, PaymentId};
use order_agent_core::ports::{
    carrier, payments, CallMetrics, Carrier, Metered, Payments, PortErrorKind,
};
use order_agent_testkit::conformance;
use order_agent_testkit::fakes::{FakeCarrier, FakePayments, Fault, Faults};
use tracing_subscriber::fmt::format::FmtSpan;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn counts_calls_by_outcome_and_times_them() {
    let faults = Faults::new();
    faults
        .times(
            payments::ops::REFUNDS,
            Fault::Error(PortErrorKind::Unavailable),
            2,
        )
        .once(
            payments::ops::PAYMENT,
            Fault::Latency(Duration::from_millis(30)),
        )
        .once(
            payments::ops::PAYMENT,
            Fault::Error(PortErrorKind::RateLimited { retry_after: None }),
        );
    let sample = conformance::payments::sample();
    let fake = FakePayments::new()
        .with_payments(sample.payments.clone())
        .with_faults(faults);
    let metrics = CallMetrics::new();
    let metered = Metered::new(Arc::new(fake), metrics.clone());
    let id = PaymentId::new("pay_conformance");

    for _ in 0..3 {
        let _ = metered.refunds(&id).await;
    }
    // Both faults of `payment` fire on the first call: it waits, then fails.
    assert!(metered.payment(&id).await.is_err());
    assert!(metered.payment(&id).await.unwrap().is_some());

    assert_eq!(metrics.calls(payments::ops::REFUNDS, "unavailable"), 2);
    assert_eq!(metrics.calls(payments::ops::REFUNDS, "ok"), 1);
    assert_eq!(metrics.calls(payments::ops::PAYMENT, "rate_limited"), 1);
    assert_eq!(metrics.calls(payments::ops::PAYMENT, "ok"), 1);
    let text = metrics.render();
    let refunds = "port=\"payments\",operation=\"refunds\"";
    assert!(text.contains(&format!(
        "order_agent_vendor_calls_total{{{refunds},outcome=\"unavailable\"}} 2\n"
    )));
    assert!(text.contains(&format!(
        "order_agent_vendor_call_seconds_count{{{refunds}}} 3\n"
    )));
    // The call that waited 30 ms is above the 25 ms bucket; the other is below it.
    let payment = "port=\"payments\",operation=\"payment\"";
    assert!(text.contains(&format!(
        "order_agent_vendor_call_seconds_bucket{{{payment},le=\"0.025\"}} 1\n"
    )));
    assert!(text.contains(&format!(
        "order_agent_vendor_call_seconds_bucket{{{payment},le=\"+Inf\"}} 2\n"
    )));
}

#[tokio::test]
async fn a_metered_dyn_port_runs_each_call_in_a_port_call_span() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_span_events(FmtSpan::CLOSE)
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let metrics = CallMetrics::new();
    let inner: order_agent_core::ports::CarrierRef = Arc::new(FakeCarrier::new());
    let metered = Metered::new(inner, metrics.clone());
    let address = Address {
        name: "Anna Müller".to_owned(),
        line1: "Bahnhofstrasse 12".to_owned(),
        line2: None,
        postcode: "8001".to_owned(),
        city: "Zürich".to_owned(),
        region: None,
        country: "CH".to_owned(),
    };
    let _ = metered.validate_address(&address).await;

    assert_eq!(
        metrics.calls(carrier::ops::VALIDATE_ADDRESS, "ok")
            + metrics.calls(carrier::ops::VALIDATE_ADDRESS, "invalid_input"),
        1
    );
    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("\"name\":\"port_call\""), "{logs}");
    assert!(logs.contains("\"port\":\"carrier\""), "{logs}");
    assert!(
        logs.contains("\"operation\":\"validate_address\""),
        "{logs}"
    );
    for personal in ["Müller", "Bahnhofstrasse", "8001"] {
        assert!(!logs.contains(personal), "{logs}");
    }
}
