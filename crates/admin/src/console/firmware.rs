//! The Firmware page (admins): every policy, setting one (a model's target
//! for the installation, a tenant or one device, with the versions to pass
//! through first), and removing one.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::StatusCode;
use minijinja::context;
use serde::Deserialize;
use touchless_api::firmware as api;
use touchless_domain::{FirmwareVersion, Mac, PolicyScope, TenantId};
use touchless_phones::PhoneModel;

use super::respond::{audit, internal, plain, refusal, render};
use super::session::{NoFields, Posted, Viewer};
use super::ConsoleState;
use crate::admin;

/// The page, with what the last action says and, after a refused form,
/// what was typed.
async fn page(
    st: &ConsoleState,
    v: &Viewer,
    note: &str,
    form: Option<&PolicyForm>,
    status: StatusCode,
) -> Response {
    let policies = match st.admin.store.firmware_policies().await {
        Ok(p) => p,
        Err(e) => return internal(e),
    };
    let tenants = match st.admin.store.list_tenants().await {
        Ok(t) => t
            .into_iter()
            .map(|t| t.id.into_string())
            .collect::<Vec<_>>(),
        Err(e) => return internal(e),
    };
    let policies: Vec<api::Policy> = policies.iter().map(admin::firmware::policy).collect();
    let page = render(
        st,
        "firmware.html",
        context! { ..v.frame("firmware"), ..context! {
            policies => policies, tenants => tenants, note => note,
            form => form.map(|f| context! {
                model => f.model, scope => f.scope, tenant => f.tenant, mac => f.mac,
                version => f.version, image => f.image, steps => f.steps,
            }),
        } },
    );
    (status, page).into_response()
}

pub async fn firmware(State(st): State<Arc<ConsoleState>>, v: Viewer) -> Response {
    if let Err(r) = v.admins_only() {
        return r.into_response();
    }
    page(&st, &v, "", None, StatusCode::OK).await
}

#[derive(Deserialize, Default)]
pub struct PolicyForm {
    #[serde(default)]
    model: String,
    /// `installation`, `tenant` or `device`.
    #[serde(default)]
    scope: String,
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    mac: String,
    #[serde(default)]
    version: String,
    /// A URL or a file name in the firmware directory.
    #[serde(default)]
    image: String,
    /// `VERSION=URL or FILE`, one a line.
    #[serde(default)]
    steps: String,
}

/// The labels the form shows for the API's fields.
const LABELS: &[(&str, &str)] = &[("scope", "For"), ("target", "Image"), ("steps", "Steps")];

/// The form as the API's request, or what is wrong with it in words.
fn request(f: &PolicyForm) -> Result<api::PutPolicy, String> {
    let model = PhoneModel::parse(f.model.trim()).map_err(|e| format!("Model: {e}"))?;
    let scope = PolicyScope::parse(f.scope.trim()).map_err(|e| format!("For: {e}"))?;
    let (tenant, mac) = match scope {
        PolicyScope::Installation => (None, None),
        PolicyScope::Tenant => (
            Some(
                TenantId::parse(f.tenant.trim())
                    .map_err(|_| "For a tenant: choose the tenant.".to_owned())?,
            ),
            None,
        ),
        PolicyScope::Device => (
            None,
            Some(Mac::parse(f.mac.trim()).map_err(|e| format!("Device MAC: {e}"))?),
        ),
    };
    let version =
        FirmwareVersion::parse(f.version.trim()).map_err(|e| format!("Target version: {e}"))?;
    if f.image.trim().is_empty() {
        return Err("Image: give a URL or a file name in the firmware directory.".into());
    }
    let mut steps = Vec::new();
    for line in f.steps.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (v, image) = line
            .split_once('=')
            .ok_or_else(|| format!("Steps: \"{line}\" is not VERSION=URL or VERSION=FILE."))?;
        let v = FirmwareVersion::parse(v.trim()).map_err(|e| format!("Steps: {e}"))?;
        steps.push(api::Stage::of(v, image.trim()));
    }
    Ok(api::PutPolicy {
        scope,
        tenant,
        mac,
        model,
        target: api::Stage::of(version, f.image.trim()),
        steps,
    })
}

pub async fn set(
    State(st): State<Arc<ConsoleState>>,
    Posted(v, f): Posted<PolicyForm>,
) -> Response {
    if let Err(r) = v.admins_only() {
        return r.into_response();
    }
    let new = match request(&f)
        .and_then(|r| admin::firmware::new_policy(r).map_err(|e| refusal(&e, LABELS)))
    {
        Ok(n) => n,
        Err(m) => return page(&st, &v, &m, Some(&f), StatusCode::BAD_REQUEST).await,
    };
    match st.admin.store.put_firmware_policy(&new).await {
        Ok(p) => {
            st.admin.written(false).await;
            let detail = format!("{} → {}", p.model, p.target.version);
            audit(
                &st,
                v.user.name.as_str(),
                None,
                "firmware-set",
                &p.id.to_string(),
                &detail,
            )
            .await;
            Redirect::to("/firmware").into_response()
        }
        Err(touchless_store::StoreError::NotFound { what, key }) => {
            let m = format!("There is no {what} {key}.");
            page(&st, &v, &m, Some(&f), StatusCode::BAD_REQUEST).await
        }
        Err(e) => internal(e),
    }
}

pub async fn remove(
    State(st): State<Arc<ConsoleState>>,
    Path(id): Path<i64>,
    Posted(v, _): Posted<NoFields>,
) -> Response {
    if let Err(r) = v.admins_only() {
        return r.into_response();
    }
    match st.admin.store.delete_firmware_policy(id).await {
        Ok(()) => {
            st.admin.written(false).await;
            audit(
                &st,
                v.user.name.as_str(),
                None,
                "firmware-remove",
                &id.to_string(),
                "",
            )
            .await;
            Redirect::to("/firmware").into_response()
        }
        Err(touchless_store::StoreError::NotFound { .. }) => {
            plain(StatusCode::NOT_FOUND, "There is no such firmware policy.")
        }
        Err(e) => internal(e),
    }
}
