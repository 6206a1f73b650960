// Run with: cargo run -p order-agent-examples --example demo
//
//! The whole agent on the built-in demo shop, with no accounts and no services: the agent's state
//! (conversations, returns, refund intents, the event queue, the hash-chained decision log) is a
//! SQLite file, `order-agent-demo.sqlite` by default; every vendor is an in-memory fake from
//! `order-agent-testkit`, seeded with the demo shop's customers and orders; messages are read by
//! the library's built-in understanding; the policy is the sample Swiss-shop policy.
//!
//! Each step is recorded in the state file when done, so a run that was stopped (`--stop-after N`
//! plays a kill after step N) continues where it stopped, and nothing done is done again. A run
//! after a finished one repeats nothing; `--fresh` starts over, `--in-memory` keeps nothing.
//!
//! A scripted day: a customer asks where her order is and proves who she is; she returns a sweater
//! and gets a label; the warehouse scans the parcel in and the refund goes out; a scheduled check
//! finds a late parcel and a lost one and tells those customers before they ask; a customer asks
//! for a person. Each step prints what was said, the agent's reply, its reasons, and what it did.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use chrono::Duration;
use order_agent_adapters::store::{ChainVerification, SqliteStore};
use order_agent_core::agent::{ActionTaken, Agent, EventOutcome, Turn};
use order_agent_core::domain::{
    Channel, InspectionGrade, LineId, LocationId, OrderId, Receipt, ReceivedLine, ReturnId,
};
use order_agent_core::flows::events::{Event, EventKind};
use order_agent_core::ports::{EventQueue, IdempotencyStoreExt};
use order_agent_core::replies::Reply;
use order_agent_core::understanding::BuiltinInterpreter;
use order_agent_examples::wire_name;
use order_agent_testkit::world::World;

const USAGE: &str = "usage: demo [--state FILE | --in-memory] [--fresh] [--stop-after STEP]

  --state FILE      keep the agent's state in this SQLite file (default: order-agent-demo.sqlite)
  --in-memory       keep nothing
  --fresh           delete the state file first and start over
  --stop-after N    stop after step N, as if the process were killed; the next run continues";

struct Options {
    state: Option<PathBuf>,
    fresh: bool,
    stop_after: Option<usize>,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        state: Some(PathBuf::from("order-agent-demo.sqlite")),
        fresh: false,
        stop_after: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--state" => {
                options.state = Some(PathBuf::from(args.next().ok_or("--state needs a file")?))
            }
            "--in-memory" => options.state = None,
            "--fresh" => options.fresh = true,
            "--stop-after" => {
                let n = args.next().ok_or("--stop-after needs a step number")?;
                options.stop_after = Some(
                    n.parse()
                        .map_err(|_| format!("--stop-after: `{n}` is not a step number"))?,
                );
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(options)
}

