//! OpenAPI schemas of the domain types, so every API type that holds a `Mac` or a
//! `TenantId` documents its form without repeating it at each field.
//!
//! On the wire each of these is a string; the schema says which strings parse.
//! The enums' `Deserialize` goes through their `FromStr`, so a JSON body gets
//! the same message ("expected master or per-tenant") as a CLI flag does.

use std::borrow::Cow;

use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;

use crate::{
    ConsoleRole, DeviceStatus, DisplayText, Host, Mac, Perm, ProvPassword, ProvScope, ProvUser,
    Role, SettingName, SipPassword, SipUser, TenantId, TouchlessMode, UserName,
};

fn string(description: &str, example: &str, pattern: Option<&str>, values: &[&str]) -> Schema {
    let mut b = ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .examples([example]);
    if let Some(p) = pattern {
        b = b.pattern(Some(p));
    }
    if !values.is_empty() {
        b = b.enum_values(Some(values.iter().copied()));
    }
    Schema::Object(b.build())
}

macro_rules! string_schema {
    ($ty:ty, $desc:expr, $example:expr, $pattern:expr, [$($v:expr),*]) => {
        impl utoipa::PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                RefOr::T(string($desc, $example, $pattern, &[$($v),*]))
            }
        }
        impl utoipa::ToSchema for $ty {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($ty))
            }
        }
    };
}

string_schema!(
    Mac,
    "A phone's MAC address. Accepted as 12 hex digits with or without ':', '-' or '.' separators; always answered as 12 upper-case hex digits.",
    "000413AABBCC",
    Some("^[0-9A-F]{12}$"),
    []
);
string_schema!(
    TenantId,
    "A tenant's id: lowercase letters, digits and '-', starting with a letter or digit, at most 63 characters.",
    "acme",
    Some("^[a-z0-9][a-z0-9-]{0,62}$"),
    []
);
string_schema!(
    DisplayText,
    "Free text shown to people (a name), without control characters.",
    "Reception",
    None,
    []
);
string_schema!(
    Host,
    "A host name or IP address.",
    "pbx.example.com",
    None,
    []
);
string_schema!(
    ProvUser,
    "An HTTP user name a phone sends to the provisioning server.",
    "prov-acme",
    None,
    []
);
string_schema!(
    ProvPassword,
    "An HTTP password a phone sends to the provisioning server. Only answered where the API says so.",
    "s3cr3t-prov",
    None,
    []
);
string_schema!(
    SipUser,
    "A SIP user (extension or authentication user).",
    "401",
    None,
    []
);
string_schema!(
    SipPassword,
    "A SIP password: 1-64 printable ASCII characters. Never answered.",
    "sip-secret",
    None,
    []
);
string_schema!(
    SettingName,
    "A setting name: letters, digits, '_', '.' and '-', starting with a letter.",
    "language",
    Some("^[A-Za-z][A-Za-z0-9_]{0,63}$"),
    []
);
string_schema!(
    Perm,
    "Whether the user may change a setting on the phone: R (read-only), RW (read-write) or ! (not shown).",
    "R",
    None,
    ["R", "RW", "!"]
);
string_schema!(
    DeviceStatus,
    "Where a device stands with its redirection provider.",
    "registered",
    None,
    ["unregistered", "pending", "registered", "failed"]
);
string_schema!(
    TouchlessMode,
    "How a tenant's devices are registered: through the installation's master provider account, or the tenant's own.",
    "master",
    None,
    ["master", "per-tenant"]
);
string_schema!(
    ProvScope,
    "Which credentials open a device's /prov files: its own (device) or its tenant's (tenant).",
    "device",
    None,
    ["device", "tenant"]
);

string_schema!(
    Role,
    "What an API key of the redirection service may do; each role includes the ones before it.",
    "write",
    None,
    ["none", "read", "write", "admin"]
);

string_schema!(
    UserName,
    "A console account's name: letters, digits and . _ @ -, at most 64 characters.",
    "ann",
    Some("^[A-Za-z0-9._@-]{1,64}$"),
    []
);
string_schema!(
    ConsoleRole,
    "What a console account may do: everything (admin), or only its tenant's devices, settings and provider (tenant-admin).",
    "admin",
    None,
    ["admin", "tenant-admin"]
);

/// `Deserialize` through `FromStr`, for the enums whose derived form would
/// answer serde's "unknown variant" instead of the domain's message.
macro_rules! deserialize_from_str {
    ($($ty:ty),*) => {$(
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}

deserialize_from_str!(DeviceStatus, TouchlessMode, ProvScope, Role, ConsoleRole);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_read_their_own_messages() {
        let e = serde_json::from_str::<TouchlessMode>("\"boss\"").unwrap_err();
        assert!(
            e.to_string().contains("expected master or per-tenant"),
            "{e}"
        );
        let m: TouchlessMode = serde_json::from_str("\"per-tenant\"").unwrap();
        assert_eq!(m, TouchlessMode::PerTenant);
        let s: ProvScope = serde_json::from_str("\"tenant\"").unwrap();
        assert_eq!(s, ProvScope::Tenant);
        assert!(serde_json::from_str::<DeviceStatus>("\"gone\"").is_err());
    }

    #[test]
    fn schemas_say_string_and_give_an_example() {
        use utoipa::PartialSchema;
        let v = serde_json::to_value(Mac::schema()).unwrap();
        assert_eq!(v["type"], "string");
        assert_eq!(v["examples"][0], "000413AABBCC");
        let v = serde_json::to_value(ProvScope::schema()).unwrap();
        assert_eq!(v["enum"], serde_json::json!(["device", "tenant"]));
    }
}
