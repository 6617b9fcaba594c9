//! The dashboard at `/_emulator/ui/`: server-rendered pages (askama
//! templates compiled into the binary) over the delivery log, subscriptions,
//! objects, the event catalogue and the clock, with one small script of our
//! own for live updates. It is part of the emulator API: the same
//! credentials sign in, and `--no-emulator-api` turns both off.
//!
//! Every page takes a [`auth::Viewer`] (signed in, or sent to the sign-in
//! page); every form posts a [`form::Form`] (refused from other origins);
//! changes go through the API's own handlers.

use axum::Router;
use axum::response::Redirect;
use axum::routing::{get, post};

use crate::http::extract::QueryParams;
use crate::http::state::AppState;

mod assets;
pub(crate) mod auth;
mod clock;
mod deliveries;
mod events;
mod form;
mod objects;
pub(crate) mod page;
pub(crate) mod session;
mod subscriptions;

/// The dashboard's home (the Deliveries page).
pub(crate) const HOME: &str = "/_emulator/ui/";

/// The routes of the dashboard.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/_emulator/ui", get(|| async { Redirect::permanent(HOME) }))
        .route("/_emulator/ui/", get(deliveries::list))
        .route("/_emulator/ui/login", get(auth::show).post(auth::sign_in))
        .route("/_emulator/ui/logout", post(auth::sign_out))
        .route("/_emulator/ui/deliveries/{id}", get(deliveries::show))
        .route(
            "/_emulator/ui/deliveries/{id}/redeliver",
            post(deliveries::send_again),
        )
        .route(
            "/_emulator/ui/subscriptions",
            get(subscriptions::list).post(subscriptions::add),
        )
        .route(
            "/_emulator/ui/subscriptions/{id}/status",
            post(subscriptions::set_status),
        )
        .route("/_emulator/ui/objects", get(objects::index))
        .route("/_emulator/ui/objects/{*rest}", get(objects::show))
        .route("/_emulator/ui/events", get(events::index))
        .route(
            "/_emulator/ui/events/{event}",
            get(events::show).post(events::trigger),
        )
        .route("/_emulator/ui/clock", get(clock::show).post(clock::move_on))
        .route("/_emulator/ui/assets/dashboard.css", get(assets::css))
        .route("/_emulator/ui/assets/live.js", get(assets::live_js))
}

/// The message a page shows after a form sent it there (`?notice=`): only
/// these fixed sentences, never text from the request.
pub(crate) fn notice(query: &QueryParams) -> Option<&'static str> {
    Some(match query.get("notice")? {
        "redelivered" => "Queued for delivery again.",
        "not-redeliverable" => "This message cannot be sent again.",
        "triggered" => "Event emitted; its deliveries appear below.",
        "created" => "Subscription created.",
        "enabled" => "Subscription re-enabled.",
        "disabled" => "Subscription disabled.",
        "advanced" => "Clock advanced; retries that became due run now.",
        _ => return None,
    })
}
