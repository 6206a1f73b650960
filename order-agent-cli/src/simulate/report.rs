//! The HTML report: one self-contained file, charts as inline SVG, no scripts, no external assets.

use std::fmt::Write as _;

use serde_json::Value;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const W: f64 = 720.0;
const H: f64 = 220.0;
const LEFT: f64 = 44.0;
const BOTTOM: f64 = 24.0;

/// Vertical bars, one per day, stacked (automated below, the rest above).
fn stacked_bars(title: &str, series: &[(f64, f64)], labels: (&str, &str)) -> String {
    // Rounded up to a multiple of 4, so the four gridlines fall on whole numbers.
    let max = (series.iter().map(|(a, b)| a + b).fold(1.0_f64, f64::max) / 4.0).ceil() * 4.0;
    let n = series.len().max(1) as f64;
    let slot = (W - LEFT - 8.0) / n;
    let scale = (H - BOTTOM - 12.0) / max;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<figure><figcaption>{}</figcaption><svg viewBox="0 0 {W} {H}" width="100%" role="img" aria-label="{}">"##,
        escape(title),
        escape(title)
    );
    axis(&mut svg, max, "");
    for (i, (a, b)) in series.iter().enumerate() {
        let x = LEFT + slot * i as f64 + slot * 0.15;
        let w = slot * 0.7;
        let ha = a * scale;
        let hb = b * scale;
        let y0 = H - BOTTOM;
        let _ = write!(
            svg,
            r##"<rect x="{x:.1}" y="{:.1}" width="{w:.1}" height="{ha:.1}" fill="#2a9d8f"><title>day {}: {a} {}</title></rect>"##,
            y0 - ha,
            i + 1,
            labels.0
        );
        let _ = write!(
            svg,
            r##"<rect x="{x:.1}" y="{:.1}" width="{w:.1}" height="{hb:.1}" fill="#e76f51"><title>day {}: {b} {}</title></rect>"##,
            y0 - ha - hb,
            i + 1,
            labels.1
        );
    }
    day_labels(&mut svg, series.len(), slot);
    let _ = write!(
        svg,
        r##"</svg><div class="legend"><span class="sw" style="background:#2a9d8f"></span>{}<span class="sw" style="background:#e76f51"></span>{}</div></figure>"##,
        escape(labels.0),
        escape(labels.1)
    );
    svg
}

fn axis(svg: &mut String, max: f64, suffix: &str) {
    let y0 = H - BOTTOM;
    let _ = write!(
        svg,
        r##"<line x1="{LEFT}" y1="{y0}" x2="{W}" y2="{y0}" stroke="#888"/><line x1="{LEFT}" y1="8" x2="{LEFT}" y2="{y0}" stroke="#888"/>"##
    );
    for k in 0..=4 {
        let v = max * f64::from(k) / 4.0;
        let y = y0 - (H - BOTTOM - 12.0) * f64::from(k) / 4.0;
        let text = if suffix.is_empty() {
            format!("{v:.0}")
        } else {
            format!("{:.0}{suffix}", v * 100.0)
        };
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="end" fill="#555">{text}</text><line x1="{LEFT}" y1="{y:.1}" x2="{W}" y2="{y:.1}" stroke="#eee"/>"##,
            LEFT - 4.0,
            y + 3.0
        );
    }
}

fn day_labels(svg: &mut String, n: usize, slot: f64) {
    let every = (n / 10).max(1);
    for i in (0..n).step_by(every) {
        let x = LEFT + slot * (i as f64 + 0.5);
        let _ = write!(
            svg,
            r##"<text x="{x:.1}" y="{:.1}" font-size="10" text-anchor="middle" fill="#555">{}</text>"##,
            H - 8.0,
            i + 1
        );
    }
}

/// A line of rates in 0..=1, one point per day, with a dashed target line.
fn rate_line(title: &str, rates: &[Option<f64>], target: f64) -> String {
    let n = rates.len().max(1) as f64;
    let slot = (W - LEFT - 8.0) / n;
    let span = H - BOTTOM - 12.0;
    let y = |r: f64| H - BOTTOM - span * r;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<figure><figcaption>{}</figcaption><svg viewBox="0 0 {W} {H}" width="100%" role="img" aria-label="{}">"##,
        escape(title),
        escape(title)
    );
    axis(&mut svg, 1.0, "%");
    let _ = write!(
        svg,
        r##"<line x1="{LEFT}" y1="{t:.1}" x2="{W}" y2="{t:.1}" stroke="#264653" stroke-dasharray="4 4"/><text x="{W}" y="{:.1}" font-size="10" text-anchor="end" fill="#264653">target {:.0}%</text>"##,
        y(target) - 3.0,
        target * 100.0,
        t = y(target)
    );
    let points: Vec<String> = rates
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            r.map(|r| format!("{:.1},{:.1}", LEFT + slot * (i as f64 + 0.5), y(r)))
        })
        .collect();
    let _ = write!(
        svg,
        r##"<polyline points="{}" fill="none" stroke="#2a9d8f" stroke-width="2"/>"##,
        points.join(" ")
    );
    for (i, r) in rates.iter().enumerate() {
        if let Some(r) = r {
            let _ = write!(
                svg,
                r##"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="#2a9d8f"><title>day {}: {:.1}%</title></circle>"##,
                LEFT + slot * (i as f64 + 0.5),
                y(*r),
                i + 1,
                r * 100.0
            );
        }
    }
    day_labels(&mut svg, rates.len(), slot);
    svg.push_str("</svg></figure>");
    svg
}

