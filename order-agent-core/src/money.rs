//! Exact money: ISO 4217 currencies, amounts that never hold more precision than the currency's minor
//! unit, arithmetic that refuses to mix currencies, and allocation by largest remainder so that the
//! parts of an amount always add up to the amount exactly.
//!
//! ```
//! use order_agent_core::money::{Currency, Money};
//! use rust_decimal::Decimal;
//!
//! let chf = Currency::from_code("CHF")?;
//! let discount = Money::new(Decimal::new(1000, 2), chf)?; // CHF 10.00
//! // Allocate the order discount over three lines worth 1, 1 and 1: 3.34 + 3.33 + 3.33.
//! let parts = discount.allocate(&[Decimal::ONE, Decimal::ONE, Decimal::ONE])?;
//! assert_eq!(Money::sum(chf, parts.iter().copied())?, discount);
//! assert_eq!(parts[0].to_string(), "CHF 3.34");
//! # Ok::<(), order_agent_core::money::MoneyError>(())
//! ```

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use smallvec::SmallVec;

/// Why a money operation was refused.
///
/// Every money error is a bug or bad input, never a transient condition: retrying does not help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MoneyError {
    /// The code is not an active ISO 4217 currency with minor units.
    #[error("unknown currency `{0}`")]
    UnknownCurrency(String),
    /// Two amounts of different currencies met in one operation.
    #[error("currency mismatch in {op}: `{left}` and `{right}`")]
    CurrencyMismatch {
        /// The operation that was attempted.
        op: &'static str,
        /// The currency on the left-hand side.
        left: Currency,
        /// The currency on the right-hand side.
        right: Currency,
    },
    /// The amount has more decimal places than the currency's minor unit allows.
    #[error("amount `{amount}` has more decimals than {currency} allows ({minor_units})")]
    TooPrecise {
        /// The amount as given.
        amount: Decimal,
        /// Its currency.
        currency: Currency,
        /// The number of decimals the currency allows.
        minor_units: u32,
    },
    /// The amount is not a decimal number.
    #[error("`{0}` is not a decimal amount")]
    InvalidAmount(String),
    /// An intermediate result does not fit.
    #[error("amount overflow in {0}")]
    Overflow(&'static str),
    /// Allocation needs at least one weight, and no weight may be negative.
    #[error("invalid allocation weights: {0}")]
    InvalidWeights(&'static str),
}

/// An active ISO 4217 currency together with its number of minor-unit decimals.
///
/// Serialised as its three-letter code (`"CHF"`). Only codes in the built-in ISO 4217 table are
/// accepted, so a typo such as `"CFH"` is an error rather than a new currency.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    code: [u8; 3],
    minor_units: u8,
}

impl Currency {
    /// Swiss franc.
    pub const CHF: Currency = Currency::known(*b"CHF", 2);
    /// Euro.
    pub const EUR: Currency = Currency::known(*b"EUR", 2);
    /// US dollar.
    pub const USD: Currency = Currency::known(*b"USD", 2);
    /// Pound sterling.
    pub const GBP: Currency = Currency::known(*b"GBP", 2);
    /// Japanese yen (no minor unit).
    pub const JPY: Currency = Currency::known(*b"JPY", 0);
    /// Kuwaiti dinar (three decimals).
    pub const KWD: Currency = Currency::known(*b"KWD", 3);

    const fn known(code: [u8; 3], minor_units: u8) -> Currency {
        Currency { code, minor_units }
    }

    /// Looks a currency up by its ISO 4217 alphabetic code; case-sensitive, upper case.
    pub fn from_code(code: &str) -> Result<Currency, MoneyError> {
        let bytes = code.as_bytes();
        ISO_4217
            .iter()
            .find(|(c, _)| c.as_bytes() == bytes)
            .map(|(c, minor)| {
                let b = c.as_bytes();
                Currency {
                    code: [b[0], b[1], b[2]],
                    minor_units: *minor,
                }
            })
            .ok_or_else(|| MoneyError::UnknownCurrency(code.to_owned()))
    }

    /// The three-letter code, e.g. `"CHF"`.
    pub fn code(&self) -> &str {
        // The table holds ASCII codes only.
        std::str::from_utf8(&self.code).unwrap_or("???")
    }

