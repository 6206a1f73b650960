//! Putting a [`Reply`] into words for one locale, one channel and one time zone.
//!
//! The structure shared by every language lives here: which reason codes a customer may read,
//! what a parcel's timing is, how outside text is cleaned and lists are shortened, and how a
//! channel frames the text (an email gets a subject, a greeting and a sign-off; SMS is compact).
//! The words themselves live in [`super::templates`], one file per language.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::format::{self, clip, one_line};
use super::templates::{self, Templates};
use super::Reply;
use crate::domain::{Address, Channel, Locale, OrderNumber, Tender, TrackingStatus};
use crate::flows::shipping::{ExceptionKind, ParcelStatus, Punctuality};
use crate::money::Money;
use crate::policy::ReasonCode;

/// A reply in words, ready to send on one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenderedReply {
    /// The subject line: always present for email, `None` on every other channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The text, plain (not HTML-escaped), lines separated by `\n`; never empty.
    pub body: String,
}

/// Puts `reply` into words in `locale`, shaped for `channel`; scan, delivery, order and refund
/// times are shown as local times in `tz` (the merchant's time zone, or the customer's when known).
///
/// Pure and total: every reply renders in every locale on every channel, and nothing here panics.
///
/// - **Email**: a subject, a greeting, the full text and a sign-off.
/// - **WhatsApp, web chat**: the full text without subject, greeting or sign-off.
/// - **SMS**: the compact text (common replies stay within 320 characters): fewer details per
///   parcel, at most three items per list, no closing lines.
///
/// Reason codes are told only when a customer may read them: codes about limits, risk checks and
/// disputes never appear, not even in paraphrase; a refusal that has no other reason says that a
/// member of the team will review the request. Outside text is cleaned with
/// [`format::one_line`] and never HTML-escaped (see the [module docs](super)).
///
/// ```
/// use order_agent_core::domain::{Channel, Locale, OrderNumber};
/// use order_agent_core::replies::{render, Reply};
///
/// let reply = Reply::ItemsModified { order_number: OrderNumber::new("#1042") };
/// let sms = render(&reply, Locale::De, Channel::Sms, chrono_tz::Europe::Zurich);
/// assert_eq!(sms.subject, None);
/// assert_eq!(sms.body, "Die Artikel Ihrer Bestellung #1042 wurden wie gewünscht geändert.");
/// ```
pub fn render(reply: &Reply, locale: Locale, channel: Channel, tz: Tz) -> RenderedReply {
    let lang = templates::for_locale(locale);
    let cx = Cx {
        locale,
        tz,
        compact: channel == Channel::Sms,
        lang,
    };
    let blocks: Vec<String> = lang
        .body(reply, &cx)
        .into_iter()
        .filter(|block| !block.trim().is_empty())
        .collect();
    match channel {
        Channel::Email => {
            let mut body = String::new();
            body.push_str(lang.greeting());
            for block in &blocks {
                body.push_str("\n\n");
                body.push_str(block);
            }
            body.push_str("\n\n");
            body.push_str(lang.sign_off());
            RenderedReply {
                subject: Some(one_line(&lang.subject(reply, &cx))),
                body,
            }
        }
        Channel::Sms => RenderedReply {
            subject: None,
            body: blocks.join("\n"),
        },
        Channel::Whatsapp | Channel::WebChat => RenderedReply {
            subject: None,
            body: blocks.join("\n\n"),
        },
    }
}

/// Longest piece of outside text (an item title, a carrier description) kept in a reply.
const MAX_TEXT_CHARS: usize = 120;
/// Longest label URL kept; a longer one is treated as absent rather than cut.
const MAX_URL_CHARS: usize = 2000;
/// Items (or orders) listed in a compact reply before "and N more".
const COMPACT_LIST_LEN: usize = 3;

/// What the templates need besides the reply: the locale's formatting, the time zone, the form.
pub(super) struct Cx {
    pub(super) locale: Locale,
    pub(super) tz: Tz,
    /// SMS: as short as possible.
    pub(super) compact: bool,
    lang: &'static dyn Templates,
}

impl Cx {
    /// Outside text, cleaned and clipped.
    pub(super) fn text(&self, text: &str) -> String {
        clip(&one_line(text), MAX_TEXT_CHARS)
    }

    /// An order number as quoted to the customer.
    pub(super) fn order(&self, number: &OrderNumber) -> String {
        self.text(number.as_str())
    }

