//! The [`Oms`] conformance suite.

use order_agent_core::domain::{
    Address, AddressChangeRequest, CancellationReason, CancellationRequest, Channel, ContactPoint,
    Customer, CustomerId, ItemChange, ItemModificationRequest, LineId, Order, OrderId, OrderNumber,
    OrderStatus, ResolutionKind, ReturnAuthorisation, ReturnId, ReturnLine, ReturnReason,
    ReturnRequest,
};
use order_agent_core::ports::oms::normalize_order_number;
use order_agent_core::ports::{Oms, PortErrorKind};

use super::sample_data::{self, at};
use super::{ensure, expect_kind, ok, CheckResult, ConformanceFailure, ConformanceReport, Runner};

/// What the OMS under test holds.
#[derive(Debug, Clone)]
pub struct OmsFixture {
    /// Distinguishes this run's writes (return ids) from earlier runs.
    pub run_id: String,
    /// A customer with at least two orders and at least one non-email contact point.
    pub customer: CustomerId,
    /// An order of that customer, with at least one line; returns are recorded against it.
    pub order: OrderId,
    /// An order before fulfilment that the suite cancels.
    pub cancellable_order: OrderId,
    /// An order before fulfilment whose address the suite changes.
    pub readdressable_order: OrderId,
    /// The address it is changed to (different from its current one).
    pub new_address: Address,
    /// An order before fulfilment with a line of at least two units, which the suite reduces.
    pub modifiable_order: OrderId,
    /// An order that has left the warehouse.
    pub shipped_order: OrderId,
    /// An order id the OMS does not know.
    pub unknown_order: OrderId,
    /// An order number the OMS does not know.
    pub unknown_number: OrderNumber,
    /// A customer id the OMS does not know.
    pub unknown_customer: CustomerId,
    /// An email address no customer has.
    pub unknown_email: String,
}

/// Seed data for a fake OMS and the fixture that matches it.
#[derive(Debug, Clone)]
pub struct OmsSample {
    /// Orders to seed.
    pub orders: Vec<Order>,
    /// Customers to seed.
    pub customers: Vec<Customer>,
    /// The fixture.
    pub fixture: OmsFixture,
}

/// A sample for the in-memory OMS.
pub fn sample() -> OmsSample {
    OmsSample {
        orders: sample_data::orders(),
        customers: sample_data::customers(),
        fixture: OmsFixture {
            run_id: "sample".to_owned(),
            customer: CustomerId::new("cus_anna"),
            order: OrderId::new("o_1001"),
            cancellable_order: OrderId::new("o_1002"),
            readdressable_order: OrderId::new("o_1003"),
            new_address: sample_data::address("Anna Muster", "Bahnhofstrasse 10", "3011", "Bern"),
            modifiable_order: OrderId::new("o_1004"),
            shipped_order: OrderId::new("o_1005"),
            unknown_order: OrderId::new("o_404"),
            unknown_number: OrderNumber::new("#404404"),
            unknown_customer: CustomerId::new("cus_404"),
            unknown_email: "nobody@example.invalid".to_owned(),
        },
    }
}

/// Runs every OMS check, in an order that keeps them independent: changes, then cancellation.
pub async fn run_all(oms: &dyn Oms, fixture: &OmsFixture) -> Result<(), ConformanceReport> {
    let mut runner = Runner::new("oms");
    runner
        .check(missing_lookups_answer_none(oms, fixture))
        .await;
    runner
        .check(order_found_by_id_and_number(oms, fixture))
        .await;
    runner
        .check(orders_of_customer_newest_first(oms, fixture))
        .await;
    runner.check(customer_found_by_contact(oms, fixture)).await;
    runner.check(change_shipping_address(oms, fixture)).await;
    runner.check(modify_items(oms, fixture)).await;
    runner.check(cancel_order(oms, fixture)).await;
    runner.check(record_return(oms, fixture)).await;
    runner.finish()
}

async fn existing(
    check: &'static str,
    oms: &dyn Oms,
    id: &OrderId,
) -> Result<Order, ConformanceFailure> {
    ok(check, "order", oms.order(id).await)?.ok_or_else(|| {
        ConformanceFailure::new(check, format!("fixture order `{id}` is not in the oms"))
    })
}

