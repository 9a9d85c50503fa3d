//! The resources: tokens, companies, the settings catalogue, product groups, provisioning profiles, endpoints.

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::response::IntoResponse;
use http::StatusCode;
use touchless_api::sraps::{self, EndpointWrite, Links, ProfileWrite};
use touchless_domain::Mac;
use touchless_store::{EndpointIn, ProfileIn, Role, StoreError};

use crate::catalogue::Catalogue;
use crate::RedirectState;

use super::*;

#[utoipa::path(get, path = "/tokens/{id}", tag = "tokens", params(("id" = String, Path, description = "an API key id")), responses((status = 200, description = "the key's company and role", body = sraps::Token)))]
pub async fn token(
    State(st): State<Arc<RedirectState>>,
    Path(id): Path<String>,
    req: Request,
) -> ApiResult {
    let ctx = st.auth(req).await?;
    if id != ctx.key.id {
        return Err(SrapsError::not_found("token"));
    }
    Ok(axum::Json(sraps::Token {
        links: Links {
            self_: Some(format!("{}tokens/{}", ctx.base, ctx.key.id)),
            company: Some(ctx.company_url(&ctx.key.company)),
            ..Links::default()
        },
        access_key_id: ctx.key.id,
        role: ctx.key.role.as_str().to_owned(),
        enabled: ctx.key.enabled,
        last_used: ctx.key.last_used_at,
        created_at: Some(ctx.key.created_at),
    })
    .into_response())
}

#[utoipa::path(get, path = "/companies/{id}", tag = "companies", params(("id" = String, Path, description = "company id")), responses((status = 200, description = "the company", body = sraps::Company)))]
pub async fn company(
    State(st): State<Arc<RedirectState>>,
    Path(id): Path<String>,
    req: Request,
) -> ApiResult {
    let ctx = st.auth(req).await?;
    ctx.own_company(&id)?;
    let c = st
        .store
        .get_company(&id)
        .await?
        .ok_or_else(|| SrapsError::not_found("company"))?;
    let url = ctx.company_url(&c.id);
    Ok(axum::Json(sraps::Company {
        uuid: c.id,
        name: c.name,
        created_at: Some(c.created_at),
        links: Links {
            endpoints: Some(format!("{url}endpoints/")),
            provisioning_profiles: Some(format!("{url}provisioning-profiles/")),
            self_: Some(url),
            ..Links::default()
        },
    })
    .into_response())
}

#[utoipa::path(get, path = "/settings", tag = "catalogue", params(("page" = Option<u32>, Query, description = "page number, from 1"), ("page_size" = Option<u32>, Query, description = "items a page")), responses((status = 200, description = "the settings a profile or endpoint may carry; Link and X-Total-Count headers page it", body = Vec<sraps::SettingDefinition>)))]
pub async fn settings(State(st): State<Arc<RedirectState>>, req: Request) -> ApiResult {
    let ctx = st.auth(req).await?;
    let page = Page::parse(&ctx.query)?;
    let items = Catalogue::get()
        .settings
        .iter()
        .map(|s| setting_def(&ctx.base, s))
        .collect();
    Ok(page.slice(items, &format!("{}settings/", ctx.base)))
}

#[utoipa::path(get, path = "/settings/{uuid}", tag = "catalogue", params(("uuid" = String, Path, description = "setting id")), responses((status = 200, description = "one setting", body = sraps::SettingDefinition)))]
pub async fn setting(
    State(st): State<Arc<RedirectState>>,
    Path(uuid): Path<String>,
    req: Request,
) -> ApiResult {
    let ctx = st.auth(req).await?;
    let s = Catalogue::get()
        .setting(&uuid)
        .ok_or_else(|| SrapsError::not_found("setting"))?;
    Ok(axum::Json(setting_def(&ctx.base, s)).into_response())
}

