//! Settings as data: a name, an optional index, a value and a permission flag
//! (honoured by the formats that have one).

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// A setting's permission flag: whether the phone's user may change it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Perm {
    /// Read-only for the user; provisioning sets it.
    #[default]
    R,
    /// The user may change it, provisioning overwrites it.
    RW,
    /// The user may change it; provisioning writes it only if the user has not.
    Keep,
}

impl Perm {
    /// The XML attribute value.
    pub fn as_str(&self) -> &'static str {
        match self {
            Perm::R => "R",
            Perm::RW => "RW",
            Perm::Keep => "!",
        }
    }
}

impl FromStr for Perm {
    type Err = Error;
    /// Accepts the XML spellings and the legacy characters: `R`/`&`/` `, `RW`/`$`/``, `!`.
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "R" | "r" | "&" | " " => Ok(Perm::R),
            "RW" | "rw" | "$" | "" => Ok(Perm::RW),
            "!" => Ok(Perm::Keep),
            _ => Err(Error::field("perm", s, "expected R, RW or !")),
        }
    }
}

impl fmt::Display for Perm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Perm {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Perm {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The name of a setting, e.g. `user_host` or `fkey`. It may become an XML
/// element name, so only `[A-Za-z0-9_.-]` and a leading letter are allowed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SettingName(String);

impl SettingName {
    pub fn parse(s: &str) -> Result<Self, Error> {
        // '.' and '-' for dotted names (`account.1.label`); both are valid
        // inside an XML element name, and neither can start one.
        let ok = (1..=64).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"_.-".contains(&c));
        if ok {
            Ok(SettingName(s.to_owned()))
        } else {
            Err(Error::field(
                "setting name",
                s,
                "expected a setting name: letters, digits, '_', '.' and '-', starting with a letter",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SettingName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for SettingName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for SettingName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        SettingName::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// One setting at one layer (built-in default, tenant or device). The pair
/// `(name, idx)` identifies it; a later layer replaces an earlier one's value.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Setting {
    pub name: SettingName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idx: Option<u32>,
    #[serde(deserialize_with = "setting_value")]
    pub value: String,
    #[serde(default)]
    pub perm: Perm,
}

fn setting_value<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    check_value(&s).map_err(serde::de::Error::custom)?;
    Ok(s)
}

/// A setting value is free text, but XML 1.0 cannot carry control characters.
pub fn check_value(s: &str) -> Result<(), Error> {
    if s.len() > 4096 {
        return Err(Error::field(
            "setting value",
            s,
            "is too long (4096 bytes at most)",
        ));
    }
    if !crate::text::is_xml_text(s, true) {
        return Err(Error::field(
            "setting value",
            s,
            "must not contain control characters or characters XML cannot carry (U+FFFE, U+FFFF)",
        ));
    }
    Ok(())
}

use serde::Deserialize as _;

impl Setting {
    pub fn new(name: &str, idx: Option<u32>, value: &str, perm: Perm) -> Result<Self, Error> {
        check_value(value)?;
        Ok(Setting {
            name: SettingName::parse(name)?,
            idx,
            value: value.to_owned(),
            perm,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perms_accept_xml_and_legacy_spellings() {
        assert_eq!("&".parse::<Perm>().unwrap(), Perm::R);
        assert_eq!("$".parse::<Perm>().unwrap(), Perm::RW);
        assert_eq!("!".parse::<Perm>().unwrap(), Perm::Keep);
        assert!("X".parse::<Perm>().is_err());
    }

    #[test]
    fn setting_names_are_xml_element_names() {
        for good in ["user_host", "lang.gui", "account.1.dtmf.type", "a-b"] {
            assert!(SettingName::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "1abc", ".a", "-a", "a b", "a<b", "xml:lang", "a/b"] {
            assert!(SettingName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn settings_deserialize_with_checks() {
        let s: Setting = serde_json::from_str(r#"{"name":"language","value":"Deutsch"}"#).unwrap();
        assert_eq!((s.idx, s.perm), (None, Perm::R));
        assert!(serde_json::from_str::<Setting>(r#"{"name":"x","value":"a\u0001"}"#).is_err());
    }
}
