//! Unit tests of [`verify`]: which details prove ownership of an order, how they are compared
//! (phone numbers, postcodes, emails), and that any mismatch fails the same way.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use order_agent_core::domain::{
    Channel, Customer, CustomerId, Locale, Order, OrderId, OrderNumber,
};
use order_agent_core::flows::identity::{
    same_order_number, verify, Factor, IdentityClaim, Verification,
};
use order_agent_core::replies::Reply;
use order_agent_testkit::builders::{address, CustomerBuilder, OrderBuilder, OrderLineBuilder};
use order_agent_testkit::demo_shop::{demo_now, DemoShop};
use order_agent_testkit::world::World;

fn shop() -> DemoShop {
    DemoShop::new(demo_now())
}

/// Anna (`c-anna`, WhatsApp `+41791234501`) and her order #1001 shipped to 8008 Zürich.
fn anna() -> (Customer, Order) {
    let shop = shop();
    (
        shop.customer("c-anna").unwrap().clone(),
        shop.order("ds-1001").unwrap().clone(),
    )
}

fn claim() -> IdentityClaim {
    IdentityClaim::default()
}

fn numbers(n: &[&str]) -> Vec<OrderNumber> {
    n.iter().map(|n| OrderNumber::new(*n)).collect()
}

fn strings(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| (*s).to_owned()).collect()
}

fn verified(factors: &[Factor], order: Option<&str>) -> Verification {
    Verification::Verified {
        customer_id: CustomerId::new("c-anna"),
        order_id: order.map(OrderId::new),
        factors: factors.to_vec(),
    }
}

#[test]
fn a_phone_matches_whatever_its_spelling() {
    let (customer, order) = anna();
    for phone in [
        "079 123 45 01",
        "+41 79 123 45 01",
        "+41791234501",
        "0041 79 123 45 01",
    ] {
        let claim = IdentityClaim {
            order_numbers: numbers(&["#1001"]),
            emails: strings(&["anna.mueller@example.ch"]),
            phones: strings(&[phone]),
            ..claim()
        };
        assert_eq!(
            verify(&claim, Some(&customer), std::slice::from_ref(&order)),
            verified(&[Factor::Email, Factor::Phone], Some("ds-1001")),
            "{phone}"
        );
    }
    let other = IdentityClaim {
        order_numbers: numbers(&["#1001"]),
        emails: strings(&["anna.mueller@example.ch"]),
        phones: strings(&["079 123 45 02"]),
        ..claim()
    };
    assert_eq!(
        verify(&other, Some(&customer), std::slice::from_ref(&order)),
        Verification::Failed
    );
    // Too few digits to be a phone number at all.
    let short = IdentityClaim {
        phones: strings(&["4501"]),
        emails: strings(&["anna.mueller@example.ch"]),
        ..claim()
    };
    assert_eq!(
        verify(&short, Some(&customer), &[order]),
        Verification::Failed
    );
}

#[test]
fn a_postcode_matches_without_spaces_case_or_dashes() {
    let customer = CustomerBuilder::new("c-uk")
        .email("pat@example.co.uk")
        .build();
    let order = OrderBuilder::new("o-uk")
        .number("#77")
        .customer("c-uk", "pat@example.co.uk")
        .ship_to(address("Pat", "10 Downing St", "SW1A 2AA", "London", "GB"))
        .line(OrderLineBuilder::apparel("l1", "Scarf", 4900))
        .build();
    for postcode in ["SW1A 2AA", "sw1a2aa", " Sw1a  2aA ", "SW1A-2AA"] {
        let claim = IdentityClaim {
            order_numbers: numbers(&["77"]),
            emails: strings(&["PAT@example.co.uk "]),
            postcodes: strings(&[postcode]),
            ..claim()
        };
        assert!(
            matches!(
                verify(&claim, Some(&customer), std::slice::from_ref(&order)),
                Verification::Verified { ref factors, .. }
                    if factors == &[Factor::Email, Factor::Postcode]
            ),
            "{postcode}"
        );
    }
    let wrong = IdentityClaim {
        order_numbers: numbers(&["77"]),
        emails: strings(&["pat@example.co.uk"]),
        postcodes: strings(&["SW1A 2AB"]),
        ..claim()
    };
    assert_eq!(
        verify(&wrong, Some(&customer), std::slice::from_ref(&order)),
        Verification::Failed
    );
    // A blank postcode is no postcode.
    let blank = IdentityClaim {
        emails: strings(&["pat@example.co.uk"]),
        postcodes: strings(&["  "]),
        ..claim()
    };
    assert_eq!(
        verify(&blank, Some(&customer), &[order]),
        Verification::Failed
    );
}

