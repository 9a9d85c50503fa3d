//! The vendor seam: everything that differs between phone makers, behind one
//! trait, so the rest of touchless speaks of phones without naming a maker.
//!
//! A vendor ([`PhoneVendor`]) owns its model list and MAC OUI ranges, the file
//! names its phones ask for, its User-Agent format, how long a credential its
//! phones can store, which HTTP authentication they do, the shape of the
//! first-contact and steady-state URLs, and its configuration formats
//! (built-in settings, templates, escaping). A new vendor is one module that
//! implements the trait and one line in `BUILTIN`.
//!
//! Everything here is pure: parsing and rendering, no IO besides reading an
//! operator's template overrides.

mod fanvil;
mod file;
mod gigaset;
mod model;
pub mod pair;
mod poly;
pub mod render;
mod snom;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod yealink;

use std::fmt;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Mutex, OnceLock};

pub use file::ConfigFile;
pub use model::{Model, PhoneModel};
pub use pair::PairInPath;
pub use render::{
    Firmware, FirmwareStep, Line, Phone, RenderError, Renderer, SettingView, Templates, TenantFacts,
};
use touchless_domain::Mac;

/// The vendors this build knows, in the order file names and models are
/// tried. The registration point: a new vendor is one more line.
static BUILTIN: &[&dyn PhoneVendor] = &[
    &snom::SNOM,
    &yealink::YEALINK,
    &fanvil::FANVIL,
    &gigaset::GIGASET,
    &poly::POLY,
];

/// The vendors and every model of theirs by its exact spelling, built
/// together, so the index always belongs to the list: phones spell their
/// model exactly in every file name, and scanning each vendor's table cost
/// 17 string compares a request.
pub(crate) struct Registry {
    pub(crate) vendors: Vec<&'static dyn PhoneVendor>,
    pub(crate) models: foldhash::HashMap<&'static str, &'static Model>,
}

impl Registry {
    fn new(vendors: Vec<&'static dyn PhoneVendor>) -> Self {
        let mut models = foldhash::HashMap::default();
        for m in vendors.iter().flat_map(|v| v.models()) {
            // The first vendor in list order wins, as a scan in order would.
            models.entry(m.id).or_insert(m);
        }
        Registry { vendors, models }
    }
}

/// The registry after [`register`]: a leaked, never-freed copy, so a reader
/// on the request path pays one atomic load and no lock.
static REGISTERED: AtomicPtr<Registry> = AtomicPtr::new(std::ptr::null_mut());

pub(crate) fn registry() -> &'static Registry {
    let p = REGISTERED.load(Ordering::Acquire);
    if p.is_null() {
        static BUILT_IN: OnceLock<Registry> = OnceLock::new();
        BUILT_IN.get_or_init(|| Registry::new(BUILTIN.to_vec()))
    } else {
        // SAFETY: `p` came from `Box::leak` in `register` and is never freed.
        unsafe { &*p }
    }
}

/// Every vendor: the built-in ones and any registered since.
pub fn vendors() -> &'static [&'static dyn PhoneVendor] {
    &registry().vendors
}

/// Adds a vendor at run time (a test's made-up vendor, or an embedder's),
/// before the server that should know it starts. A vendor of a name already
/// known is refused.
pub fn register(v: &'static dyn PhoneVendor) -> Result<(), Error> {
    static WRITER: Mutex<()> = Mutex::new(());
    let _w = WRITER.lock().unwrap_or_else(|e| e.into_inner());
    if vendors().iter().any(|k| k.name() == v.name()) {
        return Err(Error::Vendor(
            v.name().to_owned(),
            "a vendor not known yet".into(),
        ));
    }
    let mut next = vendors().to_vec();
    next.push(v);
    REGISTERED.store(Box::leak(Box::new(Registry::new(next))), Ordering::Release);
    Ok(())
}

/// Why a value naming a phone thing was rejected; the message names the
/// forms every known vendor accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("unknown phone model {0:?}: expected {1}")]
    Model(String, String),
    #[error("unknown vendor {0:?}: expected one of {1}")]
    Vendor(String, String),
    #[error("model {model} is a {is} phone, not a {said} one")]
    NotItsVendor {
        model: PhoneModel,
        is: Vendor,
        said: Vendor,
    },
}

/// Which HTTP authentication a vendor's phones answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthScheme {
    Digest,
    Basic,
}

/// The longest provisioning user and password a vendor's phones store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CredentialLimits {
    pub user: usize,
    pub pass: usize,
}

/// What a phone says about itself in its User-Agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserAgent {
    pub model: PhoneModel,
    pub firmware: String,
    pub mac: Option<Mac>,
}

