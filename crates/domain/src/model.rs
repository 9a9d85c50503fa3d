//! `PhoneModel` and `ConfigFile`: which Snom phone, and which file it asks for.

use std::fmt;
use std::str::FromStr;

use crate::error::{truncate, Error};
use crate::Mac;

/// Every model identifier (`phoneType`) touchless knows, in the spelling the phone
/// uses in file names. From the reference §5 (Wazo and FusionPBX model lists).
/// DECT bases report `Snom M900` in their User-Agent; their file names use the
/// `snomM900` form like every other model.
const MODELS: &[&str] = &[
    "snom300",
    "snom320",
    "snom360",
    "snom370",
    "snom710",
    "snom715",
    "snom720",
    "snom725",
    "snom760",
    "snom820",
    "snom821",
    "snom870",
    "snomD120",
    "snomD140",
    "snomD150",
    "snomD305",
    "snomD315",
    "snomD335",
    "snomD345",
    "snomD375",
    "snomD385",
    "snomD712",
    "snomD713",
    "snomD715",
    "snomD717",
    "snomD725",
    "snomD735",
    "snomD745",
    "snomD765",
    "snomD785",
    "snomD810",
    "snomD812",
    "snomD815",
    "snomD862",
    "snomD865",
    "snomD892",
    "snomMP",
    "snomPA1",
    "snomm9",
    "snomM3",
    "snomC520",
    "snomC620",
    "snomM100KLE",
    "snomM200SC",
    "snomM300",
    "snomM400",
    "snomM500KLE",
    "snomM700",
    "snomM900",
];

/// A known Snom phone model, e.g. `snomD717`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneModel(&'static str);

impl PhoneModel {
    /// Parses a model identifier, with or without the `snom` prefix and in any case
    /// (`snomD717`, `D717`, `snomd717`), and returns it in the phone's own spelling.
    pub fn parse(s: &str) -> Result<Self, Error> {
        // Phones spell it exactly; that is the common case on the request path.
        if let Some(m) = MODELS.iter().find(|m| **m == s) {
            return Ok(PhoneModel(m));
        }
        let bare = strip_prefix_ci(s, "snom").unwrap_or(s);
        MODELS
            .iter()
            .find(|m| m[4..].eq_ignore_ascii_case(bare))
            .map(|m| PhoneModel(m))
            .ok_or_else(|| Error::Model(truncate(s)))
    }

    /// The identifier as used in file names: `snomD717`.
    pub fn as_str(&self) -> &'static str {
        self.0
    }

    /// The model without the vendor prefix: `D717`.
    pub fn short(&self) -> &'static str {
        &self.0[4..]
    }

    /// DECT bases (the M-series) have a different User-Agent and settings layout.
    pub fn is_dect(&self) -> bool {
        let s = self.short();
        s.starts_with('M') && s[1..].starts_with(|c: char| c.is_ascii_digit())
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

impl fmt::Display for PhoneModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Debug for PhoneModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl FromStr for PhoneModel {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        PhoneModel::parse(s)
    }
}

impl serde::Serialize for PhoneModel {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for PhoneModel {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        PhoneModel::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A configuration file a Snom phone requests: `snomD717.htm` (model-wide) or
/// `snomD717-000413AABBCC.htm` (one device). See the reference §4.5.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConfigFile {
    pub model: PhoneModel,
    pub mac: Option<Mac>,
}

impl ConfigFile {
    /// Parses a file name. The name must be exactly one path segment: anything with
    /// a slash, a percent sign or a dot other than the `.htm` suffix is rejected,
    /// which also rules out every traversal trick.
    pub fn parse(name: &str) -> Result<Self, Error> {
        let err = || Error::ConfigFile(truncate(name));
        if name.len() > 64 {
            return Err(err());
        }
        let stem = name.strip_suffix(".htm").ok_or_else(err)?;
        if !stem.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-') {
            return Err(err());
        }
        let (model, mac) = match stem.split_once('-') {
            Some((model, mac)) => (model, Some(Mac::parse_compact(mac).map_err(|_| err())?)),
            None => (stem, None),
        };
        if !model.starts_with("snom") {
            return Err(err());
        }
        let model = PhoneModel::parse(model).map_err(|_| err())?;
        Ok(ConfigFile { model, mac })
    }
}

impl fmt::Display for ConfigFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.mac {
            Some(mac) => write!(f, "{}-{}.htm", self.model, mac),
            None => write!(f, "{}.htm", self.model),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_model_identifiers() {
        for (input, want) in [
            ("snomD717", "snomD717"),
            ("D785", "snomD785"),
            ("snomd735", "snomD735"),
            ("SNOMD865", "snomD865"),
            ("snomD120", "snomD120"),
            ("M900", "snomM900"),
            ("snom710", "snom710"),
        ] {
            assert_eq!(PhoneModel::parse(input).unwrap().as_str(), want);
        }
        assert!(PhoneModel::parse("snomM900").unwrap().is_dect());
        assert!(!PhoneModel::parse("snomD717").unwrap().is_dect());
    }

    #[test]
    fn unknown_models_are_clear_errors() {
        for s in ["", "snom", "snomD999", "yealinkT46", "snomD717x", "ñ"] {
            let e = PhoneModel::parse(s).unwrap_err();
            assert!(e.to_string().contains("unknown phone model"), "{e}");
        }
    }

    #[test]
    fn parses_file_names() {
        let f = ConfigFile::parse("snomD717-000413AABBCC.htm").unwrap();
        assert_eq!(f.model.as_str(), "snomD717");
        assert_eq!(f.mac.unwrap().to_string(), "000413AABBCC");
        assert_eq!(f.to_string(), "snomD717-000413AABBCC.htm");
        let f = ConfigFile::parse("snomD785.htm").unwrap();
        assert_eq!((f.model.as_str(), f.mac), ("snomD785", None));
        // lower-case hex is accepted and canonicalised
        let f = ConfigFile::parse("snomD717-000413aabbcc.htm").unwrap();
        assert_eq!(f.to_string(), "snomD717-000413AABBCC.htm");
    }

    #[test]
    fn rejects_bad_file_names() {
        for s in [
            "",
            ".htm",
            "snomD717",
            "snomD717.xml",
            "snomD999-000413AABBCC.htm",
            "snomD717-000413AABBC.htm",
            "snomD717-00:04:13:AA:BB:CC.htm",
            "snomD717-000413AABBCC-x.htm",
            "../snomD717.htm",
            "%2e%2e%2fsnomD717.htm",
            "snomD717-000413AABBCC.htm.htm",
            "D717-000413AABBCC.htm",
        ] {
            assert!(ConfigFile::parse(s).is_err(), "{s}");
        }
        assert!(ConfigFile::parse(&"a".repeat(10_000)).is_err());
    }

    proptest! {
        #[test]
        fn file_names_round_trip(mut bytes in any::<[u8; 6]>(), i in 0..MODELS.len(), with_mac in any::<bool>()) {
            // Unicast and not all zeros: the MACs a phone has.
            bytes[0] &= 0xFE;
            bytes[5] |= 1;
            let f = ConfigFile { model: PhoneModel(MODELS[i]), mac: with_mac.then(|| Mac::from_bytes(bytes)) };
            prop_assert_eq!(ConfigFile::parse(&f.to_string()).unwrap(), f);
        }

        #[test]
        fn file_name_parsing_never_panics(s in "\\PC{0,80}") {
            let _ = ConfigFile::parse(&s);
        }
    }
}
