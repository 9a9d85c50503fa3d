//! Firmware: a version as phones report it, an image (a URL, or a file
//! touchless serves), a policy's scope, and the order of versions.

use std::cmp::Ordering;
use std::fmt;

use crate::error::Error;
use crate::text::{FirmwareFile, FirmwareVersion};

/// Where a firmware image comes from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FirmwareImage {
    /// An `http://` or `https://` URL elsewhere (a vendor's CDN, a mirror).
    Url(String),
    /// A file in touchless's firmware directory, served under `/firmware/`
    /// behind the same authentication as `/prov`.
    File(FirmwareFile),
}

impl FirmwareImage {
    /// A URL (`http://…`, `https://…`) or else a file name.
    pub fn parse(s: &str) -> Result<Self, Error> {
        if s.contains("://") {
            Self::url(s)
        } else {
            FirmwareFile::parse(s).map(FirmwareImage::File)
        }
    }

    pub fn url(s: &str) -> Result<Self, Error> {
        let rest = s
            .strip_prefix("https://")
            .or_else(|| s.strip_prefix("http://"));
        let why = match rest {
            None => Some("use an http:// or https:// URL"),
            Some("") => Some("the URL names no host"),
            Some(_) if s.len() > 512 => Some("at most 512 characters"),
            // It goes into XML and `key = value` files as it is: printable
            // ASCII only (RFC 3986; anything else is percent-encoded). A
            // character XML 1.0 cannot carry (U+FFFF, found by fuzzing)
            // would otherwise break the phone's file.
            Some(_) if !s.bytes().all(|c| c.is_ascii_graphic()) => {
                Some("a URL is printable ASCII without spaces: percent-encode anything else")
            }
            Some(_) => None,
        };
        match why {
            Some(why) => Err(Error::field("firmware URL", s, why)),
            None => Ok(FirmwareImage::Url(s.to_owned())),
        }
    }

    /// As stored and shown: the URL or the file name.
    pub fn as_str(&self) -> &str {
        match self {
            FirmwareImage::Url(u) => u,
            FirmwareImage::File(f) => f.as_str(),
        }
    }
}

impl fmt::Display for FirmwareImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whom a firmware policy applies to; the most specific one wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PolicyScope {
    Installation,
    Tenant,
    Device,
}