/// Lookups of what does not exist answer `Ok(None)` or an empty list, never an error.
pub async fn missing_lookups_answer_none(oms: &dyn Oms, f: &OmsFixture) -> CheckResult {
    const CHECK: &str = "oms.missing_lookups_answer_none";
    let order = ok(
        CHECK,
        "order of an unknown id",
        oms.order(&f.unknown_order).await,
    )?;
    ensure!(
        CHECK,
        order.is_none(),
        "found an order for unknown id `{}`",
        f.unknown_order
    );
    let by_number = ok(
        CHECK,
        "order of an unknown number",
        oms.order_by_number(&f.unknown_number).await,
    )?;
    ensure!(
        CHECK,
        by_number.is_none(),
        "found an order for unknown number `{}`",
        f.unknown_number
    );
    let orders = ok(
        CHECK,
        "orders of an unknown customer",
        oms.orders_of_customer(&f.unknown_customer, 10).await,
    )?;
    ensure!(
        CHECK,
        orders.is_empty(),
        "unknown customer has {} orders",
        orders.len()
    );
    let customer = ok(
        CHECK,
        "unknown customer",
        oms.customer(&f.unknown_customer).await,
    )?;
    ensure!(
        CHECK,
        customer.is_none(),
        "found unknown customer `{}`",
        f.unknown_customer
    );
    let contact = ContactPoint {
        channel: Channel::Email,
        address: f.unknown_email.clone(),
    };
    let by_contact = ok(
        CHECK,
        "unknown email",
        oms.customer_by_contact(&contact).await,
    )?;
    ensure!(
        CHECK,
        by_contact.is_none(),
        "found a customer for `{}`",
        f.unknown_email
    );
    Ok(())
}

/// An order is found by its id and by its number, with or without `#` and whitespace.
pub async fn order_found_by_id_and_number(oms: &dyn Oms, f: &OmsFixture) -> CheckResult {
    const CHECK: &str = "oms.order_found_by_id_and_number";
    let order = existing(CHECK, oms, &f.order).await?;
    ensure!(
        CHECK,
        order.id == f.order,
        "asked for `{}`, got `{}`",
        f.order,
        order.id
    );
    let bare = normalize_order_number(order.number.as_str()).to_owned();
    for spelling in [
        order.number.as_str().to_owned(),
        bare.clone(),
        format!("#{bare}"),
        format!("  #{bare} "),
    ] {
        let found = ok(
            CHECK,
            "order by number",
            oms.order_by_number(&OrderNumber::new(spelling.clone()))
                .await,
        )?;
        ensure!(
            CHECK,
            found.as_ref().map(|o| &o.id) == Some(&f.order),
            "number spelled `{spelling}` found {:?}, expected `{}`",
            found.map(|o| o.id),
            f.order
        );
    }
    Ok(())
}

/// A customer's orders come newest first, only theirs, at most `limit`.
pub async fn orders_of_customer_newest_first(oms: &dyn Oms, f: &OmsFixture) -> CheckResult {
    const CHECK: &str = "oms.orders_of_customer_newest_first";
    let all = ok(
        CHECK,
        "orders of customer",
        oms.orders_of_customer(&f.customer, 100).await,
    )?;
    ensure!(
        CHECK,
        all.len() >= 2,
        "fixture customer needs at least two orders, has {}",
        all.len()
    );
    ensure!(
        CHECK,
        all.iter().all(|o| o.customer_id == f.customer),
        "listed an order of another customer"
    );
    ensure!(
        CHECK,
        all.windows(2).all(|w| w[0].placed_at >= w[1].placed_at),
        "orders are not newest first: {:?}",
        all.iter()
            .map(|o| (o.id.as_str(), o.placed_at))
            .collect::<Vec<_>>()
    );
    let one = ok(
        CHECK,
        "orders of customer, limit 1",
        oms.orders_of_customer(&f.customer, 1).await,
    )?;
    ensure!(
        CHECK,
        one.len() == 1,
        "limit 1 returned {} orders",
        one.len()
    );
    ensure!(
        CHECK,
        one[0].id == all[0].id,
        "limit 1 did not return the newest order"
    );
    Ok(())
}