/// One phone maker. Implementations are unit structs in a `static`, listed in
/// `BUILTIN` or added with [`register`].
pub trait PhoneVendor: Send + Sync + 'static {
    /// As stored and typed: lower-case letters.
    fn name(&self) -> &'static str;
    /// As people write it, in messages.
    fn display_name(&self) -> &'static str;
    /// Every model, in the spelling the phones use in file names.
    fn models(&self) -> &'static [Model];
    /// Accepted spellings of a model besides the exact one (case, a missing
    /// prefix); `None` when this vendor has no such model.
    fn parse_model(&self, s: &str) -> Option<PhoneModel>;
    /// A few model identifiers for messages, the first the schema's example.
    fn model_examples(&self) -> &'static str;
    /// The IEEE OUIs (first three bytes of the MAC) the vendor's phones carry.
    fn ouis(&self) -> &'static [[u8; 3]];

    /// A file name a phone asks for (one path segment, after `/ztprov/` or
    /// `/prov/`), or `None` when it is not one of this vendor's.
    fn parse_file(&self, name: &str) -> Option<ConfigFile>;
    /// The name [`PhoneVendor::parse_file`] reads back.
    fn file_name(&self, file: &ConfigFile) -> String;
    /// The forms of file name, for a 404's words: `<mac>.cfg or <model>.cfg`.
    fn file_forms(&self) -> &'static str;
    /// The User-Agent its phones send (what the simulator sends, and what
    /// [`PhoneVendor::parse_user_agent`] reads back).
    fn user_agent(&self, model: PhoneModel, firmware: &str, mac: Mac) -> String;
    /// Reads the User-Agent; `None` when it is not this vendor's.
    fn parse_user_agent(&self, ua: &str) -> Option<UserAgent>;

    fn credential_limits(&self) -> CredentialLimits;
    /// The schemes its phones answer, preferred first.
    fn auth_schemes(&self) -> &'static [AuthScheme];
    /// The file a device fetches first, with its one-time credentials, and
    /// the one it fetches from then on. Paths under the public URL.
    fn first_contact_path(&self, model: PhoneModel, mac: Mac) -> String {
        format!(
            "/ztprov/{}",
            self.file_name(&ConfigFile::device(model, mac))
        )
    }
    fn steady_path(&self, model: PhoneModel, mac: Mac) -> String {
        format!("/prov/{}", self.file_name(&ConfigFile::device(model, mac)))
    }
    /// Where its phones present the pair that opens their files: in a
    /// header, or (where its cloud or its phones carry a URL only) in the
    /// path; see [`PairInPath`].
    fn pair_in_path(&self, model: PhoneModel) -> PairInPath {
        let _ = model;
        PairInPath::Never
    }
    /// Files every phone of this vendor may fetch from either folder without
    /// credentials, the same for all and holding no secret: `(file name,
    /// template)`, rendered once when the renderer is built.
    fn public_files(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }
    /// A file name its phones `PUT` (logs, their local settings): the MAC it
    /// belongs to and what it is (`app.log`). `None` for anything else.
    fn parse_upload(&self, name: &str) -> Option<(Mac, &'static str)> {
        let _ = name;
        None
    }
    /// The name of a device's firmware file, for a vendor whose firmware
    /// instruction is a file of its own (a file a firmware setting names,
    /// Poly's per-phone master); `None` where it sits in the device's file.
    fn firmware_file_name(&self, model: PhoneModel, mac: Mac) -> Option<String> {
        let _ = (model, mac);
        None
    }
    /// The MAC a firmware file name (see [`PhoneVendor::firmware_file_name`])
    /// belongs to.
    fn parse_firmware_file(&self, name: &str) -> Option<Mac> {
        let _ = name;
        None
    }
    /// A device's firmware file; `None` when it has none to serve now (a
    /// 404, which sends a Poly phone to its master file).
    fn render_firmware_file(
        &self,
        t: &Templates,
        p: &Phone,
    ) -> Option<Result<bytes::Bytes, RenderError>> {
        let _ = (t, p);
        None
    }
    /// Whether phones of `model` ask for a model-wide file (some vendors name
    /// one for a few models only).
    fn has_common_file(&self, model: PhoneModel) -> bool {
        let _ = model;
        true
    }

    /// The built-in templates, `(name, source)`; names are `<vendor>/<file>`
    /// and an operator's template directory overrides them by that path.
    fn templates(&self) -> &'static [(&'static str, &'static str)];
    /// Writes `s` escaped for this vendor's format: every value rendered goes
    /// through it, so no value can start another setting or element.
    fn escape(&self, out: &mut dyn fmt::Write, s: &str) -> fmt::Result;
    /// The `Content-Type` of its configuration files.
    fn content_type(&self) -> &'static str;

    /// The first-contact file: where the phone fetches from and with which
    /// credentials.
    fn render_first_contact(&self, t: &Templates, p: &Phone) -> Result<bytes::Bytes, RenderError>;
    /// A device's full configuration.
    fn render_device(&self, t: &Templates, p: &Phone) -> Result<bytes::Bytes, RenderError>;
    /// The file every phone of a model of the tenant fetches.
    fn render_common(
        &self,
        t: &Templates,
        tenant: &TenantFacts,
        model: PhoneModel,
    ) -> Result<bytes::Bytes, RenderError>;
    /// Whether touchless's own redirection service (SRAPS) redirects this
    /// vendor's phones; then [`PhoneVendor::render_redirect`] renders its answer.
    fn redirected(&self) -> bool {
        false
    }
    /// What a redirection service speaking this vendor's protocol hands a
    /// factory-reset phone: the settings its PBX pushed. Only asked of a
    /// vendor that is [`PhoneVendor::redirected`].
    fn render_redirect(
        &self,
        t: &Templates,
        settings: &[SettingView],
    ) -> Result<bytes::Bytes, RenderError> {
        let _ = (t, settings);
        Err(RenderError::NoSuchFile(self.name()))
    }
}