/// Horizontal bars, one per label.
fn horizontal_bars(title: &str, rows: &[(String, u64)]) -> String {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(1).max(1) as f64;
    let row_h = 22.0;
    let label_w = 300.0;
    let height = row_h * rows.len().max(1) as f64 + 10.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<figure><figcaption>{}</figcaption><svg viewBox="0 0 {W} {height}" width="100%" role="img" aria-label="{}">"##,
        escape(title),
        escape(title)
    );
    for (i, (label, count)) in rows.iter().enumerate() {
        let y = 5.0 + row_h * i as f64;
        let w = (W - label_w - 60.0) * (*count as f64) / max;
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="end" fill="#333">{}</text><rect x="{label_w}" y="{y:.1}" width="{w:.1}" height="{:.1}" fill="#e76f51"/><text x="{:.1}" y="{:.1}" font-size="12" fill="#333">{count}</text>"##,
            label_w - 6.0,
            y + 14.0,
            escape(label),
            row_h - 6.0,
            label_w + w + 4.0,
            y + 14.0
        );
    }
    svg.push_str("</svg></figure>");
    svg
}

fn num(v: &Value, path: &[&str]) -> f64 {
    let mut cur = v;
    for key in path {
        cur = &cur[*key];
    }
    cur.as_f64().unwrap_or(0.0)
}

fn money(v: &Value) -> String {
    match v.as_object() {
        Some(map) if !map.is_empty() => map
            .iter()
            .map(|(k, v)| format!("{k} {}", v.as_str().unwrap_or("0")))
            .collect::<Vec<_>>()
            .join(", "),
        _ => "none".to_owned(),
    }
}

