//! [Zendesk Support](https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/)
//! tickets as the [`Helpdesk`] port, over the REST API with an API token.
//!
//! - [`Helpdesk::open_ticket`]: `GET /api/v2/tickets.json?external_id={key}` first; the oldest
//!   ticket found is the answer, otherwise `POST /api/v2/tickets.json` with `external_id` = key,
//!   the subject, the summary as the first, internal comment, the priority, the reasons as tags
//!   and, when [`ZendeskConfig::order_id_field`] is set, the order id in that custom field.
//!   Zendesk does not enforce unique external ids, so two opens racing with the same key may
//!   open two tickets; the agent opens a key from one worker at a time.
//! - [`Helpdesk::update_ticket`]: `PUT /api/v2/tickets/{id}.json` with the fields that change.
//! - [`Helpdesk::add_note`]: `PUT /api/v2/tickets/{id}.json` with an internal comment.
//! - [`Helpdesk::ticket`]: `GET /api/v2/tickets/{id}.json` and its comments
//!   (`GET /api/v2/tickets/{id}/comments.json`); the notes are the internal comments after the
//!   first (which holds the summary). Zendesk statuses `new` and `open` read as open, `pending`
//!   and `hold` as pending.
//!
//! Ticket ids are Zendesk's numeric ids; another id is unknown without asking. Errors map to
//! kinds in one table (`responses::error`): 429 rate limited with `Retry-After`, 5xx
//! unavailable, 401/403 unauthorized, 404 not found, 409 conflict (retryable: Zendesk asks to
//! retry a clashing update), 422 rejected, other 4xx invalid input.

use std::time::Duration;

use async_trait::async_trait;
use order_agent_core::domain::{Escalation, TicketId};
use order_agent_core::ports::helpdesk::ops;
use order_agent_core::ports::{
    Helpdesk, PortError, PortErrorKind, PortResult, Ticket, TicketNote, TicketUpdate,
};
use secrecy::SecretString;
use serde::Deserialize;

pub mod requests;
mod responses;

use requests::{Method, ZendeskRequest};
use responses::{CommentPage, TicketEnvelope, TicketList, ZendeskTicket};

/// Responses larger than this are refused rather than buffered.
const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// Comment pages read at most for one ticket.
const MAX_COMMENT_PAGES: u32 = 50;

/// How to reach one Zendesk account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZendeskConfig {
    /// The account's API, `https://{subdomain}.zendesk.com`, or a mock.
    pub base_url: String,
    /// The agent the API token belongs to.
    pub email: String,
    /// The API token. Never logged.
    pub api_token: SecretString,
    /// The id of a ticket custom field that holds the order id, if the account has one.
    #[serde(default)]
    pub order_id_field: Option<u64>,
    /// The group new tickets are assigned to; the account's default when absent.
    #[serde(default)]
    pub group_id: Option<u64>,
    /// Gives up on one HTTP request after this many milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_timeout_ms() -> u64 {
    20_000
}

impl ZendeskConfig {
    /// A configuration for the account at `base_url`, authenticating as `email` with
    /// `api_token`.
    pub fn new(
        base_url: impl Into<String>,
        email: impl Into<String>,
        api_token: SecretString,
    ) -> ZendeskConfig {
        ZendeskConfig {
            base_url: base_url.into(),
            email: email.into(),
            api_token,
            order_id_field: None,
            group_id: None,
            timeout_ms: default_timeout_ms(),
        }
    }
}

/// The Zendesk [`Helpdesk`] adapter.
#[derive(Debug, Clone)]
pub struct ZendeskHelpdesk {
    config: ZendeskConfig,
    client: reqwest::Client,
    base_url: String,
}

