//! Proving ownership of an order before anything about it is revealed.
//!
//! A requester is verified when at least two independent factors match what is on file, besides
//! the order number: the email address, a postcode of the order, the phone number. A message that
//! arrives from a contact point on file (an email address, a WhatsApp or SMS number) counts as the
//! matching factor of that kind. Any factor that is given but does not match fails the attempt, and
//! every failure looks the same from outside ([`Verification::Failed`]), so an attacker learns
//! nothing from which detail was wrong. Nothing is checked at all until two kinds of detail are
//! on the table, so that a single detail (an email address, say) can never be tested for whether
//! it belongs to an order.

use serde::{Deserialize, Serialize};

use crate::domain::{Channel, Customer, CustomerId, Order, OrderId, OrderNumber};

/// Two factors besides the order number.
pub const FACTORS_REQUIRED: usize = 2;

/// What the requester has told us, or where the message came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityClaim {
    /// Order numbers given.
    #[serde(default)]
    pub order_numbers: Vec<OrderNumber>,
    /// Email addresses given.
    #[serde(default)]
    pub emails: Vec<String>,
    /// Postcodes given.
    #[serde(default)]
    pub postcodes: Vec<String>,
    /// Phone numbers given.
    #[serde(default)]
    pub phones: Vec<String>,
    /// The channel the message came on, with the sender's address on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<(Channel, String)>,
}

impl IdentityClaim {
    /// Adds what `other` says to this claim, keeping each value once (claims accumulate over a
    /// conversation).
    pub fn merge(&mut self, other: &IdentityClaim) {
        fn add<T: PartialEq + Clone>(into: &mut Vec<T>, from: &[T]) {
            for value in from {
                if !into.contains(value) {
                    into.push(value.clone());
                }
            }
        }
        add(&mut self.order_numbers, &other.order_numbers);
        add(&mut self.emails, &other.emails);
        add(&mut self.postcodes, &other.postcodes);
        add(&mut self.phones, &other.phones);
        if other.sender.is_some() {
            self.sender.clone_from(&other.sender);
        }
    }

    /// Whether the claim names any factor at all (besides the channel).
    pub fn gives_details(&self) -> bool {
        !(self.emails.is_empty() && self.postcodes.is_empty() && self.phones.is_empty())
    }
}

/// A kind of evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Factor {
    /// The email address on file.
    Email,
    /// A postcode of the order (shipping or billing).
    Postcode,
    /// The phone number on file.
    Phone,
}

/// The result of checking a claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verification", rename_all = "snake_case")]
pub enum Verification {
    /// Enough factors matched.
    Verified {
        /// The customer proven.
        customer_id: CustomerId,
        /// The order named, when one was.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        order_id: Option<OrderId>,
        /// The factors that matched.
        factors: Vec<Factor>,
    },
    /// Nothing contradicts the claim yet, but more factors are needed.
    NeedMore {
        /// How many factors matched so far.
        matched: usize,
    },
    /// Something did not match, or nothing was found for the details given. Deliberately says no
    /// more.
    Failed,
}