/// Customers are found by id, by email case-insensitively, and by a contact point only on its
/// own channel.
pub async fn customer_found_by_contact(oms: &dyn Oms, f: &OmsFixture) -> CheckResult {
    const CHECK: &str = "oms.customer_found_by_contact";
    let customer = ok(CHECK, "customer", oms.customer(&f.customer).await)?
        .ok_or_else(|| ConformanceFailure::new(CHECK, "fixture customer is not in the oms"))?;
    ensure!(
        CHECK,
        customer.id == f.customer,
        "asked for `{}`, got `{}`",
        f.customer,
        customer.id
    );

    let shouted = ContactPoint {
        channel: Channel::Email,
        address: format!("  {} ", customer.email.to_uppercase()),
    };
    let found = ok(
        CHECK,
        "customer by email",
        oms.customer_by_contact(&shouted).await,
    )?;
    ensure!(
        CHECK,
        found.as_ref().map(|c| &c.id) == Some(&f.customer),
        "email `{}` did not find the customer",
        shouted.address
    );

    let point = customer
        .contact_points
        .iter()
        .find(|cp| cp.channel != Channel::Email)
        .ok_or_else(|| {
            ConformanceFailure::new(CHECK, "fixture customer needs a non-email contact point")
        })?;
    let found = ok(
        CHECK,
        "customer by contact point",
        oms.customer_by_contact(point).await,
    )?;
    ensure!(
        CHECK,
        found.as_ref().map(|c| &c.id) == Some(&f.customer),
        "contact point {point:?} did not find the customer"
    );
    let other_channel = [Channel::Sms, Channel::Whatsapp, Channel::WebChat]
        .into_iter()
        .find(|ch| {
            !customer
                .contact_points
                .iter()
                .any(|cp| cp.channel == *ch && cp.address == point.address)
        });
    if let Some(channel) = other_channel {
        let elsewhere = ContactPoint {
            channel,
            address: point.address.clone(),
        };
        let found = ok(
            CHECK,
            "contact on another channel",
            oms.customer_by_contact(&elsewhere).await,
        )?;
        ensure!(
            CHECK,
            found.is_none(),
            "{:?} matched a contact point registered for {:?}",
            elsewhere,
            point.channel
        );
    }
    Ok(())
}

/// The address changes idempotently before fulfilment, is refused after, and an unknown order is
/// not found.
pub async fn change_shipping_address(oms: &dyn Oms, f: &OmsFixture) -> CheckResult {
    const CHECK: &str = "oms.change_shipping_address";
    let request = AddressChangeRequest {
        order_id: f.readdressable_order.clone(),
        new_address: f.new_address.clone(),
    };
    let changed = ok(
        CHECK,
        "change address",
        oms.change_shipping_address(&request).await,
    )?;
    ensure!(
        CHECK,
        changed.shipping_address == f.new_address,
        "returned order has the old address"
    );
    let again = ok(
        CHECK,
        "change address again",
        oms.change_shipping_address(&request).await,
    )?;
    ensure!(
        CHECK,
        again.shipping_address == f.new_address,
        "second change lost the address"
    );
    let stored = existing(CHECK, oms, &f.readdressable_order).await?;
    ensure!(
        CHECK,
        stored.shipping_address == f.new_address,
        "the stored order has the old address"
    );

    let before = existing(CHECK, oms, &f.shipped_order).await?;
    let shipped = AddressChangeRequest {
        order_id: f.shipped_order.clone(),
        new_address: f.new_address.clone(),
    };
    expect_kind(
        CHECK,
        "change address of a shipped order",
        PortErrorKind::Rejected,
        oms.change_shipping_address(&shipped).await,
    )?;
    let after = existing(CHECK, oms, &f.shipped_order).await?;
    ensure!(
        CHECK,
        after == before,
        "a refused change altered the shipped order"
    );

    let unknown = AddressChangeRequest {
        order_id: f.unknown_order.clone(),
        new_address: f.new_address.clone(),
    };
    expect_kind(
        CHECK,
        "change address of an unknown order",
        PortErrorKind::NotFound,
        oms.change_shipping_address(&unknown).await,
    )
}

