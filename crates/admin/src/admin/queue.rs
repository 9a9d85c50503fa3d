//! The event queue in the admin API: register, deregister and remove a
//! selection of devices, and watch and retry the events.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use http::StatusCode;
use touchless_api::daemon as api;
use touchless_api::Echo;
use touchless_domain::Mac;
use touchless_store::{Action, EventState, StoreError};

use super::extract::{ApiError, ApiJson, ApiQuery, ApiResult};
use super::state::AdminState;
use super::view;

/// The MACs a [`api::Selection`] names: a list, a tenant's or all.
async fn select(st: &AdminState, sel: api::Selection) -> ApiResult<Vec<Mac>> {
    match (sel.macs, sel.tenant, sel.all.unwrap_or(false)) {
        (Some(m), None, false) if !m.is_empty() => Ok(m),
        (None, Some(t), false) => {
            if st.store.get_tenant(&t).await?.is_none() {
                return Err(StoreError::not_found("tenant", t).into());
            }
            Ok(st.store.device_macs(Some(&t)).await?)
        }
        (None, None, true) => Ok(st.store.device_macs(None).await?),
        _ => Err(ApiError::field(
            "body",
            Echo::Null,
            "give exactly one of: macs (a non-empty list), tenant, all: true",
        )),
    }
}

fn no_force(sel: &api::Selection) -> ApiResult<()> {
    match sel.force {
        Some(f) => Err(ApiError::field(
            "force",
            Echo::Bool(f),
            "force applies to POST /devices/remove only",
        )),
        None => Ok(()),
    }
}

/// Commits one event per device (and its fresh credentials) before answering 202.
async fn enqueue(
    st: &AdminState,
    action: Action,
    sel: api::Selection,
) -> ApiResult<(StatusCode, Json<api::Queued>)> {
    no_force(&sel)?;
    let macs = select(st, sel).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(enqueue_macs(st, action, &macs).await?),
    ))
}

/// `POST /devices/{mac}/rotate`: new `/prov` credentials for the device, and
/// a register that pushes new ztprov credentials to its provider. The old
/// ones stop working at once; the phone fetches the new ones through the
/// redirection service after a factory reset (a stolen or re-deployed
/// phone's credentials are worth nothing after this).
#[utoipa::path(post, path = "/devices/{mac}/rotate", tag = "queue", params(("mac" = String, Path, description = "the MAC, 12 hex digits (separators allowed)")), responses((status = 202, description = "new credentials issued and a registration queued", body = api::Queued)))]
pub(super) async fn rotate(
    State(st): State<Arc<AdminState>>,
    Path(mac): Path<String>,
) -> ApiResult<(StatusCode, Json<api::Queued>)> {
    let mac = super::extract::path_mac(&mac)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(rotate_credentials(&st, mac).await?),
    ))
}

pub(crate) async fn rotate_credentials(st: &AdminState, mac: Mac) -> ApiResult<api::Queued> {
    let patch = touchless_store::DevicePatch {
        prov: Some((
            touchless_domain::ProvUser::parse(&format!(
                "pv{}",
                touchless_runtime::secret::random_token(12)
            ))
            .expect("generated user is valid"),
            touchless_domain::ProvPassword::parse(&touchless_runtime::secret::random_token(20))
                .expect("generated password is valid"),
        )),
        ..touchless_store::DevicePatch::default()
    };
    st.store.update_device(mac, &patch).await?;
    tracing::info!(%mac, "device credentials rotated");
    enqueue_macs(st, Action::Register, &[mac]).await
}

/// One event per device, with fresh credentials, committed; the console's
/// Register and Deregister buttons come here too.
pub(crate) async fn enqueue_macs(
    st: &AdminState,
    action: Action,
    macs: &[Mac],
) -> ApiResult<api::Queued> {
    let items: Vec<_> = macs.iter().map(|m| st.issue_ztprov(*m)).collect();
    let hold = st.dir.hold_reloads().await;
    let events = st.store.enqueue(action, &items).await?;
    st.queued(hold, action, &items).await;
    tracing::info!(
        count = events.len(),
        action = action.as_str(),
        "events queued"
    );
    Ok(api::Queued {
        queued: events.len(),
        events,
    })
}

#[utoipa::path(post, path = "/devices/register", tag = "queue", request_body = api::Selection, responses((status = 202, description = "registrations queued", body = api::Queued)))]
pub(super) async fn register(
    State(st): State<Arc<AdminState>>,
    ApiJson(sel): ApiJson<api::Selection>,
) -> ApiResult<(StatusCode, Json<api::Queued>)> {
    enqueue(&st, Action::Register, sel).await
}