/// Checks `claim` against the candidate `customer` and the `orders` the claim could concern (the
/// named order, or the customer's recent orders when none is named).
///
/// `customer` is whoever the claim points at: the owner of the named order, the owner of the
/// sending contact point, or the owner of the email given. Pass `None` when nobody was found.
pub fn verify(
    claim: &IdentityClaim,
    customer: Option<&Customer>,
    orders: &[Order],
) -> Verification {
    // Nothing is checked, and so nothing is revealed, until two kinds of detail are on the
    // table: otherwise "wrong email" versus "send more" would tell whether an email belongs to
    // an order.
    let mut offered: Vec<Factor> = Vec::new();
    if !claim.emails.is_empty() {
        offered.push(Factor::Email);
    }
    if !claim.postcodes.is_empty() {
        offered.push(Factor::Postcode);
    }
    if !claim.phones.is_empty() {
        offered.push(Factor::Phone);
    }
    let sender_factor = customer.and_then(|c| sender_factor(claim, c));
    if let Some(factor) = sender_factor {
        offered.push(factor);
    }
    offered.sort();
    offered.dedup();
    if offered.len() < FACTORS_REQUIRED {
        return Verification::NeedMore { matched: 0 };
    }
    let Some(customer) = customer else {
        return Verification::Failed;
    };
    // A named order must exist among the orders given and belong to this customer.
    let named: Vec<&Order> = claim
        .order_numbers
        .iter()
        .map(|n| {
            orders
                .iter()
                .find(|o| same_order_number(&o.number, n) && o.customer_id == customer.id)
        })
        .collect::<Option<Vec<_>>>()
        .unwrap_or_default();
    if named.len() != claim.order_numbers.len() {
        return Verification::Failed;
    }
    let scope: Vec<&Order> = if named.is_empty() {
        orders
            .iter()
            .filter(|o| o.customer_id == customer.id)
            .collect()
    } else {
        named.clone()
    };

    let mut factors = Vec::new();
    for email in &claim.emails {
        let known = same_email(email, &customer.email)
            || scope.iter().any(|o| same_email(email, &o.email))
            || customer
                .contact_points
                .iter()
                .any(|c| c.channel == Channel::Email && same_email(email, &c.address));
        if !known {
            return Verification::Failed;
        }
        factors.push(Factor::Email);
    }
    for postcode in &claim.postcodes {
        let known = scope.iter().any(|o| {
            same_postcode(postcode, &o.shipping_address.postcode)
                || o.billing_address
                    .as_ref()
                    .is_some_and(|b| same_postcode(postcode, &b.postcode))
        });
        if !known {
            return Verification::Failed;
        }
        factors.push(Factor::Postcode);
    }
    for phone in &claim.phones {
        if !phone_on_file(phone, customer, &scope) {
            return Verification::Failed;
        }
        factors.push(Factor::Phone);
    }
    factors.extend(sender_factor);
    factors.sort();
    factors.dedup();
    if factors.len() >= FACTORS_REQUIRED {
        Verification::Verified {
            customer_id: customer.id.clone(),
            order_id: named.first().map(|o| o.id.clone()),
            factors,
        }
    } else {
        Verification::NeedMore {
            matched: factors.len(),
        }
    }
}

/// The factor the message's origin proves: a sending email address or phone number on file.
/// A web-chat session, or a sender not on file, proves nothing (and is no mismatch).
fn sender_factor(claim: &IdentityClaim, customer: &Customer) -> Option<Factor> {
    let (channel, address) = claim.sender.as_ref()?;
    let on_file = customer
        .contact_points
        .iter()
        .any(|c| c.channel == *channel && same_contact(*channel, &c.address, address));
    match channel {
        Channel::Email if on_file || same_email(address, &customer.email) => Some(Factor::Email),
        Channel::Whatsapp | Channel::Sms if on_file => Some(Factor::Phone),
        _ => None,
    }
}

/// Order numbers compare without `#`, surrounding spaces or case.
pub fn same_order_number(a: &OrderNumber, b: &OrderNumber) -> bool {
    let norm = |n: &OrderNumber| {
        n.as_str()
            .trim()
            .trim_start_matches('#')
            .to_ascii_uppercase()
    };
    norm(a) == norm(b)
}

fn same_email(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

fn same_postcode(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .flat_map(char::to_uppercase)
            .collect::<String>()
    };
    !a.trim().is_empty() && norm(a) == norm(b)
}

/// Phone numbers compare on their last nine digits, so `079 123 45 67` and `+41 79 123 45 67`
/// are the same number.
fn same_phone(a: &str, b: &str) -> bool {
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<Vec<_>>();
    let (a, b) = (digits(a), digits(b));
    if a.len() < 7 || b.len() < 7 {
        return false;
    }
    let tail = |d: &[char]| d.iter().rev().take(9).copied().collect::<Vec<_>>();
    tail(&a) == tail(&b)
}

fn same_contact(channel: Channel, a: &str, b: &str) -> bool {
    match channel {
        Channel::Email => same_email(a, b),
        Channel::Whatsapp | Channel::Sms => same_phone(a, b),
        Channel::WebChat => a == b,
    }
}

fn phone_on_file(phone: &str, customer: &Customer, orders: &[&Order]) -> bool {
    customer.contact_points.iter().any(|c| {
        matches!(c.channel, Channel::Whatsapp | Channel::Sms) && same_phone(phone, &c.address)
    }) || orders
        .iter()
        .any(|o| o.phone.as_deref().is_some_and(|p| same_phone(phone, p)))
}
