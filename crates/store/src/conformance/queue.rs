//! Conformance cases of the daemon: providers, the event queue, staged credentials, leases.

use chrono::Utc;
use touchless_domain::{DeviceStatus, Mac, ProvPassword, ProvUser};

use crate::{Action, EventState, Issued, Outcome, Provider, Store, StoreError};

use super::*;

fn provider(name: &str, tenant: Option<&str>) -> Provider {
    vendor_provider(name, tenant, "snom")
}

fn vendor_provider(name: &str, tenant: Option<&str>, vendor: &str) -> Provider {
    Provider {
        name: name.into(),
        kind: vendor.into(),
        vendor: touchless_phones::Vendor::parse(vendor).unwrap(),
        base_url: "http://127.0.0.1:9/api/v1/".into(),
        access_key_id: "key".into(),
        secret: "secret".into(),
        tenant: tenant.map(tid),
        ca_pem: None,
        created_at: Utc::now(),
    }
}

pub async fn providers_one_per_scope(s: &dyn Store) {
    s.create_tenant(&new_tenant("acme")).await.unwrap();
    let p = s.create_provider(&provider("snom", None)).await.unwrap();
    assert_eq!((p.secret.as_str(), p.tenant.as_ref()), ("secret", None));
    assert!(!format!("{p:?}").contains("secret\""));
    assert!(
        matches!(s.create_provider(&provider("other", None)).await, Err(StoreError::Conflict(m)) if m.contains("master"))
    );
    assert!(matches!(
        s.create_provider(&provider("snom", Some("acme"))).await,
        Err(StoreError::Conflict(_))
    ));
    s.create_provider(&provider("acme-snom", Some("acme")))
        .await
        .unwrap();
    assert!(matches!(
        s.create_provider(&provider("x", Some("ghost"))).await,
        Err(StoreError::Invalid { .. })
    ));
    assert_eq!(s.list_providers().await.unwrap().len(), 2);
    // One per (scope, vendor): another vendor's phones get a provider of
    // their own in the same scope, and a second one for them is refused,
    // naming the vendor.
    touchless_phones::testing::register();
    let kv = s
        .create_provider(&vendor_provider("kv", None, "keyval"))
        .await
        .unwrap();
    assert_eq!(kv.vendor.name(), "keyval");
    assert!(
        matches!(s.create_provider(&vendor_provider("kv2", None, "keyval")).await, Err(StoreError::Conflict(m)) if m == "a master provider already exists for keyval phones")
    );
    s.create_provider(&vendor_provider("acme-kv", Some("acme"), "keyval"))
        .await
        .unwrap();
    s.delete_provider("kv").await.unwrap();
    s.delete_provider("acme-kv").await.unwrap();
    let mut edited = p.clone();
    edited.access_key_id = "key2".into();
    edited.secret = "secret2".into();
    edited.base_url = "https://sraps.example/api/v1/".into();
    let saved = s.update_provider(&edited).await.unwrap();
    assert_eq!(
        (
            saved.access_key_id.as_str(),
            saved.secret.as_str(),
            saved.base_url.as_str(),
            saved.tenant.as_ref()
        ),
        ("key2", "secret2", "https://sraps.example/api/v1/", None)
    );
    edited.name = "ghost".into();
    assert!(matches!(
        s.update_provider(&edited).await,
        Err(StoreError::NotFound { .. })
    ));
    s.delete_provider("snom").await.unwrap();
    assert!(s.get_provider("snom").await.unwrap().is_none());
}

pub(super) fn creds(n: u32) -> (ProvUser, ProvPassword) {
    (
        ProvUser::parse(&format!("zt{n}")).unwrap(),
        ProvPassword::parse(&format!("pw{n}")).unwrap(),
    )
}

pub(super) fn issued(mac: Mac, (user, pass): (ProvUser, ProvPassword)) -> Issued {
    Issued {
        mac,
        user,
        pass,
        expires_at: in_a_day(),
    }
}

pub(super) async fn devices_for_queue(s: &dyn Store, n: u32) -> Vec<Mac> {
    s.create_tenant(&new_tenant("acme")).await.unwrap();
    let mut macs = Vec::new();
    for i in 0..n {
        let d = s
            .create_device(&new_device(&format!("0004130000{i:02X}"), "acme"))
            .await
            .unwrap();
        macs.push(d.mac);
    }
    macs
}