/// A vendor, compared by name; what [`PhoneModel::vendor`] hands out.
#[derive(Clone, Copy)]
pub struct Vendor(&'static dyn PhoneVendor);

impl Vendor {
    /// The vendor of that name.
    pub fn parse(s: &str) -> Result<Vendor, Error> {
        vendors()
            .iter()
            .find(|v| v.name().eq_ignore_ascii_case(s))
            .map(|v| Vendor(*v))
            .ok_or_else(|| Error::Vendor(touchless_domain::truncate(s), vendor_names()))
    }

    pub fn all() -> impl Iterator<Item = Vendor> {
        vendors().iter().map(|v| Vendor(*v))
    }

    /// This vendor's example model (the first of its `model_examples`).
    pub fn example_model(&self) -> Option<PhoneModel> {
        let first = self.model_examples().split([',', ' ']).next()?;
        PhoneModel::parse(first).ok()
    }

    /// `model`, if it is this vendor's: what a request that names both a
    /// model and a vendor is checked with.
    pub fn check(&self, model: PhoneModel) -> Result<PhoneModel, Error> {
        if model.vendor() == *self {
            Ok(model)
        } else {
            Err(Error::NotItsVendor {
                model,
                is: model.vendor(),
                said: *self,
            })
        }
    }

    /// The first-contact path as it is handed out with its one-time pair:
    /// with the pair in it where this vendor's phones need it there.
    pub fn first_contact_url_path(
        &self,
        model: PhoneModel,
        mac: Mac,
        user: &str,
        pass: &str,
    ) -> String {
        let p = self.first_contact_path(model, mac);
        match self.pair_in_path(model) {
            PairInPath::Never => p,
            PairInPath::FirstContact | PairInPath::Always => pair::insert(&p, user, pass),
        }
    }

    /// The steady-state path as a phone is handed it with its pair.
    pub fn steady_url_path(&self, model: PhoneModel, mac: Mac, user: &str, pass: &str) -> String {
        let p = self.steady_path(model, mac);
        match self.pair_in_path(model) {
            PairInPath::Always => pair::insert(&p, user, pass),
            PairInPath::Never | PairInPath::FirstContact => p,
        }
    }

    /// The vendor whose OUI ranges hold this MAC, if any.
    pub fn of_mac(mac: Mac) -> Option<Vendor> {
        let b = mac.bytes();
        let oui = [b[0], b[1], b[2]];
        Vendor::all().find(|v| v.ouis().contains(&oui))
    }
}

impl std::ops::Deref for Vendor {
    type Target = dyn PhoneVendor;
    fn deref(&self) -> &Self::Target {
        self.0
    }
}

impl PartialEq for Vendor {
    fn eq(&self, other: &Self) -> bool {
        self.0.name() == other.0.name()
    }
}
impl Eq for Vendor {}

impl std::hash::Hash for Vendor {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.name().hash(state)
    }
}

impl fmt::Debug for Vendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name())
    }
}

impl fmt::Display for Vendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name())
    }
}

impl std::str::FromStr for Vendor {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Vendor::parse(s)
    }
}

impl serde::Serialize for Vendor {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.name())
    }
}

