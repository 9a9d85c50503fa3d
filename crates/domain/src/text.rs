//! Validated text newtypes (tenant ids, credentials, names, hosts) and small enums.
//!
//! Each newtype states its rule once; whatever reaches the store or a template has
//! passed it. The rules also keep values XML-safe: no control characters, which
//! XML 1.0 cannot carry even escaped.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// Defines a `String` newtype whose only constructor runs `$check`.
macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $what:literal, $check:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub fn parse(s: &str) -> Result<Self, Error> {
                let check: fn(&str) -> Result<(), &'static str> = $check;
                check(s).map_err(|why| Error::field($what, s, why))?;
                Ok($name(s.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // Secrets must not reach logs through `{:?}` of a record.
                if stringify!($name).ends_with("Password") {
                    write!(f, "{}(***)", stringify!($name))
                } else {
                    write!(f, "{}({:?})", stringify!($name), self.0)
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                $name::parse(s)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $name::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

fn len_between(s: &str, min: usize, max: usize) -> Result<(), &'static str> {
    let n = s.chars().count();
    if n < min {
        Err("must not be empty")
    } else if n > max {
        Err("is too long")
    } else {
        Ok(())
    }
}

fn no_control(s: &str) -> Result<(), &'static str> {
    if is_xml_text(s, false) {
        Ok(())
    } else {
        Err("must not contain control characters or characters XML cannot carry (U+FFFE, U+FFFF)")
    }
}

/// Whether every character of `s` can be written into an XML 1.0 document (and
/// so into any file a phone parses): no control characters (a tab only where
/// `allow_tab`), and none of the two non-characters U+FFFE and U+FFFF, which
/// XML 1.0 cannot carry even escaped. Every edge that takes free text checks
/// this, so no accepted value can break a rendered file.
pub fn is_xml_text(s: &str, allow_tab: bool) -> bool {
    s.chars().all(|c| {
        if c == '\t' {
            allow_tab
        } else {
            !c.is_control() && c != '\u{FFFE}' && c != '\u{FFFF}'
        }
    })
}

/// Printable ASCII without spaces: what survives a phone's settings UI, a URL's
/// userinfo and an HTTP auth header without quoting surprises.
fn printable_ascii(s: &str) -> Result<(), &'static str> {
    if s.bytes().all(|c| c.is_ascii_graphic()) {
        Ok(())
    } else {
        Err("may only contain printable ASCII characters without spaces")
    }
}

text_type!(
    /// A tenant's identifier: a slug such as `acme` or `acme-berlin`, used in URLs
    /// and on the command line.
    TenantId,
    "tenant id",
    |s| {
        len_between(s, 1, 63)?;
        let ok = s.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
            && !s.starts_with('-');
        if ok { Ok(()) } else { Err("use lowercase letters, digits and '-', starting with a letter or digit") }
    }
);

text_type!(
    /// A human-readable name (tenant name, device name, SIP display name). Any
    /// Unicode except control characters; escaped when rendered.
    DisplayText,
    "name",
    |s| {
        len_between(s, 0, 100)?;
        no_control(s)
    }
);

text_type!(
    /// A host name or IP address (SIP registrar).
    Host,
    "host",
    |s| {
        len_between(s, 1, 253)?;
        if s.bytes().all(|c| c.is_ascii_alphanumeric() || b".-:[]_".contains(&c)) {
            Ok(())
        } else {
            Err("expected a host name or IP address")
        }
    }
);

text_type!(
    /// A user name a phone sends to the provisioning server. At most
    /// [`ProvUser::MAX_LEN`] characters: the tightest limit of any supported
    /// vendor's phones (the vendor seam checks that it is).
    ProvUser,
    "provisioning user",
    |s| {
        len_between(s, 1, ProvUser::MAX_LEN)?;
        printable_ascii(s)?;
        if s.contains(':') { Err("must not contain ':'") } else { Ok(()) }
    }
);

text_type!(
    /// A password a phone sends to the provisioning server. At most
    /// [`ProvPassword::MAX_LEN`] characters, as for [`ProvUser`].
    ProvPassword,
    "provisioning password",
    |s| {
        len_between(s, 1, ProvPassword::MAX_LEN)?;
        printable_ascii(s)
    }
);

impl ProvUser {
    pub const MAX_LEN: usize = 30;
}

impl ProvPassword {
    pub const MAX_LEN: usize = 20;
}

text_type!(
    /// A SIP user part: an extension number or an authentication user.
    SipUser,
    "SIP user",
    |s| {
        len_between(s, 1, 64)?;
        if s.bytes().all(|c| c.is_ascii_alphanumeric() || b"._~+*#-!$&'()=,;?/".contains(&c)) {
            Ok(())
        } else {
            Err("may only contain letters, digits and the SIP user-part symbols")
        }
    }
);

text_type!(
    /// A SIP password.
    SipPassword,
    "SIP password",
    |s| {
        len_between(s, 1, 64)?;
        printable_ascii(s)
    }
);

text_type!(
    /// A phone's serial number, as printed on its label: what some vendors'
    /// clouds register a phone by (Yealink's when its MAC is refused).
    SerialNumber,
    "serial number",
    |s| {
        len_between(s, 1, 64)?;
        if s.bytes().all(|c| c.is_ascii_alphanumeric() || b"-_./".contains(&c)) {
            Ok(())
        } else {
            Err("use letters, digits and - _ . /")
        }
    }
);

text_type!(
    /// A firmware version as phones report it in their User-Agent
    /// (`10.1.175.10`, `66.86.0.15`, `83.V2.11.0+build.a546b91`).
    FirmwareVersion,
    "firmware version",
    |s| {
        len_between(s, 1, 64)?;
        if s.bytes().all(|c| c.is_ascii_alphanumeric() || b"._+-".contains(&c)) {
            Ok(())
        } else {
            Err("use letters, digits and . _ + -")
        }
    }
);

text_type!(
    /// A firmware image's file name in the firmware directory: one path
    /// segment, never hidden, so it cannot leave that directory.
    FirmwareFile,
    "firmware file",
    |s| {
        len_between(s, 1, 128)?;
        if s.starts_with('.') {
            Err("a file name does not start with .")
        } else if s.bytes().all(|c| c.is_ascii_alphanumeric() || b"._+-".contains(&c)) {
            Ok(())
        } else {
            Err("a plain file name: letters, digits and . _ + - (no folders)")
        }
    }
);

text_type!(
    /// A console account's name: what an admin types to sign in.
    UserName,
    "user name",
    |s| {
        len_between(s, 1, 64)?;
        if s.bytes().all(|c| c.is_ascii_alphanumeric() || b"._@-".contains(&c)) {
            Ok(())
        } else {
            Err("use letters, digits and . _ @ -")
        }
    }
);

/// What a console account may do: everything, or only its own tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum ConsoleRole {
    #[serde(rename = "admin")]
    Admin,
    /// Only its tenant's devices and settings (and, in per-tenant mode, its
    /// provider); no other tenant, no redirection portal, no accounts.
    #[serde(rename = "tenant-admin")]
    TenantAdmin,
}