    /// The number of decimals of the minor unit (2 for CHF, 0 for JPY, 3 for KWD).
    pub fn minor_units(&self) -> u32 {
        u32::from(self.minor_units)
    }

    /// Every currency this library knows, in code order.
    pub fn all() -> impl Iterator<Item = Currency> {
        ISO_4217
            .iter()
            .filter_map(|(c, _)| Currency::from_code(c).ok())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::from_code(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Currency::from_code(&code).map_err(serde::de::Error::custom)
    }
}

/// An exact amount in one currency, never more precise than the currency's minor unit.
///
/// Held as a count of minor units (rappen, cents) so arithmetic is exact integer arithmetic.
/// Serialised as `{"amount": "12.50", "currency": "CHF"}`; the amount is a string so that no JSON
/// parser turns it into a float. Amounts may be negative (a charge owed by the customer).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    /// An amount in `currency`; refuses amounts with more decimals than the minor unit
    /// (`12.505` CHF) instead of silently rounding them.
    pub fn new(amount: Decimal, currency: Currency) -> Result<Money, MoneyError> {
        let minor_units = currency.minor_units();
        // The common case, already at or below the currency's scale: exact integer scaling.
        if amount.scale() <= minor_units {
            let factor = 10i128.pow(minor_units - amount.scale());
            return amount
                .mantissa()
                .checked_mul(factor)
                .and_then(|m| i64::try_from(m).ok())
                .map(|minor| Money { minor, currency })
                .ok_or(MoneyError::Overflow("new"));
        }
        let normalized = amount.normalize();
        if normalized.scale() > minor_units {
            return Err(MoneyError::TooPrecise {
                amount,
                currency,
                minor_units,
            });
        }
        let mut scaled = normalized;
        scaled.rescale(minor_units);
        if scaled.scale() != minor_units {
            // rescale gives up when the mantissa would not fit.
            return Err(MoneyError::Overflow("new"));
        }
        let minor = i64::try_from(scaled.mantissa()).map_err(|_| MoneyError::Overflow("new"))?;
        Ok(Money { minor, currency })
    }

    /// Parses a decimal string such as `"149.90"` in `currency`.
    pub fn parse(amount: &str, currency: Currency) -> Result<Money, MoneyError> {
        let value = Decimal::from_str_exact(amount.trim())
            .map_err(|_| MoneyError::InvalidAmount(amount.to_owned()))?;
        Money::new(value, currency)
    }

