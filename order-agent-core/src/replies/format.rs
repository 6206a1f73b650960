//! Locale formatting for customer-facing text: money, dates, scan times, tracking statuses, and the
//! clean-up every piece of outside text gets before it is put into a reply.
//!
//! The styles follow what customers in Switzerland and the EU expect:
//!
//! | locale | CHF            | EUR                  | other (USD)          | date            | date and time                  |
//! |--------|----------------|----------------------|----------------------|-----------------|--------------------------------|
//! | `en`   | `CHF 1,234.50` | `€1,234.50`          | `$1,234.50`          | `24 Oct 2026`   | `24 Oct 2026, 14:05`           |
//! | `de`   | `CHF 1'234.50` | `1.234,50 €`         | `USD 1'234.50`       | `24.10.2026`    | `24.10.2026, 14:05`            |
//! | `fr`   | `1 234,50 CHF` | `1 234,50 €`         | `1 234,50 USD`       | `24 octobre 2026` | `24 octobre 2026 à 14:05`    |
//! | `it`   | `CHF 1'234.50` | `1.234,50 €`         | `USD 1'234.50`       | `24/10/2026`    | `24/10/2026, ore 14:05`        |
//!
//! In French the thousands separator is a narrow no-break space (U+202F) and the space before the
//! currency a no-break space (U+00A0); the other locales use ASCII only, so that German, Italian
//! and English SMS can stay in the GSM 7-bit alphabet. Currencies other than CHF and EUR (and `$`
//! for USD in English) are written with their ISO code; German and Italian then use the Swiss
//! separators, the shop's home style. Negative amounts get a leading `-`; the number of decimals
//! is always the currency's minor unit (none for JPY, three for KWD).

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;

use super::templates;
use crate::domain::{Locale, TrackingStatus};
use crate::money::Money;

const NARROW_NO_BREAK_SPACE: &str = "\u{202f}";
const NO_BREAK_SPACE: &str = "\u{a0}";

/// An amount as a customer in `locale` reads it, e.g. `CHF 1'234.50` in German.
///
/// ```
/// use order_agent_core::domain::Locale;
/// use order_agent_core::money::{Currency, Money};
/// use order_agent_core::replies::format::format_money;
///
/// let amount = Money::from_minor(123_450, Currency::CHF);
/// assert_eq!(format_money(amount, Locale::De), "CHF 1'234.50");
/// assert_eq!(format_money(amount, Locale::En), "CHF 1,234.50");
/// assert_eq!(format_money(amount, Locale::Fr), "1\u{202f}234,50\u{a0}CHF");
/// let euros = Money::from_minor(-123_450, Currency::EUR);
/// assert_eq!(format_money(euros, Locale::It), "-1.234,50 €");
/// ```
pub fn format_money(money: Money, locale: Locale) -> String {
    let currency = money.currency();
    let minor_units = usize::try_from(currency.minor_units()).unwrap_or(0);
    // The amount is already at the currency's scale; the precision only makes that explicit.
    let plain = format!("{:.*}", minor_units, money.amount().abs());
    let (integer, fraction) = match plain.split_once('.') {
        Some((integer, fraction)) => (integer, Some(fraction)),
        None => (plain.as_str(), None),
    };
    let number = |group: &str, decimal: &str| {
        let mut out = group_digits(integer, group);
        if let Some(fraction) = fraction {
            out.push_str(decimal);
            out.push_str(fraction);
        }
        out
    };
    let code = currency.code();
    let text = match (locale, code) {
        (Locale::En, "EUR") => format!("€{}", number(",", ".")),
        (Locale::En, "USD") => format!("${}", number(",", ".")),
        (Locale::En, _) => format!("{code} {}", number(",", ".")),
        (Locale::De | Locale::It, "EUR") => format!("{} €", number(".", ",")),
        (Locale::De | Locale::It, _) => format!("{code} {}", number("'", ".")),
        (Locale::Fr, "EUR") => format!("{}{NO_BREAK_SPACE}€", number(NARROW_NO_BREAK_SPACE, ",")),
        (Locale::Fr, _) => format!(
            "{}{NO_BREAK_SPACE}{code}",
            number(NARROW_NO_BREAK_SPACE, ",")
        ),
    };
    if money.is_negative() {
        format!("-{text}")
    } else {
        text
    }
}

