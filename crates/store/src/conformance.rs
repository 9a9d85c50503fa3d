//! The store conformance suite: what every [`Store`] backend must do, as tests.
//!
//! A backend's test file calls [`conformance_tests!`] with an async function that
//! returns a fresh, empty store (and whatever keeps it alive, such as a temp dir);
//! every case below then runs against it as its own `#[tokio::test]`.

use chrono::Utc;
use touchless_domain::{
    DeviceStatus, DisplayText, Host, Mac, Perm, PhoneModel, ProvPassword, ProvScope, ProvUser,
    Setting, SipPassword, SipUser, TenantId, TouchlessMode,
};

use crate::{
    Action, Contact, DeviceFilter, DevicePatch, EndpointIn, EventState, Issued, Line, NewDevice,
    NewTenant, Outcome, ProfileIn, Provider, RedirectContact, Role, SettingValue, SettingValues,
    Store, StoreError, TenantPatch,
};

/// Expands to one `#[tokio::test]` per conformance case, each on a fresh store from `$make`.
#[macro_export]
macro_rules! conformance_tests {
    ($make:path) => {
        $crate::conformance_tests!(@cases $make;
            tenants_round_trip duplicate_tenants_conflict tenant_with_devices_cannot_be_deleted
            devices_round_trip device_errors_are_clean failed_writes_leave_nothing
            patches_replace_lists_and_bump_revisions list_filters generation_tracks_writes
            snapshot_is_complete contacts_newest_first meta_first_writer_wins
            unicode_and_markup_survive companies_and_keys endpoints_have_one_owner
            profiles_round_trip redirect_contacts_round_trip providers_one_per_scope
            queue_claims_in_order_per_mac expired_leases_are_reclaimed outcomes_reach_the_device
            nonces_are_remembered_until_they_expire staged_credentials_replace_the_current_ones
            first_use_is_recorded_once own_leases_are_released removing_devices_go_when_deregistered
            phones_see_enabled_endpoints_only tenants_keep_their_prov_scope
            event_outcomes_do_not_change_what_is_served a_late_older_event_does_not_overwrite_the_newest);
    };
    (@cases $make:path; $($case:ident)*) => {
        $(
            #[tokio::test]
            async fn $case() {
                let (store, _keep) = $make().await;
                $crate::conformance::$case(&*store).await;
            }
        )*
    };
}

fn tid(s: &str) -> TenantId {
    TenantId::parse(s).unwrap()
}

pub fn new_tenant(id: &str) -> NewTenant {
    NewTenant {
        id: tid(id),
        name: DisplayText::parse(&format!("Tenant {id}")).unwrap(),
        prov_user: ProvUser::parse(&format!("prov-{id}")).unwrap(),
        prov_pass: ProvPassword::parse("s3cr3t-prov").unwrap(),
        sip_host: Host::parse("pbx.example.com").unwrap(),
        sip_port: 5060,
        mode: TouchlessMode::Master,
        prov_scope: ProvScope::Tenant,
        settings: vec![Setting::new("language", None, "Deutsch", Perm::R).unwrap()],
    }
}

pub fn line(idx: u32, ext: &str) -> Line {
    Line {
        idx,
        extension: SipUser::parse(ext).unwrap(),
        auth_user: SipUser::parse(ext).unwrap(),
        sip_password: SipPassword::parse("sip-secret").unwrap(),
        display_name: DisplayText::parse(&format!("Ext {ext}")).unwrap(),
    }
}

pub fn new_device(mac: &str, tenant: &str) -> NewDevice {
    let mac = Mac::parse(mac).unwrap();
    NewDevice {
        mac,
        model: PhoneModel::parse("snomD717").unwrap(),
        tenant: tid(tenant),
        name: DisplayText::parse("Reception").unwrap(),
        ztprov_user: ProvUser::parse(&format!("zt{mac}")).unwrap(),
        ztprov_pass: ProvPassword::parse("ztpass").unwrap(),
        ztprov_expires_at: in_a_day(),
        prov_user: ProvUser::parse(&format!("pv{mac}")).unwrap(),
        prov_pass: ProvPassword::parse("pvpass").unwrap(),
        lines: vec![line(1, "401")],
        settings: vec![Setting::new("fkey", Some(0), "blf sip:402@pbx", Perm::R).unwrap()],
    }
}

