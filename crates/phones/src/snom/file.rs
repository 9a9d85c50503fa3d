//! Snom's file names: `snomD717.htm` (model-wide) and `snomD717-000413AABBCC.htm`
//! (one device). See the reference §4.5.

use touchless_domain::Mac;

use crate::{ConfigFile, PhoneModel};

/// Parses a file name. The name must be exactly one path segment: anything
/// with a slash, a percent sign or a dot other than the `.htm` suffix is
/// rejected, which also rules out every traversal trick.
pub(super) fn parse(name: &str) -> Option<ConfigFile> {
    parse_for(name, super::PREFIX, "snom")
}

/// [`parse`] for a brand on Snom's platform: its models start with `prefix`
/// and are `vendor`'s.
pub(super) fn parse_for(name: &str, prefix: &str, vendor: &str) -> Option<ConfigFile> {
    if name.len() > 64 {
        return None;
    }
    let stem = name.strip_suffix(".htm")?;
    if !stem.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-') {
        return None;
    }
    let (model, mac) = match memchr::memchr(b'-', stem.as_bytes()) {
        Some(i) => (&stem[..i], Some(Mac::parse_compact(&stem[i + 1..]).ok()?)),
        None => (stem, None),
    };
    if !model.starts_with(prefix) {
        return None;
    }
    let model = PhoneModel::parse(model).ok()?;
    if model.vendor().name() != vendor {
        return None;
    }
    Some(ConfigFile {
        vendor: model.vendor(),
        model: Some(model),
        mac,
    })
}

/// `snom{model}-{MAC}-firmware.xml`: the file `firmware_status` names.
pub(super) fn firmware_name(model: PhoneModel, mac: Mac) -> String {
    format!("{model}-{mac}-firmware.xml")
}

/// The MAC of a firmware file name of a model starting with `prefix` that
/// is `vendor`'s.
pub(super) fn parse_firmware_for(name: &str, prefix: &str, vendor: &str) -> Option<Mac> {
    let stem = name.strip_suffix("-firmware.xml")?;
    parse_for(&format!("{stem}.htm"), prefix, vendor)?.mac
}

pub(super) fn name(f: &ConfigFile) -> String {
    let model = f.model.map(|m| m.as_str()).unwrap_or_default();
    match f.mac {
        Some(mac) => format!("{model}-{mac}.htm"),
        None => format!("{model}.htm"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_file_names() {
        let f = parse("snomD717-000413AABBCC.htm").unwrap();
        assert_eq!(f.model.unwrap().as_str(), "snomD717");
        assert_eq!(f.mac.unwrap().to_string(), "000413AABBCC");
        assert_eq!(f.to_string(), "snomD717-000413AABBCC.htm");
        let f = parse("snomD785.htm").unwrap();
        assert_eq!((f.model.unwrap().as_str(), f.mac), ("snomD785", None));
        // lower-case hex is accepted and canonicalised
        let f = parse("snomD717-000413aabbcc.htm").unwrap();
        assert_eq!(f.to_string(), "snomD717-000413AABBCC.htm");
        assert_eq!(
            ConfigFile::parse("snomD717-000413AABBCC.htm"),
            Some(ConfigFile::device(
                PhoneModel::parse("snomD717").unwrap(),
                Mac::parse("000413AABBCC").unwrap()
            ))
        );
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
            assert!(parse(s).is_none(), "{s}");
            assert!(ConfigFile::parse(s).is_none(), "{s}");
        }
        assert!(parse(&"a".repeat(10_000)).is_none());
    }

    proptest! {
        #[test]
        fn file_names_round_trip(mut bytes in any::<[u8; 6]>(), i in 0..super::super::MODELS.len(), with_mac in any::<bool>()) {
            // Unicast and not all zeros: the MACs a phone has.
            bytes[0] &= 0xFE;
            bytes[5] |= 1;
            let model = PhoneModel::of(&super::super::MODELS[i]);
            let f = match with_mac {
                true => ConfigFile::device(model, Mac::from_bytes(bytes)),
                false => ConfigFile::common(model),
            };
            prop_assert_eq!(parse(&f.to_string()).unwrap(), f);
        }

        #[test]
        fn file_name_parsing_never_panics(s in "\\PC{0,80}") {
            let _ = parse(&s);
        }
    }
}
