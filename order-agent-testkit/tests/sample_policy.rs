//! The sample policy shipped in `examples/policies` parses and says what its comments say.

use order_agent_core::domain::{InspectionGrade, ReturnReason};
use order_agent_core::policy::{
    validate_toml, FeeAmount, NonReturnableReason, Policy, PolicyParseError, RestockDisposition,
};
use rust_decimal::Decimal;

const SWISS_SHOP: &str = include_str!("../../examples/policies/swiss-shop.toml");

fn policy() -> Result<Policy, PolicyParseError> {
    Policy::from_toml_str(SWISS_SHOP)
}

#[test]
fn swiss_shop_policy_parses() {
    let p = policy().unwrap();
    assert_eq!(p.currency.code(), "CHF");
    assert_eq!(p.timezone, chrono_tz::Europe::Zurich);
    assert_eq!(p.returns.default_window_days, 30);
    assert!(p.returns.final_sale_not_returnable);
}

#[test]
fn swiss_shop_policy_validates_without_errors_or_warnings() {
    let (_, validation) = validate_toml(SWISS_SHOP).unwrap();
    for d in validation.errors.iter().chain(&validation.warnings) {
        eprintln!("{d}");
    }
    assert!(validation.errors.is_empty());
    assert!(validation.warnings.is_empty());
    let catalog = ["apparel", "footwear", "accessories", "electronics"];
    assert!(policy()
        .unwrap()
        .validate_against_catalog(&catalog)
        .is_empty());
}

#[test]
fn swiss_shop_policy_rules_match_the_documentation() {
    let p = policy().unwrap();
    let ids: Vec<&str> = p.returns.rules.iter().map(|r| &*r.id).collect();
    assert_eq!(ids, ["hygiene", "personalised", "electronics", "apparel"]);

    let hygiene = &p.returns.rules[0];
    assert_eq!(hygiene.matcher.tags, ["hygiene"]);
    assert_eq!(hygiene.not_returnable, Some(NonReturnableReason::Hygiene));

    let electronics = &p.returns.rules[2];
    assert!(electronics.inspection_required);
    assert_eq!(
        electronics.restocking_fee,
        Some(FeeAmount::Percent(Decimal::TEN))
    );
    let apparel = &p.returns.rules[3];
    assert_eq!(apparel.store_credit_bonus_percent, Some(Decimal::TEN));

    assert_eq!(
        p.fees.restocking_waived_for,
        [
            ReturnReason::Damaged,
            ReturnReason::Defective,
            ReturnReason::WrongItem
        ]
    );
    assert_eq!(p.fees.return_shipping, Some(Decimal::new(790, 2)));
    assert_eq!(p.fees.free_returns_for_tiers, ["gold"]);
    assert_eq!(p.limits.max_auto_refund, Some(Decimal::new(15000, 2)));
    assert!(p.limits.max_refunded_per_customer.is_some());
    assert!(p.limits.high_value_order.is_some());
    assert_eq!(p.exceptions.lost_after_days("swiss-post"), 5);
    assert_eq!(p.exceptions.lost_after_days("unknown-carrier"), 7);
    assert_eq!(
        p.receiving.grade(InspectionGrade::Refurbish).restock,
        RestockDisposition::Refurbish
    );
    assert_eq!(p.receiving.grades.len(), InspectionGrade::ALL.len());
    assert_eq!(p.returns.seasonal_extensions.len(), 2);

    let floor = &p.legal_floors[0];
    assert_eq!(floor.withdrawal_days, 14);
    assert!(floor.exempt.tags.iter().any(|t| t == "hygiene"));
    assert!(!floor.countries.iter().any(|c| c == "CH"));
}

#[test]
fn swiss_shop_policy_round_trips_through_json() {
    let p = policy().unwrap();
    let json = serde_json::to_string(&p).unwrap();
    assert_eq!(Policy::from_json_str(&json).unwrap(), p);
}
