//! Snom User-Agents: model, firmware and MAC (reference §4.6).
//!
//! - desk: `Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 2010.12-00004-g9ba52f5 000413922D24 SXM:0 UXM:0)`
//! - old desk: `Mozilla/4.0 (compatible; snom320-SIP 8.4.18 1.1.3-s)` (no MAC)
//! - DECT: `Mozilla/4.0 (compatible; Snom M900 05.20.0001 000413b60680)`
//! - slash form: `snomD717/10.1.198.19`

use touchless_domain::Mac;

use crate::{PhoneModel, UserAgent};

pub(super) fn parse(ua: &str) -> Option<UserAgent> {
    parse_for(ua, super::PREFIX, "snom")
}

/// [`parse`] for a brand on Snom's platform: its model tokens start with
/// `prefix` and name `vendor`'s models.
pub(super) fn parse_for(ua: &str, prefix: &str, vendor: &str) -> Option<UserAgent> {
    // A model of this vendor, not another's that happens to parse.
    let snom_model = |s: &str| {
        PhoneModel::parse(s)
            .ok()
            .filter(|m| m.vendor().name() == vendor)
    };
    if ua.len() > 512 {
        return None;
    }
    let inner = ua
        .split_once("(compatible;")
        .map(|(_, rest)| rest.trim_end().trim_end_matches(')'))
        .unwrap_or(ua);
    let tokens: Vec<&str> = inner.split_whitespace().collect();
    // The model token: `snomD785-SIP`, `snomD717/10.1.198.19`, or `Snom` `M900`.
    let (pos, model, firmware_in_token) = tokens.iter().enumerate().find_map(|(i, t)| {
        if let Some(m) = t.strip_suffix("-SIP") {
            return Some((i, snom_model(m)?, None));
        }
        if let Some((m, v)) = t.split_once('/') {
            if m.len() > prefix.len()
                && m.get(..prefix.len())
                    .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
            {
                return Some((i, snom_model(m)?, Some(v)));
            }
        }
        if t.eq_ignore_ascii_case(prefix) {
            let m = tokens.get(i + 1)?;
            let model = snom_model(m).filter(|m| super::is_dect(*m))?;
            return Some((i + 1, model, None));
        }
        None
    })?;
    let rest = &tokens[pos + 1..];
    let firmware = match firmware_in_token {
        Some(v) => v,
        None => rest.first().copied()?,
    };
    if firmware.is_empty() || !firmware.bytes().all(|c| c.is_ascii_digit() || c == b'.') {
        return None;
    }
    let mac = rest.iter().find_map(|t| {
        (t.len() == 12 && t.bytes().all(|c| c.is_ascii_hexdigit()))
            .then(|| Mac::parse_compact(t).ok())
            .flatten()
    });
    Some(UserAgent {
        model,
        firmware: firmware.to_owned(),
        mac,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    fn read(ua: &str) -> (String, String, Option<String>) {
        let p = super::parse(ua).unwrap();
        (
            p.model.to_string(),
            p.firmware,
            p.mac.map(|m| m.to_string()),
        )
    }

    #[test]
    fn reads_the_known_forms() {
        assert_eq!(
            read("Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 2010.12-00004-g9ba52f5 000413922D24 SXM:0 UXM:0)"),
            ("snomD785".into(), "10.1.33.33".into(), Some("000413922D24".into()))
        );
        assert_eq!(
            read("Mozilla/4.0 (compatible; snomD785-SIP 10.1.169.16 2010.12-00001-gd311851f1 (Feb 25 2019 - 14:19:43) 00041396D9B4 SXM:0 UXM:0 UXMC:0)"),
            ("snomD785".into(), "10.1.169.16".into(), Some("00041396D9B4".into()))
        );
        assert_eq!(
            read("Mozilla/4.0 (compatible; snom710-SIP 8.7.5.35 1.1.5-IFX-05.01.12 000413741767)"),
            (
                "snom710".into(),
                "8.7.5.35".into(),
                Some("000413741767".into())
            )
        );
        assert_eq!(
            read("Mozilla/4.0 (compatible; snom320-SIP 8.4.18 1.1.3-s)"),
            ("snom320".into(), "8.4.18".into(), None)
        );
        assert_eq!(
            read("Mozilla/4.0 (compatible; Snom M900 05.20.0001 000413b60680)"),
            (
                "snomM900".into(),
                "05.20.0001".into(),
                Some("000413B60680".into())
            )
        );
        assert_eq!(
            read("snomD717/10.1.198.19"),
            ("snomD717".into(), "10.1.198.19".into(), None)
        );
    }

    #[test]
    fn rejects_other_agents() {
        for ua in [
            "",
            "curl/8.5.0",
            "Mozilla/5.0 (X11; Linux x86_64)",
            "Yealink SIP-T46S 66.86.0.15 805ec0123456",
            "Mozilla/4.0 (compatible; snomD999-SIP 10.1.33.33)",
            "Mozilla/4.0 (compatible; snomD785-SIP)",
        ] {
            assert!(super::parse(ua).is_none(), "{ua}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,200}") {
            let _ = super::parse(&s);
        }
    }
}
