//! The [`Payments`] conformance suite.

use std::collections::BTreeMap;

use order_agent_core::domain::{Payment, PaymentId, RefundState, Tender};
use order_agent_core::ports::{Payments, PortErrorKind, RefundRequest};
use order_agent_core::{Currency, Money};

use super::sample_data::chf;
use super::{ensure, expect_kind, ok, CheckResult, ConformanceFailure, ConformanceReport, Runner};

/// What the processor under test holds.
#[derive(Debug, Clone)]
pub struct PaymentsFixture {
    /// Distinguishes this run's idempotency keys from earlier runs.
    pub run_id: String,
    /// A captured payment with at least five minor units still refundable; the suite refunds
    /// four of them.
    pub payment: PaymentId,
    /// A payment id the processor does not know.
    pub unknown_payment: PaymentId,
}

/// Seed payments for the fake and the fixture that matches them.
#[derive(Debug, Clone)]
pub struct PaymentsSample {
    /// Payments to seed.
    pub payments: Vec<Payment>,
    /// The fixture.
    pub fixture: PaymentsFixture,
}

/// A sample for the in-memory processor: CHF 100.00 captured, CHF 10.00 refunded earlier.
pub fn sample() -> PaymentsSample {
    PaymentsSample {
        payments: vec![Payment {
            id: PaymentId::new("pay_conformance"),
            tender: Tender::Card,
            captured: chf(10_000),
            refunded: chf(1_000),
        }],
        fixture: PaymentsFixture {
            run_id: "sample".to_owned(),
            payment: PaymentId::new("pay_conformance"),
            unknown_payment: PaymentId::new("pay_404"),
        },
    }
}

/// Runs every payments check.
pub async fn run_all(
    payments: &dyn Payments,
    fixture: &PaymentsFixture,
) -> Result<(), ConformanceReport> {
    let mut runner = Runner::new("payments");
    runner.check(unknown_payment(payments, fixture)).await;
    runner.check(refund_is_idempotent(payments, fixture)).await;
    runner
        .check(key_reuse_for_another_refund_conflicts(payments, fixture))
        .await;
    runner
        .check(never_refunds_more_than_refundable(payments, fixture))
        .await;
    runner
        .check(invalid_amounts_are_refused(payments, fixture))
        .await;
    runner
        .check(refunds_listed_oldest_first(payments, fixture))
        .await;
    runner.finish()
}

async fn current(
    check: &'static str,
    payments: &dyn Payments,
    id: &PaymentId,
) -> Result<Payment, ConformanceFailure> {
    ok(check, "payment", payments.payment(id).await)?.ok_or_else(|| {
        ConformanceFailure::new(check, format!("fixture payment `{id}` is not known"))
    })
}

fn minor(payment: &Payment, units: i64) -> Money {
    Money::from_minor(units, payment.captured.currency())
}

fn request(f: &PaymentsFixture, key: &str, amount: Money) -> RefundRequest {
    RefundRequest {
        payment_id: f.payment.clone(),
        amount,
        idempotency_key: format!("conformance:{}:{key}", f.run_id),
        metadata: BTreeMap::from([("suite".to_owned(), "conformance".to_owned())]),
    }
}

/// An unknown payment is `None`, has no refunds, and cannot be refunded (`NotFound`).
pub async fn unknown_payment(payments: &dyn Payments, f: &PaymentsFixture) -> CheckResult {
    const CHECK: &str = "payments.unknown_payment";
    let found = ok(
        CHECK,
        "unknown payment",
        payments.payment(&f.unknown_payment).await,
    )?;
    ensure!(
        CHECK,
        found.is_none(),
        "found unknown payment `{}`",
        f.unknown_payment
    );
    let refunds = ok(
        CHECK,
        "refunds of unknown payment",
        payments.refunds(&f.unknown_payment).await,
    )?;
    ensure!(
        CHECK,
        refunds.is_empty(),
        "unknown payment has {} refunds",
        refunds.len()
    );
    let mut req = request(f, "unknown", chf(1));
    req.payment_id = f.unknown_payment.clone();
    expect_kind(
        CHECK,
        "refund an unknown payment",
        PortErrorKind::NotFound,
        payments.refund(&req).await,
    )
}

/// The same key refunds once and returns the same refund; the refund is listed once and counted
/// in `refunded`.
pub async fn refund_is_idempotent(payments: &dyn Payments, f: &PaymentsFixture) -> CheckResult {
    const CHECK: &str = "payments.refund_is_idempotent";
    let before = current(CHECK, payments, &f.payment).await?;
    let req = request(f, "idempotent", minor(&before, 1));
    let first = ok(CHECK, "refund", payments.refund(&req).await)?;
    ensure!(
        CHECK,
        first.payment_id == f.payment && first.amount == req.amount,
        "refund carries payment `{}` and amount {}, asked `{}` and {}",
        first.payment_id,
        first.amount,
        f.payment,
        req.amount
    );
    ensure!(
        CHECK,
        first.state != RefundState::Failed,
        "an accepted refund is failed"
    );
    let second = ok(
        CHECK,
        "refund again with the same key",
        payments.refund(&req).await,
    )?;
    ensure!(
        CHECK,
        second.id == first.id,
        "same key made a second refund `{}` after `{}`",
        second.id,
        first.id
    );
    let listed = ok(CHECK, "refunds", payments.refunds(&f.payment).await)?;
    let times = listed.iter().filter(|r| r.id == first.id).count();
    ensure!(
        CHECK,
        times == 1,
        "refund `{}` is listed {times} times",
        first.id
    );
    let after = current(CHECK, payments, &f.payment).await?;
    let expected = before
        .refunded
        .checked_add(req.amount)
        .map_err(|e| ConformanceFailure::new(CHECK, e.to_string()))?;
    ensure!(
        CHECK,
        after.refunded == expected,
        "refunded went from {} to {}, expected {}",
        before.refunded,
        after.refunded,
        expected
    );
    Ok(())
}

