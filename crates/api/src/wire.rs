//! Scalars the APIs read leniently, as they always have, and `Echo` for
//! handing a client's own value back in an error.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use utoipa::ToSchema;

/// A TCP port, 1-65535.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ToSchema)]
#[schema(value_type = u16)]
pub struct Port(pub u16);

impl Serialize for Port {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u16(self.0)
    }
}

impl<'de> Deserialize<'de> for Port {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        const WHY: &str = "must be a port number 1-65535";
        impl Visitor<'_> for V {
            type Value = Port;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a port number 1-65535")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Port, E> {
                u16::try_from(n)
                    .ok()
                    .filter(|n| *n > 0)
                    .map(Port)
                    .ok_or_else(|| E::custom(WHY))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Port, E> {
                Err(E::custom(WHY))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Port, E> {
                Err(E::custom(WHY))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Port, E> {
                Err(E::custom(WHY))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Port, E> {
                Err(E::custom(WHY))
            }
        }
        d.deserialize_any(V)
    }
}

/// A setting's value: a string, or a number or boolean written as one
/// (`true` is `on`, `false` is `off`, as phone settings spell them).
#[derive(Clone, Debug, PartialEq, Eq, ToSchema)]
#[schema(value_type = String, example = "on")]
pub struct SettingText(pub String);

impl Serialize for SettingText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SettingText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = SettingText;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<SettingText, E> {
                Ok(SettingText(s.to_owned()))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<SettingText, E> {
                Ok(SettingText(n.to_string()))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<SettingText, E> {
                Ok(SettingText(n.to_string()))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<SettingText, E> {
                Ok(SettingText(n.to_string()))
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<SettingText, E> {
                Ok(SettingText(if b { "on" } else { "off" }.to_owned()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A boolean, or the strings `"true"`/`"false"` in any case (ngcp-panel, a
/// known SRAPS client, sends a string).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ToSchema)]
#[schema(value_type = bool)]
pub struct FlexBool(pub bool);

impl Serialize for FlexBool {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bool(self.0)
    }
}

impl<'de> Deserialize<'de> for FlexBool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = FlexBool;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a boolean")
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<FlexBool, E> {
                Ok(FlexBool(b))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<FlexBool, E> {
                if s.eq_ignore_ascii_case("true") {
                    Ok(FlexBool(true))
                } else if s.eq_ignore_ascii_case("false") {
                    Ok(FlexBool(false))
                } else {
                    Err(E::custom(format!("must be a boolean, got {s:?}")))
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A non-negative index, as a number or a string of digits (SRAPS clients send both).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ToSchema)]
#[schema(value_type = u32)]
pub struct FlexIndex(pub u32);

impl Serialize for FlexIndex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.0)
    }
}

impl<'de> Deserialize<'de> for FlexIndex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        const WHY: &str = "must be a non-negative integer";
        impl Visitor<'_> for V {
            type Value = FlexIndex;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a non-negative integer")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<FlexIndex, E> {
                u32::try_from(n).map(FlexIndex).map_err(|_| E::custom(WHY))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<FlexIndex, E> {
                Err(E::custom(WHY))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<FlexIndex, E> {
                Err(E::custom(WHY))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<FlexIndex, E> {
                s.parse::<u32>().map(FlexIndex).map_err(|_| E::custom(WHY))
            }
        }
        d.deserialize_any(V)
    }
}

/// Any JSON value a client sent, handed back in an [`crate::ErrorBody`] so
/// the client sees exactly what was refused. Only ever echoed, never
/// interpreted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Echo {
    Null,
    Bool(bool),
    Unsigned(u64),
    Signed(i64),
    Float(f64),
    Text(String),
    List(Vec<Echo>),
    Map(BTreeMap<String, Echo>),
}

impl Echo {
    /// The value at a key of a map or an index of a list.
    pub fn get(&self, step: PathStep<'_>) -> Option<&Echo> {
        match (self, step) {
            (Echo::Map(m), PathStep::Key(k)) => m.get(k),
            (Echo::List(l), PathStep::Index(i)) => l.get(i),
            _ => None,
        }
    }
}

impl From<&str> for Echo {
    fn from(s: &str) -> Self {
        Echo::Text(s.to_owned())
    }
}

/// One step into a JSON document (see [`Echo::get`]).
#[derive(Clone, Copy, Debug)]
pub enum PathStep<'a> {
    Key(&'a str),
    Index(usize),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_scalars_read_what_clients_send() {
        let p: Port = serde_json::from_str("5060").unwrap();
        assert_eq!(p, Port(5060));
        for bad in ["0", "70000", "\"5060\"", "-1", "1.5"] {
            let e = serde_json::from_str::<Port>(bad).unwrap_err().to_string();
            assert!(e.starts_with("must be a port number 1-65535"), "{bad}: {e}");
        }
        let t: SettingText = serde_json::from_str("true").unwrap();
        assert_eq!(t.0, "on");
        let t: SettingText = serde_json::from_str("42").unwrap();
        assert_eq!(t.0, "42");
        assert!(serde_json::from_str::<SettingText>("[1]").is_err());
        let b: FlexBool = serde_json::from_str("\"TRUE\"").unwrap();
        assert!(b.0);
        assert!(serde_json::from_str::<FlexBool>("\"yes\"").is_err());
        let i: FlexIndex = serde_json::from_str("\"3\"").unwrap();
        assert_eq!(i.0, 3);
        assert!(serde_json::from_str::<FlexIndex>("-3").is_err());
    }

    #[test]
    fn echo_keeps_what_was_sent() {
        let src = r#"{"a":[1,-2,1.5,"x",null,true,{"b":"c"}]}"#;
        let e: Echo = serde_json::from_str(src).unwrap();
        assert_eq!(serde_json::to_string(&e).unwrap(), src);
        let inner = e.get(PathStep::Key("a")).unwrap().get(PathStep::Index(3));
        assert_eq!(inner, Some(&Echo::from("x")));
    }
}
