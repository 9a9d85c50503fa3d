//! Conformance cases of the registry: tenants, devices, contacts, meta.

use chrono::Utc;
use touchless_domain::{
    DeviceStatus, DisplayText, Mac, Perm, ProvPassword, ProvScope, ProvUser, Setting, TouchlessMode,
};
use touchless_phones::PhoneModel;

use crate::{Contact, DeviceFilter, DevicePatch, Store, StoreError, TenantPatch};

use super::*;

pub async fn tenants_round_trip(s: &dyn Store) {
    let t = s.create_tenant(&new_tenant("acme")).await.unwrap();
    assert_eq!(t.id.as_str(), "acme");
    assert_eq!(t.prov_pass.as_str(), "s3cr3t-prov");
    assert_eq!(t.settings.len(), 1);
    assert_eq!(s.get_tenant(&tid("acme")).await.unwrap(), Some(t.clone()));
    assert_eq!(s.get_tenant(&tid("nope")).await.unwrap(), None);
    s.create_tenant(&new_tenant("beta")).await.unwrap();
    let all = s.list_tenants().await.unwrap();
    assert_eq!(
        all.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        ["acme", "beta"]
    );
    assert_eq!(all[0].settings, t.settings);
    let patched = s
        .update_tenant(
            &tid("acme"),
            &TenantPatch {
                sip_port: Some(5070),
                mode: Some(TouchlessMode::PerTenant),
                settings: Some(vec![]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (patched.sip_port, patched.mode, patched.settings.len()),
        (5070, TouchlessMode::PerTenant, 0)
    );
    assert_eq!(patched.revision, t.revision + 1);
    assert_eq!(patched.name, t.name, "unpatched fields stay");
    s.delete_tenant(&tid("beta")).await.unwrap();
    assert!(matches!(
        s.delete_tenant(&tid("beta")).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        s.update_tenant(&tid("beta"), &TenantPatch::default()).await,
        Err(StoreError::NotFound { .. })
    ));
}

pub async fn duplicate_tenants_conflict(s: &dyn Store) {
    s.create_tenant(&new_tenant("acme")).await.unwrap();
    let e = s.create_tenant(&new_tenant("acme")).await.unwrap_err();
    assert!(
        matches!(&e, StoreError::Conflict(m) if m.contains("acme")),
        "{e}"
    );
    let mut other = new_tenant("other");
    other.prov_user = ProvUser::parse("prov-acme").unwrap();
    let e = s.create_tenant(&other).await.unwrap_err();
    assert!(
        matches!(&e, StoreError::Conflict(m) if m.contains("provisioning user")),
        "{e}"
    );
    assert_eq!(s.list_tenants().await.unwrap().len(), 1);
}

pub async fn tenant_with_devices_cannot_be_deleted(s: &dyn Store) {
    s.create_tenant(&new_tenant("acme")).await.unwrap();
    s.create_device(&new_device("000413000001", "acme"))
        .await
        .unwrap();
    let e = s.delete_tenant(&tid("acme")).await.unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e}");
    s.delete_device(Mac::parse("000413000001").unwrap())
        .await
        .unwrap();
    s.delete_tenant(&tid("acme")).await.unwrap();
}

pub async fn devices_round_trip(s: &dyn Store) {
    s.create_tenant(&new_tenant("acme")).await.unwrap();
    let d = s
        .create_device(&new_device("00:04:13:aa:bb:cc", "acme"))
        .await
        .unwrap();
    assert_eq!(d.mac.to_string(), "000413AABBCC");
    assert_eq!(d.status, DeviceStatus::Unregistered);
    assert_eq!(d.last_message, "-");
    assert_eq!(d.registered_at, None);
    assert_eq!(d.lines, vec![line(1, "401")]);
    assert_eq!(d.settings.len(), 1);
    assert_eq!(d.settings[0].idx, Some(0));
    assert_eq!(d.revision, 1);
    let got = s.get_device(d.mac).await.unwrap().unwrap();
    assert_eq!(got, d);
    s.delete_device(d.mac).await.unwrap();
    assert_eq!(s.get_device(d.mac).await.unwrap(), None);
    assert!(matches!(
        s.delete_device(d.mac).await,
        Err(StoreError::NotFound { .. })
    ));
    // lines and settings went with it: re-creating starts clean
    let mut again = new_device("000413AABBCC", "acme");
    again.lines = vec![];
    again.settings = vec![];
    let d = s.create_device(&again).await.unwrap();
    assert!(d.lines.is_empty() && d.settings.is_empty());
}

pub async fn device_errors_are_clean(s: &dyn Store) {
    s.create_tenant(&new_tenant("acme")).await.unwrap();
    let e = s
        .create_device(&new_device("000413000001", "ghost"))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Invalid { field: "tenant", message } if message.contains("ghost")),
        "{e}"
    );
    s.create_device(&new_device("000413000001", "acme"))
        .await
        .unwrap();
    let e = s
        .create_device(&new_device("000413000001", "acme"))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Conflict(m) if m.contains("000413000001")),
        "{e}"
    );
    let e = s
        .update_device(
            Mac::parse("000413000001").unwrap(),
            &DevicePatch {
                tenant: Some(tid("ghost")),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Invalid { .. }), "{e}");
    let e = s
        .update_device(Mac::parse("000413000002").unwrap(), &DevicePatch::default())
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound { .. }), "{e}");
}

