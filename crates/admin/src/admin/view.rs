//! Store records as the admin API answers them (`touchless_api` types).
//!
//! Secrets are left out here; the few endpoints that hand one out set it on
//! the answer themselves, so no list can leak one by accident.

use touchless_api as api;
use touchless_store as store;

pub(crate) fn tenant(t: &store::Tenant) -> api::tenants::Tenant {
    api::tenants::Tenant {
        id: t.id.clone(),
        name: t.name.clone(),
        prov_user: t.prov_user.clone(),
        prov_pass: None,
        sip_host: t.sip_host.clone(),
        sip_port: t.sip_port,
        mode: t.mode,
        prov_credentials: t.prov_scope,
        settings: t.settings.clone(),
        revision: t.revision,
        created_at: t.created_at,
        updated_at: t.updated_at,
    }
}

/// `plans`: the view's firmware policies (`Directory::plans`), for where
/// the device stands.
pub(crate) fn device(
    d: &store::Device,
    plans: &touchless_provisioning::firmware::Plans,
) -> api::devices::Device {
    api::devices::Device {
        mac: d.mac,
        model: d.model,
        vendor: d.model.vendor(),
        tenant: d.tenant.clone(),
        name: d.name.clone(),
        serial: d.serial.clone(),
        status: d.status,
        registered_at: d.registered_at,
        last_message: d.last_message.clone(),
        ztprov_user: d.ztprov_user.clone(),
        ztprov_pass: None,
        ztprov_expires_at: d.ztprov_expires_at,
        ztprov_used_at: d.ztprov_used_at,
        prov_user: d.prov_user.clone(),
        prov_pass: None,
        removing: d.removing,
        lines: d
            .lines
            .iter()
            .map(|l| api::devices::Line {
                idx: l.idx,
                extension: l.extension.clone(),
                auth_user: l.auth_user.clone(),
                display_name: l.display_name.clone(),
            })
            .collect(),
        settings: d.settings.clone(),
        firmware: super::firmware::standing(d, plans),
        revision: d.revision,
        created_at: d.created_at,
        updated_at: d.updated_at,
    }
}

pub(super) fn contact(c: store::Contact) -> api::devices::Contact {
    api::devices::Contact {
        at: c.at,
        mac: c.mac,
        ip: c.ip,
        user_agent: c.user_agent,
        path: c.path,
        status: c.status,
        hits: c.hits,
    }
}

pub(crate) fn upload(u: store::Upload) -> api::devices::Upload {
    api::devices::Upload {
        id: u.id,
        at: u.at,
        kind: u.kind,
        size: u.size,
    }
}

pub(crate) fn provider(p: &store::Provider) -> api::daemon::Provider {
    api::daemon::Provider {
        name: p.name.clone(),
        kind: p.kind.clone(),
        vendor: p.vendor,
        base_url: p.base_url.clone(),
        access_key_id: p.access_key_id.clone(),
        tenant: p.tenant.clone(),
        ca_pem: p.ca_pem.clone(),
        created_at: p.created_at,
    }
}

pub(crate) fn event(e: store::Event) -> api::daemon::Event {
    api::daemon::Event {
        id: e.id,
        action: match e.action {
            store::Action::Register => api::daemon::Action::Register,
            store::Action::Deregister => api::daemon::Action::Deregister,
        },
        mac: e.mac,
        state: event_state(e.state),
        attempts: e.attempts,
        next_attempt_at: e.next_attempt_at,
        lease_until: e.lease_until,
        leased_by: e.leased_by,
        last_error: e.last_error,
        created_at: e.created_at,
        updated_at: e.updated_at,
    }
}

fn event_state(s: store::EventState) -> api::daemon::EventState {
    match s {
        store::EventState::Pending => api::daemon::EventState::Pending,
        store::EventState::Running => api::daemon::EventState::Running,
        store::EventState::Done => api::daemon::EventState::Done,
        store::EventState::Failed => api::daemon::EventState::Failed,
    }
}

pub(crate) fn company(c: store::Company) -> api::redirect::Company {
    api::redirect::Company {
        id: c.id,
        name: c.name,
        created_at: c.created_at,
    }
}

pub(crate) fn api_key(k: store::ApiKey) -> api::redirect::ApiKey {
    api::redirect::ApiKey {
        id: k.id,
        company: k.company,
        role: k.role,
        enabled: k.enabled,
        last_used_at: k.last_used_at,
        created_at: k.created_at,
        secret: None,
    }
}

pub(crate) fn endpoint(e: store::Endpoint) -> api::redirect::Endpoint {
    api::redirect::Endpoint {
        mac: e.mac,
        company: e.company,
        name: e.name,
        autoprovisioning_enabled: e.autoprovisioning_enabled,
        profile: e.profile,
        settings: e
            .settings
            .into_iter()
            .map(|(uuid, v)| {
                (
                    uuid,
                    api::redirect::SettingValue {
                        value: v.value,
                        perm: v.perm,
                        idx: v.idx,
                    },
                )
            })
            .collect(),
        created_at: e.created_at,
        updated_at: e.updated_at,
    }
}

pub(crate) fn redirect_contact(c: store::RedirectContact) -> api::redirect::RedirectContact {
    api::redirect::RedirectContact {
        at: c.at,
        mac: c.mac,
        ip: c.ip,
        user_agent: c.user_agent,
        firmware: c.firmware,
        path: c.path,
        outcome: c.outcome,
    }
}
