//! `Mac`: a hardware address, accepted in the usual spellings, kept as six bytes.

use std::fmt;
use std::str::FromStr;

use crate::error::{truncate, Error};

/// A 48-bit MAC address. Its canonical text form is 12 uppercase hex digits
/// (`000413AABBCC`), the form most phones put in file names and User-Agents.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mac([u8; 6]);

impl Mac {
    pub const fn from_bytes(bytes: [u8; 6]) -> Self {
        Mac(bytes)
    }

    pub const fn bytes(&self) -> [u8; 6] {
        self.0
    }

    /// Parses `000413aabbcc`, `00:04:13:AA:BB:CC`, `00-04-13-aa-bb-cc` or `0004.13aa.bbcc`.
    ///
    /// Separators must be used consistently and in their usual places, so a typo
    /// such as `00:0413:AA:BB:CC` is an error rather than a silently different MAC.
    /// Broadcast, multicast and all-zero addresses are refused: no phone has one,
    /// and accepting them only gives a file name that matches nothing real.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let mac = Self::parse_any(s)?;
        if mac.0 == [0xFF; 6] {
            return Err(Error::MacNotUnicast(truncate(s), "the broadcast address"));
        }
        if mac.0[0] & 1 == 1 {
            return Err(Error::MacNotUnicast(truncate(s), "a multicast address"));
        }
        if mac.0 == [0; 6] {
            return Err(Error::MacNotUnicast(truncate(s), "all zeros"));
        }
        Ok(mac)
    }

    /// [`Mac::parse`] without the unicast rule: for values read back from the
    /// database, which older releases accepted, so an upgrade never fails to
    /// load a registry over a MAC no phone has.
    pub fn parse_stored(s: &str) -> Result<Self, Error> {
        Self::parse_any(s)
    }

    fn parse_any(s: &str) -> Result<Self, Error> {
        let err = || Error::Mac(truncate(s));
        let b = s.as_bytes();
        let digits: [u8; 12] = match b.len() {
            12 => b.try_into().map_err(|_| err())?,
            17 => {
                let sep = b[2];
                if sep != b':' && sep != b'-' {
                    return Err(err());
                }
                let mut d = [0u8; 12];
                for i in 0..6 {
                    if i < 5 && b[i * 3 + 2] != sep {
                        return Err(err());
                    }
                    d[i * 2] = b[i * 3];
                    d[i * 2 + 1] = b[i * 3 + 1];
                }
                d
            }
            14 => {
                if b[4] != b'.' || b[9] != b'.' {
                    return Err(err());
                }
                let mut d = [0u8; 12];
                for (g, chunk) in [&b[0..4], &b[5..9], &b[10..14]].iter().enumerate() {
                    d[g * 4..g * 4 + 4].copy_from_slice(chunk);
                }
                d
            }
            _ => return Err(err()),
        };
        let mut out = [0u8; 6];
        for i in 0..6 {
            let hi = hex_val(digits[i * 2]).ok_or_else(err)?;
            let lo = hex_val(digits[i * 2 + 1]).ok_or_else(err)?;
            out[i] = hi << 4 | lo;
        }
        Ok(Mac(out))
    }

    /// Parses exactly 12 hex digits, nothing else; what a file name or User-Agent carries.
    pub fn parse_compact(s: &str) -> Result<Self, Error> {
        if s.len() != 12 {
            return Err(Error::Mac(truncate(s)));
        }
        Mac::parse(s)
    }

    /// The `00:04:13:AA:BB:CC` form, for people.
    pub fn colon(&self) -> String {
        let b = self.0;
        format!(
            "{:02X}:{:02X}:{:02X}:{:02X}:{:02X}:{:02X}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mac({self})")
    }
}

impl FromStr for Mac {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Mac::parse(s)
    }
}

impl serde::Serialize for Mac {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Mac {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Mac::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_the_usual_spellings() {
        for s in [
            "000413aabbcc",
            "000413AABBCC",
            "00:04:13:AA:BB:CC",
            "00-04-13-aa-bb-cc",
            "0004.13aa.bbcc",
        ] {
            assert_eq!(Mac::parse(s).unwrap().to_string(), "000413AABBCC", "{s}");
        }
    }

    #[test]
    fn rejects_everything_else() {
        for s in [
            "",
            "zz",
            "000413aabbc",
            "000413aabbccd",
            "00:04:13-AA:BB:CC",
            "00:0413:AA:BB:CCx",
            "0004.13aa-bbcc",
            "00041gaabbcc",
            "00 04 13 aa bb cc",
            "０００４１３ａａｂｂｃｃ",
        ] {
            let err = Mac::parse(s).unwrap_err();
            assert!(
                err.to_string().contains("invalid MAC address"),
                "{s}: {err}"
            );
        }
    }

    #[test]
    fn refuses_addresses_no_phone_has() {
        for (s, why) in [
            ("FFFFFFFFFFFF", "broadcast"),
            ("ff:ff:ff:ff:ff:ff", "broadcast"),
            ("01005E000001", "multicast"),
            ("333300000001", "multicast"),
            ("000000000000", "all zeros"),
        ] {
            let err = Mac::parse(s).unwrap_err().to_string();
            assert!(err.contains(why), "{s}: {err}");
        }
        // The locally administered bit is fine (virtual phones, softphones).
        assert!(Mac::parse("020413AABBCC").is_ok());
    }

    #[test]
    fn serde_uses_the_canonical_form() {
        let m: Mac = serde_json::from_str("\"00:04:13:aa:bb:cc\"").unwrap();
        assert_eq!(serde_json::to_string(&m).unwrap(), "\"000413AABBCC\"");
        assert!(serde_json::from_str::<Mac>("\"nope\"").is_err());
    }

    proptest! {
        #[test]
        fn round_trips_in_every_spelling(mut bytes in any::<[u8; 6]>(), lower in any::<bool>(), form in 0..4u8) {
            bytes[0] &= 0xFE;
            bytes[5] |= 1;
            let mac = Mac::from_bytes(bytes);
            let canon = mac.to_string();
            let s = match form {
                0 => canon.clone(),
                1 => mac.colon(),
                2 => mac.colon().replace(':', "-"),
                _ => format!("{}.{}.{}", &canon[0..4], &canon[4..8], &canon[8..12]),
            };
            let s = if lower { s.to_lowercase() } else { s };
            let parsed = Mac::parse(&s).unwrap();
            prop_assert_eq!(parsed, mac);
            prop_assert_eq!(parsed.to_string(), canon.clone());
            prop_assert_eq!(Mac::parse(&parsed.colon()).unwrap(), mac);
        }

        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = Mac::parse(&s);
        }
    }
}
