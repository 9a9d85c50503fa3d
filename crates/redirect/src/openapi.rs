//! The OpenAPI document of the redirection service's SRAPS-compatible API
//! (`touchless api openapi --sraps`, `GET /api/v1/openapi.json` on the
//! redirection listener). The API's shape is SRAPS's; each path also answers
//! with a trailing slash, as SRAPS does.

use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref};
use utoipa::Modify;

use super::api as handlers;

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "touchless redirection service (SRAPS API v1)",
        description = "The Secure Redirection and Provisioning Service (SRAPS) API, as touchless \
                       answers it: companies, API keys (tokens), provisioning profiles and \
                       endpoints, with Hawk authentication. Lists are JSON arrays paged by \
                       `page`/`page_size`, with `Link` and `X-Total-Count` headers.",
        license(name = "Apache-2.0")
    ),
    servers((url = "/api/v1")),
    paths(
        handlers::token, handlers::company, handlers::settings, handlers::setting,
        handlers::product_groups, handlers::profiles, handlers::profile,
        handlers::endpoints, handlers::endpoint
    ),
    security(("hawk" = [])),
    components(schemas(touchless_api::sraps::Problem)),
    modifiers(&Shared)
)]
struct SrapsApi;

/// The document.
pub fn openapi() -> OpenApi {
    <SrapsApi as utoipa::OpenApi>::openapi()
}

/// Hawk, and the errors every operation can answer.
struct Shared;

impl Modify for Shared {
    fn modify(&self, doc: &mut OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "hawk",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "Hawk (https://github.com/mozilla/hawk): `Hawk id=\"<key id>\", ts=…, \
                 nonce=…, mac=…` signed with the key's secret; SHA-256",
            ))),
        );
        let problem = |what: &str| {
            ResponseBuilder::new()
                .description(what)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build()
        };
        for item in doc.paths.paths.values_mut() {
            for (method, op) in [
                ("get", &mut item.get),
                ("post", &mut item.post),
                ("put", &mut item.put),
                ("delete", &mut item.delete),
            ] {
                let Some(op) = op else { continue };
                // One handler serves several methods; each operation needs its own id.
                if let Some(id) = &op.operation_id {
                    op.operation_id = Some(format!("{method}_{id}"));
                }
                let r = &mut op.responses.responses;
                for (code, what) in [
                    ("400", "a field is wrong; `detail` says which"),
                    ("401", "no, or a wrong, Hawk signature"),
                    ("403", "the key's role or company does not allow this"),
                    ("404", "no such resource"),
                    ("429", "the key is over its rate"),
                ] {
                    r.entry(code.into()).or_insert_with(|| problem(what).into());
                }
            }
        }
    }
}