/// The report for `figures` (as printed by `--json`).
pub(crate) fn html(figures: &Value) -> String {
    let daily = figures["daily"].as_array().cloned().unwrap_or_default();
    let contacts: Vec<(f64, f64)> = daily
        .iter()
        .map(|d| {
            let total = num(d, &["contacts", "total"]);
            let automated = num(d, &["contacts", "automated"]);
            (automated, total - automated)
        })
        .collect();
    let rates: Vec<Option<f64>> = daily
        .iter()
        .map(|d| {
            let total = num(d, &["contacts", "total"]) + num(d, &["events", "total"]);
            let automated = num(d, &["contacts", "automated"]) + num(d, &["events", "automated"]);
            (total > 0.0).then(|| automated / total)
        })
        .collect();
    let contact_rates: Vec<Option<f64>> = daily
        .iter()
        .map(|d| {
            let total = num(d, &["contacts", "total"]);
            (total > 0.0).then(|| num(d, &["contacts", "automated"]) / total)
        })
        .collect();
    let mut reasons: Vec<(String, u64)> = figures["escalations_by_reason"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default();
    reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));

    let mut topics = String::new();
    if let Some(map) = figures["contacts"]["by_topic"].as_object() {
        for (topic, t) in map {
            let _ = write!(
                topics,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&topic.replace('_', " ")),
                t["total"],
                t["automated"],
                t["escalated"],
                t["abandoned"]
            );
        }
    }
    let table = |value: &Value| {
        let mut rows = String::new();
        if let Some(map) = value.as_object() {
            for (name, t) in map {
                let _ = write!(
                    rows,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(&name.replace('_', " ")),
                    t["total"],
                    t["automated"],
                    t["escalated"]
                );
            }
        }
        rows
    };
    let events = table(&figures["events_by_kind"]);
    let languages = table(&figures["contacts"]["by_language"]);
    let violations = figures["policy_violations"].as_u64().unwrap_or(0);
    let violation_list: String = figures["violations"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str())
                .map(|v| format!("<li>{}</li>", escape(v)))
                .collect()
        })
        .unwrap_or_default();
    let pct = |x: f64| format!("{:.1}%", x * 100.0);
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>order-agent simulation, seed {seed}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 780px; margin: 2em auto; color: #222; padding: 0 1em; }}
h1 {{ font-size: 1.5em; }} h2 {{ font-size: 1.15em; margin-top: 2em; }}
.cards {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 10px; }}
.card {{ border: 1px solid #ddd; border-radius: 6px; padding: 10px; }}
.card b {{ display: block; font-size: 1.4em; }}
.bad b {{ color: #b00020; }} .good b {{ color: #1b7f4b; }}
table {{ border-collapse: collapse; width: 100%; }} td, th {{ border-bottom: 1px solid #eee; padding: 4px 6px; text-align: right; }}
td:first-child, th:first-child {{ text-align: left; }}
figure {{ margin: 1.5em 0; }} figcaption {{ font-weight: 600; margin-bottom: 4px; }}
.legend {{ font-size: 12px; }} .sw {{ display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 12px; }}
small {{ color: #666; }}
</style></head><body>
<h1>A simulated month of a shop through order-agent</h1>
<p>{orders} orders over {days} days ({opd} a day), seed {seed}, policy version <code>{version}</code>. Every contact and
event went through the real agent (built-in understanding, the policy engine, the shell) over in-memory fakes of
every port.</p>
<div class="cards">
<div class="card good"><small>automation rate</small><b>{rate}</b><small>contacts and events without a ticket</small></div>
<div class="card"><small>contacts automated</small><b>{crate_}</b><small>{cauto} of {ctotal} contacts</small></div>
<div class="card {vclass}"><small>policy violations</small><b>{violations}</b><small>{checked} refunds checked</small></div>
<div class="card"><small>support cost saved</small><b>{saved}</b><small>automated contacts × {cost}</small></div>
<div class="card"><small>refunds made</small><b>{made}</b><small>{made_money}</small></div>
<div class="card"><small>held for approval</small><b>{held}</b><small>{held_money}</small></div>
</div>
{contacts_chart}
{rate_chart}
{contact_rate_chart}
{reasons_chart}
<h2>Contacts by topic</h2>
<table><tr><th>topic</th><th>contacts</th><th>automated</th><th>escalated</th><th>abandoned</th></tr>{topics}</table>
<h2>Contacts by language</h2>
<table><tr><th>language</th><th>contacts</th><th>automated</th><th>escalated</th></tr>{languages}</table>
<h2>Events by kind</h2>
<p><small>Routine carrier scans and shipment notices make up most events and need no person; shipping exceptions always
get a ticket, as the policy asks.</small></p>
<table><tr><th>event</th><th>events</th><th>automated</th><th>escalated</th></tr>{events}</table>
<h2>Policy violations</h2>
<p>Every refund was checked against a decision the simulation took itself from the facts it gathered itself, and against the
policy's auto-refund limit (the simulated staff approve nothing): {violations} violation(s).</p>
<ul>{violation_list}</ul>
<h2>How the figures are counted</h2>
<p><small>A contact is automated when the conversation ended with an answer or an action by the agent and no ticket was
opened or joined; escalated when a ticket was opened or joined; abandoned when the customer stopped before that (failed
verification, gave up). Events are every carrier, OMS and warehouse event handed to the agent, plus every scheduled check
that found an exception; an event is escalated when it opened a new ticket. Support cost saved counts automated contacts
only.</small></p>
</body></html>
"##,
        seed = figures["seed"],
        orders = figures["orders"],
        days = figures["days"],
        opd = figures["orders_per_day"],
        version = escape(figures["policy_version"].as_str().unwrap_or("")),
        rate = pct(num(figures, &["automation_rate"])),
        crate_ = pct(num(figures, &["contact_automation_rate"])),
        cauto = figures["contacts"]["automated"],
        ctotal = figures["contacts"]["total"],
        vclass = if violations == 0 { "good" } else { "bad" },
        checked = figures["refunds_checked"],
        saved = money(&figures["support_cost_saved"]),
        cost = money(&figures["cost_per_ticket"]),
        made = figures["refunds_made"]["count"],
        made_money = money(&figures["refunds_made"]["money"]),
        held = figures["refunds_held"]["count"],
        held_money = money(&figures["refunds_held"]["money"]),
        contacts_chart = stacked_bars(
            "Contacts per day",
            &contacts,
            ("automated", "escalated or abandoned")
        ),
        rate_chart = rate_line("Automation rate per day (contacts and events)", &rates, 0.7),
        contact_rate_chart = rate_line("Contact automation rate per day", &contact_rates, 0.7),
        reasons_chart = horizontal_bars("Escalations by reason (tickets)", &reasons),
        languages = languages,
        events = events,
    );
    out
}
