//! Tests of the phone simulator: Snom's settings parsing, and whole boots of
//! a Snom phone against a fake provisioning server.

use super::parse_settings;

#[test]
fn parses_xml_and_legacy_text() {
    let xml = r#"<?xml version="1.0"?><settings><phone-settings e="2">
        <setting_server perm="RW">http://a/?x=1&amp;y=2</setting_server>
        <user_name idx="1" perm="R">401</user_name></phone-settings></settings>"#;
    assert_eq!(
        parse_settings(xml),
        vec![
            ("setting_server".into(), "http://a/?x=1&y=2".into()),
            ("user_name[1]".into(), "401".into())
        ]
    );
    let text = "<html><pre>\n# comment\nsetting_server$: http://pbx/prov/\nhttp_client_user&: u\nuser_host1!: pbx.example.com\n</pre></html>";
    assert_eq!(
        parse_settings(text),
        vec![
            ("setting_server".into(), "http://pbx/prov/".into()),
            ("http_client_user".into(), "u".into()),
            ("user_host[1]".into(), "pbx.example.com".into()),
        ]
    );
}

/// The simulator against a provisioning server that is not touchless: legacy
/// text settings from the redirect, a setting server that names a directory
/// with a `{mac}` placeholder, and Basic authentication.
mod flow_tests {
    use crate::phone::*;
    use axum::extract::Path;
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    use axum::routing::get;

    async fn serve() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let cfg = base.clone();
        let app = axum::Router::new()
            .route(
                "/{file}",
                get(move |Path(file): Path<String>| {
                    let cfg = cfg.clone();
                    async move {
                        if file == "snomD717-000413AABBCC.htm" {
                            let text = format!(
                                "<html><pre>\n# legacy format\nsetting_server$: {cfg}/cfg/{{mac}}/\nhttp_client_user&: u\nhttp_client_pass&: p w\n</pre></html>"
                            );
                            return text.into_response();
                        }
                        StatusCode::NOT_FOUND.into_response()
                    }
                }),
            )
            .route(
                "/cfg/{mac}/{file}",
                get(|Path((mac, file)): Path<(String, String)>, headers: HeaderMap| async move {
                    use base64::Engine as _;
                    let want = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("u:p w"));
                    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(want.as_str()) {
                        return (StatusCode::UNAUTHORIZED, [("www-authenticate", "Basic realm=\"x\"")]).into_response();
                    }
                    assert_eq!(mac, "000413AABBCC", "the {{mac}} placeholder was expanded");
                    let body = if file.contains('-') {
                        r#"<?xml version="1.0"?><settings><phone-settings><user_name idx="1" perm="R">401</user_name><user_host idx="1" perm="R">pbx</user_host></phone-settings></settings>"#
                    } else {
                        r#"<?xml version="1.0"?><settings><phone-settings><language perm="R">English</language></phone-settings></settings>"#
                    };
                    body.into_response()
                }),
            );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        base
    }

    /// A phone turned away with 429 waits as told and gets in afterwards.
    #[tokio::test]
    async fn a_turned_away_phone_waits_as_told() {
        use std::sync::atomic::{AtomicU32, Ordering};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let calls = std::sync::Arc::new(AtomicU32::new(0));
        let seen = std::sync::Arc::clone(&calls);
        let app = axum::Router::new().route(
            "/{file}",
            get(move || {
                let n = seen.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n == 0 {
                        (
                            StatusCode::TOO_MANY_REQUESTS,
                            [("retry-after", "1")],
                            "later",
                        )
                            .into_response()
                    } else {
                        "<settings></settings>".into_response()
                    }
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let phone = Phone {
            mac: Mac::parse("000413AABBCC").unwrap(),
            model: PhoneModel::parse("snomD717").unwrap(),
            firmware: "10.1.198.19".into(),
        };
        let started = Instant::now();
        let r = phone
            .boot(&reqwest::Client::new(), &base, &mut PhoneState::default())
            .await;
        assert!(started.elapsed() >= std::time::Duration::from_secs(1));
        assert_eq!(
            (r.steps[0].status, r.steps[1].status),
            (429, 200),
            "{:?}",
            r.steps
        );
        assert!(r.steps[0].note.contains("waiting 1 s"), "{:?}", r.steps[0]);
    }

    #[tokio::test]
    async fn legacy_text_directory_urls_and_basic() {
        let base = serve().await;
        let phone = Phone {
            mac: Mac::parse("000413AABBCC").unwrap(),
            model: PhoneModel::parse("snomD717").unwrap(),
            firmware: "10.1.198.19".into(),
        };
        let mut state = PhoneState::default();
        let r = phone.boot(&reqwest::Client::new(), &base, &mut state).await;
        assert!(r.ok, "{r:?}");
        assert_eq!(
            r.verdict,
            format!("provisioned from {base}/cfg/000413AABBCC/: SIP identity 401@pbx")
        );
        let urls: Vec<(String, u16)> = r
            .steps
            .iter()
            .map(|s| (s.url.replace(&base, ""), s.status))
            .collect();
        assert_eq!(
            urls,
            [
                ("/snomD717.htm".to_owned(), 404),
                ("/snomD717-000413AABBCC.htm".to_owned(), 200),
                ("/cfg/000413AABBCC/snomD717.htm".to_owned(), 401),
                ("/cfg/000413AABBCC/snomD717.htm".to_owned(), 200),
                (
                    "/cfg/000413AABBCC/snomD717-000413AABBCC.htm".to_owned(),
                    401
                ),
                (
                    "/cfg/000413AABBCC/snomD717-000413AABBCC.htm".to_owned(),
                    200
                ),
            ]
        );
        assert!(r.steps[3].note.contains("(Basic)"), "{:?}", r.steps[3]);
        assert_eq!(state.http_client_pass.as_deref(), Some("p w"));
        // A phone the redirect does not know fails with a clear verdict.
        let stranger = Phone {
            mac: Mac::parse("000413000001").unwrap(),
            ..phone
        };
        let r = stranger
            .boot(&reqwest::Client::new(), &base, &mut PhoneState::default())
            .await;
        assert!(
            !r.ok && r.verdict.contains("did not redirect"),
            "{}",
            r.verdict
        );
    }
}
