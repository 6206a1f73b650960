//! Customers: contact points, locale, loyalty and return history.

use serde::{Deserialize, Serialize};

use super::ids::CustomerId;
use crate::money::Money;

/// A language the agent replies in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Locale {
    /// English.
    #[default]
    En,
    /// German (Swiss usage included).
    De,
    /// French.
    Fr,
    /// Italian.
    It,
}

impl Locale {
    /// The BCP 47 language tag.
    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::De => "de",
            Locale::Fr => "fr",
            Locale::It => "it",
        }
    }
}

/// A channel the customer can be reached on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Email.
    Email,
    /// WhatsApp.
    Whatsapp,
    /// SMS.
    Sms,
    /// The shop's web chat.
    WebChat,
}

/// One verified way to reach the customer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactPoint {
    /// The channel.
    pub channel: Channel,
    /// Address on that channel: an email address, an E.164 phone number, a chat session id.
    pub address: String,
}

/// Summary of the customer's past orders and returns, used by fraud and limit rules.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnHistory {
    /// Orders placed, all time.
    pub orders: u32,
    /// Returns made, all time.
    pub returns: u32,
    /// Returns made within the policy's fraud look-back period.
    #[serde(default)]
    pub returns_in_period: u32,
    /// Money refunded to the customer within the policy's rolling limit period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refunded_in_period: Option<Money>,
}

/// A customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    /// Id.
    pub id: CustomerId,
    /// Name for greetings.
    pub name: String,
    /// Primary email.
    pub email: String,
    /// Verified contact points.
    #[serde(default)]
    pub contact_points: Vec<ContactPoint>,
    /// Preferred language.
    #[serde(default)]
    pub locale: Locale,
    /// Loyalty tier, e.g. `gold`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loyalty_tier: Option<String>,
    /// Return history summary.
    #[serde(default)]
    pub history: ReturnHistory,
}
