//! Conformance cases of the console: accounts, sessions, the audit log.

use touchless_domain::{ConsoleRole, UserName};

use crate::{NewAudit, NewUser, Store, StoreError};

use super::*;

fn user(name: &str, role: ConsoleRole, tenant: Option<&str>) -> NewUser {
    NewUser {
        name: UserName::parse(name).unwrap(),
        role,
        tenant: tenant.map(tid),
        password_hash: format!("hash-of-{name}"),
    }
}

pub async fn accounts_sessions_and_audit(s: &dyn Store) {
    s.create_tenant(&new_tenant("acme")).await.unwrap();
    assert_eq!(s.count_users().await.unwrap(), 0);
    let root = s
        .create_user(&user("root", ConsoleRole::Admin, None))
        .await
        .unwrap();
    assert_eq!(
        (root.role, root.tenant.as_ref()),
        (ConsoleRole::Admin, None)
    );
    assert!(!format!("{root:?}").contains("hash-of"));
    assert!(matches!(
        s.create_user(&user("root", ConsoleRole::Admin, None)).await,
        Err(StoreError::Conflict(m)) if m.contains("root")
    ));
    assert!(matches!(
        s.create_user(&user("ghost", ConsoleRole::TenantAdmin, Some("nope")))
            .await,
        Err(StoreError::Invalid { .. })
    ));
    assert!(
        s.create_user(&user("odd", ConsoleRole::TenantAdmin, None))
            .await
            .is_err(),
        "a tenant admin needs a tenant"
    );
    let ta = s
        .create_user(&user("ann", ConsoleRole::TenantAdmin, Some("acme")))
        .await
        .unwrap();
    assert_eq!(ta.tenant, Some(tid("acme")));
    assert_eq!(s.list_users().await.unwrap().len(), 2);

    s.create_session("h1", &ta.name, "csrf1").await.unwrap();
    s.create_session("h2", &root.name, "csrf2").await.unwrap();
    let got = s.get_session("h1").await.unwrap().unwrap();
    assert_eq!(
        (got.user.name.as_str(), got.csrf.as_str()),
        ("ann", "csrf1")
    );
    s.touch_session("h1").await.unwrap();
    assert!(s.get_session("h1").await.unwrap().unwrap().last_seen_at >= got.last_seen_at);
    assert!(s.get_session("nope").await.unwrap().is_none());

    s.set_password(&ta.name, "new-hash").await.unwrap();
    assert!(
        s.get_session("h1").await.unwrap().is_none(),
        "a new password ends the account's sessions"
    );
    assert_eq!(
        s.get_user(&ta.name).await.unwrap().unwrap().password_hash,
        "new-hash"
    );
    assert!(s.get_session("h2").await.unwrap().is_some());
    let past = chrono::Utc::now() - chrono::Duration::hours(1);
    assert_eq!(s.prune_sessions(past, past).await.unwrap(), 0);
    let future = chrono::Utc::now() + chrono::Duration::hours(1);
    assert_eq!(s.prune_sessions(future, past).await.unwrap(), 1);
    s.create_session("h3", &root.name, "c").await.unwrap();
    s.delete_session("h3").await.unwrap();
    assert!(s.get_session("h3").await.unwrap().is_none());

    for (actor, tenant) in [("root", None), ("ann", Some("acme"))] {
        s.audit(&NewAudit {
            actor: actor.into(),
            tenant: tenant.map(tid),
            action: "sign-in".into(),
            target: actor.into(),
            detail: String::new(),
        })
        .await
        .unwrap();
    }
    let all = s
        .audit_log(&crate::AuditFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|e| e.actor.as_str()).collect::<Vec<_>>(),
        ["ann", "root"],
        "newest first"
    );
    let mine = s
        .audit_log(&crate::AuditFilter {
            tenant: Some(tid("acme")),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(mine.len(), 1);
    let by = |actor: &str, action: &str| crate::AuditFilter {
        actor: Some(actor.into()).filter(|a: &String| !a.is_empty()),
        action: Some(action.into()).filter(|a: &String| !a.is_empty()),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(s.audit_log(&by("root", "")).await.unwrap().len(), 1);
    assert_eq!(
        s.audit_log(&by("", "SIGN")).await.unwrap().len(),
        2,
        "any case"
    );
    assert_eq!(s.audit_log(&by("", "delete")).await.unwrap().len(), 0);
    s.delete_user(&ta.name).await.unwrap();
    assert!(matches!(
        s.delete_user(&ta.name).await,
        Err(StoreError::NotFound { .. })
    ));
}