#[test]
fn the_billing_postcode_counts_too() {
    let (customer, order) = anna();
    let order = Order {
        billing_address: Some(address(
            "Anna Müller",
            "Bahnhofplatz 1",
            "3011",
            "Bern",
            "CH",
        )),
        ..order
    };
    for postcode in ["3011", "8008"] {
        let claim = IdentityClaim {
            order_numbers: numbers(&["#1001"]),
            emails: strings(&["anna.mueller@example.ch"]),
            postcodes: strings(&[postcode]),
            ..claim()
        };
        assert_eq!(
            verify(&claim, Some(&customer), std::slice::from_ref(&order)),
            verified(&[Factor::Email, Factor::Postcode], Some("ds-1001")),
            "{postcode}"
        );
    }
}

#[test]
fn a_mismatch_on_any_given_factor_fails_even_with_enough_matches() {
    let (customer, order) = anna();
    let good = IdentityClaim {
        order_numbers: numbers(&["#1001"]),
        emails: strings(&["anna.mueller@example.ch"]),
        postcodes: strings(&["8008"]),
        phones: strings(&["+41 79 123 45 01"]),
        ..claim()
    };
    assert_eq!(
        verify(&good, Some(&customer), std::slice::from_ref(&order)),
        verified(
            &[Factor::Email, Factor::Postcode, Factor::Phone],
            Some("ds-1001")
        )
    );
    let mut wrong_email = good.clone();
    wrong_email
        .emails
        .push("someone.else@example.ch".to_owned());
    let mut wrong_postcode = good.clone();
    wrong_postcode.postcodes.push("8004".to_owned());
    let mut wrong_phone = good.clone();
    wrong_phone.phones.push("+41 79 999 99 99".to_owned());
    for bad in [wrong_email, wrong_postcode, wrong_phone] {
        assert_eq!(
            verify(&bad, Some(&customer), std::slice::from_ref(&order)),
            Verification::Failed,
            "{bad:?}"
        );
    }
}

#[test]
fn without_a_customer_details_fail_and_a_bare_order_number_asks_for_more() {
    let with_details = IdentityClaim {
        order_numbers: numbers(&["#9999"]),
        emails: strings(&["anna.mueller@example.ch"]),
        postcodes: strings(&["8008"]),
        ..claim()
    };
    assert_eq!(verify(&with_details, None, &[]), Verification::Failed);
    // One detail is never checked, so it reveals nothing either way.
    let postcode_only = IdentityClaim {
        postcodes: strings(&["8008"]),
        ..claim()
    };
    assert_eq!(
        verify(&postcode_only, None, &[]),
        Verification::NeedMore { matched: 0 }
    );
    // Answering a bare unknown number differently from a known one would tell which exist.
    let number_only = IdentityClaim {
        order_numbers: numbers(&["#9999"]),
        ..claim()
    };
    assert_eq!(
        verify(&number_only, None, &[]),
        Verification::NeedMore { matched: 0 }
    );
    let (customer, order) = anna();
    let known_number_only = IdentityClaim {
        order_numbers: numbers(&["#1001"]),
        ..claim()
    };
    assert_eq!(
        verify(&known_number_only, Some(&customer), &[order]),
        verify(&number_only, None, &[])
    );
    assert_eq!(
        verify(&claim(), None, &[]),
        Verification::NeedMore { matched: 0 }
    );
}

#[test]
fn naming_another_customers_order_fails() {
    let shop = shop();
    let anna = shop.customer("c-anna").unwrap();
    let own = shop.order("ds-1001").unwrap().clone();
    let lucas = shop.order("ds-1002").unwrap().clone();
    let claim = IdentityClaim {
        order_numbers: numbers(&["#1002"]),
        emails: strings(&["anna.mueller@example.ch"]),
        postcodes: strings(&["8008"]),
        ..claim()
    };
    assert_eq!(
        verify(&claim, Some(anna), &[own.clone(), lucas.clone()]),
        Verification::Failed
    );
    // Luca's details with Anna as the candidate fail too.
    let lucas_details = IdentityClaim {
        order_numbers: numbers(&["#1002"]),
        emails: strings(&["luca.rossi@example.ch"]),
        postcodes: strings(&["6900"]),
        ..IdentityClaim::default()
    };
    assert_eq!(
        verify(&lucas_details, Some(anna), &[own, lucas]),
        Verification::Failed
    );
}