impl<'de> serde::Deserialize<'de> for Vendor {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Vendor::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for Vendor {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let names: Vec<&str> = vendors().iter().map(|v| v.name()).collect();
        let b = utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("A phone vendor, as touchless names it."))
            .enum_values(Some(names));
        utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::Object(b.build()))
    }
}

impl utoipa::ToSchema for Vendor {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("Vendor")
    }
}

fn vendor_names() -> String {
    vendors()
        .iter()
        .map(|v| v.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A requested file name, tried against every vendor.
pub fn parse_file(name: &str) -> Option<ConfigFile> {
    if name.len() > 128 {
        return None;
    }
    vendors().iter().find_map(|v| v.parse_file(name))
}

/// A firmware file name of some vendor (see
/// [`PhoneVendor::firmware_file_name`]): whose, and the MAC.
pub fn parse_firmware_file(name: &str) -> Option<(Vendor, Mac)> {
    if name.len() > 128 {
        return None;
    }
    vendors()
        .iter()
        .find_map(|v| v.parse_firmware_file(name).map(|m| (Vendor(*v), m)))
}

/// A name some vendor's phones `PUT`: the MAC and what it is.
pub fn parse_upload(name: &str) -> Option<(Mac, &'static str)> {
    vendors().iter().find_map(|v| v.parse_upload(name))
}

/// The schemes the phones asking for this file name answer: the union over
/// every vendor whose phones use the name (`{mac}.cfg` is several vendors').
pub fn auth_schemes_for(name: &str) -> Vec<AuthScheme> {
    let mut out = Vec::with_capacity(2);
    let uses = |v: &&&dyn PhoneVendor| {
        v.parse_file(name).is_some()
            || v.parse_upload(name).is_some()
            || v.parse_firmware_file(name).is_some()
    };
    for v in vendors().iter().filter(uses) {
        for s in v.auth_schemes() {
            if !out.contains(s) {
                out.push(*s);
            }
        }
    }
    out
}

/// A User-Agent, tried against every vendor.
pub fn parse_user_agent(ua: &str) -> Option<UserAgent> {
    if ua.len() > 512 {
        return None;
    }
    vendors().iter().find_map(|v| v.parse_user_agent(ua))
}

/// The forms of file name phones of every vendor ask for, for a 404's words.
pub fn file_forms() -> String {
    vendors()
        .iter()
        .map(|v| v.file_forms())
        .collect::<Vec<_>>()
        .join(" or ")
}

/// A model for examples and defaults (the schema's example, the simulator's
/// and the console's default): the first vendor's first example.
pub fn example_model() -> PhoneModel {
    Vendor::all()
        .find_map(|v| v.example_model())
        .unwrap_or_else(|| PhoneModel::of(&vendors()[0].models()[0]))
}

/// The tightest credential limits of any vendor: what a credential must fit
/// when it may be handed to any phone (a tenant's shared pair, a generated one).
pub fn credential_limits() -> CredentialLimits {
    vendors().iter().map(|v| v.credential_limits()).fold(
        CredentialLimits {
            user: usize::MAX,
            pass: usize::MAX,
        },
        |a, b| CredentialLimits {
            user: a.user.min(b.user),
            pass: a.pass.min(b.pass),
        },
    )
}

#[cfg(test)]
mod firmware_tests;

#[cfg(test)]
mod tests {
    use super::*;

    /// The domain's credential types are sized for the tightest vendor; a
    /// vendor with a tighter limit must shrink them.
    #[test]
    fn domain_credential_limits_fit_every_vendor() {
        let l = credential_limits();
        assert_eq!(l.user, touchless_domain::ProvUser::MAX_LEN);
        assert_eq!(l.pass, touchless_domain::ProvPassword::MAX_LEN);
    }

    #[test]
    fn vendors_have_distinct_names_and_models() {
        let mut names = std::collections::HashSet::new();
        let mut models = std::collections::HashSet::new();
        for v in Vendor::all() {
            assert!(names.insert(v.name()), "{}", v.name());
            assert!(v.name().bytes().all(|c| c.is_ascii_lowercase()));
            for m in v.models() {
                assert!(models.insert(m.id), "model {} twice", m.id);
                assert_eq!(m.vendor().name(), v.name());
            }
        }
    }

    #[test]
    fn vendor_names_parse() {
        for v in Vendor::all() {
            assert_eq!(Vendor::parse(v.name()).unwrap(), v);
        }
        let e = Vendor::parse("acme-phones").unwrap_err().to_string();
        assert!(
            e.starts_with("unknown vendor \"acme-phones\": expected one of "),
            "{e}"
        );
    }
}
