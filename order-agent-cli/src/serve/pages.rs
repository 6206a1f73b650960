//! The two HTML pages: the customers' web chat and the staff's escalation queue. Both are
//! self-contained (no external assets); customer text is escaped everywhere.

use std::fmt::Write as _;

use order_agent_core::ports::Ticket;

use crate::input::wire_name;

/// The web chat: a message list, an input and a send button, talking to `POST /api/messages`.
/// The sender id is kept in `localStorage`, so a reload continues the conversation. Replies are
/// inserted with `textContent`, never as HTML.
pub(crate) const CHAT_PAGE: &str = r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Order help</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0; background: #f4f4f5; color: #18181b; }
  main { max-width: 40rem; margin: 0 auto; padding: 1rem; display: flex; flex-direction: column; height: 100vh; box-sizing: border-box; }
  h1 { font-size: 1.2rem; margin: 0 0 .5rem; }
  #messages { flex: 1; overflow-y: auto; list-style: none; padding: 0; margin: 0 0 .75rem; }
  #messages li { margin: .4rem 0; padding: .5rem .75rem; border-radius: .6rem; white-space: pre-wrap; max-width: 85%; }
  #messages li.customer { background: #2563eb; color: #fff; margin-left: auto; }
  #messages li.agent { background: #fff; border: 1px solid #e4e4e7; }
  #messages li.error { background: #fee2e2; border: 1px solid #fca5a5; }
  form { display: flex; gap: .5rem; }
  #message-input { flex: 1; padding: .6rem; font-size: 1rem; border: 1px solid #d4d4d8; border-radius: .4rem; }
  #send-button { padding: .6rem 1rem; font-size: 1rem; border: 0; border-radius: .4rem; background: #2563eb; color: #fff; cursor: pointer; }
  #send-button:disabled { background: #93c5fd; }
  small { color: #71717a; }
</style>
</head>
<body>
<main>
  <h1>Questions about your order?</h1>
  <small>Ask where your order is, return an item, or ask for a person.</small>
  <ul id="messages" data-testid="messages" aria-live="polite"></ul>
  <form id="chat-form" data-testid="chat-form">
    <input id="message-input" data-testid="message-input" name="text" autocomplete="off"
           maxlength="2000" placeholder="Where is my order #1001?" aria-label="Your message" required>
    <button id="send-button" data-testid="send-button" type="submit">Send</button>
  </form>
</main>
<script>
(function () {
  "use strict";
  var KEY = "order-agent-sender";
  var sender = null;
  try { sender = window.localStorage.getItem(KEY); } catch (e) { sender = null; }
  if (!sender) {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    sender = "web-" + Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
    try { window.localStorage.setItem(KEY, sender); } catch (e) { /* private mode: per page */ }
  }
  var list = document.getElementById("messages");
  var form = document.getElementById("chat-form");
  var input = document.getElementById("message-input");
  var button = document.getElementById("send-button");
  function add(kind, text) {
    var item = document.createElement("li");
    item.className = kind;
    item.setAttribute("data-testid", kind === "customer" ? "customer-message" : (kind === "agent" ? "agent-reply" : "chat-error"));
    item.textContent = text;
    list.appendChild(item);
    list.scrollTop = list.scrollHeight;
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) { return; }
    add("customer", text);
    input.value = "";
    button.disabled = true;
    fetch("/api/messages", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ channel: "web_chat", sender: sender, text: text })
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (result) {
      if (result.ok) {
        add("agent", result.body.rendered.body);
      } else {
        add("error", (result.body && result.body.error) || "Something went wrong; please try again.");
      }
    }).catch(function () {
      add("error", "The service cannot be reached; please try again.");
    }).then(function () {
      button.disabled = false;
      input.focus();
    });
  });
}());
</script>
</body>
</html>
"##;

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The staff's read-only escalation queue: every ticket, newest first, with its priority,
/// subject, status, the agent's reasons and summary.
pub(crate) fn escalations_page(tickets: &[Ticket]) -> String {
    let mut out = String::from(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Escalations</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #18181b; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; vertical-align: top; padding: .5rem; border-bottom: 1px solid #e4e4e7; }
  td.summary { white-space: pre-wrap; }
  .priority-urgent { color: #b91c1c; font-weight: bold; }
  .priority-high { color: #c2410c; font-weight: bold; }
  code { background: #f4f4f5; padding: 0 .2rem; }
</style>
</head>
<body>
<h1>Escalation queue</h1>
"#,
    );
    let _ = writeln!(
        out,
        "<p data-testid=\"ticket-count\">{} ticket(s), newest first. Read-only: work them in the helpdesk.</p>",
        tickets.len()
    );
    if tickets.is_empty() {
        out.push_str("<p data-testid=\"no-tickets\">No tickets.</p>\n");
    } else {
        out.push_str(
            "<table data-testid=\"tickets\">\n<thead><tr><th>Ticket</th><th>Priority</th>\
             <th>Status</th><th>Opened</th><th>Order</th><th>Subject</th><th>Reasons</th>\
             <th>Summary</th></tr></thead>\n<tbody>\n",
        );
        for ticket in tickets.iter().rev() {
            let e = &ticket.escalation;
            let priority = escape(&wire_name(&e.priority));
            let reasons: Vec<String> = e
                .reasons
                .iter()
                .map(|r| format!("<code>{}</code>", escape(r)))
                .collect();
            let _ = writeln!(
                out,
                "<tr data-testid=\"ticket\" data-ticket-id=\"{id}\">\
                 <td>{id}</td>\
                 <td class=\"priority-{priority}\" data-testid=\"ticket-priority\">{priority}</td>\
                 <td>{status}</td>\
                 <td>{opened}</td>\
                 <td>{order}</td>\
                 <td data-testid=\"ticket-subject\">{subject}</td>\
                 <td data-testid=\"ticket-reasons\">{reasons}</td>\
                 <td class=\"summary\" data-testid=\"ticket-summary\">{summary}</td></tr>",
                id = escape(ticket.id.as_str()),
                status = escape(&wire_name(&ticket.status)),
                opened = escape(&ticket.created_at.format("%Y-%m-%d %H:%M UTC").to_string()),
                order = escape(e.order_id.as_ref().map(|o| o.as_str()).unwrap_or("")),
                subject = escape(&e.subject),
                reasons = reasons.join(" "),
                summary = escape(&e.summary),
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }

    #[test]
    fn an_empty_queue_says_so() {
        let page = escalations_page(&[]);
        assert!(page.contains("No tickets."));
        assert!(page.contains("0 ticket(s)"));
    }

    #[test]
    fn the_chat_page_has_the_ids_the_browser_test_uses() {
        for id in [
            "data-testid=\"messages\"",
            "data-testid=\"message-input\"",
            "data-testid=\"send-button\"",
            "localStorage",
        ] {
            assert!(CHAT_PAGE.contains(id), "{id}");
        }
        assert!(!CHAT_PAGE.contains("innerHTML"));
        assert!(!CHAT_PAGE.contains("http://") && !CHAT_PAGE.contains("https://"));
    }
}
