//! What the provisioning view keeps of a device to render its files, packed:
//! at 100,000 devices every word per device is most of a megabyte.
//!
//! The registry row (`touchless_store::Device`) holds a dozen strings, each
//! its own allocation; most are never rendered (status, messages, ztprov
//! secrets). Here a device's rendered strings share one allocation, and each
//! line's strings another. The values were validated when they entered the
//! store, so they are kept as plain text.

use touchless_domain::{Mac, Setting};
use touchless_phones::PhoneModel;
use touchless_store::{Device, Line};

/// `N` strings in one allocation, each found by its end offset.
#[derive(Clone)]
struct Packed<const N: usize> {
    text: Box<str>,
    ends: [u32; N],
}

impl<const N: usize> Packed<N> {
    fn new(parts: [&str; N]) -> Self {
        let mut text = String::with_capacity(parts.iter().map(|p| p.len()).sum());
        let mut ends = [0u32; N];
        for (end, part) in ends.iter_mut().zip(parts) {
            text.push_str(part);
            // Validated values are a few hundred bytes at most.
            *end = u32::try_from(text.len()).expect("a device's text is under 4 GiB");
        }
        Packed {
            text: text.into_boxed_str(),
            ends,
        }
    }

    fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.text[start..self.ends[i] as usize]
    }
}

/// One SIP line as rendered.
#[derive(Clone)]
pub struct LineFacts {
    pub idx: u32,
    /// extension, auth user, SIP password, display name
    text: Packed<4>,
}

impl LineFacts {
    pub fn extension(&self) -> &str {
        self.text.get(0)
    }

    pub fn auth_user(&self) -> &str {
        self.text.get(1)
    }

    pub fn sip_password(&self) -> &str {
        self.text.get(2)
    }

    pub fn display_name(&self) -> &str {
        self.text.get(3)
    }
}

impl From<&Line> for LineFacts {
    fn from(l: &Line) -> Self {
        LineFacts {
            idx: l.idx,
            text: Packed::new([
                l.extension.as_str(),
                l.auth_user.as_str(),
                l.sip_password.as_str(),
                l.display_name.as_str(),
            ]),
        }
    }
}

/// What rendering reads of a device.
#[derive(Clone)]
pub struct DeviceFacts {
    pub mac: Mac,
    pub model: PhoneModel,
    pub revision: i64,
    /// name, `/prov` user, `/prov` password
    text: Packed<3>,
    pub lines: Box<[LineFacts]>,
    pub settings: Box<[Setting]>,
}

impl DeviceFacts {
    pub fn name(&self) -> &str {
        self.text.get(0)
    }

    /// The device's own `/prov` user, which `/ztprov` hands the phone when
    /// its tenant's scope is `device`.
    pub fn prov_user(&self) -> &str {
        self.text.get(1)
    }

    pub fn prov_pass(&self) -> &str {
        self.text.get(2)
    }
}

impl From<Device> for DeviceFacts {
    fn from(d: Device) -> Self {
        DeviceFacts {
            mac: d.mac,
            model: d.model,
            revision: d.revision,
            text: Packed::new([d.name.as_str(), d.prov_user.as_str(), d.prov_pass.as_str()]),
            lines: d.lines.iter().map(LineFacts::from).collect(),
            settings: d.settings.into_boxed_slice(),
        }
    }
}

impl std::fmt::Debug for DeviceFacts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No passwords in logs.
        f.debug_struct("DeviceFacts")
            .field("mac", &self.mac)
            .field("model", &self.model)
            .field("revision", &self.revision)
            .field("name", &self.name())
            .field("prov_user", &self.prov_user())
            .field("lines", &self.lines.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_strings_come_back_as_they_went_in() {
        for parts in [
            ["", "", ""],
            ["a", "", "ccc"],
            ["Zoë ☎", "prov-1", "p&<\"'>"],
        ] {
            let p = Packed::new(parts);
            for (i, want) in parts.iter().enumerate() {
                assert_eq!(p.get(i), *want);
            }
        }
    }
}
