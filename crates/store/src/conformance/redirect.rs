//! Conformance cases of the redirection service: companies, keys, endpoints, profiles, contacts, Hawk nonces.

use chrono::Utc;
use touchless_domain::{Mac, Perm};

use crate::{
    EndpointIn, ProfileIn, RedirectContact, Role, SettingValue, SettingValues, Store, StoreError,
};

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

/// Calls that arrive together are written together (both backends batch
/// them, `nonces.rs`): each nonce is still new exactly once, however many
/// calls name it at the same time.
pub async fn nonces_remembered_at_once_are_new_once(s: &dyn Store) {
    let later = Utc::now() + chrono::Duration::seconds(60);
    let names: Vec<String> = (0..300).map(|i| format!("n{}", i % 200)).collect();
    let answers =
        futures_util::future::join_all(names.iter().map(|n| s.remember_nonce("k", n, later))).await;
    let mut new: std::collections::HashMap<&str, u32> = std::collections::HashMap::new();
    for (n, a) in names.iter().zip(answers) {
        if a.unwrap() {
            *new.entry(n.as_str()).or_default() += 1;
        }
    }
    assert_eq!(new.len(), 200, "every nonce is new once");
    assert!(new.values().all(|&c| c == 1), "and only once: {new:?}");
    assert!(
        !s.remember_nonce("k", "n7", later).await.unwrap(),
        "a replay after the batch"
    );
    assert!(s.remember_nonce("k", "n200", later).await.unwrap());
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