    /// An amount given in minor units: `Money::from_minor(1250, CHF)` is CHF 12.50.
    pub const fn from_minor(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    /// Zero in `currency`.
    pub const fn zero(currency: Currency) -> Money {
        Money::from_minor(0, currency)
    }

    /// The decimal amount, at the currency's scale (CHF 12.5 is `12.50`).
    pub fn amount(&self) -> Decimal {
        Decimal::new(self.minor, self.currency.minor_units())
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The amount in minor units (CHF 12.50 is 1250).
    pub fn to_minor(&self) -> i64 {
        self.minor
    }

    /// Whether the amount is zero.
    pub fn is_zero(&self) -> bool {
        self.minor == 0
    }

    /// Whether the amount is below zero.
    pub fn is_negative(&self) -> bool {
        self.minor < 0
    }

    /// Whether the amount is above zero.
    pub fn is_positive(&self) -> bool {
        self.minor > 0
    }

    fn same_currency(&self, other: &Money, op: &'static str) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                op,
                left: self.currency,
                right: other.currency,
            })
        }
    }

    fn with_minor(&self, minor: Option<i64>, op: &'static str) -> Result<Money, MoneyError> {
        minor
            .map(|minor| Money::from_minor(minor, self.currency))
            .ok_or(MoneyError::Overflow(op))
    }

    /// `self + other`; errors on a currency mismatch or overflow.
    pub fn checked_add(&self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(&other, "add")?;
        self.with_minor(self.minor.checked_add(other.minor), "add")
    }

    /// `self - other`; errors on a currency mismatch or overflow.
    pub fn checked_sub(&self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(&other, "sub")?;
        self.with_minor(self.minor.checked_sub(other.minor), "sub")
    }

    /// `self × quantity`, exact.
    pub fn times(&self, quantity: u32) -> Result<Money, MoneyError> {
        self.with_minor(self.minor.checked_mul(i64::from(quantity)), "times")
    }

    /// The negated amount. (The one amount without a negation, the most negative one, becomes
    /// the most positive one: an error of one minor unit at the edge of the range, never a panic.)
    pub fn negate(&self) -> Money {
        Money::from_minor(self.minor.saturating_neg(), self.currency)
    }

    /// `self × ratio`, rounded to the minor unit toward zero, so that a derived amount (a fee,
    /// a share, a bonus) is never larger in magnitude than the exact product.
    pub fn mul_ratio_toward_zero(&self, ratio: Decimal) -> Result<Money, MoneyError> {
        let exact = Decimal::from(self.minor)
            .checked_mul(ratio)
            .ok_or(MoneyError::Overflow("mul_ratio"))?;
        let minor = exact.trunc();
        let minor = i64::try_from(minor).map_err(|_| MoneyError::Overflow("mul_ratio"))?;
        Ok(Money::from_minor(minor, self.currency))
    }

    /// `percent`% of `self`, rounded toward zero (see [`Money::mul_ratio_toward_zero`]).
    pub fn percent_toward_zero(&self, percent: Decimal) -> Result<Money, MoneyError> {
        self.mul_ratio_toward_zero(percent / Decimal::ONE_HUNDRED)
    }

    /// Compares two amounts of the same currency.
    pub fn try_cmp(&self, other: &Money) -> Result<Ordering, MoneyError> {
        self.same_currency(other, "compare")?;
        Ok(self.minor.cmp(&other.minor))
    }

    /// The smaller of two amounts of the same currency.
    pub fn try_min(&self, other: Money) -> Result<Money, MoneyError> {
        Ok(match self.try_cmp(&other)? {
            Ordering::Greater => other,
            _ => *self,
        })
    }

    /// The larger of two amounts of the same currency.
    pub fn try_max(&self, other: Money) -> Result<Money, MoneyError> {
        Ok(match self.try_cmp(&other)? {
            Ordering::Less => other,
            _ => *self,
        })
    }

    /// Zero when negative, the amount otherwise.
    pub fn clamp_non_negative(&self) -> Money {
        Money::from_minor(self.minor.max(0), self.currency)
    }

    /// Adds up amounts that must all be in `currency`; the sum of nothing is zero.
    pub fn sum(
        currency: Currency,
        parts: impl IntoIterator<Item = Money>,
    ) -> Result<Money, MoneyError> {
        parts
            .into_iter()
            .try_fold(Money::zero(currency), |acc, m| acc.checked_add(m))
    }

    /// Splits this amount into parts proportional to `weights`, by largest remainder in minor
    /// units: the parts always add up to exactly `self`, no part differs from its exact share by a
    /// minor unit or more, and ties go to the earlier weight. When every weight is zero the amount
    /// is split evenly. Weights must be non-negative and there must be at least one.
    pub fn allocate(&self, weights: &[Decimal]) -> Result<Vec<Money>, MoneyError> {
        if weights.is_empty() {
            return Err(MoneyError::InvalidWeights("no weights"));
        }
        if weights.iter().any(|w| w.is_sign_negative() && !w.is_zero()) {
            return Err(MoneyError::InvalidWeights("negative weight"));
        }
        let scale = weights.iter().map(|w| w.scale()).max().unwrap_or(0);
        let ints: Vec<i128> = weights
            .iter()
            .map(|w| {
                let mut w = *w;
                w.rescale(scale);
                w.mantissa()
            })
            .collect();
        let total = i128::from(self.minor);
        let mut shares = MinorUnits::new();
        allocate_minor(total, &ints, &mut shares)?;
        shares
            .into_iter()
            .map(|s| {
                let minor = i64::try_from(s).map_err(|_| MoneyError::Overflow("allocate"))?;
                Ok(Money::from_minor(minor, self.currency))
            })
            .collect()
    }
}

/// Amounts in minor units, inline for the usual handful of order lines.
pub(crate) type MinorUnits = SmallVec<[i128; 16]>;