/// What a finished step left for the steps after it (and for a later run).
#[derive(serde::Serialize, serde::Deserialize)]
struct StepRecord {
    summary: String,
    #[serde(default)]
    return_id: Option<ReturnId>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let options = match options() {
        Ok(options) => options,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("demo: {message}");
            }
            eprintln!("{USAGE}");
            return if message.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    if let (true, Some(path)) = (options.fresh, &options.state) {
        for suffix in ["", "-wal", "-shm"] {
            let mut file = path.clone().into_os_string();
            file.push(suffix);
            if let Err(e) = std::fs::remove_file(&file) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    eprintln!("demo: cannot delete {}: {e}", PathBuf::from(file).display());
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    let store = match &options.state {
        Some(path) => SqliteStore::open(path),
        None => SqliteStore::in_memory(),
    };
    let store = match store {
        Ok(store) => Arc::new(store),
        Err(e) => {
            eprintln!("demo: cannot open the state store: {e}");
            return ExitCode::FAILURE;
        }
    };
    let world = World::demo();
    let policy = match World::demo_policy() {
        Ok(policy) => policy,
        Err(e) => {
            eprintln!("the demo policy does not parse: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut ports = world.ports();
    ports.store = store.clone();
    ports.interpreter = Arc::new(BuiltinInterpreter::new());
    let agent = match Agent::new(ports, policy, World::demo_config()) {
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
    match &options.state {
        Some(path) => println!(
            "(state: {} in SQLite; every vendor is an in-memory fake; nothing leaves this machine)",
            path.display()
        ),
        None => println!("(state in memory; every vendor is an in-memory fake)"),
    }
    let mut demo = Demo {
        agent,
        world,
        store,
        stop_after: options.stop_after,
        resumed: 0,
    };
    match demo.run().await {
        Ok(true) => policy_table(demo.agent.policy()),
        Ok(false) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}

struct Demo {
    agent: Agent,
    world: World,
    store: Arc<SqliteStore>,
    stop_after: Option<usize>,
    resumed: usize,
}

enum Step {
    Done(StepRecord),
    Stop,
}

impl Demo {
    /// Step `n`: done in an earlier run (its record says so), or run now and recorded.
    async fn step<F, Fut>(&mut self, n: usize, title: &str, run: F) -> Result<Step, ExitCode>
    where
        F: FnOnce(Agent, World) -> Fut,
        Fut: std::future::Future<Output = Result<StepRecord, ExitCode>>,
    {
        let key = format!("demo:step:{n}");
        match self.store.recall::<StepRecord>(&key).await {
            Ok(Some(record)) => {
                println!(
                    "── {n}. {title}: done in an earlier run ({})",
                    record.summary
                );
                self.resumed += 1;
                return Ok(Step::Done(record));
            }
            Ok(None) => {}
            Err(e) => {
                eprintln!("step {n}: the state store failed: {e}");
                return Err(ExitCode::FAILURE);
            }
        }
        if self.resumed > 0 && self.resumed + 1 == n {
            println!("\n   continuing where the last run stopped\n");
        }
        let record = run(self.agent.clone(), self.world.clone()).await?;
        let record = match self
            .store
            .remember(&key, record, self.world.clock.peek())
            .await
        {
            Ok(record) => record,
            Err(e) => {
                eprintln!("step {n}: the state store failed: {e}");
                return Err(ExitCode::FAILURE);
            }
        };
        if self.stop_after == Some(n) {
            println!("stopping after step {n} (--stop-after); run again to continue\n");
            return Ok(Step::Stop);
        }
        Ok(Step::Done(record))
    }

    /// Plays the script; `Ok(false)` when stopped on request (then the policy table, which
    /// is for a finished run, is not printed).
    async fn run(&mut self) -> Result<bool, ExitCode> {
        let finished = self.script().await?;
        if finished {
            self.summary().await;
        }
        Ok(finished)
    }

    /// The scripted day; `Ok(false)` when stopped early.
    async fn script(&mut self) -> Result<bool, ExitCode> {
        let anna = (Channel::WebChat, "web-chat-anna");
        let chats: [(&str, &str); 3] = [
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
        for (index, (title, text)) in chats.into_iter().enumerate() {
            let n = index + 1;
            let step = self
                .step(n, title, |agent, _| async move {
                    match agent.handle_message(anna.0, anna.1, text).await {
                        Ok(turn) => {
                            print_turn(n, title, anna, text, &turn);
                            let return_id = match &turn.reply {
                                Reply::ReturnAuthorised { return_id, .. } => {
                                    Some(return_id.clone())
                                }
                                _ => None,
                            };
                            Ok(StepRecord {
                                summary: format!("replied: {}", short(&turn.rendered.body)),
                                return_id,
                            })
                        }
                        Err(e) => {
                            eprintln!("step {n}: {e}");
                            Err(ExitCode::FAILURE)
                        }
                    }
                })
                .await?;
            match step {
                Step::Stop => return Ok(false),
                Step::Done(record) => return_id = record.return_id.or(return_id),
            }
        }

        // Three days later the parcel is back at the warehouse, graded as new.
        self.world.clock.advance(Duration::days(3));
        let Some(return_id) = return_id else {
            eprintln!("the return was not authorised; see the steps above");
            return Err(ExitCode::FAILURE);
        };
        let receipt = Event {
            id: "wh-scan-7731".to_owned(),
            source: "warehouse".to_owned(),
            at: self.world.clock.peek(),
            kind: EventKind::ReturnReceived {
                receipt: Receipt {
                    return_id: return_id.clone(),
                    lines: vec![ReceivedLine {
                        line_id: LineId::new("l1"),
                        quantity: 1,
                        grade: Some(InspectionGrade::New),
                    }],
                    received_at: self.world.clock.peek(),
                    location: LocationId::new("zrh-1"),
                    receive_only: false,
                },
            },
        };
        let title = format!("The warehouse scans return {return_id} in, graded as new");
        let scanned = receipt.clone();
        let step = self
            .step(4, &title.clone(), |agent, _| async move {
                accept_and_work(&agent, &scanned, 4, &title).await
            })
            .await?;
        if matches!(step, Step::Stop) {
            return Ok(false);
        }
        let title = "The same webhook arrives a second time".to_owned();
        let step = self
            .step(5, &title.clone(), |agent, _| async move {
                accept_and_work(&agent, &receipt, 5, &title).await
            })
            .await?;
        if matches!(step, Step::Stop) {
            return Ok(false);
        }

        // The hourly check over open orders: a late parcel and a silent one.
        for (index, (title, order)) in [
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
            let n = index + 6;
            let step = self
                .step(n, title, |agent, world| async move {
                    let outcome = agent.check_order(&OrderId::new(order)).await;
                    print_event(n, title, &outcome);
                    if let Some(sent) = world.messaging.delivered().last() {
                        println!("  the customer was told (in their language):");
                        for line in sent.message.body.lines() {
                            println!("    │ {line}");
                        }
                        println!();
                    }
                    Ok(StepRecord {
                        summary: format!("{} exception(s) found", outcome.exceptions.len()),
                        return_id: None,
                    })
                })
                .await?;
            if matches!(step, Step::Stop) {
                return Ok(false);
            }
        }

        let james = (Channel::Email, "james.miller@example.com");
        let text = "This is taking forever. I want to talk to a real person.";
        let title = "A customer asks for a person";
        let step = self
            .step(8, title, |agent, _| async move {
                match agent.handle_message(james.0, james.1, text).await {
                    Ok(turn) => {
                        print_turn(8, title, james, text, &turn);
                        Ok(StepRecord {
                            summary: format!("replied: {}", short(&turn.rendered.body)),
                            return_id: None,
                        })
                    }
                    Err(e) => {
                        eprintln!("step 8: {e}");
                        Err(ExitCode::FAILURE)
                    }
                }
            })
            .await?;
        Ok(!matches!(step, Step::Stop))
    }

    async fn summary(&self) {
        summary(&self.world);
        let now = self.world.clock.peek();
        println!("── In the state store ──────────────────────────────────────────────────────");
        match self.store.verify_chain().await {
            Ok(ChainVerification::Intact { records, head_hash }) => println!(
                "  decision log: {records} decisions, hash chain intact (head {})",
                &head_hash[..16]
            ),
            Ok(broken) => println!("  decision log: BROKEN: {broken:?}"),
            Err(e) => println!("  decision log: cannot be read: {e}"),
        }
        if let Ok(stats) = self.store.queue_stats(now).await {
            println!(
                "  event queue: {} completed, {} pending, {} given up",
                stats.completed, stats.pending, stats.dead
            );
        }
        if self.resumed > 0 {
            println!(
                "  {} step(s) were done by an earlier run and not repeated; `--fresh` starts over",
                self.resumed
            );
        }
    }
}

/// The first line of a reply, cut to fit a line.
fn short(body: &str) -> String {
    let line = body.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let cut: String = line.chars().take(60).collect();
    if cut.len() < line.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

/// Accepts a webhook into the durable queue, then lets a worker take it.
async fn accept_and_work(
    agent: &Agent,
    event: &Event,
    n: usize,
    title: &str,
) -> Result<StepRecord, ExitCode> {
    let new = match agent.accept(event).await {
        Ok(new) => new,
        Err(e) => {
            eprintln!("step {n}: {e}");
            return Err(ExitCode::FAILURE);
        }
    };
    if !new {
        println!(
            "── {n}. {title} {}",
            "─".repeat(70_usize.saturating_sub(title.len()))
        );
        println!(
            "  webhook {} was accepted before: acknowledged, nothing to do\n",
            event.id
        );
        return Ok(StepRecord {
            summary: "recognised as a redelivery".to_owned(),
            return_id: None,
        });
    }
    match agent.work_queue("demo-worker", 16).await {
        Ok(report) => {
            let outcome = report.outcomes.into_iter().next().unwrap_or_default();
            print_event(n, title, &outcome);
            let refunded = outcome
                .actions
                .iter()
                .any(|a| matches!(a, ActionTaken::Refunded { .. }));
            Ok(StepRecord {
                summary: if refunded {
                    "refunded".to_owned()
                } else {
                    "handled".to_owned()
                },
                return_id: None,
            })
        }
        Err(e) => {
            eprintln!("step {n}: {e}");
            Err(ExitCode::FAILURE)
        }
    }
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

fn summary(world: &World) {
    println!("── In the fakes (this run) ────────────────────────────────────────────────");
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
