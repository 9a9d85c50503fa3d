//! The admin API's OpenAPI document: its header, the bearer scheme, and the
//! error answers every operation shares. The operations themselves come
//! from the handlers' `#[utoipa::path]` through the router (`mod.rs`).

use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref};
use utoipa::Modify;

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "touchless admin API",
        description = "Tenants, devices, providers, the registration queue, the redirection \
                       service's accounts and console users. JSON in and out; every error is \
                       an `ErrorBody` that names what was wrong.",
        license(name = "Apache-2.0")
    ),
    security(("bearer" = [])),
    components(schemas(touchless_api::ErrorBody)),
    tags(
        (name = "tenants"), (name = "devices"), (name = "queue", description = "registration at redirection providers"),
        (name = "providers"), (name = "firmware", description = "firmware policies: per model, for the installation, a tenant or a device"), (name = "users", description = "web console accounts"),
        (name = "redirect", description = "the redirection service's companies, keys and endpoints"),
        (name = "meta"), (name = "probes")
    )
)]
pub(super) struct AdminApi;

/// The bearer scheme, and the error answers each operation can give: 401
/// wherever the token is required, 400 where a body or parameters are read,
/// 404 where a path names something, 500 everywhere.
/// Applied once the router has added the operations (see `super::openapi`).
pub(super) struct Shared;

impl Modify for Shared {
    fn modify(&self, doc: &mut OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "the admin token: admin.token, or <data_dir>/admin-token",
                    ))
                    .build(),
            ),
        );
        let error = |what: &str| {
            ResponseBuilder::new()
                .description(what)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        for (path, item) in doc.paths.paths.iter_mut() {
            let ops: [&mut Option<Operation>; 5] = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for op in ops.into_iter().flatten() {
                let open = op
                    .security
                    .as_ref()
                    .is_some_and(|s| s.iter().all(|r| r == &Default::default()));
                let r = &mut op.responses.responses;
                if !open {
                    r.entry("401".into())
                        .or_insert_with(|| error("missing or wrong token").into());
                }
                if op.request_body.is_some()
                    || op.parameters.as_ref().is_some_and(|p| !p.is_empty())
                {
                    r.entry("400".into()).or_insert_with(|| {
                        error("a field or parameter is wrong; the answer names it").into()
                    });
                }
                if path.contains('{') {
                    r.entry("404".into())
                        .or_insert_with(|| error("no such thing").into());
                }
                r.entry("500".into())
                    .or_insert_with(|| error("internal error (logged, not shown)").into());
            }
        }
    }
}