    /// Outside titles as one list (`A, B and C`), blanks dropped; compact replies name at most
    /// three and count the rest. `None` when nothing is left.
    pub(super) fn list(&self, items: &[String]) -> Option<String> {
        let cleaned: Vec<String> = items
            .iter()
            .map(|item| self.text(item))
            .filter(|item| !item.is_empty())
            .collect();
        if cleaned.is_empty() {
            None
        } else {
            Some(self.join(cleaned))
        }
    }

    /// Already clean parts as one list in the locale's words; compact replies name at most three.
    pub(super) fn join(&self, mut parts: Vec<String>) -> String {
        if self.compact && parts.len() > COMPACT_LIST_LEN {
            let rest = parts.len() - COMPACT_LIST_LEN;
            parts.truncate(COMPACT_LIST_LEN);
            parts.push(self.lang.more(rest));
        }
        match parts.split_last() {
            None => String::new(),
            Some((last, [])) => last.clone(),
            Some((last, init)) => format!("{} {} {}", init.join(", "), self.lang.and(), last),
        }
    }

    /// An amount, in the locale's style.
    pub(super) fn money(&self, money: Money) -> String {
        format::format_money(money, self.locale)
    }

    /// A calendar date.
    pub(super) fn date(&self, date: NaiveDate) -> String {
        format::format_date(date, self.locale)
    }

    /// A moment as local date and time.
    pub(super) fn datetime(&self, at: DateTime<Utc>) -> String {
        format::format_datetime(at, self.locale, self.tz)
    }

    /// A moment as local date.
    pub(super) fn day(&self, at: DateTime<Utc>) -> String {
        format::format_local_date(at, self.locale, self.tz)
    }

    /// The sentences a customer may read for these codes, deduplicated, in order. Empty when no
    /// code may be told; the template then says that the team will review the request.
    pub(super) fn reasons(&self, codes: &[ReasonCode]) -> Vec<&'static str> {
        let mut sentences = Vec::new();
        for reason in codes
            .iter()
            .filter_map(|code| CustomerReason::from_code(*code))
        {
            let sentence = self.lang.reason(reason);
            if !sentences.contains(&sentence) {
                sentences.push(sentence);
            }
        }
        sentences
    }

    /// The return label link, only when it is a plain http(s) URL of sensible length; whitespace
    /// and control characters inside are removed (they cannot be part of a URL).
    pub(super) fn label_url(&self, url: Option<&String>) -> Option<String> {
        let url: String = url?
            .chars()
            .filter(|c| !c.is_whitespace() && !c.is_control())
            .collect();
        let url = one_line(&url);
        let lower = url.to_ascii_lowercase();
        let after_scheme = lower
            .strip_prefix("https://")
            .or_else(|| lower.strip_prefix("http://"));
        let plausible = after_scheme.is_some_and(|rest| !rest.is_empty())
            && url.chars().count() <= MAX_URL_CHARS;
        plausible.then_some(url)
    }

    /// Where refunded money goes, in words (`to your card and to your PayPal account`).
    pub(super) fn tenders(&self, tenders: &[Tender]) -> String {
        let mut distinct: Vec<Tender> = Vec::new();
        for tender in tenders {
            if !distinct.contains(tender) {
                distinct.push(*tender);
            }
        }
        if distinct.is_empty() {
            return self.lang.original_payment_method().to_owned();
        }
        self.join(
            distinct
                .into_iter()
                .map(|t| self.lang.tender(t).to_owned())
                .collect(),
        )
    }

    /// Whether the money lands with a bank or processor (and so may take days to show).
    pub(super) fn reaches_a_bank(&self, tenders: &[Tender]) -> bool {
        tenders.is_empty() || tenders.iter().any(|t| !t.is_merchant_issued())
    }

    /// An address as lines: name, street, extra line, `postcode city region`, country.
    pub(super) fn address(&self, address: &Address) -> Vec<String> {
        let mut lines = vec![self.text(&address.name), self.text(&address.line1)];
        if let Some(line2) = &address.line2 {
            lines.push(self.text(line2));
        }
        let mut place = format!(
            "{} {}",
            self.text(&address.postcode),
            self.text(&address.city)
        );
        if let Some(region) = &address.region {
            place.push(' ');
            place.push_str(&self.text(region));
        }
        lines.push(place);
        let code = one_line(&address.country).to_ascii_uppercase();
        let country = self
            .lang
            .country(&code)
            .map_or_else(|| clip(&code, 8), str::to_owned);
        lines.push(country);
        lines
            .into_iter()
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty())
            .collect()
    }

    /// A parcel, digested for the templates.
    pub(super) fn parcel(&self, parcel: &ParcelStatus) -> ParcelView {
        let status = parcel.status;
        // Once delivered, lost, returned or waiting at a pickup point, a delivery date means nothing.
        let arrived_or_over = status.is_terminal() || status == TrackingStatus::AvailableForPickup;
        let timing = if arrived_or_over {
            Timing::None
        } else {
            match parcel.punctuality {
                Punctuality::NoPromise => parcel
                    .eta
                    .map_or(Timing::None, |d| Timing::Expected { date: self.date(d) }),
                Punctuality::OnTime => parcel
                    .eta
                    .map_or(Timing::None, |d| Timing::OnTime { date: self.date(d) }),
                Punctuality::Late { days } => Timing::Late {
                    days: (days >= 1).then_some(days),
                    expected: parcel.eta.map(|d| self.date(d)),
                    promised: parcel.promised_by.map(|d| self.date(d)),
                },
            }
        };
        let last_scan = if status == TrackingStatus::Delivered && parcel.delivered_at.is_some() {
            None
        } else {
            parcel.last_scan.as_ref().map(|scan| ScanView {
                at: self.datetime(scan.at),
                place: scan
                    .location
                    .as_deref()
                    .map(|l| self.text(l))
                    .filter(|l| !l.is_empty()),
                description: Some(self.text(&scan.description)).filter(|d| !d.is_empty()),
            })
        };
        ParcelView {
            carrier: Some(carrier_name(&parcel.carrier, self.locale))
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| self.lang.unknown_carrier().to_owned()),
            tracking_number: parcel
                .tracking_number
                .as_ref()
                .map(|t| self.text(t.as_str()))
                .filter(|t| !t.is_empty()),
            items: self.list(&parcel.items),
            status: self.lang.tracking_status(status),
            delivered_at: if status == TrackingStatus::Delivered {
                parcel.delivered_at.map(|at| self.datetime(at))
            } else {
                None
            },
            last_scan,
            timing,
            being_investigated: parcel.exceptions.iter().any(|e| {
                matches!(
                    e,
                    ExceptionKind::Lost
                        | ExceptionKind::CustomsHold
                        | ExceptionKind::AddressIssue
                        | ExceptionKind::Damaged
                        | ExceptionKind::ReturnedToSender
                        | ExceptionKind::CarrierException
                )
            }),
        }
    }
}