#[utoipa::path(get, path = "/product-groups", tag = "catalogue", params(("page" = Option<u32>, Query, description = "page number, from 1"), ("page_size" = Option<u32>, Query, description = "items a page")), responses((status = 200, description = "phone product groups", body = Vec<sraps::ProductGroup>)))]
pub async fn product_groups(State(st): State<Arc<RedirectState>>, req: Request) -> ApiResult {
    let ctx = st.auth(req).await?;
    let page = Page::parse(&ctx.query)?;
    let items = Catalogue::get()
        .groups
        .iter()
        .map(|g| sraps::ProductGroup {
            uuid: g.uuid.clone(),
            name: g.name.to_owned(),
            links: Links {
                self_: Some(format!("{}product-groups/{}", ctx.base, g.uuid)),
                ..Links::default()
            },
        })
        .collect();
    Ok(page.slice(items, &format!("{}product-groups/", ctx.base)))
}

pub(super) fn parse_profile(p: ProfileWrite) -> ApiResult<ProfileIn> {
    let name = text("name", p.name, 200)?
        .filter(|n| !n.is_empty())
        .ok_or_else(|| SrapsError::bad("name: this field is required"))?;
    let product_group = text("product_group", p.product_group, 64)?;
    if let Some(g) = &product_group {
        Catalogue::get().group(g).ok_or_else(|| {
            SrapsError::bad(format!(
                "product_group: unknown product group {g:?}; see product-groups/"
            ))
        })?;
    }
    Ok(ProfileIn {
        name,
        product_group,
        autoprovisioning_enabled: flag(p.autoprovisioning_enabled, true),
        settings: settings_in(p.settings_manager)?,
    })
}

#[utoipa::path(method(get, post), path = "/companies/{company}/provisioning-profiles", tag = "profiles", params(("company" = String, Path, description = "company id"), ("page" = Option<u32>, Query, description = "page number, from 1"), ("page_size" = Option<u32>, Query, description = "items a page")), request_body(content = sraps::ProfileWrite, description = "POST: the new profile"), responses((status = 200, description = "GET: the company's profiles", body = Vec<sraps::Profile>), (status = 201, description = "POST: created", body = sraps::Profile)))]
pub async fn profiles(
    State(st): State<Arc<RedirectState>>,
    Path(company): Path<String>,
    req: Request,
) -> ApiResult {
    let method = req.method().clone();
    let ctx = st.auth(req).await?;
    ctx.own_company(&company)?;
    if method == http::Method::POST {
        ctx.require(Role::Write, "create provisioning profiles")?;
        let p = parse_profile(body(&ctx)?)?;
        let id = touchless_runtime::secret::random_hex(16);
        let created = st.store.create_profile(&id, &company, &p).await?;
        return Ok((
            StatusCode::CREATED,
            axum::Json(profile_body(&ctx, &created)),
        )
            .into_response());
    }
    ctx.require(Role::Read, "read provisioning profiles")?;
    let page = Page::parse(&ctx.query)?;
    let items = st
        .store
        .list_profiles(&company)
        .await?
        .iter()
        .map(|p| profile_body(&ctx, p))
        .collect();
    Ok(page.slice(
        items,
        &format!("{}provisioning-profiles/", ctx.company_url(&company)),
    ))
}

