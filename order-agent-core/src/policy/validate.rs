//! Checks a policy before use.
//!
//! [`Policy::validate`] is pure: it looks at a parsed policy and reports what is wrong with it
//! ([`Validation::errors`]: the policy must not be used) and what is probably a mistake
//! ([`Validation::warnings`]). Every [`Diagnostic`] names the offending field by its path in the
//! file, such as `returns.rules[2].window_days`, using the key names of the TOML and JSON forms.
//!
//! [`validate_toml`] and [`validate_json`] parse a policy file, validate it and also fill in each
//! diagnostic's line and column, so a merchant is pointed at the exact key:
//!
//! ```
//! use order_agent_core::policy::{validate_toml, DiagnosticCode};
//!
//! let text = r#"
//! version = "2026-11-01"
//! currency = "CHF"
//! timezone = "Europe/Zurich"
//! limits.max_auto_refund = "200"
//!
//! [returns]
//! default_window_days = 30
//!
//! [[returns.rules]]
//! id = "swimwear"
//! match.categories = ["swimwear"]
//! window_days = 0
//! "#;
//! let (_policy, validation) = validate_toml(text)?;
//! assert!(!validation.is_ok());
//! let error = &validation.errors[0];
//! assert_eq!(error.code, DiagnosticCode::NonPositiveWindow);
//! assert_eq!(error.path, "returns.rules[0].window_days");
//! assert_eq!(error.location.map(|l| l.line), Some(13));
//! # Ok::<(), order_agent_core::policy::PolicyParseError>(())
//! ```
//!
//! Rule ids, seasonal-extension ids and legal-floor ids share one namespace: decisions quote them
//! side by side, so each id must name exactly one entry of the file.

use std::collections::HashMap;
use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::model::{FeeAmount, LineMatcher, Location, Policy, PolicyParseError, ReturnRule};
use crate::domain::{OrderStatus, ResolutionKind};
use crate::money::Money;

/// The outcome of [`Policy::validate`]: errors make a policy unusable, warnings point at likely
/// mistakes. Both lists are sorted by location (unlocated diagnostics last), then path.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validation {
    /// Problems that make the policy unsafe or meaningless to use.
    pub errors: Vec<Diagnostic>,
    /// Settings that are allowed but almost certainly not what the merchant meant.
    pub warnings: Vec<Diagnostic>,
}

impl Validation {
    /// True when there are no errors (warnings do not count).
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }
}

/// One finding about one place in a policy file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// What kind of finding this is; stable, for tools.
    pub code: DiagnosticCode,
    /// The field, by its key names in the file, e.g. `returns.rules[2].window_days`. Keys that are
    /// not bare words (a carrier slug with a dot, say) are quoted as JSON strings.
    pub path: String,
    /// What is wrong, for people.
    pub message: String,
    /// Where the key is in the source text, when validated from text and the key is there.
    pub location: Option<Location>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(location) = self.location {
            write!(f, "{location}: ")?;
        }
        write!(f, "{}: {} [{}]", self.path, self.message, self.code)
    }
}

/// The kind of a [`Diagnostic`], serialised in snake case (`non_positive_window`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DiagnosticCode {
    /// Error: a return window or legal withdrawal period of zero or fewer days.
    NonPositiveWindow,
    /// Error: a negative transit allowance.
    NegativeTransitAllowance,
    /// Error: an id used twice among rules, seasonal extensions and legal floors.
    DuplicateId,
    /// Error: an empty id.
    EmptyId,
    /// Error: a return window shorter than a legal floor's withdrawal period.
    WindowBelowLegalFloor,
    /// Error: a seasonal extension whose dates are out of order.
    InvalidSeasonalDates,
    /// Error: a percentage outside 0 to 100.
    PercentOutOfRange,
    /// Error: a negative amount of money.
    NegativeAmount,
    /// Error: an amount with more decimals than the policy currency has.
    TooPreciseAmount,
    /// Error: a rolling period of zero or fewer days.
    NonPositivePeriod,
    /// Error: a return rate outside 0 to 1.
    RateOutOfRange,
    /// Error: a negative delay threshold or a lost-parcel threshold of zero or fewer days.
    InvalidThreshold,
    /// Error: a legal floor that names no country.
    EmptyCountries,
    /// Error: a country code that is not two upper-case letters.
    InvalidCountryCode,
    /// Error: a returnable rule (or the default) that allows no resolution at all.
    NoResolutions,
    /// Error: cancellation allowed in a state at or after fulfilment.
    CancellationAfterFulfilment,
    /// Error: an empty policy version.
    EmptyVersion,
    /// Warning: a rule that can never match because an earlier rule matches everything it does.
    ShadowedRule,
    /// Warning: a rule that matches every line but is not the last rule.
    CatchAllNotLast,
    /// Warning: the same entry twice in one list.
    DuplicateEntry,
    /// Warning: two entries of one list that differ only in upper and lower case.
    CaseVariantEntry,
    /// Warning: `inspection_required` on a rule whose items are not returnable.
    InspectionOnNonReturnable,
    /// Warning: `restocking_fee` on a rule whose items are not returnable.
    RestockingFeeOnNonReturnable,
    /// Warning: a blocklisted email without `@`.
    InvalidEmail,
    /// Warning: no `max_auto_refund`, so refunds of any size are automatic.
    NoAutoRefundLimit,
    /// Warning: a store-credit bonus on a rule that does not allow store credit.
    BonusWithoutStoreCredit,
    /// Warning: a category no product of the catalog has ([`Policy::validate_against_catalog`]).
    UnknownCategory,
}

impl DiagnosticCode {
    /// The code as serialised, e.g. `"non_positive_window"`.
    pub fn as_str(self) -> &'static str {
        match self {
            DiagnosticCode::NonPositiveWindow => "non_positive_window",
            DiagnosticCode::NegativeTransitAllowance => "negative_transit_allowance",
            DiagnosticCode::DuplicateId => "duplicate_id",
            DiagnosticCode::EmptyId => "empty_id",
            DiagnosticCode::WindowBelowLegalFloor => "window_below_legal_floor",
            DiagnosticCode::InvalidSeasonalDates => "invalid_seasonal_dates",
            DiagnosticCode::PercentOutOfRange => "percent_out_of_range",
            DiagnosticCode::NegativeAmount => "negative_amount",
            DiagnosticCode::TooPreciseAmount => "too_precise_amount",
            DiagnosticCode::NonPositivePeriod => "non_positive_period",
            DiagnosticCode::RateOutOfRange => "rate_out_of_range",
            DiagnosticCode::InvalidThreshold => "invalid_threshold",
            DiagnosticCode::EmptyCountries => "empty_countries",
            DiagnosticCode::InvalidCountryCode => "invalid_country_code",
            DiagnosticCode::NoResolutions => "no_resolutions",
            DiagnosticCode::CancellationAfterFulfilment => "cancellation_after_fulfilment",
            DiagnosticCode::EmptyVersion => "empty_version",
            DiagnosticCode::ShadowedRule => "shadowed_rule",
            DiagnosticCode::CatchAllNotLast => "catch_all_not_last",
            DiagnosticCode::DuplicateEntry => "duplicate_entry",
            DiagnosticCode::CaseVariantEntry => "case_variant_entry",
            DiagnosticCode::InspectionOnNonReturnable => "inspection_on_non_returnable",
            DiagnosticCode::RestockingFeeOnNonReturnable => "restocking_fee_on_non_returnable",
            DiagnosticCode::InvalidEmail => "invalid_email",
            DiagnosticCode::NoAutoRefundLimit => "no_auto_refund_limit",
            DiagnosticCode::BonusWithoutStoreCredit => "bonus_without_store_credit",
            DiagnosticCode::UnknownCategory => "unknown_category",
        }
    }
}

impl fmt::Display for DiagnosticCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Policy {
    /// Checks the policy's meaning: windows, ids, dates, amounts, percentages, rule order and
    /// legal floors. Pure; the diagnostics carry paths but no locations (see [`validate_toml`]).
    pub fn validate(&self) -> Validation {
        let mut checker = Checker {
            policy: self,
            errors: Vec::new(),
            warnings: Vec::new(),
        };
        checker.check_version();
        checker.check_returns();
        checker.check_rules();
        checker.check_seasonal_extensions();
        checker.check_ids();
        checker.check_legal_floors();
        checker.check_fees();
        checker.check_limits();
        checker.check_fraud();
        checker.check_receiving();
        checker.check_cancellation();
        checker.check_exceptions();
        let mut validation = Validation {
            errors: checker.errors,
            warnings: checker.warnings,
        };
        sort_diagnostics(&mut validation.errors);
        sort_diagnostics(&mut validation.warnings);
        validation
    }

