//! The OpenAPI documents: served, complete (every documented operation is
//! routed, and no route is added outside the documented table), and valid
//! by an independent validator (Python's `openapi-spec-validator`, which
//! `.ci/run` installs).

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::*;

fn validate(doc: &Value, what: &str) {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), doc.to_string()).unwrap();
    let out = std::process::Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(file.path())
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{what} is not valid OpenAPI (pip install openapi-spec-validator):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn the_admin_document_is_served_valid_and_complete() {
    let mut app = spawn_app().await;
    let (s, doc) = app.get("/openapi.json").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    assert_eq!(
        doc,
        serde_json::to_value(touchless_server::admin::openapi()).unwrap(),
        "the served document is the one `touchless api openapi` prints"
    );
    validate(&doc, "the admin API document");
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );

    // Every documented operation is routed: none answers the fallback's 404
    // or a 405. Placeholders fill the path parameters.
    let root = app.admin.trim_end_matches("/api/v1").to_owned();
    let paths = doc["paths"].as_object().unwrap();
    let mut operations = 0;
    for (path, item) in paths {
        let url = path
            .replace("{mac}", "000413000001")
            .replace("{id}", "1")
            .replace("{name}", "nobody");
        for (method, _) in item.as_object().unwrap() {
            let m: Method = method.to_uppercase().parse().unwrap();
            let mut req = app
                .http
                .request(m.clone(), format!("{root}{url}"))
                .bearer_auth(TOKEN);
            if m == Method::POST || m == Method::PATCH {
                req = req.json(&serde_json::json!({}));
            }
            let r = req.send().await.unwrap();
            let status = r.status();
            let body = r.text().await.unwrap();
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert!(
                !body.contains("no such admin API endpoint"),
                "{method} {path} is documented but not routed"
            );
            operations += 1;
        }
    }
    assert!(operations >= 45, "only {operations} operations documented");
    // Every operation says how it fails.
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                op["responses"].get("500").is_some(),
                "{method} {path} lacks its error answers"
            );
        }
    }
    app.stop().await;
}

/// A route can only be added to the admin API through `routes!`, which
/// takes the handler's `#[utoipa::path]`: the router's source has no bare
/// `.route(` (which would put an undocumented route beside the table).
#[test]
fn no_admin_route_exists_outside_the_documented_table() {
    let src = include_str!("../../../admin/src/admin/mod.rs");
    let bare: Vec<&str> = src
        .lines()
        .filter(|l| l.contains(".route(") && !l.trim_start().starts_with("//"))
        .collect();
    assert!(bare.is_empty(), "undocumented routes: {bare:?}");
    assert!(src.contains("OpenApiRouter"));
}

#[tokio::test]
async fn the_sraps_document_is_served_and_valid() {
    let mut app = spawn_app().await;
    let r = app
        .http
        .get(format!(
            "{}/api/v1/openapi.json",
            app.redirect.replace("localhost", "127.0.0.1")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let doc: Value = r.json().await.unwrap();
    validate(&doc, "the SRAPS API document");
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/tokens/{id}",
        "/companies/{company}/endpoints/{mac}",
        "/companies/{company}/provisioning-profiles/{uuid}",
    ] {
        assert!(paths.contains_key(p), "{p} missing");
    }
    assert!(paths["/companies/{company}/endpoints/{mac}"]["put"]["requestBody"].is_object());
    assert_eq!(doc["components"]["securitySchemes"]["hawk"]["in"], "header");
    app.stop().await;
}
