//! `order-agent serve` end to end: the binary started on an ephemeral port, spoken to over HTTP
//! as a browser, a webhook sender and a monitoring system would.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

const SECRET: &str = "current-secret";
const PREVIOUS_SECRET: &str = "previous-secret";
/// The local server `.ci/run` starts (trust auth, database `test`), or `ORDER_AGENT_POSTGRES_URL`.
fn postgres_url() -> String {
    std::env::var("ORDER_AGENT_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A running `order-agent serve`, stopped with SIGKILL when dropped.
struct Server {
    child: Child,
    address: String,
    _stdout: BufReader<ChildStdout>,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        Server::spawn(
            Command::new(env!("CARGO_BIN_EXE_order-agent"))
                .arg("serve")
                .args(["--listen", "127.0.0.1:0"])
                .args(args)
                .stderr(Stdio::inherit()),
        )
    }

    /// Started with JSON logs of everything (`RUST_LOG=debug`) written to `log`.
    fn start_logging_to(log: &Path, args: &[&str]) -> Server {
        Server::spawn(
            Command::new(env!("CARGO_BIN_EXE_order-agent"))
                .args(["--log-format", "json", "serve", "--listen", "127.0.0.1:0"])
                .args(args)
                .env("RUST_LOG", "debug")
                .stderr(std::fs::File::create(log).unwrap()),
        )
    }

    fn spawn(command: &mut Command) -> Server {
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        let address = first
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_owned();
        Server {
            child,
            address,
            _stdout: stdout,
        }
    }

    fn with_config(dir: &Path, extra: &str) -> Server {
        let config = dir.join("serve.toml");
        std::fs::write(
            &config,
            format!(
                "[webhooks]\nsecret = \"{SECRET}\"\nprevious_secret = \"{PREVIOUS_SECRET}\"\n\
                 [worker]\nidle_ms = 50\n{extra}"
            ),
        )
        .unwrap();
        Server::start(&["--config", config.to_str().unwrap()])
    }

    fn get(&self, path: &str) -> Response {
        http(&self.address, "GET", path, &[], b"")
    }

    fn post_json(&self, path: &str, body: &Value) -> Response {
        http(
            &self.address,
            "POST",
            path,
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        )
    }

    fn say(&self, sender: &str, text: &str) -> Value {
        let response = self.post_json(
            "/api/messages",
            &json!({"channel": "web_chat", "sender": sender, "text": text}),
        );
        assert_eq!(response.status, 200, "{}", response.body);
        response.json()
    }

    /// Sends SIGTERM.
    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to end.
    fn wait_exit(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the service did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, then waits for the exit.
    fn stop(mut self) -> std::process::ExitStatus {
        self.terminate();
        self.wait_exit()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Response {
    status: u16,
    headers: String,
    body: String,
}

impl Response {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// A minimal HTTP/1.1 client: one request per connection.
fn http(
    address: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, rest) = text.split_once("\r\n\r\n").expect("a complete response");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status code");
    let headers = head.to_ascii_lowercase();
    let body = if headers.contains("transfer-encoding: chunked") {
        dechunk(rest)
    } else {
        rest.to_owned()
    };
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut rest: &str) -> String {
    let mut body = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n").unwrap();
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        if size == 0 {
            return body;
        }
        body.push_str(&after[..size]);
        rest = &after[size + 2..];
    }
}

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn post_webhook(server: &Server, source: &str, body: &[u8], signature: Option<&str>) -> Response {
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(signature) = signature {
        headers.push(("X-Order-Agent-Signature", signature));
    }
    http(
        &server.address,
        "POST",
        &format!("/webhooks/{source}"),
        &headers,
        body,
    )
}

fn reply_text(turn: &Value) -> String {
    turn["rendered"]["body"].as_str().unwrap().to_owned()
}

#[test]
fn the_chat_answers_where_is_my_order_after_verification() {
    let server = Server::start(&["--in-memory"]);
    let first = server.say("chat-anna", "Where is my order #1001?");
    assert_eq!(first["reply"]["reply"], "ask_verification", "{first}");
    assert!(!reply_text(&first).to_lowercase().contains("delivered"));
    let second = server.say("chat-anna", "anna.mueller@example.ch, 8008");
    assert_eq!(second["reply"]["reply"], "order_status", "{second}");
    let text = reply_text(&second).to_lowercase();
    assert!(text.contains("1001"), "{text}");
    assert!(text.contains("delivered"), "{text}");
    assert!(second["reasons"].as_array().is_some_and(|r| !r.is_empty()));
    assert!(second["actions"].is_array());

    // The page customers use is served, self-contained.
    let page = server.get("/");
    assert_eq!(page.status, 200);
    assert!(page.headers.contains("content-type: text/html"));
    assert!(page.body.contains("data-testid=\"message-input\""));
}

#[test]
fn bad_messages_get_clear_json_errors() {
    let server = Server::start(&["--in-memory"]);
    let unknown = server.post_json(
        "/api/messages",
        &json!({"channel": "pigeon", "sender": "s", "text": "hi"}),
    );
    assert_eq!(unknown.status, 422);
    assert_eq!(unknown.json()["code"], "unknown_channel");
    assert!(unknown.json()["error"]
        .as_str()
        .unwrap()
        .contains("`pigeon`"));

    let malformed = http(&server.address, "POST", "/api/messages", &[], b"{not json");
    assert_eq!(malformed.status, 400);
    assert_eq!(malformed.json()["code"], "bad_json");

    let missing = server.post_json("/api/messages", &json!({"channel": "web_chat"}));
    assert_eq!(missing.status, 400);

    let empty = server.post_json(
        "/api/messages",
        &json!({"channel": "web_chat", "sender": "s", "text": "   "}),
    );
    assert_eq!(empty.status, 422);
    assert_eq!(empty.json()["code"], "bad_text");

    let huge = server.post_json(
        "/api/messages",
        &json!({"channel": "web_chat", "sender": "s", "text": "x".repeat(40_000)}),
    );
    assert_eq!(huge.status, 413);
    assert_eq!(huge.json()["code"], "body_too_large");

    let long = server.post_json(
        "/api/messages",
        &json!({"channel": "web_chat", "sender": "s", "text": "x".repeat(5_000)}),
    );
    assert_eq!(long.status, 422);

    let nowhere = server.get("/nowhere");
    assert_eq!(nowhere.status, 404);
    assert_eq!(nowhere.json()["code"], "not_found");
}

#[test]
fn asking_for_a_person_puts_an_escaped_ticket_on_the_staff_page() {
    let server = Server::start(&["--in-memory"]);
    let before = server.get("/staff/escalations");
    assert_eq!(before.status, 200);
    assert!(before.body.contains("No tickets."));

    let turn = server.say(
        "chat-mallory",
        "I want to talk to a person <script>alert(1)</script>",
    );
    assert_eq!(turn["reply"]["reply"], "handed_to_human", "{turn}");
    let page = server.get("/staff/escalations");
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("data-testid=\"ticket\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("1 ticket(s)"));
    assert!(page
        .headers
        .contains("content-security-policy: default-src 'none'; style-src"));
    assert!(!page.body.contains("<script>alert(1)</script>"));
    // The customer's words reach staff in the summary, escaped.
    assert!(
        page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{}",
        page.body
    );

    let metrics = server.get("/metrics").body;
    assert!(
        metrics.contains("order_agent_escalations_total{source=\"message\""),
        "{metrics}"
    );
}

#[test]
fn webhooks_are_verified_deduplicated_and_worked_off_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::with_config(dir.path(), "[state]\nin_memory = true\n");
    let body = json!({
        "id": "oms-delivery-1",
        "source": "oms",
        "at": "2026-01-12T09:00:00Z",
        "kind": {"type": "address_validation_failed", "order_id": "ds-1012",
                 "detail": "street number missing"}
    })
    .to_string();
    let body = body.as_bytes();

    let missing = post_webhook(&server, "oms", body, None);
    assert_eq!(missing.status, 401);
    assert_eq!(missing.json()["code"], "bad_signature");
    let wrong = post_webhook(&server, "oms", body, Some(&sign("guess", body)));
    assert_eq!(wrong.status, 401);
    let garbled = post_webhook(&server, "oms", body, Some("sha256=not-hex"));
    assert_eq!(garbled.status, 401);
    let tampered = post_webhook(&server, "oms", b"{\"id\":\"x\"}", Some(&sign(SECRET, body)));
    assert_eq!(tampered.status, 401);

    let first = post_webhook(&server, "oms", body, Some(&sign(SECRET, body)));
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.json(), json!({"accepted": true}));
    // A redelivery, signed with the secret being rotated out, is recognised.
    let again = post_webhook(&server, "oms", body, Some(&sign(PREVIOUS_SECRET, body)));
    assert_eq!(again.status, 200);
    assert_eq!(again.json(), json!({"accepted": false}));

    let not_an_event = b"{\"hello\": 1}";
    let malformed = post_webhook(
        &server,
        "oms",
        not_an_event,
        Some(&sign(SECRET, not_an_event)),
    );
    assert_eq!(malformed.status, 400);
    assert_eq!(malformed.json()["code"], "bad_event");
    let elsewhere = post_webhook(&server, "carrier", body, Some(&sign(SECRET, body)));
    assert_eq!(elsewhere.status, 400);
    assert_eq!(elsewhere.json()["code"], "source_mismatch");

    // The worker handles the event: the failed address validation becomes a ticket.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let metrics = server.get("/metrics").body;
        if metrics.contains("order_agent_events_processed_total{outcome=\"completed\"} 1") {
            assert!(
                metrics.contains("order_agent_events_accepted_total 1\n"),
                "{metrics}"
            );
            assert!(
                metrics.contains("order_agent_events_duplicate_total 1\n"),
                "{metrics}"
            );
            assert!(metrics.contains("order_agent_queue_events{state=\"pending\"} 0\n"));
            assert!(metrics.contains("order_agent_queue_events{state=\"completed\"} 1\n"));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the event was not worked: {metrics}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let page = server.get("/staff/escalations").body;
    assert!(page.contains("ds-1012"), "{page}");
}

#[test]
fn webhooks_without_a_configured_secret_are_refused() {
    let server = Server::start(&["--in-memory"]);
    let body = b"{}";
    let response = post_webhook(&server, "oms", body, Some(&sign(SECRET, body)));
    assert_eq!(response.status, 401);
    assert!(response.json()["error"]
        .as_str()
        .unwrap()
        .contains("no secret is configured"));
}

/// A Shopify delivery signed as Shopify does: base64 HMAC-SHA256 of the raw body.
fn shopify_headers<'a>(secret: &str, webhook_id: &'a str, body: &[u8]) -> Vec<(&'a str, String)> {
    use base64::Engine as _;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    vec![
        ("Content-Type", "application/json".to_owned()),
        ("X-Shopify-Topic", "orders/cancelled".to_owned()),
        ("X-Shopify-Hmac-Sha256", signature),
        ("X-Shopify-Webhook-Id", webhook_id.to_owned()),
        (
            "X-Shopify-Shop-Domain",
            "demo-shop.myshopify.com".to_owned(),
        ),
    ]
}

fn post_vendor(server: &Server, vendor: &str, headers: &[(&str, String)], body: &[u8]) -> Response {
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    http(
        &server.address,
        "POST",
        &format!("/webhooks/vendor/{vendor}"),
        &headers,
        body,
    )
}

#[test]
fn a_signed_shopify_cancellation_is_accepted_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::with_config(
        dir.path(),
        "[state]\nin_memory = true\n\
         [webhooks.vendors.shopify]\nsecret = \"shpss-current\"\nprevious_secret = \"shpss-previous\"\n",
    );
    let body = json!({
        "id": 5735215890518_u64,
        "admin_graphql_api_id": "gid://shopify/Order/5735215890518",
        "name": "#1042",
        "cancelled_at": "2026-01-12T10:40:00+01:00",
        "cancel_reason": "customer",
        "financial_status": "refunded",
        "line_items": [{"id": 14210593767510_u64, "quantity": 1, "title": "Trail runner"}]
    })
    .to_string();
    let body = body.as_bytes();

    let forged = post_vendor(
        &server,
        "shopify",
        &shopify_headers("guess", "d-1", body),
        body,
    );
    assert_eq!(forged.status, 401, "{}", forged.body);
    let unconfigured = post_vendor(
        &server,
        "stripe",
        &shopify_headers("shpss-current", "d-1", body),
        body,
    );
    assert_eq!(unconfigured.status, 404, "{}", unconfigured.body);

    let first = post_vendor(
        &server,
        "shopify",
        &shopify_headers("shpss-current", "d-1", body),
        body,
    );
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(
        first.json(),
        json!({"accepted": 1, "new": 1, "ignored": null})
    );
    // Shopify redelivers with the same webhook id; signed with the previous secret, too.
    let replay = post_vendor(
        &server,
        "shopify",
        &shopify_headers("shpss-previous", "d-1", body),
        body,
    );
    assert_eq!(replay.status, 200, "{}", replay.body);
    assert_eq!(
        replay.json(),
        json!({"accepted": 1, "new": 0, "ignored": null})
    );

    let metrics = server.get("/metrics").body;
    assert!(
        metrics.contains("order_agent_events_accepted_total 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("order_agent_events_duplicate_total 1\n"),
        "{metrics}"
    );
}

#[test]
fn health_and_metrics_report_the_service() {
    let server = Server::start(&["--in-memory"]);
    let health = server.get("/healthz");
    assert_eq!(health.status, 200);
    assert_eq!(health.json(), json!({"status": "ok"}));
    server.say("chat-metrics", "Where is my order #1001?");
    let metrics = server.get("/metrics");
    assert_eq!(metrics.status, 200);
    assert!(metrics
        .headers
        .contains("content-type: text/plain; version=0.0.4"));
    let text = metrics.body;
    assert!(text.contains("# TYPE order_agent_messages_total counter\n"));
    assert!(text.contains("order_agent_messages_total 1\n"), "{text}");
    assert!(
        text.contains("order_agent_intents_total{intent=\"wismo\"} 1\n"),
        "{text}"
    );
    assert!(text.contains("order_agent_queue_events{state=\"pending\"} 0\n"));
    assert!(text.contains(
        "order_agent_http_request_duration_seconds_count{method=\"POST\",route=\"/api/messages\",status=\"200\"} 1\n"
    ), "{text}");
    assert!(text.contains("le=\"+Inf\""));
    assert!(
        text.contains("# TYPE order_agent_queue_pending gauge\norder_agent_queue_pending 0\n"),
        "{text}"
    );
    // The chat turn looked the order up through the metered OMS port.
    assert!(
        text.contains("# TYPE order_agent_vendor_calls_total counter\n"),
        "{text}"
    );
    assert!(
        text.contains("order_agent_vendor_calls_total{port=\"oms\",operation=\"order_by_number\",outcome=\"ok\"} "),
        "{text}"
    );
    assert!(
        text.contains("order_agent_vendor_call_seconds_bucket{port=\"oms\",operation=\"order_by_number\",le=\"+Inf\"} "),
        "{text}"
    );
    assert!(text.contains("# TYPE order_agent_vendor_call_seconds histogram\n"));
}

#[test]
fn debug_json_logs_carry_port_calls_but_no_personal_data() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr.log");
    let server = Server::start_logging_to(&log, &["--in-memory"]);
    server.say("chat-logs", "Where is my order #1001?");
    server.say("chat-logs", "anna.mueller@example.ch, 8008");
    server.say(
        "chat-logs",
        "Please send it to Seefeldstrasse 9 instead, call me on +41 79 123 45 67",
    );
    server.say("chat-logs", "I want to talk to a real person");
    assert!(server.stop().success());
    let logs = std::fs::read_to_string(&log).unwrap();
    for line in logs.lines().filter(|l| l.starts_with('{')) {
        serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
    assert!(logs.contains("\"port_call\""), "{logs}");
    assert!(logs.contains("\"operation\":\"order_by_number\""), "{logs}");
    for personal in [
        "anna.mueller@example.ch",
        "Seefeldstrasse",
        "79 123 45 67",
        "Bahnhofstrasse",
    ] {
        assert!(
            !logs.contains(personal),
            "the logs contain `{personal}`:\n{logs}"
        );
    }
}

#[test]
fn a_restart_on_the_same_state_file_keeps_the_verification() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.sqlite");
    let state = state.to_str().unwrap();

    let server = Server::start(&["--state", state]);
    server.say("chat-restart", "Where is my order #1001?");
    let verified = server.say("chat-restart", "anna.mueller@example.ch, 8008");
    assert_eq!(verified["reply"]["reply"], "order_status", "{verified}");
    let status = server.stop();
    assert!(
        status.success(),
        "SIGTERM ends the service cleanly: {status}"
    );

    let server = Server::start(&["--state", state]);
    let again = server.say("chat-restart", "Where is my order #1001?");
    assert_eq!(again["reply"]["reply"], "order_status", "{again}");
    assert!(reply_text(&again).to_lowercase().contains("delivered"));
    // A stranger on the same server still has to prove who they are.
    let stranger = server.say("chat-stranger", "Where is my order #1001?");
    assert_eq!(stranger["reply"]["reply"], "ask_verification");
}

#[test]
fn the_state_can_live_in_postgresql() {
    if std::env::var_os("ORDER_AGENT_SKIP_POSTGRES").is_some() {
        eprintln!(
            "skipped: ORDER_AGENT_SKIP_POSTGRES is set (this test needs PostgreSQL at {})",
            postgres_url()
        );
        return;
    }
    let url = postgres_url();
    let schema = format!("serve_test_{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let server = Server::with_config(
        dir.path(),
        &format!("[state]\npostgres = {{ url = \"{url}\", schema = \"{schema}\" }}\n"),
    );
    assert_eq!(server.get("/healthz").status, 200);
    server.say("chat-pg", "Where is my order #1001?");
    let verified = server.say("chat-pg", "anna.mueller@example.ch, 8008");
    assert_eq!(verified["reply"]["reply"], "order_status", "{verified}");
    assert!(server.stop().success());
    // Best effort: the schema is this test's alone.
    let _ = Command::new("psql")
        .args([
            url.as_str(),
            "-q",
            "-c",
            &format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
        ])
        .output();
}

#[test]
fn sigterm_lets_the_request_in_flight_finish_and_refuses_new_ones() {
    let mut server = Server::start(&["--in-memory"]);
    let body =
        json!({"channel": "web_chat", "sender": "chat-late", "text": "Where is my order #1001?"})
            .to_string();
    let (first, rest) = body.as_bytes().split_at(body.len() / 2);
    let mut stream = TcpStream::connect(&server.address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "POST /api/messages HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        server.address,
        body.len()
    )
    .unwrap();
    stream.write_all(first).unwrap();
    stream.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));

    server.terminate();
    // The listener closes: new connections are refused.
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(&server.address).is_ok() {
        assert!(Instant::now() < deadline, "still accepting connections");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The request that was half sent is still answered.
    stream.write_all(rest).unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    assert!(raw.contains("ask_verification"), "{raw}");
    assert!(server.wait_exit().success());
}