    /// Warns about rule and legal-floor-exemption categories that no product of the catalog has
    /// (compared case-insensitively): such entries never match, which usually means a typo.
    /// `categories` are all the categories the catalog uses.
    pub fn validate_against_catalog(&self, categories: &[&str]) -> Vec<Diagnostic> {
        let known: Vec<String> = categories.iter().map(|c| c.to_lowercase()).collect();
        let lists = self
            .returns
            .rules
            .iter()
            .enumerate()
            .map(|(i, rule)| (format!("returns.rules[{i}].match"), &rule.matcher))
            .chain(
                self.legal_floors
                    .iter()
                    .enumerate()
                    .map(|(i, floor)| (format!("legal_floors[{i}].exempt"), &floor.exempt)),
            );
        let mut warnings = Vec::new();
        for (matcher_path, matcher) in lists {
            for (j, category) in matcher.categories.iter().enumerate() {
                if !known.contains(&category.to_lowercase()) {
                    warnings.push(Diagnostic {
                        code: DiagnosticCode::UnknownCategory,
                        path: format!("{matcher_path}.categories[{j}]"),
                        message: format!(
                            "category `{category}` is never matched: no product in the catalog has it"
                        ),
                        location: None,
                    });
                }
            }
        }
        sort_diagnostics(&mut warnings);
        warnings
    }
}

/// Parses a TOML policy, validates it and locates every diagnostic in `text` (the line and column
/// of the key its path names, or of the array element for paths ending in an index).
///
/// A diagnostic about a key that is absent from the file (such as a missing `max_auto_refund`)
/// points at the nearest enclosing key that is present, or has no location when there is none.
pub fn validate_toml(text: &str) -> Result<(Policy, Validation), PolicyParseError> {
    let policy = Policy::from_toml_str(text)?;
    let mut validation = policy.validate();
    locate_in_toml(text, &mut validation.errors);
    locate_in_toml(text, &mut validation.warnings);
    Ok((policy, validation))
}

/// Parses a JSON policy, validates it and locates every diagnostic in `text`, as
/// [`validate_toml`] does: a key's location is that of its opening quote, an array element's that
/// of its first character.
pub fn validate_json(text: &str) -> Result<(Policy, Validation), PolicyParseError> {
    let policy = Policy::from_json_str(text)?;
    let mut validation = policy.validate();
    locate_in_json(text, &mut validation.errors);
    locate_in_json(text, &mut validation.warnings);
    Ok((policy, validation))
}

/// Sets the location of each diagnostic from the TOML source `text` (as [`validate_toml`] does),
/// then sorts them by location, then path. Useful for [`Policy::validate_against_catalog`].
pub fn locate_in_toml(text: &str, diagnostics: &mut [Diagnostic]) {
    // The text already parsed as a policy, so this only fails if it is not the same text; the
    // diagnostics then simply stay unlocated.
    if let Ok(document) = toml_edit::Document::parse(text) {
        for diagnostic in diagnostics.iter_mut() {
            let offset = parse_path(&diagnostic.path)
                .and_then(|segments| toml_offset(document.as_item(), &segments));
            diagnostic.location = offset.map(|offset| Location::from_offset(text, offset));
        }
    }
    sort_diagnostics(diagnostics);
}

/// Sets the location of each diagnostic from the JSON source `text` (as [`validate_json`] does),
/// then sorts them by location, then path.
pub fn locate_in_json(text: &str, diagnostics: &mut [Diagnostic]) {
    for diagnostic in diagnostics.iter_mut() {
        let offset = parse_path(&diagnostic.path).and_then(|segments| json_offset(text, &segments));
        diagnostic.location = offset.map(|offset| Location::from_offset(text, offset));
    }
    sort_diagnostics(diagnostics);
}

/// Collects diagnostics while walking a policy.
struct Checker<'p> {
    policy: &'p Policy,
    errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
}

/// How list entries compare when the engine matches them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Case {
    /// Matched case-insensitively: entries differing only in case are duplicates.
    Insensitive,
    /// Matched exactly: entries differing only in case are distinct but suspicious.
    Sensitive,
}

