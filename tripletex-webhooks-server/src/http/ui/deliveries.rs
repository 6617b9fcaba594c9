//! The Deliveries page (the delivery log, newest first, filtered and paged)
//! and one message's page (its attempts, each request and answer, and
//! Redeliver). Both update live ([`super::assets`]).

use askama::Template;
use axum::extract::{Path, State};
use tripletex_webhooks_types::EventType;
use tripletex_webhooks_types::emulator::{
    AttemptRecord, DeliveryRecord, DeliveryStatus, MessageRecord,
};

use crate::domain::catalog::catalog;
use crate::http::api::emulator::{delivery_filter, redeliver};
use crate::http::error::ServerError;
use crate::http::extract::QueryParams;
use crate::http::state::AppState;
use crate::http::ui::auth::Viewer;
use crate::http::ui::form::Form;
use crate::http::ui::page::{
    Choice, Chrome, UiError, UiResult, at, choices, ok, pretty_body, query, see_other, span,
};
use crate::http::ui::{HOME, notice};

/// Messages per page.
const PAGE_SIZE: i64 = 25;

/// The statuses a message can be in, for the filter.
const STATUSES: [&str; 4] = ["pending", "delivered", "failed", "superseded"];

/// One message in the list.
struct Row {
    id: i64,
    event: String,
    subscription_id: i64,
    object: String,
    status: String,
    attempts: u32,
    last_answer: String,
    created: String,
    next_attempt: String,
}

impl Row {
    fn of(record: &DeliveryRecord) -> Self {
        let object = match record.object_version {
            Some(version) => format!("{} (v{version})", record.object_id),
            None => record.object_id.to_string(),
        };
        Self {
            id: record.id,
            event: record.event.clone(),
            subscription_id: record.subscription_id,
            object,
            status: record.status.to_string(),
            attempts: record.attempts,
            last_answer: record
                .attempt_log
                .last()
                .map(answer)
                .or_else(|| record.last_error.clone())
                .unwrap_or_default(),
            created: at(record.created_at_ms),
            next_attempt: next_attempt(record),
        }
    }
}

/// What an attempt got: its status code, or what went wrong.
fn answer(attempt: &AttemptRecord) -> String {
    match (attempt.status_code, &attempt.error) {
        (Some(code), _) => code.to_string(),
        (None, Some(error)) => error.clone(),
        (None, None) => String::new(),
    }
}

fn next_attempt(record: &DeliveryRecord) -> String {
    match (&record.status, record.next_attempt_at_ms) {
        (DeliveryStatus::Pending, Some(next)) => at(next),
        _ => String::new(),
    }
}

/// The filter as the form shows it.
struct Filter {
    subscription_id: String,
    event: String,
    object_id: String,
    status: String,
}

/// The Deliveries page.
#[derive(Template)]
#[template(path = "deliveries.html")]
struct DeliveriesPage {
    chrome: Chrome,
    notice: Option<&'static str>,
    error: Option<String>,
    object_id: String,
    subscriptions: Vec<Choice>,
    events: Vec<Choice>,
    statuses: Vec<Choice>,
    rows: Vec<Row>,
    total: i64,
    first: i64,
    last: i64,
    newer: Option<String>,
    older: Option<String>,
}

/// `GET /_emulator/ui/`: the delivery log.
pub(crate) async fn list(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    query_params: QueryParams,
) -> UiResult {
    let raw = |name: &str| query_params.get(name).unwrap_or_default().trim().to_owned();
    let filter = Filter {
        subscription_id: raw("subscriptionId"),
        event: raw("event"),
        object_id: raw("objectId"),
        status: raw("status"),
    };
    let from = query_params
        .get("from")
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(0)
        .max(0);
    let company = caller.company().id;
    let subscriptions = choices(
        state
            .store
            .list_subscriptions(company)
            .await?
            .iter()
            .map(|s| (s.id.to_string(), format!("{}: {}", s.id, s.event))),
        &filter.subscription_id,
    );
    let events = choices(
        catalog()
            .events
            .keys()
            .map(EventType::to_string)
            .map(|e| (e.clone(), e)),
        &filter.event,
    );
    let statuses = choices(
        STATUSES.iter().map(|s| ((*s).to_owned(), (*s).to_owned())),
        &filter.status,
    );
    let (rows, total, error) = match delivery_filter(&query_params) {
        Ok(parsed) => {
            let page = state
                .outbox
                .deliveries(company, &parsed, from, PAGE_SIZE)
                .await?;
            (page.values.iter().map(Row::of).collect(), page.total, None)
        }
        Err(ServerError::Param(message)) => (Vec::new(), 0, Some(message)),
        Err(other) => return Err(UiError::Server(other)),
    };
    let shown = i64::try_from(rows.len()).unwrap_or(0);
    let link = |at: i64| {
        let at = at.to_string();
        format!(
            "{HOME}{}",
            query([
                ("subscriptionId", filter.subscription_id.as_str()),
                ("event", filter.event.as_str()),
                ("objectId", filter.object_id.as_str()),
                ("status", filter.status.as_str()),
                ("from", if at == "0" { "" } else { at.as_str() }),
            ])
        )
    };
    let page = DeliveriesPage {
        chrome: Chrome::new("deliveries", "Deliveries"),
        notice: notice(&query_params),
        error,
        newer: (from > 0).then(|| link((from - PAGE_SIZE).max(0))),
        older: (from + shown < total).then(|| link(from + PAGE_SIZE)),
        first: if shown == 0 { 0 } else { from + 1 },
        last: from + shown,
        object_id: filter.object_id.clone(),
        subscriptions,
        events,
        statuses,
        rows,
        total,
    };
    ok(&page)
}