/// Millisecond precision, which both backends keep exactly.
fn in_a_day() -> chrono::DateTime<Utc> {
    let t = Utc::now() + chrono::Duration::days(1);
    chrono::DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap()
}

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

pub async fn generation_tracks_writes(s: &dyn Store) {
    let g0 = s.generation().await.unwrap();
    s.create_tenant(&new_tenant("acme")).await.unwrap();
    let g1 = s.generation().await.unwrap();
    assert!(g1 > g0);
    s.create_device(&new_device("000413000001", "acme"))
        .await
        .unwrap();
    let g2 = s.generation().await.unwrap();
    assert!(g2 > g1);
    s.record_contacts(&[contact("000413000001", 200, 0)])
        .await
        .unwrap();
    assert_eq!(
        s.generation().await.unwrap(),
        g2,
        "contacts do not change what is provisioned"
    );
}

pub async fn snapshot_is_complete(s: &dyn Store) {
    s.create_tenant(&new_tenant("acme")).await.unwrap();
    for i in 0..50u32 {
        let mut d = new_device(&format!("0004130000{i:02X}"), "acme");
        d.lines = (1..=(i % 3) + 1)
            .map(|n| line(n, &format!("{i}{n}")))
            .collect();
        s.create_device(&d).await.unwrap();
    }
    let snap = s.snapshot().await.unwrap();
    assert_eq!(snap.generation, s.generation().await.unwrap());
    assert_eq!(snap.tenants.len(), 1);
    assert_eq!(snap.tenants[0].settings.len(), 1);
    assert_eq!(snap.devices.len(), 50);
    for d in &snap.devices {
        let i = u32::from(d.mac.bytes()[5]);
        assert_eq!(d.lines.len() as u32, i % 3 + 1, "{}", d.mac);
        assert_eq!(d.settings.len(), 1);
    }
}

fn contact(mac: &str, status: u16, secs_ago: i64) -> Contact {
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

const C1: &str = "0123456789abcdef0123456789abcdef";
const C2: &str = "fedcba9876543210fedcba9876543210";

fn endpoint_in(mac: &str, value: &str) -> EndpointIn {
    let mut settings = SettingValues::new();
    settings.insert(
        "aaaabbbbccccddddeeeeffff00001111".into(),
        SettingValue {
            value: value.into(),
            perm: Perm::RW,
            idx: None,
        },
    );
    EndpointIn {
        mac: Mac::parse(mac).unwrap(),
        name: "Desk".into(),
        autoprovisioning_enabled: true,
        profile: None,
        settings,
    }
}

pub async fn companies_and_keys(s: &dyn Store) {
    let c = s.create_company(C1, "Acme Telecom").await.unwrap();
    assert_eq!(s.get_company(C1).await.unwrap(), Some(c.clone()));
    assert!(matches!(
        s.create_company(C1, "again").await,
        Err(StoreError::Conflict(_))
    ));
    let k = s
        .create_api_key("ck_one", C1, "s3cret", Role::Write)
        .await
        .unwrap();
    assert_eq!(
        (k.role, k.enabled, k.secret.as_str()),
        (Role::Write, true, "s3cret")
    );
    assert!(
        !format!("{k:?}").contains("s3cret"),
        "secrets stay out of Debug"
    );
    assert!(matches!(
        s.create_api_key("ck_two", C2, "x", Role::Read).await,
        Err(StoreError::Invalid { .. })
    ));
    s.create_company(C2, "Beta").await.unwrap();
    s.create_api_key("ck_two", C2, "x", Role::None)
        .await
        .unwrap();
    assert_eq!(s.list_api_keys(Some(C1)).await.unwrap().len(), 1);
    assert_eq!(s.list_api_keys(None).await.unwrap().len(), 2);
    let off = s.set_api_key_enabled("ck_one", false).await.unwrap();
    assert!(!off.enabled);
    let at = Utc::now();
    s.touch_api_key("ck_one", at).await.unwrap();
    let k = s.get_api_key("ck_one").await.unwrap().unwrap();
    assert_eq!(
        k.last_used_at.map(|t| t.timestamp_millis()),
        Some(at.timestamp_millis())
    );
    assert_eq!(s.list_companies().await.unwrap().len(), 2);
    assert!(s.get_api_key("nope").await.unwrap().is_none());
}

pub async fn endpoints_have_one_owner(s: &dyn Store) {
    s.create_company(C1, "A").await.unwrap();
    s.create_company(C2, "B").await.unwrap();
    let (e, created) = s
        .put_endpoint(C1, &endpoint_in("000413aabbcc", "http://one"))
        .await
        .unwrap();
    assert!(created);
    assert_eq!(e.company, C1);
    let (e, created) = s
        .put_endpoint(C1, &endpoint_in("000413AABBCC", "http://two"))
        .await
        .unwrap();
    assert!(!created, "PUT replaces");
    assert_eq!(e.settings.values().next().unwrap().value, "http://two");
    let err = s
        .put_endpoint(C2, &endpoint_in("000413aabbcc", "http://evil"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Forbidden(m) if m.contains("taken_mac_or_forbidden")),
        "{err}"
    );
    let err = s
        .delete_endpoint(C2, Mac::parse("000413aabbcc").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Forbidden(_)));
    let got = s
        .get_endpoint(Mac::parse("000413aabbcc").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        got.settings.values().next().unwrap().value,
        "http://two",
        "nothing written by the refused PUT"
    );
    for i in 0..5 {
        s.put_endpoint(C1, &endpoint_in(&format!("0004130000{i:02x}"), "x"))
            .await
            .unwrap();
    }
    let (page, total) = s.list_endpoints(Some(C1), 2, 2).await.unwrap();
    assert_eq!(total, 6);
    assert_eq!(
        page.iter().map(|e| e.mac.to_string()).collect::<Vec<_>>(),
        ["000413000002", "000413000003"]
    );
    assert_eq!(s.list_endpoints(Some(C2), 0, 10).await.unwrap().1, 0);
    let mut with_profile = endpoint_in("000413000009", "x");
    with_profile.profile = Some("ffffffffffffffffffffffffffffffff".into());
    assert!(matches!(
        s.put_endpoint(C1, &with_profile).await,
        Err(StoreError::Invalid { .. })
    ));
    s.delete_endpoint(C1, Mac::parse("000413aabbcc").unwrap())
        .await
        .unwrap();
    assert!(matches!(
        s.delete_endpoint(C1, Mac::parse("000413aabbcc").unwrap())
            .await,
        Err(StoreError::NotFound { .. })
    ));
    // once released, another company may claim it
    s.put_endpoint(C2, &endpoint_in("000413aabbcc", "http://b"))
        .await
        .unwrap();
}