impl Checker<'_> {
    fn error(&mut self, code: DiagnosticCode, path: String, message: String) {
        self.errors.push(Diagnostic {
            code,
            path,
            message,
            location: None,
        });
    }

    fn warn(&mut self, code: DiagnosticCode, path: String, message: String) {
        self.warnings.push(Diagnostic {
            code,
            path,
            message,
            location: None,
        });
    }

    fn check_version(&mut self) {
        if self.policy.version.trim().is_empty() {
            self.error(
                DiagnosticCode::EmptyVersion,
                "version".to_owned(),
                "version must not be empty: it is recorded with every decision".to_owned(),
            );
        }
    }

    fn check_returns(&mut self) {
        let returns = &self.policy.returns;
        self.check_window(
            "returns.default_window_days".to_owned(),
            returns.default_window_days,
        );
        if returns.transit_allowance_days < 0 {
            self.error(
                DiagnosticCode::NegativeTransitAllowance,
                "returns.transit_allowance_days".to_owned(),
                format!(
                    "transit allowance must not be negative, got `{}`",
                    returns.transit_allowance_days
                ),
            );
        }
        for floor in &self.policy.legal_floors {
            if floor.withdrawal_days > 0 && returns.default_window_days < floor.withdrawal_days {
                self.error(
                    DiagnosticCode::WindowBelowLegalFloor,
                    "returns.default_window_days".to_owned(),
                    format!(
                        "default window of `{}` days is shorter than the `{}` days legal floor `{}` guarantees",
                        returns.default_window_days, floor.withdrawal_days, floor.id
                    ),
                );
            }
        }
        // The defaults serve lines no rule matches and returnable rules without their own list.
        let defaults_used = !returns.rules.iter().any(|r| r.matcher.is_catch_all())
            || returns
                .rules
                .iter()
                .any(|r| r.not_returnable.is_none() && r.resolutions.is_none());
        if returns.default_resolutions.is_empty() && defaults_used {
            self.error(
                DiagnosticCode::NoResolutions,
                "returns.default_resolutions".to_owned(),
                "no default resolutions: returns that fall back to them could never be approved"
                    .to_owned(),
            );
        }
        self.check_list("returns.default_resolutions", &returns.default_resolutions);
    }

    fn check_window(&mut self, path: String, days: i64) {
        if days <= 0 {
            self.error(
                DiagnosticCode::NonPositiveWindow,
                path,
                format!("window must be at least 1 day, got `{days}`"),
            );
        }
    }

    fn check_rules(&mut self) {
        let policy = self.policy;
        let rules = &policy.returns.rules;
        for (i, rule) in rules.iter().enumerate() {
            let path = format!("returns.rules[{i}]");
            if let Some(days) = rule.window_days {
                self.check_window(format!("{path}.window_days"), days);
                if rule.not_returnable.is_none() {
                    for floor in &policy.legal_floors {
                        let exempt =
                            !floor.exempt.is_catch_all() && covers(&floor.exempt, &rule.matcher);
                        if floor.withdrawal_days > 0 && days < floor.withdrawal_days && !exempt {
                            self.error(
                                DiagnosticCode::WindowBelowLegalFloor,
                                format!("{path}.window_days"),
                                format!(
                                    "window of `{days}` days is shorter than the `{}` days legal floor `{}` guarantees",
                                    floor.withdrawal_days, floor.id
                                ),
                            );
                        }
                    }
                }
            }
            self.check_rule_settings(&path, rule);
            self.check_matcher(&format!("{path}.match"), &rule.matcher);
            self.check_shadowing(i, rule);
        }
    }

    fn check_rule_settings(&mut self, path: &str, rule: &ReturnRule) {
        let returnable = rule.not_returnable.is_none();
        if let Some(resolutions) = &rule.resolutions {
            if resolutions.is_empty() && returnable {
                self.error(
                    DiagnosticCode::NoResolutions,
                    format!("{path}.resolutions"),
                    format!(
                        "rule `{}` allows no resolution, so no return it matches could ever be approved",
                        rule.id
                    ),
                );
            }
            self.check_list(&format!("{path}.resolutions"), resolutions);
        }
        if let Some(bonus) = rule.store_credit_bonus_percent {
            self.check_percent(format!("{path}.store_credit_bonus_percent"), bonus);
            let resolutions = rule
                .resolutions
                .as_ref()
                .unwrap_or(&self.policy.returns.default_resolutions);
            if !resolutions.contains(&ResolutionKind::StoreCredit) {
                self.warn(
                    DiagnosticCode::BonusWithoutStoreCredit,
                    format!("{path}.store_credit_bonus_percent"),
                    format!(
                        "the store credit bonus has no effect: rule `{}` does not allow `store_credit`",
                        rule.id
                    ),
                );
            }
        }
        if let Some(fee) = &rule.restocking_fee {
            self.check_fee(&format!("{path}.restocking_fee"), fee);
        }
        if !returnable && rule.inspection_required {
            self.warn(
                DiagnosticCode::InspectionOnNonReturnable,
                format!("{path}.inspection_required"),
                format!(
                    "`inspection_required` has no effect: rule `{}` makes its items not returnable",
                    rule.id
                ),
            );
        }
        if !returnable && rule.restocking_fee.is_some() {
            self.warn(
                DiagnosticCode::RestockingFeeOnNonReturnable,
                format!("{path}.restocking_fee"),
                format!(
                    "`restocking_fee` has no effect: rule `{}` makes its items not returnable",
                    rule.id
                ),
            );
        }
    }

    fn check_matcher(&mut self, path: &str, matcher: &LineMatcher) {
        self.check_strings(
            &format!("{path}.categories"),
            &matcher.categories,
            Case::Insensitive,
        );
        self.check_strings(&format!("{path}.tags"), &matcher.tags, Case::Insensitive);
        self.check_strings(&format!("{path}.skus"), &matcher.skus, Case::Sensitive);
    }

    fn check_shadowing(&mut self, index: usize, rule: &ReturnRule) {
        let rules = &self.policy.returns.rules;
        if rule.matcher.is_catch_all() && index + 1 < rules.len() {
            let after = rules.len() - index - 1;
            self.warn(
                DiagnosticCode::CatchAllNotLast,
                format!("returns.rules[{index}]"),
                format!(
                    "rule `{}` matches every line, so the {after} rule{} after it never match",
                    rule.id,
                    if after == 1 { "" } else { "s" }
                ),
            );
        }
        let shadow = rules
            .iter()
            .take(index)
            .find(|earlier| covers(&earlier.matcher, &rule.matcher));
        if let Some(earlier) = shadow {
            let message = if earlier.matcher.is_catch_all() {
                format!(
                    "rule `{}` never matches: rule `{}` before it matches every line",
                    rule.id, earlier.id
                )
            } else {
                format!(
                    "rule `{}` never matches: rule `{}` before it lists every sku, tag and category it lists",
                    rule.id, earlier.id
                )
            };
            self.warn(
                DiagnosticCode::ShadowedRule,
                format!("returns.rules[{index}]"),
                message,
            );
        }
    }

    fn check_seasonal_extensions(&mut self) {
        for (i, extension) in self.policy.returns.seasonal_extensions.iter().enumerate() {
            let path = format!("returns.seasonal_extensions[{i}]");
            if extension.purchased_from > extension.purchased_to {
                self.error(
                    DiagnosticCode::InvalidSeasonalDates,
                    format!("{path}.purchased_from"),
                    format!(
                        "`purchased_from` `{}` is after `purchased_to` `{}`",
                        extension.purchased_from, extension.purchased_to
                    ),
                );
            }
            if extension.returns_until < extension.purchased_to {
                self.error(
                    DiagnosticCode::InvalidSeasonalDates,
                    format!("{path}.returns_until"),
                    format!(
                        "`returns_until` `{}` is before `purchased_to` `{}`",
                        extension.returns_until, extension.purchased_to
                    ),
                );
            }
        }
    }

    fn check_ids(&mut self) {
        let policy = self.policy;
        let ids = policy
            .returns
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| (format!("returns.rules[{i}]"), &*r.id))
            .chain(
                policy
                    .returns
                    .seasonal_extensions
                    .iter()
                    .enumerate()
                    .map(|(i, e)| (format!("returns.seasonal_extensions[{i}]"), &*e.id)),
            )
            .chain(
                policy
                    .legal_floors
                    .iter()
                    .enumerate()
                    .map(|(i, f)| (format!("legal_floors[{i}]"), &*f.id)),
            );
        let mut seen: HashMap<&str, String> = HashMap::new();
        for (path, id) in ids {
            if id.trim().is_empty() {
                self.error(
                    DiagnosticCode::EmptyId,
                    format!("{path}.id"),
                    "id must not be empty: decisions quote it".to_owned(),
                );
            } else if let Some(first) = seen.get(id) {
                let message = format!(
                    "id `{id}` is already used by `{first}`; rules, seasonal extensions and legal floors need distinct ids"
                );
                self.error(DiagnosticCode::DuplicateId, format!("{path}.id"), message);
            } else {
                seen.insert(id, path);
            }
        }
    }

    fn check_legal_floors(&mut self) {
        for (i, floor) in self.policy.legal_floors.iter().enumerate() {
            let path = format!("legal_floors[{i}]");
            if floor.countries.is_empty() {
                self.error(
                    DiagnosticCode::EmptyCountries,
                    format!("{path}.countries"),
                    format!(
                        "legal floor `{}` names no country, so it protects nobody",
                        floor.id
                    ),
                );
            }
            for (j, country) in floor.countries.iter().enumerate() {
                let valid = country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase());
                if !valid {
                    self.error(
                        DiagnosticCode::InvalidCountryCode,
                        format!("{path}.countries[{j}]"),
                        format!(
                            "country `{country}` is not a two-letter upper-case ISO 3166-1 code such as `DE`"
                        ),
                    );
                }
            }
            self.check_strings(
                &format!("{path}.countries"),
                &floor.countries,
                Case::Sensitive,
            );
            if floor.withdrawal_days <= 0 {
                self.error(
                    DiagnosticCode::NonPositiveWindow,
                    format!("{path}.withdrawal_days"),
                    format!(
                        "withdrawal period must be at least 1 day, got `{}`",
                        floor.withdrawal_days
                    ),
                );
            }
            self.check_matcher(&format!("{path}.exempt"), &floor.exempt);
        }
    }

    fn check_fees(&mut self) {
        let fees = &self.policy.fees;
        if let Some(fee) = &fees.restocking {
            self.check_fee("fees.restocking", fee);
        }
        if let Some(amount) = fees.return_shipping {
            self.check_amount("fees.return_shipping".to_owned(), amount);
        }
        self.check_list("fees.restocking_waived_for", &fees.restocking_waived_for);
        self.check_list(
            "fees.return_shipping_waived_for",
            &fees.return_shipping_waived_for,
        );
        self.check_list("fees.free_returns_for_tiers", &fees.free_returns_for_tiers);
        self.check_list(
            "fees.refund_original_shipping_for",
            &fees.refund_original_shipping_for,
        );
    }

    fn check_fee(&mut self, path: &str, fee: &FeeAmount) {
        match fee {
            FeeAmount::Percent(percent) => self.check_percent(format!("{path}.percent"), *percent),
            FeeAmount::Fixed(amount) => self.check_amount(format!("{path}.fixed"), *amount),
        }
    }

    fn check_percent(&mut self, path: String, percent: Decimal) {
        if percent < Decimal::ZERO || percent > Decimal::ONE_HUNDRED {
            self.error(
                DiagnosticCode::PercentOutOfRange,
                path,
                format!("percentage must be between 0 and 100, got `{percent}`"),
            );
        }
    }

    fn check_amount(&mut self, path: String, amount: Decimal) {
        let currency = self.policy.currency;
        if amount < Decimal::ZERO {
            self.error(
                DiagnosticCode::NegativeAmount,
                path.clone(),
                format!("amount must not be negative, got `{amount}`"),
            );
        }
        if Money::new(amount, currency).is_err() {
            self.error(
                DiagnosticCode::TooPreciseAmount,
                path,
                format!(
                    "amount `{amount}` has more decimals than `{currency}` allows ({})",
                    currency.minor_units()
                ),
            );
        }
    }

    fn check_period(&mut self, path: String, days: i64) {
        if days <= 0 {
            self.error(
                DiagnosticCode::NonPositivePeriod,
                path,
                format!("period must be at least 1 day, got `{days}`"),
            );
        }
    }

    fn check_limits(&mut self) {
        let limits = &self.policy.limits;
        match limits.max_auto_refund {
            Some(amount) => self.check_amount("limits.max_auto_refund".to_owned(), amount),
            None => self.warn(
                DiagnosticCode::NoAutoRefundLimit,
                "limits.max_auto_refund".to_owned(),
                "no `max_auto_refund` is set, so approved refunds of any size are paid automatically"
                    .to_owned(),
            ),
        }
        if let Some(limit) = &limits.max_refunded_per_customer {
            self.check_amount(
                "limits.max_refunded_per_customer.amount".to_owned(),
                limit.amount,
            );
            self.check_period(
                "limits.max_refunded_per_customer.period_days".to_owned(),
                limit.period_days,
            );
        }
        if let Some(amount) = limits.high_value_order {
            self.check_amount("limits.high_value_order".to_owned(), amount);
        }
    }

    fn check_fraud(&mut self) {
        let fraud = &self.policy.fraud;
        if let Some(rate) = fraud.max_return_rate {
            if rate < Decimal::ZERO || rate > Decimal::ONE {
                self.error(
                    DiagnosticCode::RateOutOfRange,
                    "fraud.max_return_rate".to_owned(),
                    format!("return rate must be a fraction between 0 and 1, got `{rate}`"),
                );
            }
        }
        if let Some(limit) = &fraud.max_returns_in_period {
            self.check_period(
                "fraud.max_returns_in_period.period_days".to_owned(),
                limit.period_days,
            );
        }
        for (i, email) in fraud.blocklisted_emails.iter().enumerate() {
            if !email.contains('@') {
                self.warn(
                    DiagnosticCode::InvalidEmail,
                    format!("fraud.blocklisted_emails[{i}]"),
                    format!("`{email}` is not an email address: it has no `@`"),
                );
            }
        }
        self.check_strings(
            "fraud.blocklisted_emails",
            &fraud.blocklisted_emails,
            Case::Insensitive,
        );
        self.check_list("fraud.blocklisted_addresses", &fraud.blocklisted_addresses);
    }

    fn check_receiving(&mut self) {
        for (grade, rule) in &self.policy.receiving.grades {
            let path = format!("receiving.grades.{}", key_segment(&serde_name(grade)));
            self.check_percent(format!("{path}.refund_percent"), rule.refund_percent);
        }
    }

    fn check_cancellation(&mut self) {
        let cancellation = &self.policy.cancellation;
        for (i, state) in cancellation.allowed_states.iter().enumerate() {
            if !state.is_before_fulfilment() {
                self.error(
                    DiagnosticCode::CancellationAfterFulfilment,
                    format!("cancellation.allowed_states[{i}]"),
                    format!(
                        "cancelling in state `{}` is not allowed: the agent only cancels `{}` and `{}` orders, never shipped ones",
                        serde_name(state),
                        serde_name(&OrderStatus::Pending),
                        serde_name(&OrderStatus::Unfulfilled)
                    ),
                );
            }
        }
        self.check_list("cancellation.allowed_states", &cancellation.allowed_states);
        self.check_list(
            "cancellation.allowed_reasons",
            &cancellation.allowed_reasons,
        );
    }

    fn check_exceptions(&mut self) {
        let exceptions = &self.policy.exceptions;
        if exceptions.delay_days < 0 {
            self.error(
                DiagnosticCode::InvalidThreshold,
                "exceptions.delay_days".to_owned(),
                format!(
                    "delay threshold must not be negative, got `{}`",
                    exceptions.delay_days
                ),
            );
        }
        let lost =
            std::iter::once((
                "exceptions.lost_after_days_without_scan".to_owned(),
                exceptions.lost_after_days_without_scan,
            ))
            .chain(exceptions.lost_after_days_by_carrier.iter().map(
                |(carrier, days)| {
                    let path = format!(
                        "exceptions.lost_after_days_by_carrier.{}",
                        key_segment(carrier)
                    );
                    (path, *days)
                },
            ));
        for (path, days) in lost {
            if days <= 0 {
                self.error(
                    DiagnosticCode::InvalidThreshold,
                    path,
                    format!("lost-parcel threshold must be at least 1 day, got `{days}`"),
                );
            }
        }
        self.check_list(
            "exceptions.exception_statuses",
            &exceptions.exception_statuses,
        );
    }

    /// Warns about exact repeats in a list.
    fn check_list<T: PartialEq + Serialize>(&mut self, path: &str, items: &[T]) {
        for (j, item) in items.iter().enumerate() {
            if items[..j].contains(item) {
                self.warn(
                    DiagnosticCode::DuplicateEntry,
                    format!("{path}[{j}]"),
                    format!("`{}` is listed more than once", serde_name(item)),
                );
            }
        }
    }

    /// Warns about repeats in a list of strings, and about entries that differ only in case.
    fn check_strings(&mut self, path: &str, items: &[String], case: Case) {
        for (j, item) in items.iter().enumerate() {
            let earlier = &items[..j];
            if earlier.contains(item) {
                self.warn(
                    DiagnosticCode::DuplicateEntry,
                    format!("{path}[{j}]"),
                    format!("`{item}` is listed more than once"),
                );
                continue;
            }
            let lower = item.to_lowercase();
            let Some(variant) = earlier.iter().find(|e| e.to_lowercase() == lower) else {
                continue;
            };
            let message = match case {
                Case::Insensitive => format!(
                    "`{item}` and `{variant}` differ only in case and match the same lines"
                ),
                Case::Sensitive => format!(
                    "`{item}` and `{variant}` differ only in case but match differently; one is probably a typo"
                ),
            };
            self.warn(
                DiagnosticCode::CaseVariantEntry,
                format!("{path}[{j}]"),
                message,
            );
        }
    }
}

