//! The words of each language, one file per locale.
//!
//! Each language implements [`Templates`] with one `match` per reply variant, so a new variant does
//! not compile until every language has its text. Values from outside reach a template only through
//! [`Cx`], already cleaned; reasons only as
//! [`CustomerReason`], which has no internal codes.

mod de;
mod en;
mod fr;
mod it;

use super::rendering::{CustomerReason, Cx};
use super::Reply;
use crate::domain::{Locale, RefundState, Tender, TrackingStatus};

/// One language's words.
pub(super) trait Templates: Sync {
    /// The email greeting, e.g. `Guten Tag`.
    fn greeting(&self) -> &'static str;
    /// The email sign-off, possibly over several lines.
    fn sign_off(&self) -> &'static str;
    /// The email subject.
    fn subject(&self, reply: &Reply, cx: &Cx) -> String;
    /// The text, as paragraphs; `cx.compact` asks for the SMS form.
    fn body(&self, reply: &Reply, cx: &Cx) -> Vec<String>;
    /// A reason as one full sentence.
    fn reason(&self, reason: CustomerReason) -> &'static str;
    /// A tracking status, sentence case.
    fn tracking_status(&self, status: TrackingStatus) -> &'static str;
    /// Stands in for a carrier whose name is blank.
    fn unknown_carrier(&self) -> &'static str;
    /// Where refunded money goes, with its preposition (`to your card`).
    fn tender(&self, tender: Tender) -> &'static str;
    /// Where refunded money goes when the tenders are not known.
    fn original_payment_method(&self) -> &'static str;
    /// A refund's state.
    fn refund_state(&self, state: RefundState) -> &'static str;
    /// A country's name, for the few countries the shop mostly ships to.
    fn country(&self, iso_code: &str) -> Option<&'static str>;
    /// The word joining the last two list entries.
    fn and(&self) -> &'static str;
    /// The end of a shortened list: `2 more`.
    fn more(&self, count: usize) -> String;
}

/// The words for `locale`.
pub(super) fn for_locale(locale: Locale) -> &'static dyn Templates {
    match locale {
        Locale::En => &en::English,
        Locale::De => &de::German,
        Locale::Fr => &fr::French,
        Locale::It => &it::Italian,
    }
}