pub async fn profiles_round_trip(s: &dyn Store) {
    s.create_company(C1, "A").await.unwrap();
    s.create_company(C2, "B").await.unwrap();
    let p = ProfileIn {
        name: "D7 office".into(),
        product_group: Some("11111111111111111111111111111111".into()),
        autoprovisioning_enabled: true,
        settings: endpoint_in("000413000001", "http://prov").settings,
    };
    let created = s
        .create_profile("22222222222222222222222222222222", C1, &p)
        .await
        .unwrap();
    assert_eq!(created.settings, p.settings);
    assert!(
        s.get_profile(C2, &created.id).await.unwrap().is_none(),
        "scoped to its company"
    );
    let mut q = p.clone();
    q.name = "renamed".into();
    assert_eq!(
        s.replace_profile(C1, &created.id, &q).await.unwrap().name,
        "renamed"
    );
    assert!(matches!(
        s.replace_profile(C2, &created.id, &q).await,
        Err(StoreError::NotFound { .. })
    ));
    let mut e = endpoint_in("000413000001", "x");
    e.profile = Some(created.id.clone());
    s.put_endpoint(C1, &e).await.unwrap();
    assert_eq!(s.list_profiles(C1).await.unwrap().len(), 1);
    s.delete_profile(C1, &created.id).await.unwrap();
    let e = s
        .get_endpoint(Mac::parse("000413000001").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(e.profile, None, "deleting a profile detaches its endpoints");
}

pub async fn redirect_contacts_round_trip(s: &dyn Store) {
    let c = |mac: Option<&str>, outcome: &str, secs: i64| RedirectContact {
        at: chrono::DateTime::from_timestamp_millis(
            (Utc::now() - chrono::Duration::seconds(secs)).timestamp_millis(),
        )
        .unwrap(),
        mac: mac.map(|m| Mac::parse(m).unwrap()),
        ip: "192.0.2.9".into(),
        user_agent: "ua".into(),
        firmware: Some("10.1.33.33".into()),
        path: "/snomD717-000413000001.htm".into(),
        outcome: outcome.into(),
    };
    let batch = vec![
        c(Some("000413000001"), "unknown", 20),
        c(None, "bad_request", 10),
        c(Some("000413000001"), "redirected", 5),
    ];
    s.record_redirect_contacts(&batch).await.unwrap();
    let got = s
        .redirect_contacts(Some(Mac::parse("000413000001").unwrap()), 10)
        .await
        .unwrap();
    assert_eq!(got, vec![batch[2].clone(), batch[0].clone()]);
    assert_eq!(s.redirect_contacts(None, 2).await.unwrap().len(), 2);
    // Retention by age, then a cap in rows.
    assert_eq!(
        s.prune_redirect_contacts(Utc::now() - chrono::Duration::seconds(15), 0)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        s.prune_redirect_contacts(Utc::now() - chrono::Duration::days(1), 1)
            .await
            .unwrap(),
        1
    );
    let left = s.redirect_contacts(None, 10).await.unwrap();
    assert_eq!(left, vec![batch[2].clone()]);
}

fn provider(name: &str, tenant: Option<&str>) -> Provider {
    Provider {
        name: name.into(),
        kind: "snom".into(),
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
    s.delete_provider("snom").await.unwrap();
    assert!(s.get_provider("snom").await.unwrap().is_none());
}

fn creds(n: u32) -> (ProvUser, ProvPassword) {
    (
        ProvUser::parse(&format!("zt{n}")).unwrap(),
        ProvPassword::parse(&format!("pw{n}")).unwrap(),
    )
}

fn issued(mac: Mac, (user, pass): (ProvUser, ProvPassword)) -> Issued {
    Issued {
        mac,
        user,
        pass,
        expires_at: in_a_day(),
    }
}

async fn devices_for_queue(s: &dyn Store, n: u32) -> Vec<Mac> {
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
    let ids = s
        .enqueue(
            Action::Register,
            &[
                issued(macs[0], (u.clone(), p.clone())),
                issued(macs[1], (u.clone(), p.clone())),
            ],
        )
        .await
        .unwrap_err();
    // the same ztprov user twice violates uniqueness: nothing is queued
    let _ = ids;
    assert!(s.list_events(None, 10).await.unwrap().is_empty());
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

/// No sleeps: expiry is given as a time in the past, so a loaded machine
/// cannot make this flake.
pub async fn nonces_are_remembered_until_they_expire(s: &dyn Store) {
    let later = Utc::now() + chrono::Duration::seconds(60);
    let past = Utc::now() - chrono::Duration::seconds(1);
    assert!(s.remember_nonce("k", "n1", later).await.unwrap());
    assert!(
        !s.remember_nonce("k", "n1", later).await.unwrap(),
        "a replay"
    );
    assert!(
        s.remember_nonce("other", "n1", later).await.unwrap(),
        "nonces are per key"
    );
    assert!(s.remember_nonce("k", "n2", past).await.unwrap());
    assert!(
        s.remember_nonce("k", "n2", later).await.unwrap(),
        "expired nonces may be reused"
    );
    assert!(s.remember_nonce("k", "n3", past).await.unwrap());
    assert_eq!(
        s.prune_nonces(Utc::now()).await.unwrap(),
        1,
        "only n3 had expired"
    );
    assert!(
        !s.remember_nonce("k", "n2", later).await.unwrap(),
        "n2 lives again"
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
    let id = s
        .enqueue(Action::Register, &[issued(macs[0], creds(1))])
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
    assert_eq!(
        d.ztprov_expires_at.map(|t| t.timestamp()),
        Some(in_a_day().timestamp())
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

pub async fn phones_see_enabled_endpoints_only(s: &dyn Store) {
    s.create_company(C1, "Acme").await.unwrap();
    for (mac, enabled) in [("000413000001", true), ("000413000002", false)] {
        s.put_endpoint(
            C1,
            &EndpointIn {
                mac: Mac::parse(mac).unwrap(),
                name: String::new(),
                autoprovisioning_enabled: enabled,
                profile: None,
                settings: SettingValues::new(),
            },
        )
        .await
        .unwrap();
    }
    let on = Mac::parse("000413000001").unwrap();
    let off = Mac::parse("000413000002").unwrap();
    assert_eq!(s.get_enabled_endpoint(on).await.unwrap().unwrap().mac, on);
    assert!(s.get_enabled_endpoint(off).await.unwrap().is_none());
    assert!(s.get_endpoint(off).await.unwrap().is_some());
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
