//! The console's firmware pages in a real Chromium: an admin sets a policy
//! with a step, a refused form says why and keeps what was typed, the device
//! list's "behind policy" filter shows exactly the phones not there yet,
//! the device page says where its phone stands, and the policy is removed.

use reqwest::StatusCode;

use crate::console::first_admin;
use crate::console_browser::{screenshots, sign_in_browser};
use crate::helpers::*;
use crate::webdriver::Browser;

const AT_TARGET: &str = "Mozilla/4.0 (compatible; snomD717-SIP 10.1.46.12 2010.12-00001-g1a2b3c4 000413000001 SXM:0 UXM:0)";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_pins_firmware_and_finds_the_phones_behind_it() {
    let mut app = spawn_app_with(basic_only).await;
    let (user, password) = first_admin(&app);
    app.acme_with_devices(&["000413000001", "000413000002", "000413000003"])
        .await;
    let base = app.admin.trim_end_matches("/api/v1").to_owned();
    let b = Browser::start().await;
    sign_in_browser(&b, &base, &user, &password).await;
    b.find("nav a[href='/firmware']").await.click().await;
    b.wait_for_text("No firmware policy yet").await;

    // A step that is not VERSION=IMAGE: refused in words, nothing lost.
    b.find("#p-model").await.type_text("D717").await;
    b.find("#p-version").await.type_text("10.1.46.12").await;
    b.find("#p-image")
        .await
        .type_text("d717-10.1.46.12.bin")
        .await;
    b.find("#p-steps").await.type_text("10.1.33.33").await;
    b.find("#save-policy").await.click().await;
    b.wait_for_text("is not VERSION=URL or VERSION=FILE").await;
    assert_eq!(
        b.script("return document.getElementById('p-image').value")
            .await,
        "d717-10.1.46.12.bin"
    );
    b.script("document.getElementById('p-steps').value = ''")
        .await;
    b.find("#p-steps")
        .await
        .type_text("10.1.33.33=https://fw.example.com/d717-10.1.33.33.bin")
        .await;
    b.find("#save-policy").await.click().await;
    b.wait_for_text("10.1.33.33").await;
    assert_eq!(b.count("#policies tr[data-policy]").await, 1);
    b.screenshot(&screenshots().join("firmware.png")).await;
    let (_, ps) = app.get("/firmware/policies").await;
    assert_eq!(ps[0]["target"]["file"], "d717-10.1.46.12.bin", "{ps}");
    assert_eq!(ps[0]["steps"][0]["version"], "10.1.33.33", "{ps}");

    // One phone reports the target; the other two are behind.
    let r = app
        .http
        .get(format!("{}/prov/snomD717-000413000001.htm", app.prov))
        .basic_auth("prov-acme", Some("s3cr3t-prov"))
        .header("user-agent", AT_TARGET)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    for _ in 0..100 {
        let (_, d) = app.get("/devices/000413000001").await;
        if d["firmware"]["standing"] == "current" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    b.find("#behind-link").await.click().await;
    b.wait_for_text("Devices").await;
    assert_eq!(
        b.script("return [...document.querySelectorAll('tr[data-mac]')].map(r => r.dataset.mac).join(',')").await,
        "000413000002,000413000003",
        "exactly the phones not at the target"
    );
    assert_eq!(
        b.script("return document.getElementById('f-firmware').value")
            .await,
        "behind"
    );
    b.screenshot(&screenshots().join("devices-behind.png"))
        .await;
    b.goto(&format!("{base}/devices/000413000001")).await;
    assert_eq!(b.find("#firmware-standing").await.text().await, "current");
    assert!(b
        .find("#firmware")
        .await
        .text()
        .await
        .contains("10.1.46.12"));
    b.screenshot(&screenshots().join("device-firmware.png"))
        .await;

    // Removed: no phone is behind any more.
    b.find("nav a[href='/firmware']").await.click().await;
    let id = ps[0]["id"].as_i64().unwrap();
    b.find(&format!("#remove-{id}")).await.click().await;
    b.wait_for_text("No firmware policy yet").await;
    let (_, behind) = app.get("/devices?firmware=behind").await;
    assert_eq!(behind, serde_json::json!([]));
    b.quit().await;
    app.stop().await;
}