#[utoipa::path(post, path = "/devices/deregister", tag = "queue", request_body = api::Selection, responses((status = 202, description = "deregistrations queued", body = api::Queued)))]
pub(super) async fn deregister(
    State(st): State<Arc<AdminState>>,
    ApiJson(sel): ApiJson<api::Selection>,
) -> ApiResult<(StatusCode, Json<api::Queued>)> {
    enqueue(&st, Action::Deregister, sel).await
}

/// `POST /devices/remove`: the selection of register, plus `force`.
#[utoipa::path(post, path = "/devices/remove", tag = "queue", request_body = api::Selection, responses((status = 200, description = "deleted at once", body = api::Removed), (status = 202, description = "deregistrations queued first", body = api::Removed)))]
pub(super) async fn remove_selected(
    State(st): State<Arc<AdminState>>,
    ApiJson(sel): ApiJson<api::Selection>,
) -> ApiResult<(StatusCode, Json<api::Removed>)> {
    let force = sel.force.unwrap_or(false);
    let macs = select(&st, sel).await?;
    remove(&st, &macs, force).await
}

/// Removes devices. One that was never registered at a provider goes at once.
/// One that may be is deregistered first (the event is committed before this
/// answers) and goes when the provider has let it go, so no phone is left
/// pointed at us with credentials that no longer exist. `force` removes every
/// one at once and names those left behind at their provider.
pub(crate) async fn remove(
    st: &AdminState,
    macs: &[Mac],
    force: bool,
) -> ApiResult<(StatusCode, Json<api::Removed>)> {
    let mut now = Vec::new();
    let mut left = Vec::new();
    let mut later = Vec::new();
    for (mac, maybe_registered) in st.store.may_be_registered(macs).await? {
        match (maybe_registered, force) {
            (false, _) => now.push(mac),
            (true, true) => {
                now.push(mac);
                left.push(mac);
            }
            (true, false) => later.push(mac),
        }
    }
    st.store.delete_devices(&now).await?;
    let mut events = Vec::new();
    if later.is_empty() {
        st.written(false).await;
    } else {
        // Marking is a quiet write (the view does not show it), so the
        // queueing is the one change the view applies unread.
        st.store.mark_removing(&later).await?;
        events = enqueue_macs(st, Action::Deregister, &later).await?.events;
    }
    if !left.is_empty() {
        tracing::warn!(
            count = left.len(),
            "devices removed by force; they may still be registered at their provider"
        );
    }
    tracing::info!(
        removed = now.len(),
        deregistering = later.len(),
        "devices removed"
    );
    let status = if later.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((
        status,
        Json(api::Removed {
            removed: now,
            deregistering: later,
            events,
            left_at_provider: left,
        }),
    ))
}

#[utoipa::path(get, path = "/events", tag = "queue", params(api::EventsQuery), responses((status = 200, description = "events, newest first", body = Vec<api::Event>)))]
pub(super) async fn list_events(
    State(st): State<Arc<AdminState>>,
    ApiQuery(q): ApiQuery<api::EventsQuery>,
) -> ApiResult<Json<Vec<api::Event>>> {
    let state = q
        .state
        .as_deref()
        .map(|s| {
            EventState::parse(s).ok_or_else(|| {
                ApiError::field("state", s, "expected pending, running, done or failed")
            })
        })
        .transpose()?;
    let es = st
        .store
        .list_events(state, q.limit.unwrap_or(100).clamp(1, 10_000))
        .await?;
    Ok(Json(es.into_iter().map(view::event).collect()))
}

/// Counts per state: what an admin (or `phone storm`) watches while a queue drains.
#[utoipa::path(get, path = "/events/summary", tag = "queue", responses((status = 200, description = "events per state", body = api::EventSummary)))]
pub(super) async fn event_summary(
    State(st): State<Arc<AdminState>>,
) -> ApiResult<Json<api::EventSummary>> {
    let mut out = api::EventSummary::default();
    for (state, n) in st.store.event_counts().await? {
        let slot = match state {
            EventState::Pending => &mut out.pending,
            EventState::Running => &mut out.running,
            EventState::Done => &mut out.done,
            EventState::Failed => &mut out.failed,
        };
        *slot = n;
    }
    Ok(Json(out))
}

#[utoipa::path(post, path = "/events/{id}/retry", tag = "queue", params(("id" = i64, Path, description = "event id")), responses((status = 200, description = "the event, pending again", body = api::Event)))]
pub(super) async fn retry_event(
    State(st): State<Arc<AdminState>>,
    Path(id): Path<i64>,
) -> ApiResult<Json<api::Event>> {
    let e = st.store.retry_event(id).await?;
    st.written(true).await;
    Ok(Json(view::event(e)))
}