impl PolicyScope {
    pub fn as_str(&self) -> &'static str {
        match self {
            PolicyScope::Installation => "installation",
            PolicyScope::Tenant => "tenant",
            PolicyScope::Device => "device",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Error> {
        match s {
            "installation" => Ok(PolicyScope::Installation),
            "tenant" => Ok(PolicyScope::Tenant),
            "device" => Ok(PolicyScope::Device),
            _ => Err(Error::field(
                "policy scope",
                s,
                "expected installation, tenant or device",
            )),
        }
    }
}

impl fmt::Display for PolicyScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for PolicyScope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for PolicyScope {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        PolicyScope::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Devices by where they stand against their firmware policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FirmwareFilter {
    /// A policy applies and the phone has not reported its target (yet).
    Behind,
    /// The phone reported its policy's target.
    Current,
}

impl FirmwareFilter {
    pub fn as_str(&self) -> &'static str {
        match self {
            FirmwareFilter::Behind => "behind",
            FirmwareFilter::Current => "current",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Error> {
        match s {
            "behind" => Ok(FirmwareFilter::Behind),
            "current" => Ok(FirmwareFilter::Current),
            _ => Err(Error::field(
                "firmware filter",
                s,
                "expected behind or current",
            )),
        }
    }
}

/// Versions in the order vendors number them: runs of digits compare as
/// numbers, other runs as text, so `10.1.9` < `10.1.33` and
/// `83.V2.9.0` < `83.V2.11.0`. Separators (`.`, `-`, `+`, `_`) only split.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (chunks(a), chunks(b));
    loop {
        match (x.next(), y.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(p), Some(q)) => {
                let o = match (p.parse::<u64>(), q.parse::<u64>()) {
                    (Ok(m), Ok(n)) => m.cmp(&n),
                    (Ok(_), Err(_)) => Ordering::Greater,
                    (Err(_), Ok(_)) => Ordering::Less,
                    (Err(_), Err(_)) => p.to_ascii_lowercase().cmp(&q.to_ascii_lowercase()),
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

/// `10.1.V2` → `10`, `1`, `V`, `2`: digit runs and letter runs.
fn chunks(s: &str) -> impl Iterator<Item = &str> {
    let b = s.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < b.len() && !b[i].is_ascii_alphanumeric() {
            i += 1;
        }
        if i >= b.len() {
            return None;
        }
        let start = i;
        let digit = b[i].is_ascii_digit();
        while i < b.len() && b[i].is_ascii_alphanumeric() && b[i].is_ascii_digit() == digit {
            i += 1;
        }
        Some(&s[start..i])
    })
}

/// Which of a policy's stages (intermediates in order, then the target,
/// the last) a phone reporting `reported` is given next; `None` once it
/// runs the target. A phone that does not say its version starts at the
/// first stage (its next fetch says it); one newer than every stage is
/// given the target (a pin is a pin, also downwards).
pub fn next_stage(stages: &[FirmwareVersion], reported: Option<&str>) -> Option<usize> {
    let target = stages.len().checked_sub(1)?;
    let Some(v) = reported else {
        return Some(0);
    };
    if stages[target].as_str() == v {
        return None;
    }
    if let Some(at) = stages.iter().position(|s| s.as_str() == v) {
        return Some(at + 1);
    }
    Some(
        stages
            .iter()
            .position(|s| compare_versions(s.as_str(), v) == Ordering::Greater)
            .unwrap_or(target),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> FirmwareVersion {
        FirmwareVersion::parse(s).unwrap()
    }

    #[test]
    fn versions_compare_as_vendors_number_them() {
        assert_eq!(compare_versions("10.1.9.1", "10.1.33.33"), Ordering::Less);
        assert_eq!(
            compare_versions("66.86.0.15", "66.86.0.15"),
            Ordering::Equal
        );
        assert_eq!(
            compare_versions("83.V2.11.0+build.a5", "83.V2.9.0+build.ff"),
            Ordering::Greater
        );
        assert_eq!(compare_versions("2.12", "2.12.1"), Ordering::Less);
    }

    #[test]
    fn stages_step_in_order_and_stop_at_the_target() {
        let stages = [v("8.9.3"), v("10.1.46"), v("10.1.175")];
        assert_eq!(next_stage(&stages, Some("8.7.5")), Some(0));
        assert_eq!(next_stage(&stages, Some("8.9.3")), Some(1));
        assert_eq!(next_stage(&stages, Some("10.0.1")), Some(1));
        assert_eq!(next_stage(&stages, Some("10.1.46")), Some(2));
        assert_eq!(next_stage(&stages, Some("10.1.175")), None);
        assert_eq!(next_stage(&stages, Some("11.0")), Some(2));
        assert_eq!(next_stage(&stages, None), Some(0));
        assert_eq!(next_stage(&[], Some("1")), None);
    }

    #[test]
    fn images_are_urls_or_plain_file_names() {
        assert!(matches!(
            FirmwareImage::parse("https://downloads.example.com/fw/a.bin"),
            Ok(FirmwareImage::Url(_))
        ));
        assert!(matches!(
            FirmwareImage::parse("snomD785-10.1.175-SIP-r.bin"),
            Ok(FirmwareImage::File(_))
        ));
        // The last two: the input `fuzz/` found (render_snom: U+FFFF in a
        // URL made the Snom firmware file no XML at all), and its kind.
        for bad in [
            "ftp://x/a.bin",
            "../etc/passwd",
            "a/b.bin",
            ".hidden",
            "https://",
            "https://a b",
            "https://DDDD999990='2\u{ffff}",
            "https://h/\u{e4}.bin",
        ] {
            assert!(FirmwareImage::parse(bad).is_err(), "{bad}");
        }
    }
}