/// True when every line `later` matches is certainly matched by `earlier` too. Only what the two
/// matchers list is compared: a SKU that happens to be in a listed category is not known here.
fn covers(earlier: &LineMatcher, later: &LineMatcher) -> bool {
    if earlier.is_catch_all() {
        return true;
    }
    if later.is_catch_all() {
        return false;
    }
    let all_in = |wanted: &[String], listed: &[String], case: Case| {
        wanted.iter().all(|w| {
            listed.iter().any(|l| match case {
                Case::Insensitive => w.to_lowercase() == l.to_lowercase(),
                Case::Sensitive => w == l,
            })
        })
    };
    all_in(&later.categories, &earlier.categories, Case::Insensitive)
        && all_in(&later.tags, &earlier.tags, Case::Insensitive)
        && all_in(&later.skus, &earlier.skus, Case::Sensitive)
}

/// The name serde gives a value (`store_credit` for an enum variant), for messages.
fn serde_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// A path segment: a key as is when it is a bare word, else quoted as a JSON string.
fn key_segment(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_owned()
    } else {
        serde_json::to_string(key).unwrap_or_else(|_| key.to_owned())
    }
}

/// One step of a diagnostic path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Segment {
    Key(String),
    Index(usize),
}

/// Splits `returns.rules[2].window_days` into its keys and indices; `None` if malformed.
fn parse_path(path: &str) -> Option<Vec<Segment>> {
    let mut segments = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']')?;
            segments.push(Segment::Index(after[..end].parse().ok()?));
            rest = &after[end + 1..];
        } else if rest.starts_with('"') {
            let end = json_string_end(rest.as_bytes(), 0)?;
            segments.push(Segment::Key(serde_json::from_str(&rest[..end]).ok()?));
            rest = &rest[end..];
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            segments.push(Segment::Key(rest[..end].to_owned()));
            rest = &rest[end..];
        }
        rest = rest.strip_prefix('.').unwrap_or(rest);
    }
    Some(segments)
}

fn sort_diagnostics(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by_cached_key(|d| {
        (
            d.location.is_none(),
            d.location.map(|l| (l.line, l.column)),
            parse_path(&d.path).unwrap_or_default(),
            d.code.as_str(),
            d.message.clone(),
        )
    });
}