impl ConsoleRole {
    pub fn as_str(&self) -> &'static str {
        match self {
            ConsoleRole::Admin => "admin",
            ConsoleRole::TenantAdmin => "tenant-admin",
        }
    }
}

impl FromStr for ConsoleRole {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "admin" => Ok(ConsoleRole::Admin),
            "tenant-admin" => Ok(ConsoleRole::TenantAdmin),
            _ => Err(Error::field("role", s, "expected admin or tenant-admin")),
        }
    }
}

impl fmt::Display for ConsoleRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a device stands with the redirection provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceStatus {
    /// Known here, not registered at any redirection provider.
    Unregistered,
    /// A register event is queued or in progress.
    Pending,
    /// The provider accepted the device.
    Registered,
    /// The last register/deregister failed permanently; see the last message.
    Failed,
}

impl DeviceStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            DeviceStatus::Unregistered => "unregistered",
            DeviceStatus::Pending => "pending",
            DeviceStatus::Registered => "registered",
            DeviceStatus::Failed => "failed",
        }
    }
}

impl FromStr for DeviceStatus {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "unregistered" => Ok(DeviceStatus::Unregistered),
            "pending" => Ok(DeviceStatus::Pending),
            "registered" => Ok(DeviceStatus::Registered),
            "failed" => Ok(DeviceStatus::Failed),
            _ => Err(Error::field(
                "status",
                s,
                "expected unregistered, pending, registered or failed",
            )),
        }
    }
}