impl ZendeskHelpdesk {
    /// An adapter for the account `config` describes; nothing is contacted until the first call.
    pub fn new(config: ZendeskConfig) -> PortResult<ZendeskHelpdesk> {
        let timeout = Duration::from_millis(config.timeout_ms);
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| {
                PortError::unexpected("helpdesk.zendesk.config", "cannot build the http client")
                    .with_source(e)
            })?;
        Ok(ZendeskHelpdesk {
            base_url: config.base_url.trim_end_matches('/').to_owned(),
            config,
            client,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ZendeskConfig {
        &self.config
    }

    /// Sends `request`; a 2xx answer's body, or the mapped error.
    async fn call(&self, request: &ZendeskRequest) -> PortResult<Vec<u8>> {
        let op = request.operation;
        let url = format!("{}{}", self.base_url, request.path_and_query);
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
        };
        let mut builder = self
            .client
            .request(method, &url)
            .header("authorization", requests::authorization(&self.config))
            .header("accept", "application/json");
        if let Some(body) = &request.body {
            builder = builder
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let mut response = builder.send().await.map_err(|e| transport_error(op, e))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| transport_error(op, e))? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(PortError::unexpected(op, "response larger than the limit"));
            }
            body.extend_from_slice(&chunk);
        }
        if (200..300).contains(&status) {
            Ok(body)
        } else {
            Err(responses::error(op, status, retry_after, &body))
        }
    }

    /// The ticket with its notes, from an already fetched ticket.
    async fn with_notes(&self, op: &'static str, found: ZendeskTicket) -> PortResult<Ticket> {
        let mut comments = Vec::new();
        for page in 1..=MAX_COMMENT_PAGES {
            let body = self
                .call(&requests::list_comments(op, found.id, page))
                .await?;
            let page: CommentPage = responses::parse(op, &body)?;
            let more = page.next_page.is_some() && !page.comments.is_empty();
            comments.extend(page.comments);
            if !more {
                let notes = comments
                    .into_iter()
                    .skip(1)
                    .filter(|c| !c.public)
                    .map(|c| TicketNote {
                        body: c.body,
                        at: c.created_at,
                    })
                    .collect();
                return found.into_ticket(op, &self.config, notes);
            }
        }
        Err(PortError::unexpected(op, "too many comments to list")
            .with_context("ticket_id", found.id))
    }
}

fn transport_error(op: &'static str, error: reqwest::Error) -> PortError {
    if error.is_timeout() {
        PortError::timeout(op, "no answer in time").with_source(error)
    } else {
        PortError::unavailable(op, "cannot reach the service").with_source(error)
    }
}

/// Zendesk's numeric id behind `id`, or `None` for an id Zendesk cannot have issued.
fn numeric(id: &TicketId) -> Option<u64> {
    id.as_str().parse().ok()
}

#[async_trait]
impl Helpdesk for ZendeskHelpdesk {
    async fn open_ticket(&self, key: &str, escalation: &Escalation) -> PortResult<Ticket> {
        let op = ops::OPEN_TICKET;
        if key.trim().is_empty() {
            return Err(PortError::invalid_input(op, "the ticket key is empty"));
        }
        if escalation.subject.trim().is_empty() {
            return Err(PortError::invalid_input(op, "the ticket subject is empty"));
        }
        let body = self.call(&requests::find_by_external_id(op, key)).await?;
        let found: TicketList = responses::parse(op, &body)?;
        let existing = found
            .tickets
            .into_iter()
            .filter(|t| t.external_id.as_deref() == Some(key))
            .min_by_key(|t| (t.created_at, t.id));
        let ticket = match existing {
            Some(ticket) => ticket,
            None => {
                let body = self
                    .call(&requests::create_ticket(op, &self.config, key, escalation))
                    .await?;
                responses::parse::<TicketEnvelope>(op, &body)?.ticket
            }
        };
        self.with_notes(op, ticket).await
    }

    async fn update_ticket(&self, id: &TicketId, update: &TicketUpdate) -> PortResult<Ticket> {
        let op = ops::UPDATE_TICKET;
        let Some(number) = numeric(id) else {
            return Err(PortError::not_found(op, "no such ticket").with_context("ticket_id", id));
        };
        let request = requests::update_ticket(op, number, update.priority, update.status);
        let body = self
            .call(&request)
            .await
            .map_err(|e| e.with_context("ticket_id", id))?;
        let ticket = responses::parse::<TicketEnvelope>(op, &body)?.ticket;
        self.with_notes(op, ticket).await
    }

    async fn add_note(&self, id: &TicketId, body: &str) -> PortResult<()> {
        let op = ops::ADD_NOTE;
        if body.trim().is_empty() {
            return Err(PortError::invalid_input(op, "the note is empty"));
        }
        let Some(number) = numeric(id) else {
            return Err(PortError::not_found(op, "no such ticket").with_context("ticket_id", id));
        };
        self.call(&requests::add_internal_note(op, number, body))
            .await
            .map_err(|e| e.with_context("ticket_id", id))?;
        Ok(())
    }

    async fn ticket(&self, id: &TicketId) -> PortResult<Option<Ticket>> {
        let op = ops::TICKET;
        let Some(number) = numeric(id) else {
            return Ok(None);
        };
        let body = match self.call(&requests::show_ticket(op, number)).await {
            Ok(body) => body,
            Err(e) if e.kind() == PortErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.with_context("ticket_id", id)),
        };
        let ticket = responses::parse::<TicketEnvelope>(op, &body)?.ticket;
        self.with_notes(op, ticket).await.map(Some)
    }
}