/// Inserts `separator` between groups of three digits, counted from the right.
fn group_digits(digits: &str, separator: &str) -> String {
    let count = digits.chars().count();
    let mut out = String::with_capacity(digits.len() + count / 3 * separator.len());
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (count - i) % 3 == 0 {
            out.push_str(separator);
        }
        out.push(c);
    }
    out
}

const EN_MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const FR_MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// A calendar date as a customer in `locale` reads it: `24 Oct 2026`, `24.10.2026`,
/// `24 octobre 2026` (`1er octobre 2026` on the first), `24/10/2026`.
///
/// ```
/// use chrono::NaiveDate;
/// use order_agent_core::domain::Locale;
/// use order_agent_core::replies::format::format_date;
///
/// let date = NaiveDate::from_ymd_opt(2026, 10, 4).unwrap();
/// assert_eq!(format_date(date, Locale::En), "4 Oct 2026");
/// assert_eq!(format_date(date, Locale::De), "04.10.2026");
/// assert_eq!(format_date(date, Locale::Fr), "4 octobre 2026");
/// assert_eq!(format_date(date, Locale::It), "04/10/2026");
/// ```
pub fn format_date(date: NaiveDate, locale: Locale) -> String {
    let (day, month, year) = (date.day(), date.month(), date.year());
    let month_index = usize::try_from(date.month0()).unwrap_or(0);
    match locale {
        Locale::En => {
            let name = EN_MONTHS.get(month_index).copied().unwrap_or("");
            format!("{day} {name} {year}")
        }
        Locale::De => format!("{day:02}.{month:02}.{year}"),
        Locale::Fr => {
            let name = FR_MONTHS.get(month_index).copied().unwrap_or("");
            if day == 1 {
                format!("1er {name} {year}")
            } else {
                format!("{day} {name} {year}")
            }
        }
        Locale::It => format!("{day:02}/{month:02}/{year}"),
    }
}

/// A moment (a carrier scan, a delivery) as local date and 24-hour time in `tz`, the merchant's
/// or the customer's time zone: `24 Oct 2026, 14:05`, `24.10.2026, 14:05`,
/// `24 octobre 2026 à 14:05`, `24/10/2026, ore 14:05`. The zone itself is not named.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use order_agent_core::domain::Locale;
/// use order_agent_core::replies::format::format_datetime;
///
/// let scan = Utc.with_ymd_and_hms(2026, 10, 24, 12, 5, 0).unwrap();
/// let zurich = chrono_tz::Europe::Zurich; // UTC+2 in October
/// assert_eq!(format_datetime(scan, Locale::De, zurich), "24.10.2026, 14:05");
/// ```
pub fn format_datetime(at: DateTime<Utc>, locale: Locale, tz: Tz) -> String {
    let local = at.with_timezone(&tz);
    let date = format_date(local.date_naive(), locale);
    let (hour, minute) = (local.hour(), local.minute());
    match locale {
        Locale::En | Locale::De => format!("{date}, {hour:02}:{minute:02}"),
        Locale::Fr => format!("{date} à {hour:02}:{minute:02}"),
        Locale::It => format!("{date}, ore {hour:02}:{minute:02}"),
    }
}

/// The local calendar date of a moment in `tz`, formatted as [`format_date`] does.
pub fn format_local_date(at: DateTime<Utc>, locale: Locale, tz: Tz) -> String {
    format_date(at.with_timezone(&tz).date_naive(), locale)
}

/// A tracking status in the customer's words, sentence case: `In transit`, `Unterwegs`,
/// `En transit`, `In transito`.
pub fn tracking_status_label(status: TrackingStatus, locale: Locale) -> &'static str {
    templates::for_locale(locale).tracking_status(status)
}

/// Outside text (carrier descriptions and locations, item titles, address lines, order numbers,
/// ticket references) as one plain line, safe to put into an SMS, a chat message or an email:
///
/// - line breaks, tabs and every other kind of whitespace become one space, so nobody can start
///   a new line (a fake `Bcc:` header, a fake message from the shop) inside a value;
/// - other control characters, bidirectional overrides and zero-width characters are removed, so
///   the text reads the way it is stored;
/// - leading and trailing whitespace is dropped.
///
/// Nothing is HTML-escaped: the text stays plain, and a channel that shows HTML (web chat) escapes
/// at its edge.
///
/// ```
/// use order_agent_core::replies::format::one_line;
///
/// assert_eq!(one_line(" Wool\r\nBcc: x@example.com\u{7} "), "Wool Bcc: x@example.com");
/// ```
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
        } else if c.is_control() || is_invisible_format(c) {
            continue;
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}

