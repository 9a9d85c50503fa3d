//! Row-to-record mapping shared by the backends. The column types are the same
//! on SQLite and PostgreSQL as far as Rust sees them (text, i64, bool,
//! timestamps), so one set of functions, generated per row type, serves both.

/// Defines the mapping functions for one sqlx row type.
macro_rules! row_mappers {
    ($row:ty) => {
        use sqlx::Row as _;
        use touchless_domain::{
            DisplayText, Host, Mac, Perm, ProvPassword, ProvUser, Setting, SettingName,
            SipPassword, SipUser, TenantId,
        };
        use touchless_phones::PhoneModel;

        #[allow(unused_imports)]
        use crate::{
            Action, ApiKey, Company, Contact, Device, Endpoint, Event, EventState, Line, Profile,
            Provider, RedirectContact, Result, Role, SettingValues, StoreError, Tenant,
        };

        pub(crate) fn tenant_from_row(r: &$row) -> Result<Tenant> {
            Ok(Tenant {
                id: TenantId::parse(r.try_get("id")?)?,
                name: DisplayText::parse(r.try_get("name")?)?,
                prov_user: ProvUser::parse(r.try_get("prov_user")?)?,
                prov_pass: ProvPassword::parse(r.try_get("prov_pass")?)?,
                sip_host: Host::parse(r.try_get("sip_host")?)?,
                sip_port: u16::try_from(r.try_get::<i64, _>("sip_port")?)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                mode: r.try_get::<&str, _>("mode")?.parse()?,
                prov_scope: r.try_get::<&str, _>("prov_scope")?.parse()?,
                settings: Vec::new(),
                revision: r.try_get("revision")?,
                created_at: r.try_get("created_at")?,
                updated_at: r.try_get("updated_at")?,
            })
        }

        pub(crate) fn device_from_row(r: &$row) -> Result<Device> {
            Ok(Device {
                mac: Mac::parse_stored(r.try_get("mac")?)?,
                model: PhoneModel::parse(r.try_get("model")?)?,
                tenant: TenantId::parse(r.try_get("tenant_id")?)?,
                name: DisplayText::parse(r.try_get("name")?)?,
                serial: r
                    .try_get::<Option<&str>, _>("serial")?
                    .map(touchless_domain::SerialNumber::parse)
                    .transpose()?,
                status: r.try_get::<&str, _>("status")?.parse()?,
                registered_at: r.try_get("registered_at")?,
                last_message: r.try_get("last_message")?,
                ztprov_user: ProvUser::parse(r.try_get("ztprov_user")?)?,
                ztprov_pass: ProvPassword::parse(r.try_get("ztprov_pass")?)?,
                ztprov_expires_at: r.try_get("ztprov_expires_at")?,
                ztprov_used_at: r.try_get("ztprov_used_at")?,
                ztprov_next: match (
                    r.try_get::<Option<&str>, _>("ztprov_next_user")?,
                    r.try_get::<Option<&str>, _>("ztprov_next_pass")?,
                    r.try_get::<Option<chrono::DateTime<chrono::Utc>>, _>(
                        "ztprov_next_expires_at",
                    )?,
                ) {
                    (Some(u), Some(p), Some(e)) => Some(crate::NextZtprov {
                        user: ProvUser::parse(u)?,
                        pass: ProvPassword::parse(p)?,
                        expires_at: e,
                        used_at: r.try_get("ztprov_next_used_at")?,
                    }),
                    _ => None,
                },
                prov_user: ProvUser::parse(r.try_get("prov_user")?)?,
                prov_pass: ProvPassword::parse(r.try_get("prov_pass")?)?,
                removing: r.try_get("removing")?,
                firmware: r.try_get("firmware")?,
                firmware_at: r.try_get("firmware_at")?,
                lines: Vec::new(),
                settings: Vec::new(),
                revision: r.try_get("revision")?,
                created_at: r.try_get("created_at")?,
                updated_at: r.try_get("updated_at")?,
            })
        }

        pub(crate) fn setting_from_row(r: &$row) -> Result<(String, Setting)> {
            let idx: Option<i64> = r.try_get("idx")?;
            Ok((
                r.try_get("owner")?,
                Setting {
                    name: SettingName::parse(r.try_get("name")?)?,
                    idx: idx
                        .map(u32::try_from)
                        .transpose()
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    value: r.try_get("value")?,
                    perm: r.try_get::<&str, _>("perm")?.parse::<Perm>()?,
                },
            ))
        }

        pub(crate) fn line_from_row(r: &$row) -> Result<(String, Line)> {
            Ok((
                r.try_get("device_mac")?,
                Line {
                    idx: u32::try_from(r.try_get::<i64, _>("idx")?)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    extension: SipUser::parse(r.try_get("extension")?)?,
                    auth_user: SipUser::parse(r.try_get("auth_user")?)?,
                    sip_password: SipPassword::parse(r.try_get("sip_password")?)?,
                    display_name: DisplayText::parse(r.try_get("display_name")?)?,
                },
            ))
        }

        pub(crate) fn provider_row(r: &$row) -> Result<Provider> {
            let tenant: Option<String> = r.try_get("tenant_id")?;
            Ok(Provider {
                name: r.try_get("name")?,
                kind: r.try_get("kind")?,
                vendor: touchless_phones::Vendor::parse(r.try_get("vendor")?)?,
                base_url: r.try_get("base_url")?,
                access_key_id: r.try_get("access_key_id")?,
                secret: r.try_get("secret")?,
                tenant: tenant.as_deref().map(TenantId::parse).transpose()?,
                ca_pem: r.try_get("ca_pem")?,
                created_at: r.try_get("created_at")?,
            })
        }

        pub(crate) fn event_row(r: &$row) -> Result<Event> {
            let action: &str = r.try_get("action")?;
            let state: &str = r.try_get("state")?;
            Ok(Event {
                id: r.try_get("id")?,
                action: match action {
                    "register" => Action::Register,
                    "deregister" => Action::Deregister,
                    other => return Err(StoreError::Corrupt(format!("event action {other}"))),
                },
                mac: Mac::parse_stored(r.try_get("mac")?)?,
                state: EventState::parse(state)
                    .ok_or_else(|| StoreError::Corrupt(format!("event state {state}")))?,
                attempts: u32::try_from(r.try_get::<i64, _>("attempts")?)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                next_attempt_at: r.try_get("next_attempt_at")?,
                lease_until: r.try_get("lease_until")?,
                leased_by: r.try_get("leased_by")?,
                last_error: r.try_get("last_error")?,
                created_at: r.try_get("created_at")?,
                updated_at: r.try_get("updated_at")?,
            })
        }

        pub(crate) fn json_settings(s: &str) -> Result<SettingValues> {
            serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("settings JSON: {e}")))
        }

        pub(crate) fn company_row(r: &$row) -> Result<Company> {
            Ok(Company {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                created_at: r.try_get("created_at")?,
            })
        }

        pub(crate) fn key_row(r: &$row) -> Result<ApiKey> {
            let role: &str = r.try_get("role")?;
            Ok(ApiKey {
                id: r.try_get("id")?,
                company: r.try_get("company_id")?,
                secret: r.try_get("secret")?,
                role: Role::parse(role)
                    .ok_or_else(|| StoreError::Corrupt(format!("role {role}")))?,
                enabled: r.try_get("enabled")?,
                last_used_at: r.try_get("last_used_at")?,
                created_at: r.try_get("created_at")?,
            })
        }

        pub(crate) fn profile_row(r: &$row) -> Result<Profile> {
            Ok(Profile {
                id: r.try_get("id")?,
                company: r.try_get("company_id")?,
                name: r.try_get("name")?,
                product_group: r.try_get("product_group")?,
                autoprovisioning_enabled: r.try_get("autoprovisioning_enabled")?,
                settings: json_settings(r.try_get("settings")?)?,
                created_at: r.try_get("created_at")?,
                updated_at: r.try_get("updated_at")?,
            })
        }

        pub(crate) fn endpoint_row(r: &$row) -> Result<Endpoint> {
            Ok(Endpoint {
                mac: Mac::parse_stored(r.try_get("mac")?)?,
                company: r.try_get("company_id")?,
                name: r.try_get("name")?,
                autoprovisioning_enabled: r.try_get("autoprovisioning_enabled")?,
                profile: r.try_get("profile_id")?,
                settings: json_settings(r.try_get("settings")?)?,
                created_at: r.try_get("created_at")?,
                updated_at: r.try_get("updated_at")?,
            })
        }

        pub(crate) fn upload_from_row(r: &$row) -> Result<crate::Upload> {
            Ok(crate::Upload {
                id: r.try_get("id")?,
                mac: Mac::parse_stored(r.try_get("mac")?)?,
                kind: r.try_get("kind")?,
                at: r.try_get("at")?,
                size: u64::try_from(r.try_get::<i64, _>("size")?)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            })
        }

        pub(crate) fn contact_from_row(r: &$row) -> Result<Contact> {
            Ok(Contact {
                at: r.try_get("at")?,
                mac: Mac::parse_stored(r.try_get("mac")?)?,
                ip: r.try_get("ip")?,
                user_agent: r.try_get("user_agent")?,
                path: r.try_get("path")?,
                status: u16::try_from(r.try_get::<i64, _>("status")?)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                hits: u32::try_from(r.try_get::<i64, _>("hits")?)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            })
        }

        pub(crate) fn firmware_policy_from_row(r: &$row) -> Result<crate::FirmwarePolicy> {
            let corrupt = |e: serde_json::Error| StoreError::Corrupt(e.to_string());
            Ok(crate::FirmwarePolicy {
                id: r.try_get("id")?,
                applies_to: crate::PolicyTarget::from_stored(
                    r.try_get("scope")?,
                    r.try_get("scope_key")?,
                )?,
                model: PhoneModel::parse(r.try_get("model")?)?,
                target: crate::FirmwareStage {
                    version: touchless_domain::FirmwareVersion::parse(r.try_get("version")?)?,
                    image: touchless_domain::FirmwareImage::parse(r.try_get("image")?)?,
                },
                steps: serde_json::from_str(r.try_get("steps")?).map_err(corrupt)?,
                created_at: r.try_get("created_at")?,
                updated_at: r.try_get("updated_at")?,
            })
        }

        pub(crate) fn redirect_contact_row(r: &$row) -> Result<RedirectContact> {
            let mac: Option<String> = r.try_get("mac")?;
            Ok(RedirectContact {
                at: r.try_get("at")?,
                mac: mac.as_deref().map(Mac::parse_stored).transpose()?,
                ip: r.try_get("ip")?,
                user_agent: r.try_get("user_agent")?,
                firmware: r.try_get("firmware")?,
                path: r.try_get("path")?,
                outcome: r.try_get("outcome")?,
            })
        }
    };
}

pub(crate) mod postgres {
    row_mappers!(sqlx::postgres::PgRow);
}

pub(crate) mod sqlite {
    row_mappers!(sqlx::sqlite::SqliteRow);
}
