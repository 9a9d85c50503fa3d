//! Firmware policies in the admin API (`/firmware/policies`), and where a
//! device stands against its policy, for every device answer.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use http::StatusCode;
use touchless_api::firmware as api;
use touchless_domain::{FirmwareImage, PolicyScope};
use touchless_provisioning::firmware::Plans;
use touchless_store as store;
use touchless_store::{FirmwareStage, NewFirmwarePolicy, PolicyTarget};

use super::extract::{ApiError, ApiJson, ApiResult};
use super::state::AdminState;

#[utoipa::path(get, path = "/firmware/policies", tag = "firmware", responses((status = 200, description = "every firmware policy, by model and scope", body = Vec<api::Policy>)))]
pub(super) async fn list_policies(
    State(st): State<Arc<AdminState>>,
) -> ApiResult<Json<Vec<api::Policy>>> {
    let ps = st.store.firmware_policies().await?;
    Ok(Json(ps.iter().map(policy).collect()))
}

#[utoipa::path(put, path = "/firmware/policies", tag = "firmware", request_body = api::PutPolicy, responses((status = 200, description = "the policy of that scope and model, created or replaced", body = api::Policy)))]
pub(super) async fn put_policy(
    State(st): State<Arc<AdminState>>,
    ApiJson(req): ApiJson<api::PutPolicy>,
) -> ApiResult<Json<api::Policy>> {
    let p = st.store.put_firmware_policy(&new_policy(req)?).await?;
    st.written(false).await;
    tracing::info!(policy = p.id, model = %p.model, scope = %p.applies_to.scope(), target = %p.target.version, "firmware policy set");
    Ok(Json(policy(&p)))
}

#[utoipa::path(delete, path = "/firmware/policies/{id}", tag = "firmware", params(("id" = i64, Path, description = "the policy's id")), responses((status = 204, description = "removed: its phones get no firmware instruction from it")))]
pub(super) async fn delete_policy(
    State(st): State<Arc<AdminState>>,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    st.store.delete_firmware_policy(id).await?;
    st.written(false).await;
    tracing::info!(policy = id, "firmware policy removed");
    Ok(StatusCode::NO_CONTENT)
}

/// A request's policy, checked: the scope names its target, each stage one
/// image.
pub(crate) fn new_policy(r: api::PutPolicy) -> ApiResult<NewFirmwarePolicy> {
    let applies_to = match (r.scope, r.tenant, r.mac) {
        (PolicyScope::Installation, None, None) => PolicyTarget::Installation,
        (PolicyScope::Tenant, Some(t), None) => PolicyTarget::Tenant(t),
        (PolicyScope::Device, None, Some(m)) => PolicyTarget::Device(m),
        (s, _, _) => {
            return Err(ApiError::field(
                "scope",
                s.as_str(),
                "an installation policy names neither tenant nor mac; a tenant policy names its tenant; a device policy its mac",
            ))
        }
    };
    let target = stage("target", r.target)?;
    let steps = r
        .steps
        .into_iter()
        .enumerate()
        .map(|(i, s)| stage(&format!("steps[{i}]"), s))
        .collect::<ApiResult<Vec<_>>>()?;
    let mut seen = std::collections::HashSet::new();
    for s in steps.iter().chain(std::iter::once(&target)) {
        if !seen.insert(s.version.as_str()) {
            return Err(ApiError::field(
                "steps",
                s.version.as_str(),
                "each version appears once: the steps come before the target",
            ));
        }
    }
    Ok(NewFirmwarePolicy {
        applies_to,
        model: r.model,
        target,
        steps,
    })
}

fn stage(field: &str, s: api::Stage) -> ApiResult<FirmwareStage> {
    let image = match (s.url, s.file) {
        (Some(u), None) => FirmwareImage::url(&u),
        (None, Some(f)) => touchless_domain::FirmwareFile::parse(&f).map(FirmwareImage::File),
        (u, f) => {
            return Err(ApiError::field(
                field,
                u.or(f).unwrap_or_default().as_str(),
                "give the image as exactly one of url (http:// or https://) or file (a name in the firmware directory)",
            ))
        }
    }
    .map_err(|e| ApiError::field(field, s.version.as_str(), e.to_string()))?;
    Ok(FirmwareStage {
        version: s.version,
        image,
    })
}

fn api_stage(s: &FirmwareStage) -> api::Stage {
    let (url, file) = match &s.image {
        FirmwareImage::Url(u) => (Some(u.clone()), None),
        FirmwareImage::File(f) => (None, Some(f.as_str().to_owned())),
    };
    api::Stage {
        version: s.version.clone(),
        url,
        file,
    }
}

pub(crate) fn policy(p: &store::FirmwarePolicy) -> api::Policy {
    let (tenant, mac) = match &p.applies_to {
        PolicyTarget::Installation => (None, None),
        PolicyTarget::Tenant(t) => (Some(t.clone()), None),
        PolicyTarget::Device(m) => (None, Some(*m)),
    };
    api::Policy {
        id: p.id,
        scope: p.applies_to.scope(),
        tenant,
        mac,
        model: p.model,
        vendor: p.model.vendor(),
        target: api_stage(&p.target),
        steps: p.steps.iter().map(api_stage).collect(),
        created_at: p.created_at,
        updated_at: p.updated_at,
    }
}

/// Where a device stands: its report against the plan the view resolves
/// for it (the same one its phone is served from).
pub(crate) fn standing(d: &store::Device, plans: &Plans) -> api::DeviceFirmware {
    let plan = plans.resolve(d.mac, &d.tenant, d.model);
    let reported = d.firmware.clone();
    let Some(plan) = plan else {
        return api::DeviceFirmware {
            reported,
            reported_at: d.firmware_at,
            standing: api::Standing::None,
            policy: None,
            scope: None,
            target: None,
            next: None,
        };
    };
    let next = plan.next(reported.as_deref());
    api::DeviceFirmware {
        standing: if next.is_none() {
            api::Standing::Current
        } else {
            api::Standing::Behind
        },
        reported,
        reported_at: d.firmware_at,
        policy: Some(plan.policy),
        scope: Some(plan.scope),
        target: Some(plan.target().as_str().to_owned()),
        next: next.map(|i| plan.versions[i].as_str().to_owned()),
    }
}
