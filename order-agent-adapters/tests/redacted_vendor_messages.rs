#![cfg(feature = "shopify")]
//! Vendors' own words end up in error contexts (and so in logs): the customer's data in them is
//! redacted first.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use order_agent_adapters::shopify::{user_error, UserError};

#[test]
fn a_shopify_user_error_quoting_the_address_and_email_is_redacted() {
    let err = user_error(
        "oms.change_shipping_address",
        &[UserError {
            field: Some(vec!["address".to_owned(), "address1".to_owned()]),
            message: "Address1 Bahnhofstrasse 12 for anna.mueller@example.ch is not deliverable"
                .to_owned(),
            code: None,
        }],
    );
    let message = err.context_value("shopify_message").unwrap();
    assert_eq!(message, "Address1 [address] for [email] is not deliverable");
    let shown = err.to_string();
    assert!(!shown.contains("Bahnhofstrasse"), "{shown}");
    assert!(!shown.contains("anna.mueller"), "{shown}");
}