#[test]
fn one_factor_is_not_enough_and_repeats_count_once() {
    let (customer, order) = anna();
    let one = IdentityClaim {
        order_numbers: numbers(&["#1001"]),
        emails: strings(&["anna.mueller@example.ch", "ANNA.MUELLER@example.ch"]),
        ..claim()
    };
    // One kind of detail is not even checked: a right and a wrong email get the same answer.
    assert_eq!(
        verify(&one, Some(&customer), std::slice::from_ref(&order)),
        Verification::NeedMore { matched: 0 }
    );
    let wrong = IdentityClaim {
        emails: strings(&["someone.else@example.ch"]),
        ..one
    };
    assert_eq!(
        verify(&wrong, Some(&customer), &[order]),
        Verification::NeedMore { matched: 0 }
    );
}

#[test]
fn the_sending_contact_point_counts_as_a_factor_only_when_on_file() {
    let (customer, order) = anna();
    let from = |channel: Channel, address: &str| IdentityClaim {
        postcodes: strings(&["8008"]),
        sender: Some((channel, address.to_owned())),
        ..claim()
    };
    let orders = std::slice::from_ref(&order);
    assert_eq!(
        verify(
            &from(Channel::Whatsapp, "+41 79 123 45 01"),
            Some(&customer),
            orders
        ),
        verified(&[Factor::Postcode, Factor::Phone], None)
    );
    assert_eq!(
        verify(
            &from(Channel::Email, "Anna.Mueller@example.ch"),
            Some(&customer),
            orders
        ),
        verified(&[Factor::Email, Factor::Postcode], None)
    );
    // An unknown number, an SMS from a number only registered for WhatsApp, or a chat session
    // prove nothing, and are no mismatch either.
    for (channel, address) in [
        (Channel::Whatsapp, "+41 79 000 00 00"),
        (Channel::Sms, "+41791234501"),
        (Channel::WebChat, "chat-1"),
    ] {
        assert_eq!(
            verify(&from(channel, address), Some(&customer), orders),
            Verification::NeedMore { matched: 0 },
            "{channel:?}"
        );
    }
}

#[test]
fn without_an_order_number_the_customers_recent_orders_are_the_scope() {
    let shop = shop();
    let anna = shop.customer("c-anna").unwrap();
    let orders: Vec<Order> = ["ds-1001", "ds-1005", "ds-1020", "ds-1002"]
        .iter()
        .map(|id| shop.order(id).unwrap().clone())
        .collect();
    let own_postcode = IdentityClaim {
        emails: strings(&["anna.mueller@example.ch"]),
        postcodes: strings(&["8008"]),
        ..claim()
    };
    assert_eq!(
        verify(&own_postcode, Some(anna), &orders),
        verified(&[Factor::Email, Factor::Postcode], None)
    );
    // Luca's postcode is on an order in the list, but not on one of Anna's.
    let foreign_postcode = IdentityClaim {
        emails: strings(&["anna.mueller@example.ch"]),
        postcodes: strings(&["6900"]),
        ..claim()
    };
    assert_eq!(
        verify(&foreign_postcode, Some(anna), &orders),
        Verification::Failed
    );
}

#[test]
fn order_numbers_compare_without_hash_spaces_or_case() {
    let n = OrderNumber::new;
    assert!(same_order_number(&n("#1001"), &n("1001")));
    assert!(same_order_number(&n(" #ab-7 "), &n("AB-7")));
    assert!(!same_order_number(&n("#1001"), &n("#10010")));
}

#[test]
fn claims_accumulate_each_value_once() {
    let mut first = IdentityClaim {
        order_numbers: numbers(&["#1001"]),
        emails: strings(&["anna.mueller@example.ch"]),
        sender: Some((Channel::WebChat, "chat-1".to_owned())),
        ..claim()
    };
    first.merge(&IdentityClaim {
        order_numbers: numbers(&["#1001"]),
        postcodes: strings(&["8008"]),
        ..claim()
    });
    assert_eq!(first.order_numbers, numbers(&["#1001"]));
    assert_eq!(first.postcodes, strings(&["8008"]));
    assert_eq!(first.sender, Some((Channel::WebChat, "chat-1".to_owned())));
    assert!(first.gives_details());
    assert!(!IdentityClaim {
        order_numbers: numbers(&["#1001"]),
        ..claim()
    }
    .gives_details());
}

