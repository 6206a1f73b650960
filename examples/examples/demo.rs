// Run with: cargo run -p order-agent-examples --example demo
//
//! The whole agent on the built-in demo shop, with no accounts and no services: every port is an
//! in-memory fake from `order-agent-testkit`, seeded with the demo shop's customers and orders;
//! messages are read by the library's built-in understanding; the policy is the sample Swiss-shop
//! policy.
//!
//! A scripted day: a customer asks where her order is and proves who she is; she returns a sweater
//! and gets a label; the warehouse scans the parcel in and the refund goes out; a scheduled check
//! finds a late parcel and a lost one and tells those customers before they ask; a customer asks
//! for a person. Each step prints what was said, the agent's reply, its reasons, and what it did.

use std::process::ExitCode;

use chrono::Duration;
use order_agent_core::agent::{ActionTaken, Agent, EventOutcome, Turn};
use order_agent_core::domain::{
    Channel, InspectionGrade, LineId, LocationId, OrderId, Receipt, ReceivedLine,
};
use order_agent_core::flows::events::{Event, EventKind};
use order_agent_core::replies::Reply;
use order_agent_examples::wire_name;
use order_agent_testkit::world::World;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let world = World::demo();
    let policy = match World::demo_policy() {
        Ok(policy) => policy,
        Err(e) => {
            eprintln!("the demo policy does not parse: {e}");
            return ExitCode::FAILURE;
        }
    };
    let agent = match world.agent_with_builtin_understanding(policy) {
        Ok(agent) => agent,
        Err(e) => {
            eprintln!("cannot build the agent: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "order-agent demo: the Swiss demo shop on {}",
        world.clock.peek()
    );
    println!("(every port is an in-memory fake; nothing leaves this machine)\n");

    let anna = (Channel::WebChat, "web-chat-anna");
    let steps: [(&str, &str); 3] = [
        (
            "Anna asks where her order is",
            "Hi, where is my order #1001?",
        ),
        (
            "She proves who she is: email and postcode",
            "anna.mueller@example.ch, 8008",
        ),
        (
            "The sweater does not fit: she returns it",
            "I want to return the sweater, it does not fit",
        ),
    ];
    let mut return_id = None;
    for (number, (title, text)) in steps.iter().enumerate() {
        match agent.handle_message(anna.0, anna.1, text).await {
            Ok(turn) => {
                if let Reply::ReturnAuthorised { return_id: id, .. } = &turn.reply {
                    return_id = Some(id.clone());
                }
                print_turn(number + 1, title, anna, text, &turn);
            }
            Err(e) => {
                eprintln!("step {}: {e}", number + 1);
                return ExitCode::FAILURE;
            }
        }
    }

    // Three days later the parcel is back at the warehouse, graded as new.
    world.clock.advance(Duration::days(3));
    let Some(return_id) = return_id else {
        eprintln!("the return was not authorised; see the steps above");
        return ExitCode::FAILURE;
    };
    let receipt = Event {
        id: "wh-scan-7731".to_owned(),
        source: "warehouse".to_owned(),
        at: world.clock.peek(),
        kind: EventKind::ReturnReceived {
            receipt: Receipt {
                return_id: return_id.clone(),
                lines: vec![ReceivedLine {
                    line_id: LineId::new("l1"),
                    quantity: 1,
                    grade: Some(InspectionGrade::New),
                }],
                received_at: world.clock.peek(),
                location: LocationId::new("zrh-1"),
                receive_only: false,
            },
        },
    };
    let outcome = agent.handle_event(&receipt).await;
    print_event(
        4,
        &format!("The warehouse scans return {return_id} in, graded as new"),
        &outcome,
    );
    let again = agent.handle_event(&receipt).await;
    print_event(5, "The same webhook arrives a second time", &again);

    // The hourly check over open orders: a late parcel and a silent one.
    for (number, (title, order)) in [
        (
            "Scheduled check: a parcel past its promised date",
            "ds-1017",
        ),
        (
            "Scheduled check: a parcel with no scan for 12 days",
            "ds-1015",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let outcome = agent.check_order(&OrderId::new(order)).await;
        print_event(number + 6, title, &outcome);
        if let Some(sent) = world.messaging.delivered().last() {
            println!("  the customer was told (in their language):");
            for line in sent.message.body.lines() {
                println!("    │ {line}");
            }
            println!();
        }
    }

    let james = (Channel::Email, "james.miller@example.com");
    let text = "This is taking forever. I want to talk to a real person.";
    match agent.handle_message(james.0, james.1, text).await {
        Ok(turn) => print_turn(8, "A customer asks for a person", james, text, &turn),
        Err(e) => {
            eprintln!("step 8: {e}");
            return ExitCode::FAILURE;
        }
    }

    summary(&world, &agent);
    policy_table(agent.policy())
}

/// The policy engine alone on eighteen situations of the demo shop (the `swiss_shop` example
/// prints each with its money breakdown).
fn policy_table(policy: &order_agent_core::policy::Policy) -> ExitCode {
    let shop = order_agent_testkit::demo_shop::DemoShop::new(order_agent_examples::demo_now());
    println!("\n── The policy engine on the demo shop ─────────────────────────────────────");
    let mut failures = 0;
    for scenario in order_agent_examples::swiss_shop_scenarios(&shop) {
        let decision = order_agent_core::policy::decide(
            &scenario.request,
            &scenario.facts,
            policy,
            order_agent_examples::demo_now(),
        );
        let codes: Vec<String> = decision.reason_codes().iter().map(wire_name).collect();
        let total = decision
            .refund
            .as_ref()
            .map(|r| format!(" → {}", r.total))
            .unwrap_or_default();
        println!(
            "  {:<11} {}{total}\n              because: {}",
            wire_name(&decision.outcome),
            scenario.title,
            codes.join(", ")
        );
        if decision.outcome != scenario.expected {
            failures += 1;
        }
    }
    if failures > 0 {
        eprintln!("{failures} scenario(s) did not decide as the sample policy intends");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn print_turn(number: usize, title: &str, from: (Channel, &str), text: &str, turn: &Turn) {
    println!(
        "── {number}. {title} {}",
        "─".repeat(70_usize.saturating_sub(title.len()))
    );
    println!("  {} {} writes: {text}", wire_name(&from.0), from.1);
    if let Some(intent) = &turn.intent {
        println!(
            "  understood as: {} (reply in {})",
            wire_name(intent),
            turn.locale.tag()
        );
    }
    println!("  agent replies:");
    if let Some(subject) = &turn.rendered.subject {
        println!("    Subject: {subject}");
    }
    for line in turn.rendered.body.lines() {
        println!("    │ {line}");
    }
    print_reasons(&turn.reasons);
    if let Some(decision) = &turn.decision {
        println!(
            "  decision: {} (policy {})",
            wire_name(&decision.outcome),
            decision.policy_version
        );
        for r in &decision.reasons {
            println!("    {:<22} {:<28} {}", wire_name(&r.code), r.rule, r.detail);
        }
    }
    print_actions(&turn.actions);
    for e in &turn.errors {
        println!("  error: {e}");
    }
    println!();
}

fn print_event(number: usize, title: &str, outcome: &EventOutcome) {
    println!(
        "── {number}. {title} {}",
        "─".repeat(70_usize.saturating_sub(title.len()))
    );
    if outcome.duplicate {
        println!("  already processed: nothing to do");
    }
    for exception in &outcome.exceptions {
        println!(
            "  exception {}: {}",
            wire_name(&exception.kind),
            exception.detail
        );
    }
    print_reasons(&outcome.reasons);
    if let Some(decision) = &outcome.decision {
        println!(
            "  decision: {} (policy {})",
            wire_name(&decision.outcome),
            decision.policy_version
        );
        for r in &decision.reasons {
            println!("    {:<22} {:<28} {}", wire_name(&r.code), r.rule, r.detail);
        }
        if let Some(refund) = &decision.refund {
            println!("    total to the customer: {}", refund.total);
        }
    }
    print_actions(&outcome.actions);
    for e in &outcome.errors {
        println!("  error: {e}");
    }
    println!();
}

fn print_reasons(reasons: &[String]) {
    if !reasons.is_empty() {
        println!("  reasons: {}", reasons.join(", "));
    }
}

fn print_actions(actions: &[ActionTaken]) {
    for action in actions {
        let text = match action {
            ActionTaken::MessageSent { channel, to, .. } => {
                format!("sent a {} message to {to}", wire_name(channel))
            }
            ActionTaken::TicketOpened { ticket_id, key } => {
                format!("opened ticket {ticket_id} ({key})")
            }
            ActionTaken::ReturnAuthorised { return_id } => format!("authorised return {return_id}"),
            ActionTaken::LabelCreated { label_url, .. } => format!("created label {label_url}"),
            ActionTaken::Refunded {
                payment_id,
                amount,
                refund_id,
            } => format!("refunded {amount} to {payment_id} (refund {refund_id})"),
            ActionTaken::RefundHeld { key, amount } => {
                format!("held refund {amount} for approval ({key})")
            }
            ActionTaken::StoreCreditRequested { amount } => {
                format!("asked staff to issue {amount} store credit")
            }
            ActionTaken::Restocked {
                sku,
                quantity,
                disposition,
            } => format!("restocked {quantity} × {sku} as {}", wire_name(disposition)),
            ActionTaken::OrderCancelled { order_id } => format!("cancelled order {order_id}"),
            ActionTaken::AddressChanged { order_id } => {
                format!("changed the address of {order_id}")
            }
            ActionTaken::ItemsModified { order_id } => format!("modified the items of {order_id}"),
            ActionTaken::DecisionLogged { sequence } => {
                format!("logged the decision (#{sequence})")
            }
            ActionTaken::AlreadyDone { key } => format!("skipped, already done ({key})"),
        };
        println!("  did: {text}");
    }
}

fn summary(world: &World, _agent: &Agent) {
    println!("── In the fakes afterwards ────────────────────────────────────────────────");
    println!(
        "  refunds at the processor: {}",
        world.payments.all_refunds().len()
    );
    for refund in world.payments.all_refunds() {
        println!(
            "    {} {} ({:?})",
            refund.payment_id, refund.amount, refund.state
        );
    }
    println!("  tickets for staff: {}", world.helpdesk.tickets().len());
    for ticket in world.helpdesk.tickets() {
        println!(
            "    {} [{}] {}",
            ticket.id,
            wire_name(&ticket.escalation.priority),
            ticket.escalation.subject
        );
    }
    println!("  messages sent: {}", world.messaging.delivered().len());
    println!("  stock movements: {}", world.inventory.movements().len());
}
