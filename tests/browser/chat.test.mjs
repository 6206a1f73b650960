// Run with: tests/browser/run.sh (it builds the binary, starts `order-agent serve` and sets
// ORDER_AGENT_URL); or, against a service already running: ORDER_AGENT_URL=http://127.0.0.1:8080
// node --test chat.test.mjs
//
// The customers' web chat and the staff's escalation page in headless Chromium (Debian's
// /usr/bin/chromium, driven by playwright-core; no browser is downloaded).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const baseUrl = process.env.ORDER_AGENT_URL;
const executablePath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const TIMEOUT = 15_000;

let browser;

before(async () => {
  assert.ok(baseUrl, "ORDER_AGENT_URL must name the running service (run.sh sets it)");
  browser = await chromium.launch({
    executablePath,
    headless: true,
    // Root (as in CI) cannot use Chromium's sandbox; the pages are our own, on loopback. The
    // machine's network is closed: no background connections, updates or sync.
    args: [
      "--no-sandbox",
      "--disable-dev-shm-usage",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

after(async () => {
  await browser?.close();
});

/** Types `text` into the chat, sends it and returns the agent's reply that follows. */
async function say(page, text) {
  const replies = page.getByTestId("agent-reply");
  const before = await replies.count();
  await page.getByTestId("message-input").fill(text);
  await page.getByTestId("send-button").click();
  await page.waitForFunction(
    (n) => document.querySelectorAll('[data-testid="agent-reply"], [data-testid="chat-error"]').length > n,
    before,
    { timeout: TIMEOUT },
  );
  assert.equal(await page.getByTestId("chat-error").count(), 0, "the chat shows an error");
  return (await replies.nth(before).textContent()) ?? "";
}

test("the chat answers where is my order after verification, and remembers the sender", async () => {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${baseUrl}/`);
    assert.equal(await page.title(), "Order help");

    const ask = await say(page, "Where is my order #1001?");
    assert.match(ask, /email address and the postcode/i);
    assert.doesNotMatch(ask, /delivered/i, "nothing is revealed before verification");

    const status = await say(page, "anna.mueller@example.ch, 8008");
    assert.match(status, /#1001/);
    assert.match(status, /Status: Delivered/);
    assert.equal(await page.getByTestId("customer-message").count(), 2);

    // The sender id lives in localStorage: after a reload the same conversation goes on, and
    // the verified customer is answered straight away.
    const sender = await page.evaluate(() => window.localStorage.getItem("order-agent-sender"));
    assert.match(sender ?? "", /^web-[0-9a-f]{24}$/);
    await page.reload();
    const again = await say(page, "Where is my order #1001?");
    assert.match(again, /Status: Delivered/);
  } finally {
    await context.close();
  }
});

test("asking for a person puts a ticket on the escalation page, escaped", async () => {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${baseUrl}/`);
    const marker = `browser-${Date.now()}`;
    const handover = await say(
      page,
      `I want to talk to a person ${marker} <img src=x onerror="document.body.dataset.owned=1">`,
    );
    assert.match(handover, /reference: (\S+)\./);
    const reference = handover.match(/reference: (\S+)\./)[1];

    const staff = await context.newPage();
    await staff.goto(`${baseUrl}/staff/escalations`);
    assert.equal(await staff.title(), "Escalations");
    const ticket = staff.locator(`[data-testid="ticket"][data-ticket-id="${reference}"]`);
    await ticket.waitFor({ timeout: TIMEOUT });
    assert.match((await ticket.getByTestId("ticket-subject").textContent()) ?? "", /asks for a person/i);
    assert.match((await ticket.getByTestId("ticket-priority").textContent()) ?? "", /\S/);
    assert.match((await ticket.getByTestId("ticket-reasons").textContent()) ?? "", /handover:customer_request/);
    const summary = (await ticket.getByTestId("ticket-summary").textContent()) ?? "";
    assert.ok(summary.includes(marker), summary);
    // The customer's markup is shown as text, never run.
    assert.ok(summary.includes("<img src=x"), summary);
    assert.equal(await ticket.locator("img").count(), 0);
    assert.equal(await staff.evaluate(() => document.body.dataset.owned ?? null), null);
  } finally {
    await context.close();
  }
});