pub async fn queue_claims_in_order_per_mac(s: &dyn Store) {
    let macs = devices_for_queue(s, 2).await;
    let (u, p) = creds(1);
    let unknown = Mac::parse("000413FFFFFE").unwrap();
    s.enqueue(
        Action::Register,
        &[
            issued(macs[0], (u.clone(), p.clone())),
            issued(unknown, creds(8)),
        ],
    )
    .await
    .unwrap_err();
    // one unknown MAC fails the batch whole: nothing is queued or staged
    assert!(s.list_events(None, 10).await.unwrap().is_empty());
    let d = s.get_device(macs[0]).await.unwrap().unwrap();
    assert!(d.ztprov_next.is_none());
    let (u2, p2) = creds(2);
    let ids = s
        .enqueue(
            Action::Register,
            &[
                issued(macs[0], (u.clone(), p.clone())),
                issued(macs[1], (u2, p2)),
            ],
        )
        .await
        .unwrap();
    let d = s.get_device(macs[0]).await.unwrap().unwrap();
    let next = d.ztprov_next.as_ref().unwrap();
    assert_eq!(
        (d.status, next.user.as_str(), next.pass.as_str()),
        (touchless_domain::DeviceStatus::Pending, "zt1", "pw1")
    );
    assert_eq!(
        d.ztprov_user.as_str(),
        format!("zt{}", macs[0]),
        "the current credentials stay until the provider confirms"
    );
    let (u3, p3) = creds(3);
    let later = s
        .enqueue(Action::Deregister, &[issued(macs[0], (u3, p3))])
        .await
        .unwrap();
    assert!(s
        .enqueue(
            Action::Register,
            &[issued(Mac::parse("000413FFFFFF").unwrap(), creds(9))]
        )
        .await
        .is_err());

    let lease = std::time::Duration::from_secs(60);
    let got = s.claim_events("a", 10, lease).await.unwrap();
    assert_eq!(
        got.iter().map(|e| e.id).collect::<Vec<_>>(),
        ids,
        "the deregister waits for the register of the same MAC"
    );
    assert!(got
        .iter()
        .all(|e| e.state == EventState::Running && e.attempts == 1));
    assert!(
        s.claim_events("b", 10, lease).await.unwrap().is_empty(),
        "leased events are not claimed twice"
    );
    assert!(s.finish_event(ids[0], "a", &Outcome::Done).await.unwrap());
    assert!(
        !s.finish_event(ids[0], "a", &Outcome::Done).await.unwrap(),
        "finished once"
    );
    let next = s.claim_events("b", 10, lease).await.unwrap();
    assert_eq!(next.iter().map(|e| e.id).collect::<Vec<_>>(), later);
    assert!(
        !s.finish_event(later[0], "a", &Outcome::Done).await.unwrap(),
        "only the holder finishes"
    );
    assert!(s.renew_lease(later[0], "b", lease).await.unwrap());
    assert!(!s.renew_lease(later[0], "a", lease).await.unwrap());
    let of_first = s.events_of(macs[0], 10).await.unwrap();
    assert_eq!(
        of_first.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![later[0], ids[0]],
        "one device's events, newest first"
    );
}

pub async fn expired_leases_are_reclaimed(s: &dyn Store) {
    let macs = devices_for_queue(s, 1).await;
    let (u, p) = creds(1);
    let ids = s
        .enqueue(Action::Register, &[issued(macs[0], (u, p))])
        .await
        .unwrap();
    let got = s
        .claim_events("dead-node", 10, std::time::Duration::from_millis(1))
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let again = s
        .claim_events("live-node", 10, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        again.iter().map(|e| (e.id, e.attempts)).collect::<Vec<_>>(),
        vec![(ids[0], 2)]
    );
    assert!(
        !s.finish_event(ids[0], "dead-node", &Outcome::Done)
            .await
            .unwrap(),
        "the dead node lost it"
    );
    assert!(s
        .finish_event(ids[0], "live-node", &Outcome::Done)
        .await
        .unwrap());
}

