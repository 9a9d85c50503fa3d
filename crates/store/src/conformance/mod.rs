//! The store conformance suite: what every [`Store`] backend must do, as tests.
//!
//! A backend's test file calls [`conformance_tests!`] with an async function that
//! returns a fresh, empty store (and whatever keeps it alive, such as a temp dir);
//! every case below then runs against it as its own `#[tokio::test]`.
//!
//! The cases live by concern: `registry.rs` (tenants, devices, contacts,
//! meta), `view.rs` (generation, snapshots, changes, bulk removal), `redirect.rs` (the redirection service's tables and Hawk
//! nonces), `queue.rs` (providers and the event queue).

use chrono::Utc;
use touchless_domain::{
    DisplayText, Host, Mac, Perm, ProvPassword, ProvScope, ProvUser, Setting, SipPassword, SipUser,
    TenantId, TouchlessMode,
};
use touchless_phones::PhoneModel;

use crate::{Line, NewDevice, NewTenant};

mod batches;
mod console;
mod firmware;
mod queue;
mod redirect;
mod registry;
mod view;

pub use batches::*;
pub use console::*;
pub use firmware::*;
pub use queue::*;
pub use redirect::*;
pub use registry::*;
pub use view::*;

/// Expands to one `#[tokio::test]` per conformance case, each on a fresh store from `$make`.
#[macro_export]
macro_rules! conformance_tests {
    ($make:path) => {
        $crate::conformance_tests!(@cases $make;
            tenants_round_trip duplicate_tenants_conflict tenant_with_devices_cannot_be_deleted
            devices_round_trip device_errors_are_clean failed_writes_leave_nothing
            patches_replace_lists_and_bump_revisions list_filters generation_tracks_writes
            snapshot_is_complete snapshot_pages_cover_everything_once contacts_newest_first uploads_keep_the_newest_of_each_kind serials_are_kept_changed_and_cleared meta_first_writer_wins
            unicode_and_markup_survive companies_and_keys endpoints_have_one_owner
            profiles_round_trip redirect_contacts_round_trip providers_one_per_scope
            queue_claims_in_order_per_mac expired_leases_are_reclaimed outcomes_reach_the_device
            nonces_are_remembered_until_they_expire nonces_remembered_at_once_are_new_once
            staged_credentials_replace_the_current_ones
            first_use_is_recorded_once own_leases_are_released removing_devices_go_when_deregistered
            phones_see_enabled_endpoints_only tenants_keep_their_prov_scope
            event_outcomes_do_not_change_what_is_served a_late_older_event_does_not_overwrite_the_newest
            changes_since_reads_only_what_changed bulk_removal_is_all_or_nothing
            outcomes_are_recorded_in_batches a_backlog_is_claimed_oldest_first_a_batch_at_a_time accounts_sessions_and_audit
            firmware_policies_apply_and_phones_report);
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
        serial: None,
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