// ---------------------------------------------------------------------------------------------
// Answers to "who are you", as customers write them (read by the built-in understanding)
// ---------------------------------------------------------------------------------------------

async fn builtin_turns(texts: &[&str]) -> Vec<order_agent_core::agent::Turn> {
    let world = World::demo();
    let agent = world
        .agent_with_builtin_understanding(World::demo_policy().unwrap())
        .unwrap();
    let mut turns = Vec::new();
    for text in texts {
        turns.push(
            agent
                .handle_message(Channel::WebChat, "chat-answers", text)
                .await
                .unwrap(),
        );
    }
    turns
}

#[tokio::test]
async fn identity_details_that_sound_like_an_address_change_answer_the_question() {
    let turns = builtin_turns(&[
        "Wo ist meine Bestellung #1001?",
        "Meine E-Mail ist anna.mueller@example.ch und meine Postleitzahl ist 8008",
    ])
    .await;
    assert!(
        matches!(turns[1].reply, Reply::OrderStatus { .. }),
        "{:#?}",
        turns[1]
    );
    assert_eq!(turns[1].locale, Locale::De);
}

#[tokio::test]
async fn a_bare_postcode_after_the_email_completes_the_verification() {
    let turns = builtin_turns(&[
        "Where is my order #1001?",
        "anna.mueller@example.ch",
        "8008",
    ])
    .await;
    assert!(
        matches!(turns[2].reply, Reply::OrderStatus { .. }),
        "{:#?}",
        turns[2]
    );
}

#[tokio::test]
async fn a_short_answer_of_details_keeps_the_conversations_language() {
    let turns = builtin_turns(&[
        "Wo ist meine Bestellung #1001?",
        "E-Mail: anna.mueller@example.ch, PLZ 8008",
    ])
    .await;
    assert_eq!(turns[1].locale, Locale::De, "{:#?}", turns[1]);
}

/// Tracking is fetched during verification, at the same time as the customer, only when the
/// message may verify; it is shown only once verified, and each parcel is tracked once.
#[tokio::test]
async fn parcels_are_tracked_during_verification_once_and_shown_only_when_verified() {
    use order_agent_core::ports::carrier::ops::TRACK;
    use order_agent_core::ports::oms::ops as oms_ops;
    let world = World::demo();
    let agent = world
        .agent_with_builtin_understanding(World::demo_policy().unwrap())
        .unwrap();
    let parcels = shop().order("ds-1001").unwrap().shipments.len();
    assert!(parcels > 0);

    let ask = agent
        .handle_message(Channel::WebChat, "prefetch", "Hi, where is my order #1001?")
        .await
        .unwrap();
    assert!(
        matches!(ask.reply, Reply::AskVerification { .. }),
        "{:?}",
        ask.reply
    );
    assert_eq!(
        world.carrier.calls().count(TRACK),
        0,
        "no carrier call for a bare number"
    );

    let wrong = agent
        .handle_message(
            Channel::WebChat,
            "prefetch",
            "someone.else@example.ch, 9999",
        )
        .await
        .unwrap();
    assert!(
        !matches!(wrong.reply, Reply::OrderStatus { .. }),
        "a failed proof revealed the status: {:?}",
        wrong.reply
    );
    let after_wrong = world.carrier.calls().count(TRACK);

    agent
        .handle_message(
            Channel::WebChat,
            "prefetch-2",
            "Hi, where is my order #1001?",
        )
        .await
        .unwrap();
    let (by_number, by_id) = (
        world.oms.calls().count(oms_ops::ORDER_BY_NUMBER),
        world.oms.calls().count(oms_ops::ORDER),
    );
    let right = agent
        .handle_message(
            Channel::WebChat,
            "prefetch-2",
            "anna.mueller@example.ch, 8008",
        )
        .await
        .unwrap();
    // The order found in the first turn is re-read by id, alongside the carrier, not looked up
    // by number again before it.
    assert_eq!(world.oms.calls().count(oms_ops::ORDER_BY_NUMBER), by_number);
    assert_eq!(world.oms.calls().count(oms_ops::ORDER), by_id + 1);
    assert!(
        matches!(right.reply, Reply::OrderStatus { .. }),
        "{:?}",
        right.reply
    );
    assert_eq!(
        world.carrier.calls().count(TRACK) - after_wrong,
        parcels,
        "each parcel tracked once for the answer"
    );
}
