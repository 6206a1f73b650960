//! The HTTP routes.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use order_agent_core::agent::{ActionTaken, AgentError};
use order_agent_core::domain::Channel;
use order_agent_core::flows::events::Event;
use order_agent_core::replies::Reply;
use serde::Deserialize;
use serde_json::json;

use crate::input::wire_name;

use super::pages::{escalations_page, CHAT_PAGE};
use super::signature::{verify, SIGNATURE_HEADER};
use super::AppState;

/// The largest message request body, in bytes.
const MAX_MESSAGE_BODY: usize = 16 * 1024;
/// The longest message text, in characters.
const MAX_TEXT_CHARS: usize = 4_000;
/// The longest sender id, in characters.
const MAX_SENDER_CHARS: usize = 200;
/// The largest webhook body, in bytes.
const MAX_WEBHOOK_BODY: usize = 1024 * 1024;

/// Every route, with request metrics around them.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(chat_page))
        .route(
            "/api/messages",
            post(message).layer(DefaultBodyLimit::max(MAX_MESSAGE_BODY)),
        )
        .route("/staff/escalations", get(escalations))
        .route(
            "/webhooks/{source}",
            post(webhook).layer(DefaultBodyLimit::max(MAX_WEBHOOK_BODY)),
        )
        .route(
            "/webhooks/vendor/{vendor}",
            post(super::vendor_hooks::vendor_webhook)
                .layer(DefaultBodyLimit::max(super::vendor_hooks::MAX_VENDOR_BODY)),
        )
        .route("/healthz", get(health))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), track))
        .with_state(state)
}

/// A JSON error: `{"error": "...", "code": "..."}`.
fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": message.into(), "code": code}))).into_response()
}

fn body_error(rejection: &BytesRejection, limit: usize) -> Response {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the body is larger than {limit} bytes"),
        )
    } else {
        error(rejection.status(), "bad_body", rejection.body_text())
    }
}

async fn track(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let response = next.run(request).await;
    state.metrics.request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// The chat page may run its own inline script and call this origin, nothing else.
const CHAT_CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; \
                        style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; \
                        form-action 'none'; frame-ancestors 'none'";
/// The staff page runs no script at all: even text that escaped escaping could not execute.
const STAFF_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; \
                         form-action 'none'; frame-ancestors 'none'";

async fn chat_page() -> Response {
    (
        [
            (header::CONTENT_SECURITY_POLICY, CHAT_CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        Html(CHAT_PAGE),
    )
        .into_response()
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

/// `POST /api/messages`.
#[derive(Debug, Deserialize)]
struct MessageRequest {
    channel: String,
    sender: String,
    text: String,
}

async fn message(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return body_error(&rejection, MAX_MESSAGE_BODY),
    };
    let request: MessageRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "bad_json",
                format!(
                    "expected {{\"channel\": \"web_chat\", \"sender\": \"...\", \"text\": \"...\"}}: {e}"
                ),
            )
        }
    };
    let Ok(channel) =
        serde_json::from_value::<Channel>(serde_json::Value::String(request.channel.clone()))
    else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_channel",
            format!(
                "unknown channel `{}`; expected one of `web_chat`, `email`, `whatsapp`, `sms`",
                request.channel
            ),
        );
    };
    let sender = request.sender.trim();
    if sender.is_empty() || sender.chars().count() > MAX_SENDER_CHARS {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_sender",
            format!("`sender` must be 1 to {MAX_SENDER_CHARS} characters"),
        );
    }
    let text = request.text.trim();
    if text.is_empty() || text.chars().count() > MAX_TEXT_CHARS {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_text",
            format!("`text` must be 1 to {MAX_TEXT_CHARS} characters"),
        );
    }
    match state.agent.handle_message(channel, sender, text).await {
        Ok(turn) => {
            let intent = turn.intent.as_ref().map(wire_name);
            state.metrics.message(intent.as_deref());
            let tickets = turn
                .actions
                .iter()
                .filter(|a| matches!(a, ActionTaken::TicketOpened { .. }))
                .count();
            if tickets > 0 {
                let reason = match &turn.reply {
                    Reply::HandedToHuman { topic, .. } => wire_name(topic),
                    _ => intent.unwrap_or_else(|| "not_understood".to_owned()),
                };
                for _ in 0..tickets {
                    state.metrics.escalation("message", &reason);
                }
            }
            Json(turn).into_response()
        }
        Err(e) => {
            state.metrics.message_failed();
            agent_error(&e)
        }
    }
}

fn agent_error(e: &AgentError) -> Response {
    match e {
        AgentError::Conflict(_) => error(
            StatusCode::CONFLICT,
            "conflict",
            "the conversation changed at the same time; send the message again",
        ),
        _ => {
            eprintln!("order-agent serve: {e}");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the agent's state store is unavailable; try again shortly",
            )
        }
    }
}

async fn escalations(State(state): State<Arc<AppState>>) -> Response {
    (
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::CONTENT_SECURITY_POLICY, STAFF_CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        Html(escalations_page(&state.helpdesk.tickets())),
    )
        .into_response()
}

/// `POST /webhooks/{source}`: a signed event, accepted into the durable queue.
async fn webhook(
    State(state): State<Arc<AppState>>,
    Path(source): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            state.metrics.webhook_rejected("body");
            return body_error(&rejection, MAX_WEBHOOK_BODY);
        }
    };
    let signature = headers.get(SIGNATURE_HEADER).map(|v| v.as_bytes());
    if let Err(why) = verify(&state.webhook_secrets, signature, &body) {
        state.metrics.webhook_rejected("signature");
        return error(StatusCode::UNAUTHORIZED, "bad_signature", why.message());
    }
    let event: Event = match serde_json::from_slice(&body) {
        Ok(event) => event,
        Err(e) => {
            state.metrics.webhook_rejected("malformed");
            return error(
                StatusCode::BAD_REQUEST,
                "bad_event",
                format!("the body is not an event: {e}"),
            );
        }
    };
    let matches_source = event.source == source || event.source.starts_with(&format!("{source}:"));
    if !matches_source {
        state.metrics.webhook_rejected("source");
        return error(
            StatusCode::BAD_REQUEST,
            "source_mismatch",
            format!(
                "the event's source `{}` does not belong to `/webhooks/{source}`",
                event.source
            ),
        );
    }
    match state.accepter.accept(event).await {
        Ok(new) => {
            state.metrics.event_accepted(new);
            Json(json!({"accepted": new})).into_response()
        }
        Err(e) => agent_error(&e),
    }
}

async fn health(State(state): State<Arc<AppState>>) -> Response {
    let ports = state.agent.ports();
    match ports.store.queue_stats(ports.clock.now()).await {
        Ok(_) => Json(json!({"status": "ok"})).into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "error": format!("state store: {e}")})),
        )
            .into_response(),
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let ports = state.agent.ports();
    let queue = ports.store.queue_stats(ports.clock.now()).await.ok();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(queue.as_ref()),
    )
        .into_response()
}