/// Largest-remainder allocation in integers: splits `total` minor units into `shares` (cleared
/// first) in proportion to the non-negative integer `weights`; all-zero weights split evenly. The
/// shares add up to `total` exactly, each is within one unit of its exact share, and ties go to
/// the earlier weight. This is the one implementation behind [`Money::allocate`] and the engine.
pub(crate) fn allocate_minor(
    total: i128,
    weights: &[i128],
    shares: &mut MinorUnits,
) -> Result<(), MoneyError> {
    shares.clear();
    if weights.is_empty() {
        return Err(MoneyError::InvalidWeights("no weights"));
    }
    if weights.iter().any(|w| *w < 0) {
        return Err(MoneyError::InvalidWeights("negative weight"));
    }
    let even = weights.iter().all(|w| *w == 0);
    let weight = |w: i128| if even { 1 } else { w };
    let total_weight: i128 = weights
        .iter()
        .try_fold(0i128, |acc, w| acc.checked_add(weight(*w)))
        .ok_or(MoneyError::Overflow("allocate"))?;
    let magnitude = total
        .checked_abs()
        .ok_or(MoneyError::Overflow("allocate"))?;
    // Every product magnitude × weight is at most magnitude × total weight; when that fits in 64
    // bits the divisions run on u64, several times faster than on i128.
    let fits_u64 = magnitude
        .checked_mul(total_weight)
        .is_some_and(|p| u64::try_from(p).is_ok());
    let divmod = |w: i128| -> Result<(i128, i128), MoneyError> {
        let product = magnitude
            .checked_mul(weight(w))
            .ok_or(MoneyError::Overflow("allocate"))?;
        match (u64::try_from(product), u64::try_from(total_weight)) {
            (Ok(p), Ok(t)) if fits_u64 => Ok((i128::from(p / t), i128::from(p % t))),
            _ => Ok((product / total_weight, product % total_weight)),
        }
    };
    // One sort key per weight: the remainder above, the index (inverted, so that the earlier
    // weight wins a tie) below. Remainders are below the total weight; when that fits in 96 bits
    // the keys are plain u128s, cheap to sort.
    let packed = u128::try_from(total_weight).is_ok_and(|w| w < (1u128 << 96));
    let mut keys: SmallVec<[u128; 16]> = SmallVec::with_capacity(weights.len());
    let mut wide: SmallVec<[(i128, u32); 16]> = SmallVec::new();
    let mut assigned: i128 = 0;
    for (i, w) in weights.iter().enumerate() {
        let (share, remainder) = divmod(*w)?;
        shares.push(share);
        assigned += share;
        let index = u32::try_from(i).unwrap_or(u32::MAX);
        match u128::try_from(remainder) {
            Ok(r) if packed => keys.push((r << 32) | u128::from(u32::MAX - index)),
            _ => wide.push((remainder, index)),
        }
    }
    // Fewer leftover units than weights: one each to the largest remainders, the earlier weight
    // first on a tie.
    let leftover = usize::try_from(magnitude - assigned).unwrap_or(usize::MAX);
    if leftover > 0 {
        let mut give = |i: u32| {
            if let Some(share) = usize::try_from(i).ok().and_then(|i| shares.get_mut(i)) {
                *share += 1;
            }
        };
        if wide.is_empty() {
            keys.sort_unstable_by(|a, b| b.cmp(a));
            for key in keys.iter().take(leftover) {
                // The low 32 bits hold the inverted index.
                give(u32::MAX - u32::try_from(key & u128::from(u32::MAX)).unwrap_or(0));
            }
        } else {
            wide.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            for (_, i) in wide.iter().take(leftover) {
                give(*i);
            }
        }
    }
    if total < 0 {
        shares.iter_mut().for_each(|s| *s = -*s);
    }
    Ok(())
}