/// A node of a parsed TOML document that a path can step into.
#[derive(Clone, Copy)]
enum TomlNode<'a> {
    Table(&'a toml_edit::Table),
    InlineTable(&'a toml_edit::InlineTable),
    Array(&'a toml_edit::Array),
    ArrayOfTables(&'a toml_edit::ArrayOfTables),
    Leaf,
}

impl<'a> TomlNode<'a> {
    fn of_item(item: &'a toml_edit::Item) -> TomlNode<'a> {
        match item {
            toml_edit::Item::Table(t) => TomlNode::Table(t),
            toml_edit::Item::ArrayOfTables(a) => TomlNode::ArrayOfTables(a),
            toml_edit::Item::Value(v) => TomlNode::of_value(v),
            toml_edit::Item::None => TomlNode::Leaf,
        }
    }

    fn of_value(value: &'a toml_edit::Value) -> TomlNode<'a> {
        match value {
            toml_edit::Value::InlineTable(t) => TomlNode::InlineTable(t),
            toml_edit::Value::Array(a) => TomlNode::Array(a),
            _ => TomlNode::Leaf,
        }
    }

    /// The child at `segment` and the byte offset of its key (or of the element itself).
    fn step(self, segment: &Segment) -> Option<(TomlNode<'a>, Option<usize>)> {
        let start = |span: Option<std::ops::Range<usize>>| span.map(|s| s.start);
        match (self, segment) {
            (TomlNode::Table(t), Segment::Key(k)) => t
                .get_key_value(k)
                .map(|(key, item)| (TomlNode::of_item(item), start(key.span()))),
            (TomlNode::InlineTable(t), Segment::Key(k)) => t
                .get_key_value(k)
                .map(|(key, item)| (TomlNode::of_item(item), start(key.span()))),
            (TomlNode::ArrayOfTables(a), Segment::Index(i)) => a
                .get(*i)
                .map(|table| (TomlNode::Table(table), start(table.span()))),
            (TomlNode::Array(a), Segment::Index(i)) => a
                .get(*i)
                .map(|value| (TomlNode::of_value(value), start(value.span()))),
            _ => None,
        }
    }
}

/// The byte offset in the TOML source of the deepest part of `segments` that exists.
fn toml_offset(root: &toml_edit::Item, segments: &[Segment]) -> Option<usize> {
    let mut node = TomlNode::of_item(root);
    let mut found = None;
    for segment in segments {
        let Some((child, offset)) = node.step(segment) else {
            break;
        };
        found = offset.or(found);
        node = child;
    }
    found
}

/// The byte offset in the JSON source of the deepest part of `segments` that exists: the opening
/// quote of a key, or the first character of an array element. The text is assumed to be valid
/// JSON (it parsed as a policy); on anything unexpected the walk stops where it is.
fn json_offset(text: &str, segments: &[Segment]) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut pos = skip_json_whitespace(bytes, 0);
    let mut found = None;
    for segment in segments {
        let step = match segment {
            Segment::Key(key) => json_member(text, pos, key),
            Segment::Index(index) => json_element(bytes, pos, *index),
        };
        let Some((offset, value_start)) = step else {
            break;
        };
        found = Some(offset);
        pos = value_start;
    }
    found
}

/// In the object starting at `pos`: the offset of member `key` and the start of its value.
fn json_member(text: &str, pos: usize, key: &str) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    if bytes.get(pos) != Some(&b'{') {
        return None;
    }
    let mut pos = pos + 1;
    loop {
        pos = skip_json_whitespace(bytes, pos);
        if bytes.get(pos) != Some(&b'"') {
            return None;
        }
        let key_start = pos;
        let key_end = json_string_end(bytes, pos)?;
        pos = skip_json_whitespace(bytes, key_end);
        if bytes.get(pos) != Some(&b':') {
            return None;
        }
        let value_start = skip_json_whitespace(bytes, pos + 1);
        let name: Option<String> = serde_json::from_str(text.get(key_start..key_end)?).ok();
        if name.as_deref() == Some(key) {
            return Some((key_start, value_start));
        }
        pos = skip_json_whitespace(bytes, skip_json_value(bytes, value_start)?);
        if bytes.get(pos) != Some(&b',') {
            return None;
        }
        pos += 1;
    }
}

/// In the array starting at `pos`: the start of element `index` (twice: offset and value start).
fn json_element(bytes: &[u8], pos: usize, index: usize) -> Option<(usize, usize)> {
    if bytes.get(pos) != Some(&b'[') {
        return None;
    }
    let mut pos = skip_json_whitespace(bytes, pos + 1);
    for _ in 0..index {
        if bytes.get(pos) == Some(&b']') {
            return None;
        }
        pos = skip_json_whitespace(bytes, skip_json_value(bytes, pos)?);
        if bytes.get(pos) != Some(&b',') {
            return None;
        }
        pos = skip_json_whitespace(bytes, pos + 1);
    }
    match bytes.get(pos) {
        None | Some(b']') => None,
        Some(_) => Some((pos, pos)),
    }
}

fn skip_json_whitespace(bytes: &[u8], mut pos: usize) -> usize {
    while bytes.get(pos).is_some_and(u8::is_ascii_whitespace) {
        pos += 1;
    }
    pos
}

/// The offset just past the string whose opening quote is at `pos`.
fn json_string_end(bytes: &[u8], mut pos: usize) -> Option<usize> {
    pos += 1;
    loop {
        match bytes.get(pos)? {
            b'\\' => pos += 2,
            b'"' => return Some(pos + 1),
            _ => pos += 1,
        }
    }
}

/// The offset just past the value starting at `pos`.
fn skip_json_value(bytes: &[u8], pos: usize) -> Option<usize> {
    match bytes.get(pos)? {
        b'"' => json_string_end(bytes, pos),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut pos = pos;
            loop {
                match bytes.get(pos)? {
                    b'"' => {
                        pos = json_string_end(bytes, pos)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(pos + 1);
                        }
                    }
                    _ => {}
                }
                pos += 1;
            }
        }
        _ => {
            let mut pos = pos;
            while bytes
                .get(pos)
                .is_some_and(|b| !matches!(b, b',' | b'}' | b']') && !b.is_ascii_whitespace())
            {
                pos += 1;
            }
            Some(pos)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nine lines; whatever a test appends starts on line 10, inside `[returns]`.
    const BASE: &str = r#"version = "2026-01-01"
currency = "CHF"
timezone = "Europe/Zurich"

[limits]
max_auto_refund = "500"

[returns]
default_window_days = 30
"#;

    fn parse(text: &str) -> Validation {
        match validate_toml(text) {
            Ok((_, validation)) => validation,
            Err(e) => panic!("{e}\n{text}"),
        }
    }

    fn with(extra: &str) -> Validation {
        parse(&format!("{BASE}{extra}"))
    }

    fn find<'a>(list: &'a [Diagnostic], code: DiagnosticCode, path: &str) -> &'a Diagnostic {
        list.iter()
            .find(|d| d.code == code && d.path == path)
            .unwrap_or_else(|| panic!("no `{code}` at `{path}` in {list:#?}"))
    }

    /// Asserts a diagnostic with `code` at `path` on `line`, and returns it.
    fn assert_at<'a>(
        list: &'a [Diagnostic],
        code: DiagnosticCode,
        path: &str,
        line: usize,
    ) -> &'a Diagnostic {
        let diagnostic = find(list, code, path);
        assert_eq!(
            diagnostic.location.map(|l| l.line),
            Some(line),
            "{diagnostic:?}"
        );
        diagnostic
    }

    fn codes(list: &[Diagnostic]) -> Vec<(DiagnosticCode, &str)> {
        list.iter().map(|d| (d.code, d.path.as_str())).collect()
    }

    #[test]
    fn minimal_policy_is_clean() {
        assert_eq!(with(""), Validation::default());
        assert!(with("").is_ok());
    }

    #[test]
    fn realistic_policy_is_clean() {
        let v = with(
            r#"
[[returns.rules]]
id = "hygiene"
match.categories = ["underwear"]
not_returnable = "hygiene"

[[returns.rules]]
id = "electronics"
match = { categories = ["electronics"], tags = ["gadget"] }
window_days = 30
inspection_required = true
resolutions = ["refund", "store_credit"]
store_credit_bonus_percent = "10"
restocking_fee = { percent = "15" }

[[returns.seasonal_extensions]]
id = "holidays"
purchased_from = "2025-11-15"
purchased_to = "2025-12-24"
returns_until = "2026-01-31"

[limits.max_refunded_per_customer]
amount = "1000"
period_days = 30

[fees]
restocking = { fixed = "2.50" }
return_shipping = "5.90"

[fraud]
max_return_rate = "0.6"
max_returns_in_period = { count = 5, period_days = 90 }
blocklisted_emails = ["fraud@example.com"]

[receiving.grades.damaged]
refund_percent = "40"
restock = "scrap"

[cancellation]
allowed_states = ["pending", "unfulfilled"]

[exceptions]
delay_days = 0
lost_after_days_by_carrier = { dhl = 10 }

[[legal_floors]]
id = "eu-withdrawal"
countries = ["DE", "FR"]
withdrawal_days = 14
exempt = { categories = ["underwear"] }
"#,
        );
        assert_eq!(v, Validation::default());
    }

    // Errors.

    #[test]
    fn non_positive_default_window() {
        let v = parse(&BASE.replace("default_window_days = 30", "default_window_days = 0"));
        let d = assert_at(
            &v.errors,
            DiagnosticCode::NonPositiveWindow,
            "returns.default_window_days",
            9,
        );
        assert_eq!(d.message, "window must be at least 1 day, got `0`");
        assert_eq!(d.location.map(|l| l.column), Some(1));
        assert_eq!(v.errors.len(), 1);
    }

    #[test]
    fn non_positive_rule_window() {
        let v = with(
            r#"[[returns.rules]]
id = "a"
match.skus = ["X"]
window_days = -3
"#,
        );
        assert_at(
            &v.errors,
            DiagnosticCode::NonPositiveWindow,
            "returns.rules[0].window_days",
            13,
        );
        assert_eq!(v.errors.len(), 1);
    }

    #[test]
    fn negative_transit_allowance() {
        let v = with("transit_allowance_days = -1\n");
        assert_at(
            &v.errors,
            DiagnosticCode::NegativeTransitAllowance,
            "returns.transit_allowance_days",
            10,
        );
        assert!(with("transit_allowance_days = 0\n").is_ok());
    }

    #[test]
    fn duplicate_ids_within_and_across_lists() {
        let v = with(
            r#"[[returns.rules]]
id = "sale"
match.tags = ["sale"]

[[returns.rules]]
id = "sale"
match.tags = ["clearance"]

[[returns.seasonal_extensions]]
id = "sale"
purchased_from = "2025-11-01"
purchased_to = "2025-12-24"
returns_until = "2026-01-31"
"#,
        );
        let d = assert_at(
            &v.errors,
            DiagnosticCode::DuplicateId,
            "returns.rules[1].id",
            15,
        );
        assert!(d.message.contains("`returns.rules[0]`"), "{}", d.message);
        assert_at(
            &v.errors,
            DiagnosticCode::DuplicateId,
            "returns.seasonal_extensions[0].id",
            19,
        );
        assert_eq!(v.errors.len(), 2);
    }

    #[test]
    fn empty_ids() {
        let v = with(
            r#"[[returns.rules]]
id = ""
match.tags = ["sale"]

[[legal_floors]]
id = "  "
countries = ["DE"]
withdrawal_days = 14
"#,
        );
        assert_at(
            &v.errors,
            DiagnosticCode::EmptyId,
            "returns.rules[0].id",
            11,
        );
        assert_at(&v.errors, DiagnosticCode::EmptyId, "legal_floors[0].id", 15);
        assert_eq!(v.errors.len(), 2);
    }

    #[test]
    fn rule_window_below_legal_floor() {
        let v = with(
            r#"[[returns.rules]]
id = "short"
match.categories = ["swimwear"]
window_days = 7

[[returns.rules]]
id = "engraved"
match.tags = ["engraved"]
window_days = 3
not_returnable = "personalised"

[[returns.rules]]
id = "underwear"
match.categories = ["Underwear"]
window_days = 5

[[legal_floors]]
id = "eu-withdrawal"
countries = ["DE"]
withdrawal_days = 14
exempt.categories = ["underwear"]
"#,
        );
        let d = assert_at(
            &v.errors,
            DiagnosticCode::WindowBelowLegalFloor,
            "returns.rules[0].window_days",
            13,
        );
        assert_eq!(
            d.message,
            "window of `7` days is shorter than the `14` days legal floor `eu-withdrawal` guarantees"
        );
        // The not-returnable rule and the rule whose lines the floor exempts are fine.
        assert_eq!(v.errors.len(), 1, "{:#?}", v.errors);
    }

    #[test]
    fn default_window_below_legal_floor() {
        let text = format!(
            "{}\n[[legal_floors]]\nid = \"uk\"\ncountries = [\"GB\"]\nwithdrawal_days = 14\n",
            BASE.replace("default_window_days = 30", "default_window_days = 10")
        );
        let v = parse(&text);
        assert_at(
            &v.errors,
            DiagnosticCode::WindowBelowLegalFloor,
            "returns.default_window_days",
            9,
        );
        assert_eq!(v.errors.len(), 1);
    }

    #[test]
    fn seasonal_dates_out_of_order() {
        let v = with(
            r#"[[returns.seasonal_extensions]]
id = "reversed"
purchased_from = "2025-12-24"
purchased_to = "2025-11-01"
returns_until = "2026-01-31"

[[returns.seasonal_extensions]]
id = "ends-early"
purchased_from = "2025-11-01"
purchased_to = "2025-12-24"
returns_until = "2025-12-01"
"#,
        );
        assert_at(
            &v.errors,
            DiagnosticCode::InvalidSeasonalDates,
            "returns.seasonal_extensions[0].purchased_from",
            12,
        );
        let d = assert_at(
            &v.errors,
            DiagnosticCode::InvalidSeasonalDates,
            "returns.seasonal_extensions[1].returns_until",
            20,
        );
        assert_eq!(
            d.message,
            "`returns_until` `2025-12-01` is before `purchased_to` `2025-12-24`"
        );
        assert_eq!(v.errors.len(), 2);
    }

    #[test]
    fn fee_percent_out_of_range() {
        let v = with(
            r#"[[returns.rules]]
id = "a"
match.skus = ["X"]
restocking_fee = { percent = "-5" }

[fees]
restocking = { percent = "120" }
"#,
        );
        assert_at(
            &v.errors,
            DiagnosticCode::PercentOutOfRange,
            "returns.rules[0].restocking_fee.percent",
            13,
        );
        let d = assert_at(
            &v.errors,
            DiagnosticCode::PercentOutOfRange,
            "fees.restocking.percent",
            16,
        );
        // The key inside the inline table.
        assert_eq!(d.location.map(|l| l.column), Some(16));
        assert_eq!(v.errors.len(), 2);
    }

    #[test]
    fn negative_fees() {
        let v = with(
            r#"
[fees]
restocking = { fixed = "-1" }
return_shipping = "-5.90"
"#,
        );
        assert_at(
            &v.errors,
            DiagnosticCode::NegativeAmount,
            "fees.restocking.fixed",
            12,
        );
        assert_at(
            &v.errors,
            DiagnosticCode::NegativeAmount,
            "fees.return_shipping",
            13,
        );
        assert_eq!(v.errors.len(), 2);
    }

    #[test]
    fn too_precise_amounts() {
        let text = r#"version = "1"
currency = "CHF"
timezone = "Europe/Zurich"

[limits]
max_auto_refund = "100.001"
high_value_order = "2000.5"
max_refunded_per_customer = { amount = "10.125", period_days = 30 }

[returns]
default_window_days = 30

[[returns.rules]]
id = "a"
match.skus = ["X"]
restocking_fee = { fixed = "1.999" }

[fees]
return_shipping = "5.905"
"#;
        let v = parse(text);
        let d = assert_at(
            &v.errors,
            DiagnosticCode::TooPreciseAmount,
            "limits.max_auto_refund",
            6,
        );
        assert_eq!(
            d.message,
            "amount `100.001` has more decimals than `CHF` allows (2)"
        );
        assert_at(
            &v.errors,
            DiagnosticCode::TooPreciseAmount,
            "limits.max_refunded_per_customer.amount",
            8,
        );
        assert_at(
            &v.errors,
            DiagnosticCode::TooPreciseAmount,
            "returns.rules[0].restocking_fee.fixed",
            16,
        );
        assert_at(
            &v.errors,
            DiagnosticCode::TooPreciseAmount,
            "fees.return_shipping",
            19,
        );
        // `2000.5` is fine in CHF.
        assert_eq!(v.errors.len(), 4, "{:#?}", v.errors);

        let yen = parse(&BASE.replace("CHF", "JPY").replace("\"500\"", "\"500.5\""));
        assert_at(
            &yen.errors,
            DiagnosticCode::TooPreciseAmount,
            "limits.max_auto_refund",
            6,
        );
    }

    #[test]
    fn negative_limits() {
        let v = parse(&BASE.replace(
            "max_auto_refund = \"500\"",
            "max_auto_refund = \"-1\"\nhigh_value_order = \"-100\"\nmax_refunded_per_customer = { amount = \"-5\", period_days = 30 }",
        ));
        assert_at(
            &v.errors,
            DiagnosticCode::NegativeAmount,
            "limits.max_auto_refund",
            6,
        );
        assert_at(
            &v.errors,
            DiagnosticCode::NegativeAmount,
            "limits.high_value_order",
            7,
        );
        assert_at(
            &v.errors,
            DiagnosticCode::NegativeAmount,
            "limits.max_refunded_per_customer.amount",
            8,
        );
        assert_eq!(v.errors.len(), 3);
    }

    #[test]
    fn store_credit_bonus_out_of_range() {
        let v = with(
            r#"[[returns.rules]]
id = "a"
match.skus = ["X"]
store_credit_bonus_percent = "150"
"#,
        );
        assert_at(
            &v.errors,
            DiagnosticCode::PercentOutOfRange,
            "returns.rules[0].store_credit_bonus_percent",
            13,
        );
        assert_eq!(v.errors.len(), 1);
    }

    #[test]
    fn non_positive_periods() {
        let v = with(
            r#"
[limits.max_refunded_per_customer]
amount = "1000"
period_days = 0

[fraud]
max_returns_in_period = { count = 3, period_days = -7 }
"#,
        );
        assert_at(
            &v.errors,
            DiagnosticCode::NonPositivePeriod,
            "limits.max_refunded_per_customer.period_days",
            13,
        );
        assert_at(
            &v.errors,
            DiagnosticCode::NonPositivePeriod,
            "fraud.max_returns_in_period.period_days",
            16,
        );
        assert_eq!(v.errors.len(), 2);
    }

    #[test]
    fn return_rate_out_of_range() {
        let v = with("\n[fraud]\nmax_return_rate = \"1.5\"\n");
        assert_at(
            &v.errors,
            DiagnosticCode::RateOutOfRange,
            "fraud.max_return_rate",
            12,
        );
        let v = with("\n[fraud]\nmax_return_rate = \"-0.1\"\n");
        assert_at(
            &v.errors,
            DiagnosticCode::RateOutOfRange,
            "fraud.max_return_rate",
            12,
        );
        assert!(with("\n[fraud]\nmax_return_rate = \"1\"\n").is_ok());
    }

    #[test]
    fn grade_refund_percent_out_of_range() {
        let v = with(
            r#"
[receiving.grades.open_box]
refund_percent = "120"
restock = "open_box"
"#,
        );
        assert_at(
            &v.errors,
            DiagnosticCode::PercentOutOfRange,
            "receiving.grades.open_box.refund_percent",
            12,
        );
        assert_eq!(v.errors.len(), 1);
    }

    #[test]
    fn invalid_exception_thresholds() {
        let v = with(
            r#"
[exceptions]
delay_days = -1
lost_after_days_without_scan = 0

[exceptions.lost_after_days_by_carrier]
dhl = 5
"dhl.express" = -2
"#,
        );
        assert_at(
            &v.errors,
            DiagnosticCode::InvalidThreshold,
            "exceptions.delay_days",
            12,
        );
        assert_at(
            &v.errors,
            DiagnosticCode::InvalidThreshold,
            "exceptions.lost_after_days_without_scan",
            13,
        );
        assert_at(
            &v.errors,
            DiagnosticCode::InvalidThreshold,
            "exceptions.lost_after_days_by_carrier.\"dhl.express\"",
            17,
        );
        assert_eq!(v.errors.len(), 3);
    }

    #[test]
    fn invalid_legal_floors() {
        let v = with(
            r#"
[[legal_floors]]
id = "nowhere"
countries = []
withdrawal_days = 14

[[legal_floors]]
id = "sloppy"
countries = ["de", "DEU", "FR", "D1"]
withdrawal_days = 0
"#,
        );
        let d = assert_at(
            &v.errors,
            DiagnosticCode::EmptyCountries,
            "legal_floors[0].countries",
            13,
        );
        assert_eq!(
            d.message,
            "legal floor `nowhere` names no country, so it protects nobody"
        );
        assert_at(
            &v.errors,
            DiagnosticCode::InvalidCountryCode,
            "legal_floors[1].countries[0]",
            18,
        );
        assert_at(
            &v.errors,
            DiagnosticCode::InvalidCountryCode,
            "legal_floors[1].countries[1]",
            18,
        );
        assert_at(
            &v.errors,
            DiagnosticCode::InvalidCountryCode,
            "legal_floors[1].countries[3]",
            18,
        );
        assert_at(
            &v.errors,
            DiagnosticCode::NonPositiveWindow,
            "legal_floors[1].withdrawal_days",
            19,
        );
        assert_eq!(v.errors.len(), 5, "{:#?}", v.errors);
    }

    #[test]
    fn no_resolutions_on_returnable_rule() {
        let v = with(
            r#"[[returns.rules]]
id = "nothing"
match.tags = ["odd"]
resolutions = []

[[returns.rules]]
id = "engraved"
match.tags = ["engraved"]
not_returnable = "personalised"
resolutions = []
"#,
        );
        assert_at(
            &v.errors,
            DiagnosticCode::NoResolutions,
            "returns.rules[0].resolutions",
            13,
        );
        assert_eq!(v.errors.len(), 1, "{:#?}", v.errors);
    }

    #[test]
    fn no_default_resolutions() {
        let v = with("default_resolutions = []\n");
        assert_at(
            &v.errors,
            DiagnosticCode::NoResolutions,
            "returns.default_resolutions",
            10,
        );
        // Unused when a catch-all rule with its own resolutions comes last.
        let v = with(
            r#"default_resolutions = []

[[returns.rules]]
id = "everything"
resolutions = ["exchange"]
"#,
        );
        assert!(v.is_ok(), "{:#?}", v.errors);
    }

    #[test]
    fn cancellation_after_fulfilment() {
        let v = with(
            r#"
[cancellation]
allowed_states = ["pending", "fulfilled", "delivered"]
"#,
        );
        let d = assert_at(
            &v.errors,
            DiagnosticCode::CancellationAfterFulfilment,
            "cancellation.allowed_states[1]",
            12,
        );
        assert_eq!(d.location.map(|l| l.column), Some(30));
        assert!(d.message.contains("`fulfilled`"), "{}", d.message);
        assert_at(
            &v.errors,
            DiagnosticCode::CancellationAfterFulfilment,
            "cancellation.allowed_states[2]",
            12,
        );
        assert_eq!(v.errors.len(), 2);
        // Sorted by location: the earlier column first.
        assert_eq!(v.errors[0].path, "cancellation.allowed_states[1]");
    }

    #[test]
    fn empty_version() {
        let v = parse(&BASE.replace("version = \"2026-01-01\"", "version = \" \""));
        let d = assert_at(&v.errors, DiagnosticCode::EmptyVersion, "version", 1);
        assert_eq!(
            d.message,
            "version must not be empty: it is recorded with every decision"
        );
    }

    // Warnings.

    #[test]
    fn rule_shadowed_by_listing_everything_it_lists() {
        let v = with(
            r#"[[returns.rules]]
id = "shoes-and-bags"
match = { categories = ["Shoes", "bags"], skus = ["ABC"] }

[[returns.rules]]
id = "shoes"
match.categories = ["shoes"]

[[returns.rules]]
id = "shoes-on-sale"
match = { categories = ["shoes"], tags = ["sale"] }

[[returns.rules]]
id = "abc-lower"
match.skus = ["abc"]
"#,
        );
        let d = assert_at(
            &v.warnings,
            DiagnosticCode::ShadowedRule,
            "returns.rules[1]",
            14,
        );
        assert_eq!(
            d.message,
            "rule `shoes` never matches: rule `shoes-and-bags` before it lists every sku, tag and category it lists"
        );
        // A tag the earlier rule does not list, and SKUs (matched exactly), are not shadowed.
        assert_eq!(
            codes(&v.warnings),
            vec![(DiagnosticCode::ShadowedRule, "returns.rules[1]")]
        );
    }

    #[test]
    fn catch_all_rule_not_last() {
        let v = with(
            r#"[[returns.rules]]
id = "everything"

[[returns.rules]]
id = "shoes"
match.categories = ["shoes"]

[[returns.rules]]
id = "rest"
"#,
        );
        let d = assert_at(
            &v.warnings,
            DiagnosticCode::CatchAllNotLast,
            "returns.rules[0]",
            10,
        );
        assert_eq!(
            d.message,
            "rule `everything` matches every line, so the 2 rules after it never match"
        );
        assert_at(
            &v.warnings,
            DiagnosticCode::ShadowedRule,
            "returns.rules[1]",
            13,
        );
        assert_at(
            &v.warnings,
            DiagnosticCode::ShadowedRule,
            "returns.rules[2]",
            17,
        );
        assert_eq!(v.warnings.len(), 3, "{:#?}", v.warnings);
        assert!(v.is_ok());
    }

    #[test]
    fn duplicate_entries() {
        let v = with(
            r#"[[returns.rules]]
id = "a"
match.categories = ["shoes", "bags", "shoes"]
resolutions = ["refund", "refund"]
"#,
        );
        let d = assert_at(
            &v.warnings,
            DiagnosticCode::DuplicateEntry,
            "returns.rules[0].match.categories[2]",
            12,
        );
        assert_eq!(d.message, "`shoes` is listed more than once");
        let d = assert_at(
            &v.warnings,
            DiagnosticCode::DuplicateEntry,
            "returns.rules[0].resolutions[1]",
            13,
        );
        assert_eq!(d.message, "`refund` is listed more than once");
        assert_eq!(v.warnings.len(), 2);
    }

    #[test]
    fn entries_differing_only_in_case() {
        let v = with(
            r#"[[returns.rules]]
id = "a"
match.tags = ["Sale", "sale"]
match.skus = ["ABC-1", "abc-1"]

[fraud]
blocklisted_emails = ["Fraud@example.com", "fraud@EXAMPLE.com"]
"#,
        );
        let d = assert_at(
            &v.warnings,
            DiagnosticCode::CaseVariantEntry,
            "returns.rules[0].match.tags[1]",
            12,
        );
        assert_eq!(
            d.message,
            "`sale` and `Sale` differ only in case and match the same lines"
        );
        let d = assert_at(
            &v.warnings,
            DiagnosticCode::CaseVariantEntry,
            "returns.rules[0].match.skus[1]",
            13,
        );
        assert!(d.message.contains("typo"), "{}", d.message);
        assert_at(
            &v.warnings,
            DiagnosticCode::CaseVariantEntry,
            "fraud.blocklisted_emails[1]",
            16,
        );
        assert_eq!(v.warnings.len(), 3);
    }

    #[test]
    fn inspection_and_restocking_fee_on_non_returnable_rule() {
        let v = with(
            r#"[[returns.rules]]
id = "hygiene"
match.categories = ["underwear"]
not_returnable = "hygiene"
inspection_required = true
restocking_fee = { percent = "10" }
"#,
        );
        let d = assert_at(
            &v.warnings,
            DiagnosticCode::InspectionOnNonReturnable,
            "returns.rules[0].inspection_required",
            14,
        );
        assert_eq!(
            d.message,
            "`inspection_required` has no effect: rule `hygiene` makes its items not returnable"
        );
        assert_at(
            &v.warnings,
            DiagnosticCode::RestockingFeeOnNonReturnable,
            "returns.rules[0].restocking_fee",
            15,
        );
        assert_eq!(v.warnings.len(), 2);
    }

    #[test]
    fn blocklisted_email_without_at() {
        let v = with("\n[fraud]\nblocklisted_emails = [\"ok@example.com\", \"example.com\"]\n");
        let d = assert_at(
            &v.warnings,
            DiagnosticCode::InvalidEmail,
            "fraud.blocklisted_emails[1]",
            12,
        );
        assert_eq!(
            d.message,
            "`example.com` is not an email address: it has no `@`"
        );
        assert_eq!(v.warnings.len(), 1);
    }

    #[test]
    fn missing_auto_refund_limit() {
        // Without a `[limits]` table there is nothing to point at.
        let v = parse(&BASE.replace("[limits]\nmax_auto_refund = \"500\"\n", ""));
        let d = find(
            &v.warnings,
            DiagnosticCode::NoAutoRefundLimit,
            "limits.max_auto_refund",
        );
        assert_eq!(d.location, None);
        assert!(v.is_ok());
        // With one, the warning points at it.
        let v = parse(&BASE.replace("max_auto_refund = \"500\"", "high_value_order = \"5000\""));
        assert_at(
            &v.warnings,
            DiagnosticCode::NoAutoRefundLimit,
            "limits.max_auto_refund",
            5,
        );
    }

    #[test]
    fn store_credit_bonus_without_store_credit() {
        let v = with(
            r#"default_resolutions = ["refund", "exchange"]

[[returns.rules]]
id = "explicit"
match.tags = ["a"]
resolutions = ["refund"]
store_credit_bonus_percent = "10"

[[returns.rules]]
id = "inherited"
match.tags = ["b"]
store_credit_bonus_percent = "5"
"#,
        );
        let d = assert_at(
            &v.warnings,
            DiagnosticCode::BonusWithoutStoreCredit,
            "returns.rules[0].store_credit_bonus_percent",
            16,
        );
        assert_eq!(
            d.message,
            "the store credit bonus has no effect: rule `explicit` does not allow `store_credit`"
        );
        assert_at(
            &v.warnings,
            DiagnosticCode::BonusWithoutStoreCredit,
            "returns.rules[1].store_credit_bonus_percent",
            21,
        );
        assert_eq!(v.warnings.len(), 2);
    }

    #[test]
    fn categories_missing_from_the_catalog() {
        let text = format!(
            r#"{BASE}
[[returns.rules]]
id = "a"
match.categories = ["Shoes", "shoos"]

[[legal_floors]]
id = "eu"
countries = ["DE"]
withdrawal_days = 14
exempt.categories = ["hygiene"]
"#
        );
        let (policy, validation) = validate_toml(&text).unwrap();
        assert!(validation.is_ok());
        let mut warnings = policy.validate_against_catalog(&["shoes", "bags"]);
        assert_eq!(
            codes(&warnings),
            vec![
                (
                    DiagnosticCode::UnknownCategory,
                    "legal_floors[0].exempt.categories[0]"
                ),
                (
                    DiagnosticCode::UnknownCategory,
                    "returns.rules[0].match.categories[1]"
                ),
            ]
        );
        assert_eq!(
            warnings[1].message,
            "category `shoos` is never matched: no product in the catalog has it"
        );
        locate_in_toml(&text, &mut warnings);
        assert_eq!(warnings[0].path, "returns.rules[0].match.categories[1]");
        assert_eq!(warnings[0].location.map(|l| l.line), Some(13));
        assert_eq!(warnings[1].location.map(|l| l.line), Some(19));
    }

    // Locations.

    #[test]
    fn locations_in_inline_tables_and_arrays() {
        let v = with(
            r#"rules = [
  { id = "a", window_days = 0 },
  { id = "b", match = { skus = ["X", "X"] } },
]
"#,
        );
        let d = assert_at(
            &v.errors,
            DiagnosticCode::NonPositiveWindow,
            "returns.rules[0].window_days",
            11,
        );
        assert_eq!(d.location.map(|l| l.column), Some(15));
        let d = assert_at(
            &v.warnings,
            DiagnosticCode::DuplicateEntry,
            "returns.rules[1].match.skus[1]",
            12,
        );
        assert_eq!(d.location.map(|l| l.column), Some(38));
    }

    #[test]
    fn locations_in_json() {
        let text = r#"{
  "version": "1",
  "currency": "CHF",
  "timezone": "Europe/Zurich",
  "returns": {
    "default_window_days": 30,
    "rules": [
      { "id": "a", "match": { "tags": ["x", "[\"}", "x"] } },
      {
        "id": "b",
        "window_days": -1
      }
    ]
  },
  "exceptions": { "lost_after_days_by_carrier": { "dhl.express": 0 } }
}"#;
        let (_, v) = validate_json(text).unwrap();
        let d = assert_at(
            &v.errors,
            DiagnosticCode::NonPositiveWindow,
            "returns.rules[1].window_days",
            11,
        );
        assert_eq!(d.location.map(|l| l.column), Some(9));
        let d = assert_at(
            &v.errors,
            DiagnosticCode::InvalidThreshold,
            "exceptions.lost_after_days_by_carrier.\"dhl.express\"",
            15,
        );
        assert_eq!(d.location.map(|l| l.column), Some(51));
        let d = assert_at(
            &v.warnings,
            DiagnosticCode::DuplicateEntry,
            "returns.rules[0].match.tags[2]",
            8,
        );
        assert_eq!(d.location.map(|l| l.column), Some(53));
        // Absent `limits`: nothing to point at.
        let d = find(
            &v.warnings,
            DiagnosticCode::NoAutoRefundLimit,
            "limits.max_auto_refund",
        );
        assert_eq!(d.location, None);
        assert_eq!(v.warnings.last().map(|d| d.location), Some(None));
    }

    #[test]
    fn validate_without_text_sorts_by_path() {
        let mut rules = String::new();
        for i in 0..11 {
            let days = if i == 2 || i == 10 { 0 } else { 30 };
            rules.push_str(&format!(
                "[[returns.rules]]\nid = \"r{i}\"\nmatch.skus = [\"S{i}\"]\nwindow_days = {days}\n"
            ));
        }
        let (policy, _) = validate_toml(&format!("{BASE}{rules}")).unwrap();
        let v = policy.validate();
        assert_eq!(
            codes(&v.errors),
            vec![
                (
                    DiagnosticCode::NonPositiveWindow,
                    "returns.rules[2].window_days"
                ),
                (
                    DiagnosticCode::NonPositiveWindow,
                    "returns.rules[10].window_days"
                ),
            ]
        );
        assert!(v.errors.iter().all(|d| d.location.is_none()));
    }

    #[test]
    fn paths_round_trip() {
        for path in [
            "version",
            "returns.rules[2].match.skus[0]",
            "exceptions.lost_after_days_by_carrier.\"dhl.express\"",
            "exceptions.lost_after_days_by_carrier.\"a\\\"b\"",
        ] {
            let segments = parse_path(path).unwrap();
            let rendered = segments
                .iter()
                .enumerate()
                .map(|(i, s)| match s {
                    Segment::Key(k) if i == 0 => key_segment(k),
                    Segment::Key(k) => format!(".{}", key_segment(k)),
                    Segment::Index(n) => format!("[{n}]"),
                })
                .collect::<String>();
            assert_eq!(rendered, path);
        }
        assert_eq!(parse_path("rules[x]"), None);
    }

    #[test]
    fn diagnostics_serialise_for_tools() {
        let v = parse(&BASE.replace("default_window_days = 30", "default_window_days = 0"));
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "errors": [{
                    "code": "non_positive_window",
                    "path": "returns.default_window_days",
                    "message": "window must be at least 1 day, got `0`",
                    "location": { "line": 9, "column": 1 },
                }],
                "warnings": [],
            })
        );
        assert_eq!(
            v.errors[0].to_string(),
            "9:1: returns.default_window_days: window must be at least 1 day, got `0` [non_positive_window]"
        );
    }

    #[test]
    fn code_names_match_serde() {
        use DiagnosticCode::*;
        for code in [
            NonPositiveWindow,
            NegativeTransitAllowance,
            DuplicateId,
            EmptyId,
            WindowBelowLegalFloor,
            InvalidSeasonalDates,
            PercentOutOfRange,
            NegativeAmount,
            TooPreciseAmount,
            NonPositivePeriod,
            RateOutOfRange,
            InvalidThreshold,
            EmptyCountries,
            InvalidCountryCode,
            NoResolutions,
            CancellationAfterFulfilment,
            EmptyVersion,
            ShadowedRule,
            CatchAllNotLast,
            DuplicateEntry,
            CaseVariantEntry,
            InspectionOnNonReturnable,
            RestockingFeeOnNonReturnable,
            InvalidEmail,
            NoAutoRefundLimit,
            BonusWithoutStoreCredit,
            UnknownCategory,
        ] {
            assert_eq!(serde_name(&code), code.as_str());
        }
    }
}