/// A parcel with every value already cleaned and formatted.
pub(super) struct ParcelView {
    pub(super) carrier: String,
    pub(super) tracking_number: Option<String>,
    pub(super) items: Option<String>,
    pub(super) status: &'static str,
    /// When it was delivered (delivered parcels only).
    pub(super) delivered_at: Option<String>,
    pub(super) last_scan: Option<ScanView>,
    pub(super) timing: Timing,
    /// Staff already look into an exception on this parcel.
    pub(super) being_investigated: bool,
}

/// The last carrier scan, cleaned and formatted.
pub(super) struct ScanView {
    pub(super) at: String,
    pub(super) place: Option<String>,
    pub(super) description: Option<String>,
}

/// When a parcel that is still under way should arrive, against the promise.
pub(super) enum Timing {
    /// Nothing to say: delivered, lost, returned, or no date known.
    None,
    /// An expected date, and no promise to compare with.
    Expected {
        /// The expected date.
        date: String,
    },
    /// Expected within the promise.
    OnTime {
        /// The expected date.
        date: String,
    },
    /// Later than promised.
    Late {
        /// Days past the promised date, when known and positive.
        days: Option<i64>,
        /// The new expected date.
        expected: Option<String>,
        /// The promised latest date.
        promised: Option<String>,
    },
}

/// A reason a customer may read. Internal codes have no variant here, so no template can word them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CustomerReason {
    WindowExpired,
    FinalSale,
    WarrantyClaim,
    Hygiene,
    NotReturnable,
    ResolutionNotAllowed,
    ExchangeUnavailable,
    GiftCardInsufficient,
    UnknownLine,
    QuantityExceeded,
    EmptyRequest,
    NotShipped,
    NothingToRefund,
    AlreadyFulfilled,
    StateNotAllowed,
    ReasonNotAllowed,
    ChangeDisabled,
    ModificationLimitReached,
    CountryChange,
    PriceDifference,
    AddressUndeliverable,
}

