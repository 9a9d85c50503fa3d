//! `ConfigFile`: a file a phone asks for, as its vendor names it.

use std::fmt;

use touchless_domain::Mac;

use crate::{PhoneModel, Vendor};

/// A requested configuration file: one device's (`mac` set) or the file every
/// phone of a model shares (`mac` unset). A vendor whose device file names no
/// model (`{mac}.cfg`) leaves `model` unset; the registry knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConfigFile {
    pub vendor: Vendor,
    pub model: Option<PhoneModel>,
    pub mac: Option<Mac>,
}

impl ConfigFile {
    /// A device's own file.
    pub fn device(model: PhoneModel, mac: Mac) -> Self {
        ConfigFile {
            vendor: model.vendor(),
            model: Some(model),
            mac: Some(mac),
        }
    }

    /// The file every phone of `model` shares.
    pub fn common(model: PhoneModel) -> Self {
        ConfigFile {
            vendor: model.vendor(),
            model: Some(model),
            mac: None,
        }
    }

    /// Parses a requested file name against every vendor (see
    /// [`crate::PhoneVendor::parse_file`]).
    pub fn parse(name: &str) -> Option<Self> {
        crate::parse_file(name)
    }
}

impl fmt::Display for ConfigFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.vendor.file_name(self))
    }
}