pub async fn outcomes_reach_the_device(s: &dyn Store) {
    let macs = devices_for_queue(s, 1).await;
    let lease = std::time::Duration::from_secs(60);
    let (u, p) = creds(1);
    let id = s
        .enqueue(Action::Register, &[issued(macs[0], (u, p))])
        .await
        .unwrap()[0];
    s.claim_events("n", 1, lease).await.unwrap();
    // Due in a second: long enough that "not due yet" holds on a loaded
    // machine; then polled for, not slept for.
    let soon = Utc::now() + chrono::Duration::seconds(1);
    s.finish_event(
        id,
        "n",
        &Outcome::Retry {
            at: soon,
            message: "provider error 503; retrying".into(),
        },
    )
    .await
    .unwrap();
    let d = s.get_device(macs[0]).await.unwrap().unwrap();
    assert_eq!(
        (d.status, d.last_message.as_str()),
        (
            touchless_domain::DeviceStatus::Pending,
            "provider error 503; retrying"
        )
    );
    assert!(
        s.claim_events("n", 1, lease).await.unwrap().is_empty(),
        "not due yet"
    );
    let mut again = Vec::new();
    for _ in 0..100 {
        again = s.claim_events("n", 1, lease).await.unwrap();
        if !again.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(again[0].attempts, 2);
    s.finish_event(
        id,
        "n",
        &Outcome::Failed {
            message: "403 Forbidden: no role".into(),
        },
    )
    .await
    .unwrap();
    let d = s.get_device(macs[0]).await.unwrap().unwrap();
    assert_eq!(
        (d.status, d.last_message.as_str()),
        (
            touchless_domain::DeviceStatus::Failed,
            "403 Forbidden: no role"
        )
    );
    assert_eq!(
        s.list_events(Some(EventState::Failed), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    let e = s.retry_event(id).await.unwrap();
    assert_eq!((e.state, e.attempts), (EventState::Pending, 0));
    assert!(matches!(
        s.retry_event(id).await,
        Err(StoreError::Conflict(_))
    ));
    s.claim_events("n", 1, lease).await.unwrap();
    s.finish_event(id, "n", &Outcome::Done).await.unwrap();
    let d = s.get_device(macs[0]).await.unwrap().unwrap();
    assert_eq!(
        (d.status, d.last_message.as_str()),
        (touchless_domain::DeviceStatus::Registered, "-")
    );
    assert!(d.registered_at.is_some());
    let (u, p) = creds(2);
    let id = s
        .enqueue(Action::Deregister, &[issued(macs[0], (u, p))])
        .await
        .unwrap()[0];
    s.claim_events("n", 1, lease).await.unwrap();
    s.finish_event(id, "n", &Outcome::Done).await.unwrap();
    let d = s.get_device(macs[0]).await.unwrap().unwrap();
    assert_eq!(
        (d.status, d.registered_at),
        (touchless_domain::DeviceStatus::Unregistered, None)
    );
}

/// An attempt's outcome is status, not configuration: retries and failures
/// change neither the device's revision nor the generation, so no node
/// reloads or re-renders for them.
pub async fn event_outcomes_do_not_change_what_is_served(s: &dyn Store) {
    let macs = devices_for_queue(s, 1).await;
    let lease = std::time::Duration::from_secs(60);
    let id = s
        .enqueue(Action::Register, &[issued(macs[0], creds(1))])
        .await
        .unwrap()[0];
    let (rev, generation) = (
        s.get_device(macs[0]).await.unwrap().unwrap().revision,
        s.generation().await.unwrap(),
    );
    s.claim_events("n", 1, lease).await.unwrap();
    let at = Utc::now() - chrono::Duration::seconds(1);
    s.finish_event(
        id,
        "n",
        &Outcome::Retry {
            at,
            message: "503".into(),
        },
    )
    .await
    .unwrap();
    s.claim_events("n", 1, lease).await.unwrap();
    s.finish_event(
        id,
        "n",
        &Outcome::Failed {
            message: "403".into(),
        },
    )
    .await
    .unwrap();
    let d = s.get_device(macs[0]).await.unwrap().unwrap();
    assert_eq!(d.status, DeviceStatus::Failed);
    assert_eq!(
        (d.revision, s.generation().await.unwrap()),
        (rev, generation)
    );
}

/// An older event that finishes after a newer one was queued does not set the
/// device's status: the device shows its newest event.
pub async fn a_late_older_event_does_not_overwrite_the_newest(s: &dyn Store) {
    let macs = devices_for_queue(s, 1).await;
    let lease = std::time::Duration::from_secs(60);
    let old = s
        .enqueue(Action::Register, &[issued(macs[0], creds(1))])
        .await
        .unwrap()[0];
    s.claim_events("n", 1, lease).await.unwrap();
    let newer = s
        .enqueue(Action::Deregister, &[issued(macs[0], creds(2))])
        .await
        .unwrap()[0];
    s.finish_event(
        old,
        "n",
        &Outcome::Failed {
            message: "old news".into(),
        },
    )
    .await
    .unwrap();
    let d = s.get_device(macs[0]).await.unwrap().unwrap();
    assert_eq!(
        (d.status, d.last_message.as_str()),
        (DeviceStatus::Pending, "-"),
        "still waiting for the newest event"
    );
    let got = s.claim_events("n", 1, lease).await.unwrap();
    assert_eq!(got[0].id, newer);
    s.finish_event(newer, "n", &Outcome::Done).await.unwrap();
    let d = s.get_device(macs[0]).await.unwrap().unwrap();
    assert_eq!(d.status, DeviceStatus::Unregistered);
}

/// A register stages new ztprov credentials beside the current ones; success
/// promotes them (and tells the provisioning view), failure keeps both.
pub async fn staged_credentials_replace_the_current_ones(s: &dyn Store) {
    let macs = devices_for_queue(s, 1).await;
    let lease = std::time::Duration::from_secs(60);
    let before = s.get_device(macs[0]).await.unwrap().unwrap();
    let staged = issued(macs[0], creds(1));
    let id = s
        .enqueue(Action::Register, std::slice::from_ref(&staged))
        .await
        .unwrap()[0];
    s.claim_events("n", 1, lease).await.unwrap();
    s.finish_event(
        id,
        "n",
        &Outcome::Failed {
            message: "down".into(),
        },
    )
    .await
    .unwrap();
    let d = s.get_device(macs[0]).await.unwrap().unwrap();
    assert_eq!(
        d.ztprov_user, before.ztprov_user,
        "a failure keeps the current ones"
    );
    assert_eq!(
        d.ztprov_next.as_ref().unwrap().user.as_str(),
        "zt1",
        "and the staged ones"
    );
    s.retry_event(id).await.unwrap();
    s.claim_events("n", 1, lease).await.unwrap();
    let g = s.generation().await.unwrap();
    s.finish_event(id, "n", &Outcome::Done).await.unwrap();
    assert!(
        s.generation().await.unwrap() > g,
        "phones are served differently now"
    );
    let d = s.get_device(macs[0]).await.unwrap().unwrap();
    assert_eq!(
        (d.ztprov_user.as_str(), d.ztprov_pass.as_str()),
        ("zt1", "pw1")
    );
    assert!(d.ztprov_next.is_none());
    // The staged window comes along (not a clock read now, which could fall
    // in the next second).
    assert_eq!(
        d.ztprov_expires_at.map(|t| t.timestamp()),
        Some(staged.expires_at.timestamp())
    );
    assert!(d.revision > before.revision);
    // A deregister takes every credential away at once.
    let id = s
        .enqueue(Action::Deregister, &[issued(macs[0], creds(2))])
        .await
        .unwrap()[0];
    let d = s.get_device(macs[0]).await.unwrap().unwrap();
    assert_eq!((d.ztprov_user.as_str(), d.ztprov_expires_at), ("zt2", None));
    s.claim_events("n", 1, lease).await.unwrap();
    s.finish_event(id, "n", &Outcome::Done).await.unwrap();
    assert!(
        s.get_device(macs[0]).await.unwrap().is_some(),
        "not asked to remove"
    );
}

pub async fn first_use_is_recorded_once(s: &dyn Store) {
    let macs = devices_for_queue(s, 1).await;
    let d = s.get_device(macs[0]).await.unwrap().unwrap();
    assert!(d.ztprov_used_at.is_none());
    let first = Utc::now() - chrono::Duration::seconds(10);
    let first = chrono::DateTime::from_timestamp_millis(first.timestamp_millis()).unwrap();
    let g = s.generation().await.unwrap();
    s.mark_ztprov_used(&[(d.mac, d.ztprov_user.clone(), first)])
        .await
        .unwrap();
    assert!(s.generation().await.unwrap() > g);
    s.mark_ztprov_used(&[(d.mac, d.ztprov_user.clone(), Utc::now())])
        .await
        .unwrap();
    let after = s.get_device(macs[0]).await.unwrap().unwrap();
    assert_eq!(after.ztprov_used_at, Some(first), "the first use counts");
    assert!(after.revision > d.revision);
    // Other credentials (a stale user) change nothing.
    s.mark_ztprov_used(&[(d.mac, ProvUser::parse("ztother").unwrap(), Utc::now())])
        .await
        .unwrap();
    // Staged credentials record their own first use.
    s.enqueue(Action::Register, &[issued(macs[0], creds(5))])
        .await
        .unwrap();
    s.mark_ztprov_used(&[(d.mac, creds(5).0, first)])
        .await
        .unwrap();
    let d = s.get_device(macs[0]).await.unwrap().unwrap();
    assert_eq!(d.ztprov_next.unwrap().used_at, Some(first));
    assert_eq!(d.ztprov_used_at, Some(first));
}

/// A node that restarts under the same name takes its running events back at
/// once instead of waiting for their leases to expire.
pub async fn own_leases_are_released(s: &dyn Store) {
    let macs = devices_for_queue(s, 2).await;
    s.enqueue(
        Action::Register,
        &[issued(macs[0], creds(1)), issued(macs[1], creds(2))],
    )
    .await
    .unwrap();
    let hour = std::time::Duration::from_secs(3600);
    assert_eq!(s.claim_events("node-a", 1, hour).await.unwrap().len(), 1);
    assert_eq!(s.claim_events("node-b", 1, hour).await.unwrap().len(), 1);
    assert!(s.claim_events("node-a", 10, hour).await.unwrap().is_empty());
    assert_eq!(s.release_leases("node-a").await.unwrap(), 1);
    let again = s.claim_events("node-a", 10, hour).await.unwrap();
    assert_eq!(again.len(), 1, "node-b's lease is untouched");
    assert_eq!(again[0].mac, macs[0]);
    assert_eq!(again[0].attempts, 2);
}

pub async fn removing_devices_go_when_deregistered(s: &dyn Store) {
    let macs = devices_for_queue(s, 2).await;
    let lease = std::time::Duration::from_secs(60);
    assert!(matches!(
        s.mark_removing(&[macs[0], Mac::parse("000413FFFFFE").unwrap()])
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(
        !s.get_device(macs[0]).await.unwrap().unwrap().removing,
        "all or none"
    );
    s.mark_removing(&[macs[0]]).await.unwrap();
    let ids = s
        .enqueue(
            Action::Deregister,
            &[issued(macs[0], creds(1)), issued(macs[1], creds(2))],
        )
        .await
        .unwrap();
    s.claim_events("n", 10, lease).await.unwrap();
    s.finish_event(
        ids[0],
        "n",
        &Outcome::Failed {
            message: "503".into(),
        },
    )
    .await
    .unwrap();
    let d = s.get_device(macs[0]).await.unwrap().unwrap();
    assert!(d.removing, "kept while the provider still holds it");
    s.retry_event(ids[0]).await.unwrap();
    s.claim_events("n", 10, lease).await.unwrap();
    let g = s.generation().await.unwrap();
    s.finish_event(ids[0], "n", &Outcome::Done).await.unwrap();
    s.finish_event(ids[1], "n", &Outcome::Done).await.unwrap();
    assert!(
        s.get_device(macs[0]).await.unwrap().is_none(),
        "gone once deregistered"
    );
    assert!(
        s.get_device(macs[1]).await.unwrap().is_some(),
        "only the marked one"
    );
    assert!(s.generation().await.unwrap() > g);
}
