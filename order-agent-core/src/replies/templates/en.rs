//! English.

use super::Templates;
use crate::domain::{RefundState, ResolutionKind, Tender, TrackingStatus};
use crate::flows::shipping::ExceptionKind;
use crate::replies::rendering::{explained, CustomerReason, Cx, ParcelView, Timing};
use crate::replies::{ChangeKind, HandoverTopic, Reply};

/// English words.
pub(super) struct English;

const CLOSING: &str = "If you have any questions, just reply to this message.";
const TEAM_REVIEWS: &str = "A member of our team will review your request and get back to you.";

fn days(n: i64) -> String {
    if n == 1 {
        "1 day".to_owned()
    } else {
        format!("{n} days")
    }
}

fn timing(p: &ParcelView, compact: bool) -> Option<String> {
    match &p.timing {
        Timing::None => None,
        Timing::Expected { date } | Timing::OnTime { date } if compact => {
            Some(format!("expected {date}"))
        }
        Timing::Expected { date } => Some(format!("Expected delivery: {date}")),

        Timing::OnTime { date } => Some(format!("Expected delivery: {date} (on time)")),
        Timing::Late {
            days: n,
            expected,
            promised,
        } => {
            if compact {
                let late = n.map_or("running late".to_owned(), |n| format!("{} late", days(n)));
                return Some(match expected {
                    Some(e) => format!("expected {e} ({late})"),
                    None => late,
                });
            }
            let mut late = n.map_or("later than promised".to_owned(), |n| {
                format!("{} later than promised", days(n))
            });
            if let Some(p) = promised {
                late.push_str(&format!(" ({p})"));
            }
            Some(match expected {
                Some(e) => format!("Expected delivery: {e}, {late}. We're sorry for the delay."),
                None => format!("This parcel is {late}. We're sorry for the delay."),
            })
        }
    }
}

fn parcel_block(p: &ParcelView, index: usize, total: usize) -> String {
    let mut header = if total > 1 {
        format!("Parcel {index} of {total}: {}", p.carrier)
    } else {
        format!("Your parcel: {}", p.carrier)
    };
    match &p.tracking_number {
        Some(t) => header.push_str(&format!(", tracking number {t}")),
        None => header.push_str(" (no tracking number yet)"),
    }
    let mut lines = vec![header];
    if let Some(items) = &p.items {
        lines.push(format!("Contents: {items}"));
    }
    match &p.delivered_at {
        Some(at) => lines.push(format!("Status: {} ({at})", p.status)),
        None => lines.push(format!("Status: {}", p.status)),
    }
    if let Some(scan) = &p.last_scan {
        let mut line = format!("Last update: {}", scan.at);
        if let Some(place) = &scan.place {
            line.push_str(&format!(", {place}"));
        }
        if let Some(description) = &scan.description {
            line.push_str(&format!(" – {description}"));
        }
        lines.push(line);
    }
    if let Some(t) = timing(p, false) {
        lines.push(t);
    }
    if p.being_investigated {
        lines.push("We are already looking into this.".to_owned());
    }
    lines.join("\n")
}

fn parcel_line(p: &ParcelView, index: usize, total: usize) -> String {
    let mut line = String::new();
    if total > 1 {
        line.push_str(&format!("{index}) "));
    }
    if let Some(items) = &p.items {
        line.push_str(&format!("{items}: "));
    }
    line.push_str(p.status);
    if let Some(at) = &p.delivered_at {
        line.push_str(&format!(" ({at})"));
    }
    if let Some(t) = timing(p, true) {
        line.push_str(&format!(", {t}"));
    }
    line.push('.');
    // With several parcels the last scans would make an SMS too long.
    if let Some(scan) = p.last_scan.as_ref().filter(|_| total == 1) {
        line.push_str(&format!(" Last update: {}", scan.at));
        if let Some(place) = &scan.place {
            line.push_str(&format!(", {place}"));
        }
        line.push('.');
    }
    match &p.tracking_number {
        Some(t) => line.push_str(&format!(" Tracking: {t} ({}).", p.carrier)),
        None => line.push_str(&format!(" {}, no tracking number yet.", p.carrier)),
    }
    if p.being_investigated {
        line.push_str(" We're looking into it.");
    }
    line
}