/// A request or response as the page shows it.
struct Shown {
    headers: Vec<(String, String)>,
    body: String,
    truncated: bool,
}

impl Shown {
    fn of(message: &MessageRecord) -> Self {
        Self {
            headers: message
                .headers
                .iter()
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
            body: pretty_body(&message.body),
            truncated: message.body_truncated,
        }
    }
}

/// One attempt as the page shows it.
struct Attempt {
    number: usize,
    at: String,
    duration: String,
    status_code: Option<u16>,
    error: Option<String>,
    url: Option<String>,
    request: Option<Shown>,
    response_status: Option<u16>,
    response: Option<Shown>,
}

impl Attempt {
    fn of(number: usize, attempt: &AttemptRecord) -> Self {
        let exchange = attempt.exchange.as_ref();
        let request = exchange.and_then(|e| e.request.as_ref());
        let response = exchange.and_then(|e| e.response.as_ref());
        Self {
            number,
            at: at(attempt.attempted_at_ms),
            duration: span(attempt.duration_ms),
            status_code: attempt.status_code,
            error: attempt.error.clone(),
            url: request.map(|r| r.url.clone()),
            request: request.map(|r| Shown::of(&r.message)),
            response_status: response.map(|r| r.status),
            response: response.map(|r| Shown::of(&r.message)),
        }
    }
}

/// One message's page.
#[derive(Template)]
#[template(path = "delivery.html")]
struct DeliveryPage {
    chrome: Chrome,
    notice: Option<&'static str>,
    row: Row,
    idempotency_key: String,
    request_id: String,
    finished: String,
    last_error: String,
    attempts: Vec<Attempt>,
}

/// `GET /_emulator/ui/deliveries/{id}`.
pub(crate) async fn show(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Path(id): Path<i64>,
    query_params: QueryParams,
) -> UiResult {
    let record = state
        .outbox
        .delivery(caller.company().id, id)
        .await?
        .ok_or_else(|| ServerError::NotFound(format!("No delivery {id}.")))?;
    let page = DeliveryPage {
        chrome: Chrome::new("deliveries", format!("Message {id}: {}", record.event)),
        notice: notice(&query_params),
        idempotency_key: record.idempotency_key.clone(),
        request_id: record.request_id.clone().unwrap_or_default(),
        finished: record.finished_at_ms.map(at).unwrap_or_default(),
        last_error: record.last_error.clone().unwrap_or_default(),
        attempts: record
            .attempt_log
            .iter()
            .enumerate()
            .map(|(index, attempt)| Attempt::of(index + 1, attempt))
            .rev()
            .collect(),
        row: Row::of(&record),
    };
    ok(&page)
}

/// `POST /_emulator/ui/deliveries/{id}/redeliver`: the Redeliver button.
pub(crate) async fn send_again(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Path(id): Path<i64>,
    _form: Form,
) -> UiResult {
    let notice = match redeliver(State(state), caller, Path(id)).await {
        Ok(_) => "redelivered",
        Err(ServerError::NotFound(_)) => "not-redeliverable",
        Err(other) => return Err(UiError::Server(other)),
    };
    Ok(see_other(&format!(
        "{HOME}deliveries/{id}{}",
        query([("notice", notice)])
    )))
}