#[test]
fn a_port_in_use_and_an_unreadable_config_are_errors_a_user_can_act_on() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let output = Command::new(env!("CARGO_BIN_EXE_order-agent"))
        .args(["serve", "--in-memory", "--listen", &address])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on `{address}`")),
        "{stderr}"
    );
    assert!(stderr.contains("--listen"), "{stderr}");

    let output = Command::new(env!("CARGO_BIN_EXE_order-agent"))
        .args(["serve", "--config", "/nonexistent/serve.toml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/nonexistent/serve.toml"), "{stderr}");

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("typo.toml");
    std::fs::write(&config, "lisen = \"127.0.0.1:1\"\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_order-agent"))
        .args(["serve", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("lisen"), "{stderr}");

    let output = Command::new(env!("CARGO_BIN_EXE_order-agent"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(
        help.contains("--config") && help.contains("/api/messages"),
        "{help}"
    );
}

#[test]
fn the_scheduled_check_finds_a_silent_parcel_without_any_event() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::with_config(
        dir.path(),
        "check_every_secs = 1\n[state]\nin_memory = true\n",
    );
    // Order #1015's parcel has had no scan for days: only the scheduled check can notice.
    let mut page = String::new();
    for _ in 0..50 {
        std::thread::sleep(std::time::Duration::from_millis(200));
        page = server.get("/staff/escalations").body;
        if page.contains("lost") {
            break;
        }
    }
    assert!(page.contains("#1015"), "{page}");
    assert!(page.contains("lost"), "{page}");
}