impl Money {
    /// Writes the plain amount (`-1234.50`), from the integer minor units directly: decisions
    /// print amounts in every reason, so this stays off the decimal formatter.
    fn write_amount(&self, out: &mut impl fmt::Write) -> fmt::Result {
        let scale = self.currency.minor_units();
        let magnitude = self.minor.unsigned_abs();
        if self.minor < 0 {
            out.write_char('-')?;
        }
        if scale == 0 {
            return write!(out, "{magnitude}");
        }
        let unit = 10u64.pow(scale);
        let width = usize::try_from(scale).unwrap_or(0);
        write!(out, "{}.{:0width$}", magnitude / unit, magnitude % unit)
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.currency)?;
        self.write_amount(f)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.currency)?;
        self.write_amount(f)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MoneyRepr {
    amount: String,
    currency: Currency,
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut amount = String::with_capacity(16);
        self.write_amount(&mut amount)
            .map_err(|_| serde::ser::Error::custom("amount formatting failed"))?;
        MoneyRepr {
            amount,
            currency: self.currency,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let repr = MoneyRepr::deserialize(d)?;
        Money::parse(&repr.amount, repr.currency).map_err(serde::de::Error::custom)
    }
}

/// Active ISO 4217 currencies with their minor units (funds codes included; precious metals and
/// codes without a minor unit excluded).
#[rustfmt::skip]
const ISO_4217: &[(&str, u8)] = &[
    ("AED", 2), ("AFN", 2), ("ALL", 2), ("AMD", 2), ("ANG", 2), ("AOA", 2), ("ARS", 2), ("AUD", 2),
    ("AWG", 2), ("AZN", 2), ("BAM", 2), ("BBD", 2), ("BDT", 2), ("BGN", 2), ("BHD", 3), ("BIF", 0),
    ("BMD", 2), ("BND", 2), ("BOB", 2), ("BOV", 2), ("BRL", 2), ("BSD", 2), ("BTN", 2), ("BWP", 2),
    ("BYN", 2), ("BZD", 2), ("CAD", 2), ("CDF", 2), ("CHE", 2), ("CHF", 2), ("CHW", 2), ("CLF", 4),
    ("CLP", 0), ("CNY", 2), ("COP", 2), ("COU", 2), ("CRC", 2), ("CUP", 2), ("CVE", 2), ("CZK", 2),
    ("DJF", 0), ("DKK", 2), ("DOP", 2), ("DZD", 2), ("EGP", 2), ("ERN", 2), ("ETB", 2), ("EUR", 2),
    ("FJD", 2), ("FKP", 2), ("GBP", 2), ("GEL", 2), ("GHS", 2), ("GIP", 2), ("GMD", 2), ("GNF", 0),
    ("GTQ", 2), ("GYD", 2), ("HKD", 2), ("HNL", 2), ("HTG", 2), ("HUF", 2), ("IDR", 2), ("ILS", 2),
    ("INR", 2), ("IQD", 3), ("IRR", 2), ("ISK", 0), ("JMD", 2), ("JOD", 3), ("JPY", 0), ("KES", 2),
    ("KGS", 2), ("KHR", 2), ("KMF", 0), ("KPW", 2), ("KRW", 0), ("KWD", 3), ("KYD", 2), ("KZT", 2),
    ("LAK", 2), ("LBP", 2), ("LKR", 2), ("LRD", 2), ("LSL", 2), ("LYD", 3), ("MAD", 2), ("MDL", 2),
    ("MGA", 2), ("MKD", 2), ("MMK", 2), ("MNT", 2), ("MOP", 2), ("MRU", 2), ("MUR", 2), ("MVR", 2),
    ("MWK", 2), ("MXN", 2), ("MXV", 2), ("MYR", 2), ("MZN", 2), ("NAD", 2), ("NGN", 2), ("NIO", 2),
    ("NOK", 2), ("NPR", 2), ("NZD", 2), ("OMR", 3), ("PAB", 2), ("PEN", 2), ("PGK", 2), ("PHP", 2),
    ("PKR", 2), ("PLN", 2), ("PYG", 0), ("QAR", 2), ("RON", 2), ("RSD", 2), ("RUB", 2), ("RWF", 0),
    ("SAR", 2), ("SBD", 2), ("SCR", 2), ("SDG", 2), ("SEK", 2), ("SGD", 2), ("SHP", 2), ("SLE", 2),
    ("SOS", 2), ("SRD", 2), ("SSP", 2), ("STN", 2), ("SVC", 2), ("SYP", 2), ("SZL", 2), ("THB", 2),
    ("TJS", 2), ("TMT", 2), ("TND", 3), ("TOP", 2), ("TRY", 2), ("TTD", 2), ("TWD", 2), ("TZS", 2),
    ("UAH", 2), ("UGX", 0), ("USD", 2), ("USN", 2), ("UYI", 0), ("UYU", 2), ("UYW", 4), ("UZS", 2),
    ("VED", 2), ("VES", 2), ("VND", 0), ("VUV", 0), ("WST", 2), ("XAF", 0), ("XCD", 2), ("XCG", 2),
    ("XOF", 0), ("XPF", 0), ("YER", 2), ("ZAR", 2), ("ZMW", 2), ("ZWG", 2),
];

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn chf(s: &str) -> Money {
        Money::parse(s, Currency::CHF).unwrap()
    }

    #[test]
    fn rejects_unknown_and_lowercase_codes() {
        assert!(Currency::from_code("CFH").is_err());
        assert!(Currency::from_code("chf").is_err());
        assert_eq!(Currency::from_code("JPY").unwrap().minor_units(), 0);
        assert_eq!(Currency::from_code("KWD").unwrap(), Currency::KWD);
    }

    #[test]
    fn refuses_precision_beyond_the_minor_unit() {
        assert!(matches!(
            Money::parse("12.505", Currency::CHF),
            Err(MoneyError::TooPrecise { .. })
        ));
        assert!(Money::parse("12.5", Currency::JPY).is_err());
        assert_eq!(chf("12.500").to_string(), "CHF 12.50");
        assert_eq!(
            Money::parse("1.234", Currency::KWD).unwrap().to_minor(),
            1234
        );
    }

    #[test]
    fn arithmetic_refuses_mixed_currencies() {
        let eur = Money::parse("1.00", Currency::EUR).unwrap();
        assert!(matches!(
            chf("1.00").checked_add(eur),
            Err(MoneyError::CurrencyMismatch { op: "add", .. })
        ));
        assert!(chf("1.00").try_cmp(&eur).is_err());
    }

    #[test]
    fn json_is_stable_and_exact() {
        let json = serde_json::to_string(&chf("149.9")).unwrap();
        assert_eq!(json, r#"{"amount":"149.90","currency":"CHF"}"#);
        let back: Money = serde_json::from_str(&json).unwrap();
        assert_eq!(back, chf("149.90"));
        assert!(serde_json::from_str::<Money>(r#"{"amount":"1.001","currency":"CHF"}"#).is_err());
        assert!(serde_json::from_str::<Money>(r#"{"amount":"1","currency":"XXX"}"#).is_err());
    }

    #[test]
    fn display_matches_the_decimal_amount() {
        for (minor, currency) in [
            (0, Currency::CHF),
            (5, Currency::CHF),
            (-5, Currency::CHF),
            (123_456, Currency::CHF),
            (-100, Currency::JPY),
            (1_234, Currency::KWD),
            (7, Currency::from_code("CLF").unwrap()),
            (i64::MIN, Currency::CHF),
            (i64::MAX, Currency::EUR),
        ] {
            let money = Money::from_minor(minor, currency);
            assert_eq!(
                money.to_string(),
                format!("{} {}", currency, money.amount())
            );
        }
    }

    #[test]
    fn allocation_with_huge_weights_takes_the_wide_path_and_agrees() {
        let huge = 10i128.pow(29);
        let mut shares = MinorUnits::new();
        allocate_minor(100, &[huge, huge, huge], &mut shares).unwrap();
        assert_eq!(shares.to_vec(), vec![34, 33, 33]);
        allocate_minor(-101, &[huge, 3 * huge, huge], &mut shares).unwrap();
        assert_eq!(shares.to_vec(), vec![-20, -61, -20]);
        allocate_minor(2, &[huge, huge + 1, huge], &mut shares).unwrap();
        assert_eq!(shares.to_vec(), vec![1, 1, 0]);
    }

    #[test]
    fn zero_is_never_negative() {
        let zero = chf("0.00").negate();
        assert_eq!(zero.to_string(), "CHF 0.00");
        assert_eq!(
            serde_json::to_string(&zero).unwrap(),
            r#"{"amount":"0.00","currency":"CHF"}"#
        );
        assert_eq!(chf("-0.00").to_string(), "CHF 0.00");
    }

    #[test]
    fn fees_round_toward_zero() {
        assert_eq!(
            chf("9.99").percent_toward_zero(Decimal::TEN).unwrap(),
            chf("0.99")
        );
        assert_eq!(
            chf("-9.99").percent_toward_zero(Decimal::TEN).unwrap(),
            chf("-0.99")
        );
    }

    #[test]
    fn allocation_examples() {
        let parts = chf("10.00").allocate(&[Decimal::ONE; 3]).unwrap();
        assert_eq!(parts, vec![chf("3.34"), chf("3.33"), chf("3.33")]);
        let parts = chf("-0.05")
            .allocate(&[Decimal::ZERO, Decimal::ZERO])
            .unwrap();
        assert_eq!(parts, vec![chf("-0.03"), chf("-0.02")]);
        let parts = Money::from_minor(100, Currency::JPY)
            .allocate(&[Decimal::new(3333, 2), Decimal::new(6667, 2)])
            .unwrap();
        assert_eq!(parts[0].to_minor() + parts[1].to_minor(), 100);
        assert!(chf("1.00").allocate(&[]).is_err());
        assert!(chf("1.00").allocate(&[Decimal::NEGATIVE_ONE]).is_err());
    }

    proptest! {
        #[test]
        fn allocation_sums_exactly_and_stays_within_one_unit(
            total in -10_000_000i64..10_000_000,
            weights in proptest::collection::vec(0u32..100_000, 1..100),
        ) {
            let money = Money::from_minor(total, Currency::CHF);
            let ws: Vec<Decimal> = weights.iter().map(|w| Decimal::new(i64::from(*w), 2)).collect();
            let parts = money.allocate(&ws).unwrap();
            prop_assert_eq!(parts.len(), ws.len());
            prop_assert_eq!(Money::sum(Currency::CHF, parts.iter().copied()).unwrap(), money);
            let wsum: i128 = weights.iter().map(|w| i128::from(*w)).sum();
            for (p, w) in parts.iter().zip(&weights) {
                let minor = i128::from(p.to_minor());
                if wsum > 0 {
                    // |part * W - total * w| < W  <=>  the part is within one minor unit of its exact share.
                    let diff = (minor * wsum - i128::from(total) * i128::from(*w)).abs();
                    prop_assert!(diff < wsum);
                }
            }
        }

        #[test]
        fn allocation_matches_a_sorting_reference(
            total in -1_000_000_000_000i64..1_000_000_000_000,
            weights in proptest::collection::vec(0u64..1_000_000_000_000, 1..90),
        ) {
            let ws: Vec<i128> = weights.iter().map(|w| i128::from(*w)).collect();
            let mut shares = MinorUnits::new();
            allocate_minor(i128::from(total), &ws, &mut shares).unwrap();
            // Reference: exact shares floored, then one unit each to the largest remainders,
            // earlier index first on ties, by a plain sort.
            let even = ws.iter().all(|w| *w == 0);
            let w: Vec<i128> = ws.iter().map(|x| if even { 1 } else { *x }).collect();
            let sum: i128 = w.iter().sum();
            let m = i128::from(total).abs();
            let mut expected: Vec<i128> = w.iter().map(|x| m * x / sum).collect();
            let mut order: Vec<(i128, usize)> = w.iter().enumerate().map(|(i, x)| (m * x % sum, i)).collect();
            order.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            let left = m - expected.iter().sum::<i128>();
            for (_, i) in order.into_iter().take(left as usize) {
                expected[i] += 1;
            }
            if total < 0 {
                expected.iter_mut().for_each(|x| *x = -*x);
            }
            prop_assert_eq!(shares.to_vec(), expected);
        }

        #[test]
        fn derived_amounts_never_exceed_the_exact_product(minor in 0i64..10_000_000, pct in 0u32..=100) {
            let m = Money::from_minor(minor, Currency::CHF);
            let fee = m.percent_toward_zero(Decimal::from(pct)).unwrap();
            prop_assert!(fee.amount() * Decimal::ONE_HUNDRED <= m.amount() * Decimal::from(pct));
            prop_assert!(fee.try_cmp(&m).unwrap() != Ordering::Greater);
        }
    }
}