/// Item changes are all or nothing, idempotent, counted once, refused after fulfilment.
pub async fn modify_items(oms: &dyn Oms, f: &OmsFixture) -> CheckResult {
    const CHECK: &str = "oms.modify_items";
    let before = existing(CHECK, oms, &f.modifiable_order).await?;
    let line = before
        .lines
        .iter()
        .find(|l| l.quantity >= 2)
        .ok_or_else(|| ConformanceFailure::new(CHECK, "fixture order needs a line of two units"))?
        .clone();
    let reduce = |quantity| ItemChange::ReduceQuantity {
        line_id: line.id.clone(),
        quantity,
    };
    let request = |changes| ItemModificationRequest {
        order_id: f.modifiable_order.clone(),
        changes,
    };

    let half_bad = request(vec![
        reduce(line.quantity - 1),
        ItemChange::ReduceQuantity {
            line_id: LineId::new("no-such-line"),
            quantity: 0,
        },
    ]);
    expect_kind(
        CHECK,
        "modify with an unknown line",
        PortErrorKind::InvalidInput,
        oms.modify_items(&half_bad).await,
    )?;
    let after_bad = existing(CHECK, oms, &f.modifiable_order).await?;
    ensure!(
        CHECK,
        after_bad == before,
        "an invalid request applied part of its changes"
    );
    expect_kind(
        CHECK,
        "raise a quantity",
        PortErrorKind::InvalidInput,
        oms.modify_items(&request(vec![reduce(line.quantity + 1)]))
            .await,
    )?;

    let good = request(vec![reduce(line.quantity - 1)]);
    let once = ok(CHECK, "reduce a quantity", oms.modify_items(&good).await)?;
    let units = |o: &Order| o.line(&line.id).map(|l| l.quantity);
    ensure!(
        CHECK,
        units(&once) == Some(line.quantity - 1),
        "line has {:?} units, expected {}",
        units(&once),
        line.quantity - 1
    );
    ensure!(
        CHECK,
        once.modifications_made == before.modifications_made + 1,
        "modifications_made went from {} to {}",
        before.modifications_made,
        once.modifications_made
    );
    let twice = ok(CHECK, "reduce again", oms.modify_items(&good).await)?;
    ensure!(
        CHECK,
        units(&twice) == units(&once) && twice.modifications_made == once.modifications_made,
        "repeating the request changed the order again (units {:?}, modifications {})",
        units(&twice),
        twice.modifications_made
    );

    let before_shipped = existing(CHECK, oms, &f.shipped_order).await?;
    let shipped_line = before_shipped
        .lines
        .first()
        .ok_or_else(|| ConformanceFailure::new(CHECK, "shipped fixture order has no lines"))?;
    let shipped = ItemModificationRequest {
        order_id: f.shipped_order.clone(),
        changes: vec![ItemChange::ReduceQuantity {
            line_id: shipped_line.id.clone(),
            quantity: 0,
        }],
    };
    expect_kind(
        CHECK,
        "modify a shipped order",
        PortErrorKind::Rejected,
        oms.modify_items(&shipped).await,
    )?;
    let after_shipped = existing(CHECK, oms, &f.shipped_order).await?;
    ensure!(
        CHECK,
        after_shipped == before_shipped,
        "a refused change altered the shipped order"
    );

    let unknown = ItemModificationRequest {
        order_id: f.unknown_order.clone(),
        changes: vec![reduce(0)],
    };
    expect_kind(
        CHECK,
        "modify an unknown order",
        PortErrorKind::NotFound,
        oms.modify_items(&unknown).await,
    )
}

