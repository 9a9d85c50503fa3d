//! The event queue in the console: events filtered by state, and Retry for
//! a failed one. A tenant admin sees the events of their tenant's devices.

use std::collections::HashSet;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::StatusCode;
use minijinja::context;
use serde::Deserialize;
use touchless_store::EventState;

use super::respond::{audit, internal, plain, render};
use super::session::{NoFields, Posted, Viewer};
use super::ConsoleState;
use crate::admin;

#[derive(Deserialize, Default)]
pub struct EventsQuery {
    #[serde(default)]
    state: String,
}

pub async fn events(
    State(st): State<Arc<ConsoleState>>,
    v: Viewer,
    Query(q): Query<EventsQuery>,
) -> Response {
    let state = match q.state.trim() {
        "" => None,
        s => match EventState::parse(s) {
            Some(s) => Some(s),
            None => {
                return plain(
                    StatusCode::BAD_REQUEST,
                    &format!("The filter state = \"{s}\" is not one this list knows."),
                )
            }
        },
    };
    let mut list = match st.admin.store.list_events(state, 200).await {
        Ok(l) => l,
        Err(e) => return internal(e),
    };
    if !v.is_admin() {
        let macs: Vec<_> = list.iter().map(|e| e.mac).collect();
        let theirs: HashSet<_> = match st.admin.store.get_devices(&macs).await {
            Ok(ds) => ds
                .into_iter()
                .filter(|d| v.sees(&d.tenant))
                .map(|d| d.mac)
                .collect(),
            Err(e) => return internal(e),
        };
        list.retain(|e| theirs.contains(&e.mac));
    }
    let rows: Vec<_> = list.into_iter().map(admin::view::event).collect();
    render(
        &st,
        "events.html",
        context! {
            ..v.frame("events"),
            ..context! { events => rows, state => q.state.trim(), states => ["pending", "running", "done", "failed"] }
        },
    )
}

pub async fn retry(
    State(st): State<Arc<ConsoleState>>,
    Path(id): Path<i64>,
    Posted(v, _): Posted<NoFields>,
) -> Response {
    let not_found = || plain(StatusCode::NOT_FOUND, "There is no such event.");
    let ev = match st.admin.store.get_event(id).await {
        Ok(Some(e)) => e,
        Ok(None) => return not_found(),
        Err(e) => return internal(e),
    };
    if !v.is_admin() {
        match st.admin.store.get_device(ev.mac).await {
            Ok(Some(d)) if v.sees(&d.tenant) => {}
            Ok(_) => return not_found(),
            Err(e) => return internal(e),
        }
    }
    match st.admin.store.retry_event(id).await {
        Ok(_) => {
            st.admin.written(true).await;
            audit(
                &st,
                v.user.name.as_str(),
                v.user.tenant.clone(),
                "event-retry",
                &id.to_string(),
                &ev.mac.to_string(),
            )
            .await;
            Redirect::to("/events?state=failed").into_response()
        }
        Err(touchless_store::StoreError::Conflict(m)) => plain(StatusCode::CONFLICT, &m),
        Err(e) => internal(e),
    }
}