#[utoipa::path(method(get, put, delete), path = "/companies/{company}/provisioning-profiles/{uuid}", tag = "profiles", params(("company" = String, Path, description = "company id"), ("uuid" = String, Path, description = "profile id")), request_body(content = sraps::ProfileWrite, description = "PUT: the profile's new contents"), responses((status = 200, description = "GET, PUT: the profile", body = sraps::Profile), (status = 204, description = "DELETE: deleted")))]
pub async fn profile(
    State(st): State<Arc<RedirectState>>,
    Path((company, id)): Path<(String, String)>,
    req: Request,
) -> ApiResult {
    let method = req.method().clone();
    let ctx = st.auth(req).await?;
    ctx.own_company(&company)?;
    hex32(&id, "provisioning profile")?;
    match method {
        http::Method::PUT => {
            ctx.require(Role::Write, "change provisioning profiles")?;
            let p = parse_profile(body(&ctx)?)?;
            let updated = st.store.replace_profile(&company, &id, &p).await?;
            Ok(axum::Json(profile_body(&ctx, &updated)).into_response())
        }
        http::Method::DELETE => {
            ctx.require(Role::Write, "delete provisioning profiles")?;
            st.store.delete_profile(&company, &id).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        _ => {
            ctx.require(Role::Read, "read provisioning profiles")?;
            let p = st
                .store
                .get_profile(&company, &id)
                .await?
                .ok_or_else(|| SrapsError::not_found("provisioning profile"))?;
            Ok(axum::Json(profile_body(&ctx, &p)).into_response())
        }
    }
}

#[utoipa::path(get, path = "/companies/{company}/endpoints", tag = "endpoints", params(("company" = String, Path, description = "company id"), ("page" = Option<u32>, Query, description = "page number, from 1"), ("page_size" = Option<u32>, Query, description = "items a page")), responses((status = 200, description = "the company's endpoints (MACs)", body = Vec<sraps::Endpoint>)))]
pub async fn endpoints(
    State(st): State<Arc<RedirectState>>,
    Path(company): Path<String>,
    req: Request,
) -> ApiResult {
    let ctx = st.auth(req).await?;
    ctx.own_company(&company)?;
    ctx.require(Role::Read, "list endpoints")?;
    let page = Page::parse(&ctx.query)?;
    let (items, total) = st
        .store
        .list_endpoints(Some(&company), page.offset(), page.size)
        .await?;
    let items = items.iter().map(|e| endpoint_body(&ctx, e)).collect();
    Ok(page.respond(
        items,
        total,
        &format!("{}endpoints/", ctx.company_url(&company)),
    ))
}

#[utoipa::path(method(get, put, delete), path = "/companies/{company}/endpoints/{mac}", tag = "endpoints", params(("company" = String, Path, description = "company id"), ("mac" = String, Path, description = "the phone's MAC")), request_body(content = sraps::EndpointWrite, description = "PUT: where the phone is sent and with what"), responses((status = 200, description = "GET, PUT: the endpoint", body = sraps::Endpoint), (status = 201, description = "PUT: created", body = sraps::Endpoint), (status = 204, description = "DELETE: released")))]
pub async fn endpoint(
    State(st): State<Arc<RedirectState>>,
    Path((company, mac)): Path<(String, String)>,
    req: Request,
) -> ApiResult {
    let method = req.method().clone();
    let ctx = st.auth(req).await?;
    ctx.own_company(&company)?;
    let mac = path_mac(&mac)?;
    match method {
        http::Method::PUT => {
            ctx.require(Role::Write, "register devices")?;
            let m: EndpointWrite = body(&ctx)?;
            if let Some(body_mac) = text("mac", m.mac, 32)? {
                let body_mac =
                    Mac::parse(&body_mac).map_err(|e| SrapsError::bad(format!("mac: {e}")))?;
                if body_mac != mac {
                    return Err(SrapsError::bad(format!(
                        "mac: {body_mac} in the body does not match {mac} in the URL"
                    )));
                }
            }
            let e = EndpointIn {
                mac,
                name: text("name", m.name, 200)?.unwrap_or_default(),
                autoprovisioning_enabled: flag(m.autoprovisioning_enabled, true),
                profile: text("provisioning_profile", m.provisioning_profile, 64)?,
                settings: settings_in(m.settings_manager)?,
            };
            let (saved, created) =
                st.store
                    .put_endpoint(&company, &e)
                    .await
                    .map_err(|err| match err {
                        StoreError::Forbidden(m) => SrapsError::forbidden(format!(
                            "{m}. User lacks permission to endpoint."
                        )),
                        other => other.into(),
                    })?;
            tracing::info!(company = %company, mac = %mac, key = %ctx.key.id, created, "endpoint saved");
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok((status, axum::Json(endpoint_body(&ctx, &saved))).into_response())
        }
        http::Method::DELETE => {
            ctx.require(Role::Write, "remove devices")?;
            st.store.delete_endpoint(&company, mac).await?;
            tracing::info!(company = %company, mac = %mac, key = %ctx.key.id, "endpoint deleted");
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        _ => {
            ctx.require(Role::Read, "read endpoints")?;
            match st.store.get_endpoint(mac).await? {
                Some(e) if e.company == company => {
                    Ok(axum::Json(endpoint_body(&ctx, &e)).into_response())
                }
                // Another company's MAC looks like no MAC at all.
                _ => Err(SrapsError::not_found("endpoint")),
            }
        }
    }
}