/// Cancelling is idempotent, refused after fulfilment, and a cancelled order takes no changes.
pub async fn cancel_order(oms: &dyn Oms, f: &OmsFixture) -> CheckResult {
    const CHECK: &str = "oms.cancel_order";
    let cancel = |order_id: &OrderId| CancellationRequest {
        order_id: order_id.clone(),
        reason: CancellationReason::ChangedMind,
    };
    expect_kind(
        CHECK,
        "cancel an unknown order",
        PortErrorKind::NotFound,
        oms.cancel_order(&cancel(&f.unknown_order)).await,
    )?;

    let before = existing(CHECK, oms, &f.shipped_order).await?;
    expect_kind(
        CHECK,
        "cancel a shipped order",
        PortErrorKind::Rejected,
        oms.cancel_order(&cancel(&f.shipped_order)).await,
    )?;
    let after = existing(CHECK, oms, &f.shipped_order).await?;
    ensure!(
        CHECK,
        after == before,
        "a refused cancellation altered the shipped order"
    );

    let first = ok(
        CHECK,
        "cancel",
        oms.cancel_order(&cancel(&f.cancellable_order)).await,
    )?;
    ensure!(
        CHECK,
        first.status == OrderStatus::Cancelled,
        "cancelled order has status {:?}",
        first.status
    );
    let second = ok(
        CHECK,
        "cancel again",
        oms.cancel_order(&cancel(&f.cancellable_order)).await,
    )?;
    ensure!(
        CHECK,
        second.status == OrderStatus::Cancelled,
        "second cancel gave status {:?}",
        second.status
    );
    ensure!(CHECK, second == first, "cancelling again changed the order");
    let stored = existing(CHECK, oms, &f.cancellable_order).await?;
    ensure!(
        CHECK,
        stored.status == OrderStatus::Cancelled,
        "stored order has status {:?}",
        stored.status
    );

    let readdress = AddressChangeRequest {
        order_id: f.cancellable_order.clone(),
        new_address: f.new_address.clone(),
    };
    expect_kind(
        CHECK,
        "change the address of a cancelled order",
        PortErrorKind::Rejected,
        oms.change_shipping_address(&readdress).await,
    )?;
    if let Some(line) = stored.lines.first() {
        let modify = ItemModificationRequest {
            order_id: f.cancellable_order.clone(),
            changes: vec![ItemChange::ReduceQuantity {
                line_id: line.id.clone(),
                quantity: 0,
            }],
        };
        expect_kind(
            CHECK,
            "modify a cancelled order",
            PortErrorKind::Rejected,
            oms.modify_items(&modify).await,
        )?;
    }
    Ok(())
}

/// Recording a return is idempotent by its id; different returns get different ids.
pub async fn record_return(oms: &dyn Oms, f: &OmsFixture) -> CheckResult {
    const CHECK: &str = "oms.record_return";
    let order = existing(CHECK, oms, &f.order).await?;
    let line = order
        .lines
        .first()
        .ok_or_else(|| ConformanceFailure::new(CHECK, "fixture order has no lines"))?;
    let authorisation = |n: u32, order_id: &OrderId, line_id: &LineId| ReturnAuthorisation {
        id: ReturnId::new(format!("ret_{}_{n}", f.run_id)),
        request: ReturnRequest {
            order_id: order_id.clone(),
            lines: vec![ReturnLine {
                line_id: line_id.clone(),
                quantity: 1,
                reason: ReturnReason::DoesNotFit,
                exchange_for: None,
            }],
            resolution: ResolutionKind::Refund,
        },
        authorised_at: at(2025, 3, 1, 12),
        policy_version: "conformance".to_owned(),
    };

    let first = authorisation(1, &f.order, &line.id);
    let id = ok(CHECK, "record a return", oms.record_return(&first).await)?;
    ensure!(CHECK, !id.trim().is_empty(), "the oms return id is empty");
    let again = ok(CHECK, "record it again", oms.record_return(&first).await)?;
    ensure!(
        CHECK,
        again == id,
        "recording again gave `{again}`, first time `{id}`"
    );
    let second = ok(
        CHECK,
        "record another return",
        oms.record_return(&authorisation(2, &f.order, &line.id))
            .await,
    )?;
    ensure!(
        CHECK,
        second != id,
        "two returns got the same oms id `{id}`"
    );

    expect_kind(
        CHECK,
        "record a return of an unknown order",
        PortErrorKind::NotFound,
        oms.record_return(&authorisation(3, &f.unknown_order, &line.id))
            .await,
    )?;
    expect_kind(
        CHECK,
        "record a return of an unknown line",
        PortErrorKind::InvalidInput,
        oms.record_return(&authorisation(4, &f.order, &LineId::new("no-such-line")))
            .await,
    )
}