/// A key reused with another amount is a conflict and refunds nothing.
pub async fn key_reuse_for_another_refund_conflicts(
    payments: &dyn Payments,
    f: &PaymentsFixture,
) -> CheckResult {
    const CHECK: &str = "payments.key_reuse_for_another_refund_conflicts";
    let before = current(CHECK, payments, &f.payment).await?;
    let first = request(f, "reuse", minor(&before, 1));
    ok(CHECK, "refund", payments.refund(&first).await)?;
    let refunded = current(CHECK, payments, &f.payment).await?.refunded;
    let count = ok(CHECK, "refunds", payments.refunds(&f.payment).await)?.len();
    let other = request(f, "reuse", minor(&before, 2));
    expect_kind(
        CHECK,
        "the same key with another amount",
        PortErrorKind::Conflict,
        payments.refund(&other).await,
    )?;
    let after = current(CHECK, payments, &f.payment).await?;
    ensure!(
        CHECK,
        after.refunded == refunded,
        "a conflicting request refunded money"
    );
    let count_after = ok(CHECK, "refunds", payments.refunds(&f.payment).await)?.len();
    ensure!(
        CHECK,
        count_after == count,
        "a conflicting request created a refund"
    );
    Ok(())
}

/// More than captured minus refunded is rejected and refunds nothing.
pub async fn never_refunds_more_than_refundable(
    payments: &dyn Payments,
    f: &PaymentsFixture,
) -> CheckResult {
    const CHECK: &str = "payments.never_refunds_more_than_refundable";
    let before = current(CHECK, payments, &f.payment).await?;
    let refundable = before
        .refundable()
        .map_err(|e| ConformanceFailure::new(CHECK, e.to_string()))?;
    let too_much = refundable
        .checked_add(minor(&before, 1))
        .map_err(|e| ConformanceFailure::new(CHECK, e.to_string()))?;
    expect_kind(
        CHECK,
        "refund one minor unit more than refundable",
        PortErrorKind::Rejected,
        payments.refund(&request(f, "too-much", too_much)).await,
    )?;
    let after = current(CHECK, payments, &f.payment).await?;
    ensure!(
        CHECK,
        after.refunded == before.refunded,
        "a rejected refund changed refunded from {} to {}",
        before.refunded,
        after.refunded
    );
    Ok(())
}

/// Zero, negative and foreign-currency amounts are invalid input.
pub async fn invalid_amounts_are_refused(
    payments: &dyn Payments,
    f: &PaymentsFixture,
) -> CheckResult {
    const CHECK: &str = "payments.invalid_amounts_are_refused";
    let payment = current(CHECK, payments, &f.payment).await?;
    let currency = payment.captured.currency();
    let foreign = if currency == Currency::EUR {
        Currency::CHF
    } else {
        Currency::EUR
    };
    for (name, amount) in [
        ("zero", Money::zero(currency)),
        ("negative", minor(&payment, -1)),
        ("foreign currency", Money::from_minor(1, foreign)),
    ] {
        expect_kind(
            CHECK,
            &format!("refund a {name} amount"),
            PortErrorKind::InvalidInput,
            payments
                .refund(&request(f, &format!("invalid-{name}"), amount))
                .await,
        )?;
    }
    let after = current(CHECK, payments, &f.payment).await?;
    ensure!(
        CHECK,
        after.refunded == payment.refunded,
        "an invalid request refunded money"
    );
    Ok(())
}

/// Refunds are listed oldest first.
pub async fn refunds_listed_oldest_first(
    payments: &dyn Payments,
    f: &PaymentsFixture,
) -> CheckResult {
    const CHECK: &str = "payments.refunds_listed_oldest_first";
    let payment = current(CHECK, payments, &f.payment).await?;
    let older = ok(
        CHECK,
        "first refund",
        payments
            .refund(&request(f, "order-1", minor(&payment, 1)))
            .await,
    )?;
    let newer = ok(
        CHECK,
        "second refund",
        payments
            .refund(&request(f, "order-2", minor(&payment, 1)))
            .await,
    )?;
    ensure!(
        CHECK,
        older.id != newer.id,
        "two keys gave one refund `{}`",
        older.id
    );
    let listed = ok(CHECK, "refunds", payments.refunds(&f.payment).await)?;
    ensure!(
        CHECK,
        listed
            .windows(2)
            .all(|w| w[0].created_at <= w[1].created_at),
        "refunds are not oldest first"
    );
    let position = |id| listed.iter().position(|r| &r.id == id);
    match (position(&older.id), position(&newer.id)) {
        (Some(a), Some(b)) => ensure!(CHECK, a < b, "the newer refund is listed before the older"),
        _ => {
            return Err(ConformanceFailure::new(
                CHECK,
                "a refund made is not listed",
            ))
        }
    }
    Ok(())
}
