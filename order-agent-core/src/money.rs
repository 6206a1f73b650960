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

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

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
/// Serialised as `{"amount": "12.50", "currency": "CHF"}`; the amount is a string so that no JSON
/// parser turns it into a float. Amounts may be negative (a charge owed by the customer).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    amount: Decimal,
    currency: Currency,
}

impl Money {
    /// An amount in `currency`; refuses amounts with more decimals than the minor unit
    /// (`12.505` CHF) instead of silently rounding them.
    pub fn new(amount: Decimal, currency: Currency) -> Result<Money, MoneyError> {
        let minor_units = currency.minor_units();
        let normalized = amount.normalize();
        if normalized.scale() > minor_units {
            return Err(MoneyError::TooPrecise {
                amount,
                currency,
                minor_units,
            });
        }
        // A negative zero would print as `-0.00`.
        let mut amount = if normalized.is_zero() {
            Decimal::ZERO
        } else {
            normalized
        };
        amount.rescale(minor_units);
        Ok(Money { amount, currency })
    }

    /// Parses a decimal string such as `"149.90"` in `currency`.
    pub fn parse(amount: &str, currency: Currency) -> Result<Money, MoneyError> {
        let value = Decimal::from_str_exact(amount.trim())
            .map_err(|_| MoneyError::InvalidAmount(amount.to_owned()))?;
        Money::new(value, currency)
    }

    /// An amount given in minor units: `Money::from_minor(1250, CHF)` is CHF 12.50.
    pub fn from_minor(minor: i64, currency: Currency) -> Money {
        Money {
            amount: Decimal::new(minor, currency.minor_units()),
            currency,
        }
    }

    /// Zero in `currency`.
    pub fn zero(currency: Currency) -> Money {
        Money::from_minor(0, currency)
    }