/// Zero-width and bidirectional formatting characters, which can hide or reorder text.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{feff}'
    )
}

/// At most `max_chars` characters, ending in `…` when shortened.
pub(super) fn clip(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let kept: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    format!("{}…", kept.trim_end())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::money::Currency;

    fn money(minor: i64, code: &str) -> Money {
        Money::from_minor(minor, Currency::from_code(code).unwrap())
    }

    fn all(minor: i64, code: &str) -> [String; 4] {
        [Locale::En, Locale::De, Locale::Fr, Locale::It]
            .map(|l| format_money(money(minor, code), l))
    }

    #[test]
    fn chf_golden() {
        assert_eq!(
            all(123_450, "CHF"),
            [
                "CHF 1,234.50",
                "CHF 1'234.50",
                "1\u{202f}234,50\u{a0}CHF",
                "CHF 1'234.50"
            ]
        );
        assert_eq!(
            all(5, "CHF"),
            ["CHF 0.05", "CHF 0.05", "0,05\u{a0}CHF", "CHF 0.05"]
        );
        assert_eq!(
            all(0, "CHF"),
            ["CHF 0.00", "CHF 0.00", "0,00\u{a0}CHF", "CHF 0.00"]
        );
    }

    #[test]
    fn eur_golden() {
        assert_eq!(
            all(123_450, "EUR"),
            [
                "€1,234.50",
                "1.234,50 €",
                "1\u{202f}234,50\u{a0}€",
                "1.234,50 €"
            ]
        );
        assert_eq!(
            all(99_900, "EUR"),
            ["€999.00", "999,00 €", "999,00\u{a0}€", "999,00 €"]
        );
    }

    #[test]
    fn usd_and_other_codes_golden() {
        assert_eq!(
            all(123_450, "USD"),
            [
                "$1,234.50",
                "USD 1'234.50",
                "1\u{202f}234,50\u{a0}USD",
                "USD 1'234.50"
            ]
        );
        assert_eq!(
            all(123_450, "GBP"),
            [
                "GBP 1,234.50",
                "GBP 1'234.50",
                "1\u{202f}234,50\u{a0}GBP",
                "GBP 1'234.50"
            ]
        );
        assert_eq!(
            all(1_234_567, "KWD"),
            [
                "KWD 1,234.567",
                "KWD 1'234.567",
                "1\u{202f}234,567\u{a0}KWD",
                "KWD 1'234.567"
            ]
        );
    }

    #[test]
    fn jpy_has_no_decimals() {
        assert_eq!(
            all(1_234_567, "JPY"),
            [
                "JPY 1,234,567",
                "JPY 1'234'567",
                "1\u{202f}234\u{202f}567\u{a0}JPY",
                "JPY 1'234'567"
            ]
        );
        assert_eq!(
            all(999, "JPY"),
            ["JPY 999", "JPY 999", "999\u{a0}JPY", "JPY 999"]
        );
    }

    #[test]
    fn negatives_get_a_leading_minus() {
        assert_eq!(
            all(-123_450, "CHF"),
            [
                "-CHF 1,234.50",
                "-CHF 1'234.50",
                "-1\u{202f}234,50\u{a0}CHF",
                "-CHF 1'234.50"
            ]
        );
        assert_eq!(
            all(-700, "EUR"),
            ["-€7.00", "-7,00 €", "-7,00\u{a0}€", "-7,00 €"]
        );
        assert_eq!(
            all(-1_000, "USD"),
            ["-$10.00", "-USD 10.00", "-10,00\u{a0}USD", "-USD 10.00"]
        );
        assert_eq!(all(-5, "JPY")[1], "-JPY 5");
    }

    #[test]
    fn large_numbers_are_grouped() {
        assert_eq!(
            all(123_456_789_012, "CHF"),
            [
                "CHF 1,234,567,890.12",
                "CHF 1'234'567'890.12",
                "1\u{202f}234\u{202f}567\u{202f}890,12\u{a0}CHF",
                "CHF 1'234'567'890.12"
            ]
        );
        assert_eq!(
            all(100_000_000, "EUR"),
            [
                "€1,000,000.00",
                "1.000.000,00 €",
                "1\u{202f}000\u{202f}000,00\u{a0}€",
                "1.000.000,00 €"
            ]
        );
        let max = Money::from_minor(i64::MAX, Currency::CHF);
        assert_eq!(
            format_money(max, Locale::De),
            "CHF 92'233'720'368'547'758.07"
        );
        let min = Money::from_minor(i64::MIN, Currency::JPY);
        assert_eq!(
            format_money(min, Locale::En),
            "-JPY 9,223,372,036,854,775,808"
        );
    }

    #[test]
    fn dates_golden() {
        let d = NaiveDate::from_ymd_opt(2026, 10, 24).unwrap();
        assert_eq!(format_date(d, Locale::En), "24 Oct 2026");
        assert_eq!(format_date(d, Locale::De), "24.10.2026");
        assert_eq!(format_date(d, Locale::Fr), "24 octobre 2026");
        assert_eq!(format_date(d, Locale::It), "24/10/2026");
        let first = NaiveDate::from_ymd_opt(2027, 2, 1).unwrap();
        assert_eq!(format_date(first, Locale::En), "1 Feb 2027");
        assert_eq!(format_date(first, Locale::De), "01.02.2027");
        assert_eq!(format_date(first, Locale::Fr), "1er février 2027");
        assert_eq!(format_date(first, Locale::It), "01/02/2027");
        let august = NaiveDate::from_ymd_opt(2026, 8, 15).unwrap();
        assert_eq!(format_date(august, Locale::Fr), "15 août 2026");
        assert_eq!(format_date(august, Locale::En), "15 Aug 2026");
    }

    #[test]
    fn datetimes_are_local_to_the_zone() {
        // 22:30 UTC on 24 Oct is already 25 Oct in Zurich (UTC+2 until the last Sunday of October).
        let at = Utc.with_ymd_and_hms(2026, 10, 24, 22, 30, 0).unwrap();
        let zurich = chrono_tz::Europe::Zurich;
        assert_eq!(
            format_datetime(at, Locale::En, zurich),
            "25 Oct 2026, 00:30"
        );
        assert_eq!(format_datetime(at, Locale::De, zurich), "25.10.2026, 00:30");
        assert_eq!(
            format_datetime(at, Locale::Fr, zurich),
            "25 octobre 2026 à 00:30"
        );
        assert_eq!(
            format_datetime(at, Locale::It, zurich),
            "25/10/2026, ore 00:30"
        );
        assert_eq!(
            format_datetime(at, Locale::En, chrono_tz::UTC),
            "24 Oct 2026, 22:30"
        );
        // Winter time: UTC+1.
        let winter = Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap();
        assert_eq!(
            format_datetime(winter, Locale::De, zurich),
            "01.12.2026, 09:00"
        );
        assert_eq!(format_local_date(at, Locale::De, zurich), "25.10.2026");
    }

    #[test]
    fn tracking_status_labels_differ_per_locale() {
        let s = TrackingStatus::InTransit;
        assert_eq!(tracking_status_label(s, Locale::En), "In transit");
        assert_eq!(tracking_status_label(s, Locale::De), "Unterwegs");
        assert_eq!(tracking_status_label(s, Locale::Fr), "En transit");
        assert_eq!(tracking_status_label(s, Locale::It), "In transito");
    }

    #[test]
    fn one_line_strips_controls_and_collapses_breaks() {
        assert_eq!(one_line("a\r\nb\n\nc\td"), "a b c d");
        assert_eq!(one_line("\u{7}bell\u{0}null\u{1b}[31m"), "bellnull[31m");
        assert_eq!(
            one_line("line\u{2028}sep\u{2029}para\u{85}nel"),
            "line sep para nel"
        );
        assert_eq!(one_line("rtl\u{202e}txt\u{200b}zw\u{feff}"), "rtltxtzw");
        assert_eq!(one_line("  \n  "), "");
        assert_eq!(one_line("Zürich-Mülligen"), "Zürich-Mülligen");
        assert_eq!(one_line("<b>kept & plain</b>"), "<b>kept & plain</b>");
    }

    #[test]
    fn clip_counts_characters_not_bytes() {
        assert_eq!(clip("ääääää", 6), "ääääää");
        assert_eq!(clip("ääääää", 4), "äää…");
        assert_eq!(clip("abc def", 5), "abc…");
        assert_eq!(clip("", 0), "");
    }
}