impl fmt::Display for DeviceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a tenant's devices are registered at a redirection provider: through the
/// one account of the whole installation, or through the tenant's own account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub enum TouchlessMode {
    #[default]
    #[serde(rename = "master")]
    Master,
    #[serde(rename = "per-tenant")]
    PerTenant,
}

impl TouchlessMode {
    pub fn as_str(&self) -> &'static str {
        match self {
            TouchlessMode::Master => "master",
            TouchlessMode::PerTenant => "per-tenant",
        }
    }
}

impl FromStr for TouchlessMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "master" => Ok(TouchlessMode::Master),
            "per-tenant" => Ok(TouchlessMode::PerTenant),
            _ => Err(Error::field("mode", s, "expected master or per-tenant")),
        }
    }
}

impl fmt::Display for TouchlessMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which credentials open a device's `/prov` files.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub enum ProvScope {
    /// Each phone gets its own user and password from `/ztprov`; they open that
    /// phone's files only. Knowing one phone's credentials opens nothing else.
    #[default]
    #[serde(rename = "device")]
    Device,
    /// Every phone of the tenant gets the tenant's user and password (the
    /// seed's behaviour): one phone's credentials open every phone's file of
    /// that tenant, SIP passwords included.
    #[serde(rename = "tenant")]
    Tenant,
}

impl ProvScope {
    pub fn as_str(&self) -> &'static str {
        match self {
            ProvScope::Device => "device",
            ProvScope::Tenant => "tenant",
        }
    }
}

impl FromStr for ProvScope {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "device" => Ok(ProvScope::Device),
            "tenant" => Ok(ProvScope::Tenant),
            _ => Err(Error::field(
                "provisioning credentials",
                s,
                "expected device or tenant",
            )),
        }
    }
}

impl fmt::Display for ProvScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_are_slugs() {
        assert!(TenantId::parse("acme").is_ok());
        assert!(TenantId::parse("acme-berlin-2").is_ok());
        for bad in ["", "Acme", "-acme", "a b", "acme/../x", &"a".repeat(64)] {
            assert!(TenantId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn provisioning_credentials_fit_the_tightest_phone() {
        assert!(ProvUser::parse(&"u".repeat(30)).is_ok());
        assert!(ProvUser::parse(&"u".repeat(31)).is_err());
        assert!(ProvUser::parse("a:b").is_err());
        assert!(ProvPassword::parse(&"p".repeat(20)).is_ok());
        let e = ProvPassword::parse(&"p".repeat(21)).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "invalid provisioning password {:?}: is too long",
                "p".repeat(21)
            )
        );
        assert!(ProvPassword::parse("with space").is_err());
    }

    #[test]
    fn names_take_unicode_but_not_control_characters() {
        assert!(DisplayText::parse("Zoë & <Bob> \"Müller\"").is_ok());
        assert!(DisplayText::parse("bell\u{7}").is_err());
        assert!(DisplayText::parse("line\nbreak").is_err());
    }

    #[test]
    fn error_values_are_truncated() {
        let e = DisplayText::parse(&"x".repeat(5000))
            .unwrap_err()
            .to_string();
        assert!(e.len() < 200, "{e}");
    }
}

/// What an API key of the redirection service may do. Each role includes the
/// ones before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Authenticates and may discover (token, company, settings catalogue), nothing else.
    None,
    /// May also read endpoints and profiles.
    Read,
    /// May also create, replace and delete endpoints and profiles.
    Write,
    /// Everything `write` may; reserved for account management.
    Admin,
}

impl Role {
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::None => "none",
            Role::Read => "read",
            Role::Write => "write",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "none" => Some(Role::None),
            "read" => Some(Role::Read),
            "write" => Some(Role::Write),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

impl FromStr for Role {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Self, &'static str> {
        Role::parse(s).ok_or("expected none, read, write or admin")
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