    /// The decimal amount, at the currency's scale.
    pub fn amount(&self) -> Decimal {
        self.amount
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The amount in minor units (CHF 12.50 is 1250).
    pub fn to_minor(&self) -> Result<i64, MoneyError> {
        let mut scaled = self.amount;
        scaled.rescale(self.currency.minor_units());
        i64::try_from(scaled.mantissa()).map_err(|_| MoneyError::Overflow("to_minor"))
    }

    /// Whether the amount is zero.
    pub fn is_zero(&self) -> bool {
        self.amount.is_zero()
    }

    /// Whether the amount is below zero.
    pub fn is_negative(&self) -> bool {
        self.amount.is_sign_negative() && !self.amount.is_zero()
    }

    /// Whether the amount is above zero.
    pub fn is_positive(&self) -> bool {
        self.amount.is_sign_positive() && !self.amount.is_zero()
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

    /// `self + other`; errors on a currency mismatch or overflow.
    pub fn checked_add(&self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(&other, "add")?;
        let amount = self
            .amount
            .checked_add(other.amount)
            .ok_or(MoneyError::Overflow("add"))?;
        Ok(Money {
            amount,
            currency: self.currency,
        })
    }

    /// `self - other`; errors on a currency mismatch or overflow.
    pub fn checked_sub(&self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(&other, "sub")?;
        let amount = self
            .amount
            .checked_sub(other.amount)
            .ok_or(MoneyError::Overflow("sub"))?;
        Ok(Money {
            amount,
            currency: self.currency,
        })
    }

    /// `self × quantity`, exact.
    pub fn times(&self, quantity: u32) -> Result<Money, MoneyError> {
        let amount = self
            .amount
            .checked_mul(Decimal::from(quantity))
            .ok_or(MoneyError::Overflow("times"))?;
        Ok(Money {
            amount,
            currency: self.currency,
        })
    }

    /// The negated amount (zero stays a positive zero).
    pub fn negate(&self) -> Money {
        let amount = if self.amount.is_zero() {
            self.amount.abs()
        } else {
            -self.amount
        };
        Money {
            amount,
            currency: self.currency,
        }
    }

    /// `self × ratio`, rounded to the minor unit toward zero, so that a derived amount (a fee,
    /// a share, a bonus) is never larger in magnitude than the exact product.
    pub fn mul_ratio_toward_zero(&self, ratio: Decimal) -> Result<Money, MoneyError> {
        let exact = self
            .amount
            .checked_mul(ratio)
            .ok_or(MoneyError::Overflow("mul_ratio"))?;
        let amount =
            exact.round_dp_with_strategy(self.currency.minor_units(), RoundingStrategy::ToZero);
        Money::new(amount, self.currency)
    }

    /// `percent`% of `self`, rounded toward zero (see [`Money::mul_ratio_toward_zero`]).
    pub fn percent_toward_zero(&self, percent: Decimal) -> Result<Money, MoneyError> {
        self.mul_ratio_toward_zero(percent / Decimal::ONE_HUNDRED)
    }

    /// Compares two amounts of the same currency.
    pub fn try_cmp(&self, other: &Money) -> Result<Ordering, MoneyError> {
        self.same_currency(other, "compare")?;
        Ok(self.amount.cmp(&other.amount))
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
        if self.is_negative() {
            Money::zero(self.currency)
        } else {
            *self
        }
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
        let mut ints: Vec<i128> = weights
            .iter()
            .map(|w| {
                let mut w = *w;
                w.rescale(scale);
                w.mantissa()
            })
            .collect();
        if ints.iter().all(|w| *w == 0) {
            ints.iter_mut().for_each(|w| *w = 1);
        }
        let total_weight: i128 = ints
            .iter()
            .try_fold(0i128, |acc, w| acc.checked_add(*w))
            .ok_or(MoneyError::Overflow("allocate"))?;
        let total = i128::from(self.to_minor()?);
        let magnitude = total.abs();
        let mut shares = Vec::with_capacity(ints.len());
        let mut remainders = Vec::with_capacity(ints.len());
        let mut assigned: i128 = 0;
        for (i, w) in ints.iter().enumerate() {
            let product = magnitude
                .checked_mul(*w)
                .ok_or(MoneyError::Overflow("allocate"))?;
            let share = product / total_weight;
            remainders.push((product % total_weight, i));
            shares.push(share);
            assigned += share;
        }
        let mut leftover = magnitude - assigned;
        // Largest remainder first; equal remainders go to the earlier index.
        remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for (_, i) in remainders {
            if leftover == 0 {
                break;
            }
            if let Some(share) = shares.get_mut(i) {
                *share += 1;
                leftover -= 1;
            }
        }
        let sign = if total < 0 { -1 } else { 1 };
        shares
            .into_iter()
            .map(|s| {
                let minor =
                    i64::try_from(s * sign).map_err(|_| MoneyError::Overflow("allocate"))?;
                Ok(Money::from_minor(minor, self.currency))
            })
            .collect()
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.currency, self.amount)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.currency, self.amount)
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
        MoneyRepr {
            amount: self.amount.to_string(),
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
            Money::parse("1.234", Currency::KWD)
                .unwrap()
                .to_minor()
                .unwrap(),
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
        assert_eq!(
            parts[0].to_minor().unwrap() + parts[1].to_minor().unwrap(),
            100
        );
        assert!(chf("1.00").allocate(&[]).is_err());
        assert!(chf("1.00").allocate(&[Decimal::NEGATIVE_ONE]).is_err());
    }

    proptest! {
        #[test]
        fn allocation_sums_exactly_and_stays_within_one_unit(
            total in -10_000_000i64..10_000_000,
            weights in proptest::collection::vec(0u32..100_000, 1..25),
        ) {
            let money = Money::from_minor(total, Currency::CHF);
            let ws: Vec<Decimal> = weights.iter().map(|w| Decimal::new(i64::from(*w), 2)).collect();
            let parts = money.allocate(&ws).unwrap();
            prop_assert_eq!(parts.len(), ws.len());
            prop_assert_eq!(Money::sum(Currency::CHF, parts.iter().copied()).unwrap(), money);
            let wsum: i128 = weights.iter().map(|w| i128::from(*w)).sum();
            for (p, w) in parts.iter().zip(&weights) {
                let minor = i128::from(p.to_minor().unwrap());
                if wsum > 0 {
                    // |part * W - total * w| < W  <=>  the part is within one minor unit of its exact share.
                    let diff = (minor * wsum - i128::from(total) * i128::from(*w)).abs();
                    prop_assert!(diff < wsum);
                }
            }
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