fn exception_sentence(kind: ExceptionKind) -> &'static str {
    match kind {
        ExceptionKind::Delayed => "Unfortunately, your delivery is delayed.",
        ExceptionKind::Lost => "The carrier has not reported any progress on your parcel for some time, and it may have been lost. We are looking into it with the carrier and will get back to you.",
        ExceptionKind::CustomsHold => "Your parcel is currently being held at customs. We are looking into it and will let you know if anything is needed from you.",
        ExceptionKind::AddressIssue => "The carrier cannot deliver your parcel to the address given. Please check your delivery address and reply to this message if it needs correcting.",
        ExceptionKind::Damaged => "Your parcel was damaged in transit. We're very sorry – our team will contact you about the next steps.",
        ExceptionKind::ReturnedToSender => "Your parcel is on its way back to us. Our team will contact you about the next steps.",
        ExceptionKind::CarrierException => "The carrier has reported a problem with your parcel. We are looking into it and will keep you informed.",
        ExceptionKind::SplitShipment => "Your order is being shipped in several parcels, which may arrive on different days.",
        ExceptionKind::Substitution => "An item in your order was out of stock and has been replaced with an equivalent item.",
    }
}

fn handover_sentence(topic: HandoverTopic) -> &'static str {
    match topic {
        HandoverTopic::PolicyReview => {
            "A member of our team will look at your request personally and get back to you."
        }
        HandoverTopic::RefundApproval => {
            "A member of our team will check your refund and get back to you."
        }
        HandoverTopic::CustomerRequest => {
            "We have passed your message on to a member of our team, who will get back to you."
        }
        HandoverTopic::Complaint => {
            "We're sorry to hear that. A member of our team will take care of this personally and get back to you."
        }
        HandoverTopic::NotUnderstood => {
            "Sorry, we didn't quite understand your message. A member of our team will get back to you."
        }
        HandoverTopic::ShippingException => {
            "A member of our team is looking into the delivery problem and will get back to you."
        }
    }
}