impl CustomerReason {
    /// The customer-facing reason behind `code`, or `None` when the code is informational (it
    /// explains an approval or an amount) or internal (limits, risk checks, disputes, engine
    /// errors — these must never reach a customer, not even paraphrased).
    pub(super) fn from_code(code: ReasonCode) -> Option<CustomerReason> {
        use CustomerReason as C;
        use ReasonCode as R;
        match code {
            R::WindowExpired => Some(C::WindowExpired),
            R::FinalSale => Some(C::FinalSale),
            R::WarrantyClaim => Some(C::WarrantyClaim),
            R::Hygiene => Some(C::Hygiene),
            R::NotReturnable => Some(C::NotReturnable),
            R::ResolutionNotAllowed => Some(C::ResolutionNotAllowed),
            R::ExchangeUnavailable => Some(C::ExchangeUnavailable),
            R::GiftCardInsufficient => Some(C::GiftCardInsufficient),
            R::UnknownLine => Some(C::UnknownLine),
            R::QuantityExceeded => Some(C::QuantityExceeded),
            R::EmptyRequest => Some(C::EmptyRequest),
            R::NotShipped => Some(C::NotShipped),
            R::NothingToRefund => Some(C::NothingToRefund),
            R::AlreadyFulfilled => Some(C::AlreadyFulfilled),
            R::StateNotAllowed => Some(C::StateNotAllowed),
            R::ReasonNotAllowed => Some(C::ReasonNotAllowed),
            R::ChangeDisabled => Some(C::ChangeDisabled),
            R::ModificationLimitReached => Some(C::ModificationLimitReached),
            R::CountryChange => Some(C::CountryChange),
            R::PriceDifference => Some(C::PriceDifference),
            R::AddressUndeliverable => Some(C::AddressUndeliverable),
            // Informational: they explain an approval or an amount, not a refusal.
            R::WithinWindow
            | R::SeasonalExtension
            | R::LegalFloor
            | R::InspectionRequired
            | R::RestockingFee
            | R::RestockingFeeWaived
            | R::ReturnShippingFee
            | R::ReturnShippingWaived
            | R::ShippingRefunded
            | R::StoreCreditBonus
            | R::GradeDeduction
            | R::CappedAtRefundable
            | R::ReceiveOnly
            | R::Received
            | R::ChangeAllowed => None,
            // Internal: never told to the customer.
            R::ReceiptMismatch
            | R::AboveRefundLimit
            | R::AboveCustomerPeriodLimit
            | R::HighValueOrder
            | R::FraudFlagged
            | R::ReturnRateTooHigh
            | R::TooManyReturns
            | R::Blocklisted
            | R::PartialRefund
            | R::Disputed
            | R::CurrencyMismatch
            | R::RuleError => None,
        }
    }
}

/// A refusal, then its reasons: one reason in the same paragraph; several as a list, or one run of
/// sentences in the compact form.
pub(super) fn explained(intro: String, sentences: &[&str], compact: bool) -> Vec<String> {
    match sentences {
        [one] => vec![format!("{intro} {one}")],
        many if compact => vec![format!("{intro} {}", many.join(" "))],
        many => {
            let list: Vec<String> = many.iter().map(|s| format!("- {s}")).collect();
            vec![intro, list.join("\n")]
        }
    }
}

/// A carrier's name as customers know it; unknown slugs are shown cleaned.
fn carrier_name(slug: &str, locale: Locale) -> String {
    let slug = one_line(slug);
    let known = match slug.to_ascii_lowercase().as_str() {
        "swiss-post" | "swisspost" | "post-ch" | "post" => Some(match locale {
            Locale::En => "Swiss Post",
            Locale::De => "Die Post",
            Locale::Fr => "La Poste",
            Locale::It => "La Posta",
        }),
        "dhl" | "dhl-express" | "dhl-parcel" => Some("DHL"),
        "dpd" => Some("DPD"),
        "gls" => Some("GLS"),
        "ups" => Some("UPS"),
        "fedex" => Some("FedEx"),
        "tnt" => Some("TNT"),
        "planzer" => Some("Planzer"),
        "quickpac" => Some("Quickpac"),
        "deutsche-post" => Some("Deutsche Post"),
        "la-poste" | "colissimo" => Some("La Poste"),
        "poste-italiane" => Some("Poste Italiane"),
        _ => None,
    };
    known.map_or_else(|| clip(&slug, 40), str::to_owned)
}
