//! Domain types of touchless, parsed once at the edge and trusted everywhere after.
//!
//! Nothing here does IO. Every type that arrives from the outside world (a path, a
//! header, a JSON field, a CLI flag) has a constructor that either returns a value
//! that is valid by construction or an [`Error`] saying exactly what was wrong, so
//! that the storage and HTTP layers never re-check a MAC address or a tenant id.
//! Everything here is vendor-neutral: phone models and whatever else a phone
//! maker decides live in `touchless-phones`.

mod error;
mod firmware;
mod mac;
mod schema;
mod settings;
mod text;

pub use error::{truncate, Error};
pub use firmware::{compare_versions, next_stage, FirmwareFilter, FirmwareImage, PolicyScope};
pub use mac::Mac;
pub use settings::{Perm, Setting, SettingName};
pub use text::{
    is_xml_text, ConsoleRole, DeviceStatus, DisplayText, FirmwareFile, FirmwareVersion, Host,
    ProvPassword, ProvScope, ProvUser, Role, SerialNumber, SipPassword, SipUser, TenantId,
    TouchlessMode, UserName,
};