impl Templates for English {
    fn greeting(&self) -> &'static str {
        "Hello,"
    }

    fn sign_off(&self) -> &'static str {
        "Kind regards\nYour customer service team"
    }

    fn subject(&self, reply: &Reply, cx: &Cx) -> String {
        match reply {
            Reply::AskVerification { .. } => "Please confirm your order details".to_owned(),
            Reply::NotVerified => "We couldn't find your order".to_owned(),
            Reply::VerificationLocked => "Order look-up paused".to_owned(),
            Reply::AskWhichOrder { .. } => "Which order do you mean?".to_owned(),
            Reply::OrderStatus { order_number, .. } => {
                format!("Status of your order {}", cx.order(order_number))
            }
            Reply::AskReturnDetails { order_number, .. } => {
                format!("Your return for order {}", cx.order(order_number))
            }
            Reply::ReturnAuthorised { order_number, .. } => {
                format!(
                    "Your return for order {} is confirmed",
                    cx.order(order_number)
                )
            }
            Reply::ReturnDenied { order_number, .. } => {
                format!("Your return request for order {}", cx.order(order_number))
            }
            Reply::HandedToHuman {
                ticket_reference, ..
            } => match ticket_reference.as_deref().map(|t| cx.text(t)) {
                Some(t) if !t.is_empty() => format!("We're looking into your request (ref. {t})"),
                _ => "We're looking into your request".to_owned(),
            },
            Reply::ReturnReceived { order_number, .. } => {
                format!(
                    "We've received your return for order {}",
                    cx.order(order_number)
                )
            }
            Reply::RefundIssued { order_number, .. } => {
                format!("Refund for order {}", cx.order(order_number))
            }
            Reply::RefundStatus { order_number, .. } => {
                format!("Refund status for order {}", cx.order(order_number))
            }
            Reply::OrderCancelled { order_number, .. } => {
                format!("Your order {} has been cancelled", cx.order(order_number))
            }
            Reply::AddressChanged { order_number, .. } => {
                format!("New delivery address for order {}", cx.order(order_number))
            }
            Reply::ItemsModified { order_number } => {
                format!("Your order {} has been updated", cx.order(order_number))
            }
            Reply::ChangeDenied { order_number, .. } => {
                format!("Your change request for order {}", cx.order(order_number))
            }
            Reply::ExceptionNotice { order_number, .. } => {
                format!("Update on your order {}", cx.order(order_number))
            }
            Reply::PolicySummary { .. } => "Our return policy".to_owned(),
            Reply::SystemUnavailable | Reply::Clarify => "Your request".to_owned(),
        }
    }

    fn body(&self, reply: &Reply, cx: &Cx) -> Vec<String> {
        match reply {
            Reply::AskVerification { order_number } => vec![match order_number {
                Some(n) => format!(
                    "To look up order {}, please send us the email address and the postcode used for the order.",
                    cx.order(n)
                ),
                None => "To look up your order, please send us your order number together with the email address and the postcode used for the order.".to_owned(),
            }],
            Reply::NotVerified => vec![
                "We couldn't find an order matching these details. Please check the order number, email address and postcode and try again.".to_owned(),
            ],
            Reply::VerificationLocked => vec![
                "For your security, we have paused order look-ups after several unsuccessful attempts. Please try again later.".to_owned(),
            ],
            Reply::AskWhichOrder { candidates } => {
                if candidates.is_empty() {
                    return vec!["Which order do you mean? Please send us the order number.".to_owned()];
                }
                if cx.compact {
                    let orders = cx.join(
                        candidates
                            .iter()
                            .map(|c| format!("{} ({})", cx.order(&c.number), cx.day(c.placed_at)))
                            .collect(),
                    );
                    return vec![format!(
                        "We found several orders: {orders}. Which one do you mean? Please reply with the order number."
                    )];
                }
                let lines: Vec<String> = candidates
                    .iter()
                    .map(|c| {
                        let mut line = format!("- {} of {}", cx.order(&c.number), cx.day(c.placed_at));
                        if let Some(items) = cx.list(&c.items) {
                            line.push_str(&format!(": {items}"));
                        }
                        line
                    })
                    .collect();
                vec![
                    "We found several orders. Which one do you mean?".to_owned(),
                    lines.join("\n"),
                    "Please reply with the order number.".to_owned(),
                ]
            }
            Reply::OrderStatus {
                order_number,
                parcels,
                unshipped_items,
            } => {
                let n = cx.order(order_number);
                if parcels.is_empty() {
                    return vec![format!(
                        "Your order {n} is being prepared and has not shipped yet. We'll let you know as soon as it's on its way."
                    )];
                }
                let mut blocks = vec![if cx.compact {
                    format!("Order {n}:")
                } else {
                    format!("Here is the current status of your order {n}.")
                }];
                for (i, parcel) in parcels.iter().enumerate() {
                    let view = cx.parcel(parcel);
                    blocks.push(if cx.compact {
                        parcel_line(&view, i + 1, parcels.len())
                    } else {
                        parcel_block(&view, i + 1, parcels.len())
                    });
                }
                if let Some(items) = cx.list(unshipped_items) {
                    blocks.push(if cx.compact {
                        format!("Not shipped yet: {items}.")
                    } else {
                        format!("Not shipped yet: {items}. We'll let you know as soon as they're on their way.")
                    });
                }
                blocks
            }
            Reply::AskReturnDetails {
                order_number,
                items,
            } => {
                let mut text = format!(
                    "Which items from order {} would you like to return, and why?",
                    cx.order(order_number)
                );
                if let Some(items) = cx.list(items) {
                    text.push_str(&format!(" These items can be returned: {items}."));
                }
                vec![text]
            }
            Reply::ReturnAuthorised {
                order_number,
                return_id,
                label_url,
                items,
                resolution,
                refund_estimate,
                return_shipping_fee,
                inspection_required,
            } => {
                let mut first = format!(
                    "Your return for order {} is confirmed. Return number: {}.",
                    cx.order(order_number),
                    cx.text(return_id.as_str())
                );
                if !cx.compact {
                    if let Some(items) = cx.list(items) {
                        first.push_str(&format!(" Items: {items}."));
                    }
                }
                let label = match cx.label_url(label_url.as_ref()) {
                    Some(url) if cx.compact => format!("Return label: {url}"),
                    Some(url) => format!("Please print the return label and attach it to the parcel: {url}"),
                    None => "We'll send you the return label separately.".to_owned(),
                };
                let after = if *inspection_required {
                    "Once we have received and checked the items"
                } else {
                    "Once we have received the items"
                };
                let estimate = refund_estimate.filter(|m| m.is_positive());
                let mut money = match (resolution, estimate) {
                    (ResolutionKind::Refund, Some(m)) => format!(
                        "{after}, we will refund {} to your original payment method.",
                        cx.money(m)
                    ),
                    (ResolutionKind::Refund, None) => {
                        format!("{after}, we will refund you via your original payment method.")
                    }
                    (ResolutionKind::StoreCredit, Some(m)) => {
                        format!("{after}, you will receive {} as store credit.", cx.money(m))
                    }
                    (ResolutionKind::StoreCredit, None) => {
                        format!("{after}, you will receive store credit for them.")
                    }
                    (ResolutionKind::Exchange, Some(m)) => format!(
                        "{after}, we will send you the replacement and refund {}.",
                        cx.money(m)
                    ),
                    (ResolutionKind::Exchange, None) => {
                        format!("{after}, we will send you the replacement.")
                    }
                };
                if let Some(fee) = return_shipping_fee.filter(|m| m.is_positive()) {
                    let fee = cx.money(fee);
                    money.push_str(&if estimate.is_some() {
                        format!(" Return shipping of {fee} has been deducted.")
                    } else {
                        format!(" A return shipping fee of {fee} applies.")
                    });
                }
                vec![first, label, money]
            }
            Reply::ReturnDenied {
                order_number,
                reasons,
                items,
            } => {
                let n = cx.order(order_number);
                let what = match cx.list(items) {
                    Some(items) => format!("the return of {items} from order {n}"),
                    None => format!("your return from order {n}"),
                };
                let sentences = cx.reasons(reasons);
                if sentences.is_empty() {
                    return vec![format!("We can't approve {what} automatically. {TEAM_REVIEWS}")];
                }
                let intro = format!("Unfortunately, we can't accept {what}.");
                let mut blocks = explained(intro, &sentences, cx.compact);
                if !cx.compact {
                    blocks.push(CLOSING.to_owned());
                }
                blocks
            }
            Reply::HandedToHuman {
                topic,
                ticket_reference,
            } => {
                let mut text = handover_sentence(*topic).to_owned();
                if let Some(t) = ticket_reference.as_deref().map(|t| cx.text(t)) {
                    if !t.is_empty() {
                        text.push_str(&format!(" Your reference: {t}."));
                    }
                }
                vec![text]
            }
            Reply::ReturnReceived {
                order_number,
                awaiting_inspection,
            } => {
                let next = if *awaiting_inspection {
                    "We are now checking the items; your refund will follow once that's done."
                } else {
                    "We will complete your return shortly."
                };
                vec![format!(
                    "We have received your return for order {}. {next}",
                    cx.order(order_number)
                )]
            }
            Reply::RefundIssued {
                order_number,
                amount,
                tenders,
            } => {
                let mut text = format!(
                    "We have refunded {} for order {} {}.",
                    cx.money(*amount),
                    cx.order(order_number),
                    cx.tenders(tenders)
                );
                if cx.reaches_a_bank(tenders) {
                    text.push_str(" Depending on your bank, it may take a few working days to appear.");
                }
                vec![text]
            }
            Reply::RefundStatus {
                order_number,
                refunds,
                return_in_progress,
            } => {
                let n = cx.order(order_number);
                let mut blocks = Vec::new();
                if refunds.is_empty() {
                    blocks.push(format!("No refund has been made for order {n} yet."));
                } else {
                    let lines: Vec<String> = refunds
                        .iter()
                        .map(|r| {
                            format!(
                                "- {} on {}: {}",
                                cx.money(r.amount),
                                cx.day(r.created_at),
                                self.refund_state(r.state)
                            )
                        })
                        .collect();
                    blocks.push(format!("Refunds for order {n}:\n{}", lines.join("\n")));
                }
                if *return_in_progress {
                    blocks.push(
                        "Your return is on its way to us or being checked. We'll refund you as soon as that's done.".to_owned(),
                    );
                } else if refunds.is_empty() {
                    blocks.push("If you'd like to return something, just let us know.".to_owned());
                }
                blocks
            }
            Reply::OrderCancelled {
                order_number,
                refund,
            } => {
                let mut text = format!("Your order {} has been cancelled.", cx.order(order_number));
                if let Some(m) = refund.filter(|m| m.is_positive()) {
                    text.push_str(&format!(
                        " We will refund {} to your original payment method.",
                        cx.money(m)
                    ));
                }
                vec![text]
            }
            Reply::AddressChanged {
                order_number,
                address,
            } => {
                let lines = cx.address(address);
                let n = cx.order(order_number);
                if cx.compact {
                    vec![format!(
                        "The delivery address of order {n} is now: {}.",
                        lines.join(", ")
                    )]
                } else {
                    vec![format!(
                        "The delivery address of order {n} has been changed to:\n{}",
                        lines.join("\n")
                    )]
                }
            }
            Reply::ItemsModified { order_number } => vec![format!(
                "The items in your order {} have been updated as requested.",
                cx.order(order_number)
            )],
            Reply::ChangeDenied {
                order_number,
                change,
                reasons,
            } => {
                let n = cx.order(order_number);
                let what = match change {
                    ChangeKind::Cancel => format!("cancel order {n}"),
                    ChangeKind::Address => format!("change the delivery address of order {n}"),
                    ChangeKind::Items => format!("change the items in order {n}"),
                };
                let sentences = cx.reasons(reasons);
                if sentences.is_empty() {
                    return vec![format!(
                        "We couldn't {what} automatically. {TEAM_REVIEWS}"
                    )];
                }
                let mut blocks = explained(
                    format!("Unfortunately, we couldn't {what}."),
                    &sentences,
                    cx.compact,
                );
                if !cx.compact {
                    blocks.push(CLOSING.to_owned());
                }
                blocks
            }
            Reply::ExceptionNotice {
                order_number,
                kind,
                parcel,
            } => {
                let n = cx.order(order_number);
                let sentence = exception_sentence(*kind);
                let intro = format!("We have an update on your order {n}.");
                let mut blocks = if cx.compact {
                    vec![format!("{intro} {sentence}")]
                } else {
                    vec![intro, sentence.to_owned()]
                };
                if let Some(parcel) = parcel {
                    let view = cx.parcel(parcel);
                    blocks.push(if cx.compact {
                        parcel_line(&view, 1, 1)
                    } else {
                        parcel_block(&view, 1, 1)
                    });
                }
                blocks
            }
            Reply::PolicySummary {
                window_days,
                return_shipping_fee,
            } => {
                let mut text = format!(
                    "You can return items within {} of delivery.",
                    days(*window_days)
                );
                match return_shipping_fee.filter(|m| m.is_positive()) {
                    Some(fee) => text.push_str(&format!(
                        " Return shipping costs {}, deducted from your refund.",
                        cx.money(fee)
                    )),
                    None => text.push_str(" Return shipping is free."),
                }
                text.push_str(" Some items, such as final-sale or hygiene items, cannot be returned.");
                if !cx.compact {
                    text.push_str(" To start a return, just send us your order number.");
                }
                vec![text]
            }
            Reply::SystemUnavailable => vec![
                "Sorry, we can't access our systems right now. A member of our team will get back to you as soon as possible.".to_owned(),
            ],
            Reply::Clarify => vec![
                "Could you tell us a little more about what you need? For example, your order number and whether it's about a delivery, a return or a refund.".to_owned(),
            ],
        }
    }

    fn reason(&self, reason: CustomerReason) -> &'static str {
        use CustomerReason as C;
        match reason {
            C::WindowExpired => "The return period for this item has ended.",
            C::FinalSale => "This item was sold as final sale and cannot be returned.",
            C::WarrantyClaim => "A faulty item is handled as a warranty case; our team will contact you about it.",
            C::Hygiene => "For hygiene reasons, this item cannot be returned.",
            C::NotReturnable => "This item is excluded from returns.",
            C::ResolutionNotAllowed => "The option you chose (refund, store credit or exchange) is not available for this item.",
            C::ExchangeUnavailable => "The item you would like in exchange is not available.",
            C::GiftCardInsufficient => "The gift card balance does not cover the price difference.",
            C::UnknownLine => "We could not find this item in the order.",
            C::QuantityExceeded => "The quantity is more than can still be returned.",
            C::EmptyRequest => "No items were selected.",
            C::NotShipped => "The item has not shipped yet, so you can cancel or change it instead.",
            C::NothingToRefund => "This order has already been refunded in full.",
            C::AlreadyFulfilled => "The order has already been shipped or closed.",
            C::StateNotAllowed => "The order is at a stage where this is no longer possible.",
            C::ReasonNotAllowed => "We cannot handle this request online for the reason given.",
            C::ChangeDisabled => "This change cannot be made online.",
            C::ModificationLimitReached => "The order has already been changed as often as possible online.",
            C::CountryChange => "The delivery address cannot be changed to another country.",
            C::PriceDifference => "The new item has a different price, so the change cannot be made online.",
            C::AddressUndeliverable => "The carrier cannot deliver to this address. Please check it and send it again.",
        }
    }

    fn tracking_status(&self, status: TrackingStatus) -> &'static str {
        match status {
            TrackingStatus::LabelCreated => "Ready to ship (label created)",
            TrackingStatus::PickedUp => "Handed to the carrier",
            TrackingStatus::InTransit => "In transit",
            TrackingStatus::OutForDelivery => "Out for delivery",
            TrackingStatus::Delivered => "Delivered",
            TrackingStatus::DeliveryAttemptFailed => "Delivery attempt failed",
            TrackingStatus::AvailableForPickup => "Ready for pickup",
            TrackingStatus::CustomsHold => "Held at customs",
            TrackingStatus::AddressIssue => "Problem with the delivery address",
            TrackingStatus::Damaged => "Damaged in transit",
            TrackingStatus::Lost => "Reported lost by the carrier",
            TrackingStatus::ReturnedToSender => "Returning to the sender",
            TrackingStatus::Exception => "Problem reported by the carrier",
            TrackingStatus::Unknown => "Status not available yet",
        }
    }

    fn tender(&self, tender: Tender) -> &'static str {
        match tender {
            Tender::Card => "to your card",
            Tender::Paypal => "to your PayPal account",
            Tender::Twint => "to your TWINT account",
            Tender::BankTransfer => "to your bank account",
            Tender::GiftCard => "to your gift card",
            Tender::StoreCredit => "to your store credit balance",
        }
    }

    fn unknown_carrier(&self) -> &'static str {
        "unknown carrier"
    }

    fn original_payment_method(&self) -> &'static str {
        "to your original payment method"
    }

    fn refund_state(&self, state: RefundState) -> &'static str {
        match state {
            RefundState::Pending => "in progress",
            RefundState::Succeeded => "completed",
            RefundState::Failed => "not completed – we're looking into it",
        }
    }

    fn country(&self, iso_code: &str) -> Option<&'static str> {
        Some(match iso_code {
            "CH" => "Switzerland",
            "LI" => "Liechtenstein",
            "DE" => "Germany",
            "AT" => "Austria",
            "FR" => "France",
            "IT" => "Italy",
            _ => return None,
        })
    }

    fn and(&self) -> &'static str {
        "and"
    }

    fn more(&self, count: usize) -> String {
        format!("{count} more")
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::{Channel, Locale};
    use crate::replies::fixtures::{return_authorised, return_denied, wismo_two_parcels};
    use crate::replies::render;

    const TZ: chrono_tz::Tz = chrono_tz::Europe::Zurich;

    #[test]
    fn wismo_with_two_parcels_one_late_by_email() {
        let r = render(&wismo_two_parcels(), Locale::En, Channel::Email, TZ);
        assert_eq!(r.subject.as_deref(), Some("Status of your order #1042"));
        assert_eq!(
            r.body,
            "Hello,\n\
            \n\
            Here is the current status of your order #1042.\n\
            \n\
            Parcel 1 of 2: Swiss Post, tracking number 99.00.123456.78901234\n\
            Contents: Merino Pullover and Trekking-Socken\n\
            Status: In transit\n\
            Last update: 22 Oct 2026, 14:05, Zürich-Mülligen – Sortierung\n\
            Expected delivery: 24 Oct 2026 (on time)\n\
            \n\
            Parcel 2 of 2: DHL, tracking number JD014600003828\n\
            Contents: Daunenjacke Alpina\n\
            Status: In transit\n\
            Last update: 23 Oct 2026, 09:40, Basel – Ankunft im Verteilzentrum\n\
            Expected delivery: 27 Oct 2026, 2 days later than promised (25 Oct 2026). We're sorry for the delay.\n\
            \n\
            Not shipped yet: Mütze Engadin. We'll let you know as soon as they're on their way.\n\
            \n\
            Kind regards\n\
            Your customer service team"
        );
    }

    #[test]
    fn return_authorised_by_sms() {
        let r = render(&return_authorised(), Locale::En, Channel::Sms, TZ);
        assert_eq!(
            r.body,
            "Your return for order #1042 is confirmed. Return number: R-2026-0077.\n\
            Return label: https://labels.example.ch/r/2026-0077.pdf\n\
            Once we have received the items, we will refund CHF 123.40 to your original payment method. Return shipping of CHF 7.00 has been deducted."
        );
    }

    #[test]
    fn return_denied_on_whatsapp() {
        let r = render(&return_denied(), Locale::En, Channel::Whatsapp, TZ);
        assert_eq!(
            r.body,
            "Unfortunately, we can't accept the return of Daunenjacke Alpina from order #1042.\n\
            \n\
            - The return period for this item has ended.\n\
            - This item was sold as final sale and cannot be returned.\n\
            \n\
            If you have any questions, just reply to this message."
        );
    }
}