pub async fn failed_writes_leave_nothing(s: &dyn Store) {
    s.create_tenant(&new_tenant("acme")).await.unwrap();
    let before = s.generation().await.unwrap();
    let mut bad = new_device("000413000001", "acme");
    bad.lines = vec![line(1, "401"), line(1, "402")];
    let e = s.create_device(&bad).await.unwrap_err();
    assert!(
        matches!(e, StoreError::Invalid { field: "lines", .. }),
        "{e}"
    );
    let mut bad = new_device("000413000001", "acme");
    bad.settings = vec![
        Setting::new("language", None, "a", Perm::R).unwrap(),
        Setting::new("language", None, "b", Perm::R).unwrap(),
    ];
    assert!(s.create_device(&bad).await.is_err());
    assert_eq!(
        s.get_device(Mac::parse("000413000001").unwrap())
            .await
            .unwrap(),
        None
    );
    assert_eq!(s.generation().await.unwrap(), before);
    // a failed update keeps the old lines
    s.create_device(&new_device("000413000001", "acme"))
        .await
        .unwrap();
    let mac = Mac::parse("000413000001").unwrap();
    let e = s
        .update_device(
            mac,
            &DevicePatch {
                name: Some(DisplayText::parse("changed").unwrap()),
                lines: Some(vec![line(0, "1")]),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Invalid { .. }), "{e}");
    let d = s.get_device(mac).await.unwrap().unwrap();
    assert_eq!((d.name.as_str(), d.lines.len()), ("Reception", 1));
    // the store is still usable after a rollback
    s.create_device(&new_device("000413000002", "acme"))
        .await
        .unwrap();
    // a batch with one duplicate creates none of its devices
    let e = s
        .create_devices(&[
            new_device("000413000003", "acme"),
            new_device("000413000002", "acme"),
        ])
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e}");
    assert_eq!(
        s.get_device(Mac::parse("000413000003").unwrap())
            .await
            .unwrap(),
        None
    );
}

