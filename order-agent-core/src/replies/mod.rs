//! Replies to customers: what to say ([`Reply`]) and how to say it per locale and channel
//! ([`render()`]).
//!
//! Flows decide *what* to tell a customer as a [`Reply`]; [`render()`] puts it into English,
//! German (Swiss usage), French or Italian words and shapes it for the channel. The words live in
//! one file per language under `templates/`, the locale formatting of money, dates and times in
//! [`mod@format`].
//!
//! # Outside text
//!
//! Carrier descriptions and locations, item titles, address lines, order numbers, ticket references
//! and label URLs come from other systems. They are inserted as plain text, cleaned by
//! [`format::one_line`]: control characters and invisible formatting characters are removed, line
//! breaks collapse into spaces, so no value can add a line to an SMS or an email. Label URLs are
//! only shown when they are `http(s)` links.
//!
//! Nothing is HTML-escaped here: a [`RenderedReply`] is plain text. A channel that displays HTML
//! (the web chat widget, an HTML email) MUST escape the text at its edge.
//!
//! # Reasons
//!
//! Refusals are explained from [`ReasonCode`](crate::policy::ReasonCode)s, but only with the
//! reasons a customer may read (the return window ended, a final-sale item, the order has shipped
//! ...). Codes about limits, risk and fraud checks, disputes or engine errors are never revealed,
//! not even in paraphrase: when nothing else explains a refusal, the customer reads that a member
//! of the team will review the request.

pub mod format;
mod rendering;
mod reply;
mod templates;

pub use rendering::{render, RenderedReply};
pub use reply::*;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;