pub async fn patches_replace_lists_and_bump_revisions(s: &dyn Store) {
    s.create_tenant(&new_tenant("acme")).await.unwrap();
    s.create_tenant(&new_tenant("beta")).await.unwrap();
    let d = s
        .create_device(&new_device("000413000001", "acme"))
        .await
        .unwrap();
    let now = Utc::now();
    let p = s
        .update_device(
            d.mac,
            &DevicePatch {
                tenant: Some(tid("beta")),
                model: Some(PhoneModel::parse("snomD785").unwrap()),
                status: Some(DeviceStatus::Registered),
                registered_at: Some(Some(now)),
                last_message: Some("-".into()),
                ztprov: Some((
                    ProvUser::parse("zt-new").unwrap(),
                    ProvPassword::parse("fresh").unwrap(),
                    in_a_day(),
                )),
                lines: Some(vec![line(1, "501"), line(2, "502")]),
                settings: Some(vec![]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(p.revision, d.revision + 1);
    assert_eq!(p.tenant.as_str(), "beta");
    assert_eq!(p.model.as_str(), "snomD785");
    assert_eq!(p.status, DeviceStatus::Registered);
    assert_eq!(
        p.registered_at.map(|t| t.timestamp_millis()),
        Some(now.timestamp_millis())
    );
    assert_eq!(
        (p.ztprov_user.as_str(), p.ztprov_pass.as_str()),
        ("zt-new", "fresh")
    );
    assert_eq!(p.lines, vec![line(1, "501"), line(2, "502")]);
    assert!(p.settings.is_empty());
    assert_eq!(p.name, d.name);
    let q = s
        .update_device(d.mac, &DevicePatch::default())
        .await
        .unwrap();
    assert_eq!(q.revision, p.revision + 1);
    assert_eq!(q.lines, p.lines, "None leaves lists alone");
}

pub async fn list_filters(s: &dyn Store) {
    s.create_tenant(&new_tenant("acme")).await.unwrap();
    s.create_tenant(&new_tenant("beta")).await.unwrap();
    for (mac, t, ext) in [
        ("000413000001", "acme", "401"),
        ("000413000002", "acme", "402"),
        ("000413000003", "beta", "501"),
    ] {
        let mut d = new_device(mac, t);
        d.lines = vec![line(1, ext)];
        s.create_device(&d).await.unwrap();
    }
    s.update_device(
        Mac::parse("000413000002").unwrap(),
        &DevicePatch {
            status: Some(DeviceStatus::Failed),
            model: Some(PhoneModel::parse("snomD120").unwrap()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let macs = |v: Vec<crate::Device>| v.into_iter().map(|d| d.mac.to_string()).collect::<Vec<_>>();
    let all = s.list_devices(&DeviceFilter::default()).await.unwrap();
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(|d| d.lines.len() == 1));
    let f = DeviceFilter {
        tenant: Some(tid("acme")),
        ..Default::default()
    };
    assert_eq!(
        macs(s.list_devices(&f).await.unwrap()),
        ["000413000001", "000413000002"]
    );
    let f = DeviceFilter {
        status: Some(DeviceStatus::Failed),
        ..Default::default()
    };
    assert_eq!(macs(s.list_devices(&f).await.unwrap()), ["000413000002"]);
    let f = DeviceFilter {
        model: Some(PhoneModel::parse("snomD717").unwrap()),
        ..Default::default()
    };
    assert_eq!(s.list_devices(&f).await.unwrap().len(), 2);
    let f = DeviceFilter {
        search: Some("501".into()),
        ..Default::default()
    };
    assert_eq!(macs(s.list_devices(&f).await.unwrap()), ["000413000003"]);
    let f = DeviceFilter {
        search: Some("0413000001".into()),
        ..Default::default()
    };
    assert_eq!(macs(s.list_devices(&f).await.unwrap()), ["000413000001"]);
    // pages, in list order, with their lines
    let page = |limit, offset| DeviceFilter {
        limit: Some(limit),
        offset,
        ..Default::default()
    };
    let p = s.list_devices(&page(2, 1)).await.unwrap();
    assert_eq!(macs(p.clone()), ["000413000002", "000413000003"]);
    assert!(p.iter().all(|d| d.lines.len() == 1));
    assert!(s.list_devices(&page(10, 3)).await.unwrap().is_empty());
}

pub(super) fn contact(mac: &str, status: u16, secs_ago: i64) -> Contact {
    let at = Utc::now() - chrono::Duration::seconds(secs_ago);
    Contact {
        at: chrono::DateTime::from_timestamp_millis(at.timestamp_millis()).unwrap(),
        mac: Mac::parse(mac).unwrap(),
        ip: "192.0.2.7".into(),
        user_agent: "Mozilla/4.0 (compatible; snomD717-SIP 10.1.33.33 x 000413000001)".into(),
        path: "/prov/snomD717-000413000001.htm".into(),
        status,
        hits: 2,
    }
}

pub async fn contacts_newest_first(s: &dyn Store) {
    let batch = [
        contact("000413000001", 401, 30),
        contact("000413000001", 200, 20),
        contact("000413000002", 200, 10),
        contact("000413000001", 200, 5),
    ];
    s.record_contacts(&batch).await.unwrap();
    s.record_contacts(&[]).await.unwrap();
    let got = s
        .contacts(Mac::parse("000413000001").unwrap(), 2)
        .await
        .unwrap();
    assert_eq!(got, vec![batch[3].clone(), batch[1].clone()]);
    let got = s
        .contacts(Mac::parse("000413000001").unwrap(), 100)
        .await
        .unwrap();
    assert_eq!(got.len(), 3);
    let recent = s.recent_contacts(None, 2).await.unwrap();
    assert_eq!(
        recent,
        vec![batch[3].clone(), batch[2].clone()],
        "any device's, newest written first"
    );
    assert!(
        s.recent_contacts(Some(&tid("nobody")), 10)
            .await
            .unwrap()
            .is_empty(),
        "a tenant's devices only"
    );
    assert!(s
        .contacts(Mac::parse("000413FFFFFF").unwrap(), 10)
        .await
        .unwrap()
        .is_empty());
    let cutoff = Utc::now() - chrono::Duration::seconds(15);
    assert_eq!(s.prune_contacts(cutoff, 0).await.unwrap(), 2);
    let left = s
        .contacts(Mac::parse("000413000001").unwrap(), 100)
        .await
        .unwrap();
    assert_eq!(left, vec![batch[3].clone()]);
    // A cap in rows keeps the newest.
    let more: Vec<Contact> = (0..10)
        .map(|i| contact("000413000002", 200 + i, 1))
        .collect();
    s.record_contacts(&more).await.unwrap();
    let old = Utc::now() - chrono::Duration::days(1);
    assert_eq!(s.prune_contacts(old, 4).await.unwrap(), 8);
    let kept = s
        .contacts(Mac::parse("000413000002").unwrap(), 100)
        .await
        .unwrap();
    let mut statuses: Vec<u16> = kept.iter().map(|c| c.status).collect();
    statuses.sort();
    assert_eq!(statuses, [206, 207, 208, 209], "the newest rows stay");
}

pub async fn serials_are_kept_changed_and_cleared(s: &dyn Store) {
    s.create_tenant(&new_tenant("acme")).await.unwrap();
    let mut d = new_device("000413000077", "acme");
    d.serial = Some(touchless_domain::SerialNumber::parse("0215-0708/12345").unwrap());
    s.create_devices(std::slice::from_ref(&d)).await.unwrap();
    let mac = d.mac;
    let got = s.get_device(mac).await.unwrap().unwrap();
    assert_eq!(got.serial, d.serial);
    let other = Some(touchless_domain::SerialNumber::parse("X9").unwrap());
    let patch = |serial| DevicePatch {
        serial,
        ..DevicePatch::default()
    };
    s.update_device(mac, &patch(Some(other.clone())))
        .await
        .unwrap();
    assert_eq!(s.get_device(mac).await.unwrap().unwrap().serial, other);
    s.update_device(mac, &patch(None)).await.unwrap();
    assert_eq!(
        s.get_device(mac).await.unwrap().unwrap().serial,
        other,
        "absent: kept"
    );
    s.update_device(mac, &patch(Some(None))).await.unwrap();
    assert_eq!(
        s.get_device(mac).await.unwrap().unwrap().serial,
        None,
        "cleared"
    );
}

pub async fn uploads_keep_the_newest_of_each_kind(s: &dyn Store) {
    let mac = Mac::parse("0004F2000001").unwrap();
    let other = Mac::parse("0004F2000002").unwrap();
    let old = Utc::now() - chrono::Duration::days(40);
    s.record_upload(mac, "app.log", old, b"very old", 3)
        .await
        .unwrap();
    for i in 0..5u8 {
        let body = [b'a' + i, 0, 0xFF];
        s.record_upload(mac, "app.log", Utc::now(), &body, 3)
            .await
            .unwrap();
    }
    s.record_upload(mac, "phone.cfg", Utc::now(), b"<x/>", 3)
        .await
        .unwrap();
    s.record_upload(other, "app.log", Utc::now(), b"theirs", 3)
        .await
        .unwrap();
    let list = s.uploads(mac).await.unwrap();
    let kinds: Vec<&str> = list.iter().map(|u| u.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["phone.cfg", "app.log", "app.log", "app.log"],
        "newest first, 3 a kind"
    );
    assert!(list.iter().all(|u| u.mac == mac));
    let (u, content) = s.upload_content(mac, list[1].id).await.unwrap().unwrap();
    assert_eq!(
        (u.size, content),
        (3, vec![b'e', 0, 0xFF]),
        "bytes kept as sent"
    );
    assert!(
        s.upload_content(other, list[1].id).await.unwrap().is_none(),
        "another device's id"
    );
    s.record_upload(other, "boot.log", old, b"old", 3)
        .await
        .unwrap();
    assert_eq!(
        s.prune_uploads(Utc::now() - chrono::Duration::days(30))
            .await
            .unwrap(),
        1
    );
    assert_eq!(s.uploads(other).await.unwrap().len(), 1);
}

pub async fn meta_first_writer_wins(s: &dyn Store) {
    assert_eq!(s.meta_get_or_insert("k", "one").await.unwrap(), "one");
    assert_eq!(s.meta_get_or_insert("k", "two").await.unwrap(), "one");
    s.meta_set("k", "three").await.unwrap();
    assert_eq!(s.meta_get_or_insert("k", "four").await.unwrap(), "three");
}

pub async fn unicode_and_markup_survive(s: &dyn Store) {
    let mut t = new_tenant("acme");
    t.name = DisplayText::parse("Müller & Söhne <GmbH> \"quoted\" 'x' 日本").unwrap();
    s.create_tenant(&t).await.unwrap();
    let mut d = new_device("000413000001", "acme");
    d.name = DisplayText::parse("Zoë's <desk> & more").unwrap();
    d.settings = vec![Setting::new("user_idle_text", Some(1), "ÄÖÜ <&> ☎", Perm::Keep).unwrap()];
    let created = s.create_device(&d).await.unwrap();
    let got = s.get_device(created.mac).await.unwrap().unwrap();
    assert_eq!(got.name, d.name);
    assert_eq!(got.settings, d.settings);
    assert_eq!(s.get_tenant(&t.id).await.unwrap().unwrap().name, t.name);
}

pub async fn tenants_keep_their_prov_scope(s: &dyn Store) {
    let mut t = new_tenant("acme");
    t.prov_scope = ProvScope::Device;
    assert_eq!(
        s.create_tenant(&t).await.unwrap().prov_scope,
        ProvScope::Device
    );
    let u = s
        .update_tenant(
            &tid("acme"),
            &TenantPatch {
                prov_scope: Some(ProvScope::Tenant),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(u.prov_scope, ProvScope::Tenant);
    s.create_device(&new_device("000413000001", "acme"))
        .await
        .unwrap();
    let d = s
        .get_device(Mac::parse("000413000001").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (d.prov_user.as_str(), d.prov_pass.as_str()),
        ("pv000413000001", "pvpass")
    );
}
