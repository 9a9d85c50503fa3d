//! `PhoneModel`: which phone, identified by (vendor, model), parsed once at the edge.

use std::fmt;
use std::str::FromStr;

use touchless_domain::truncate;

use crate::{vendors, Error, PhoneVendor, Vendor};

/// One entry of a vendor's model list; vendors keep them in `static` tables,
/// so a [`PhoneModel`] is one pointer.
pub struct Model {
    vendor: &'static dyn PhoneVendor,
    /// The identifier as the phone spells it in file names.
    pub id: &'static str,
}

impl Model {
    pub const fn new(vendor: &'static dyn PhoneVendor, id: &'static str) -> Model {
        Model { vendor, id }
    }

    pub fn vendor(&self) -> Vendor {
        Vendor(self.vendor)
    }
}

/// A known phone model. Serialised as its identifier,
/// which is unique across vendors.
#[derive(Clone, Copy)]
pub struct PhoneModel(&'static Model);

impl PhoneModel {
    /// Parses a model identifier in any spelling a vendor accepts (another
    /// case, a missing prefix) and returns it in the phone's own.
    pub fn parse(s: &str) -> Result<Self, Error> {
        // Phones spell it exactly; that is the common case on the request path.
        if let Some(m) = crate::registry().models.get(s) {
            return Ok(PhoneModel(m));
        }
        vendors()
            .iter()
            .find_map(|v| v.parse_model(s))
            .ok_or_else(|| Error::Model(truncate(s), expected()))
    }

    /// The model of this entry (for a vendor's own tables).
    pub fn of(m: &'static Model) -> Self {
        PhoneModel(m)
    }

    /// The identifier as the vendor's file names spell it.
    pub fn as_str(&self) -> &'static str {
        self.0.id
    }

    pub fn vendor(&self) -> Vendor {
        self.0.vendor()
    }
}

fn expected() -> String {
    let forms: Vec<String> = vendors()
        .iter()
        .filter_map(|v| {
            let first = v.model_examples().split([',', ' ']).next()?;
            Some(format!("{first} ({})", v.display_name()))
        })
        .collect();
    match forms.split_last() {
        Some((last, [])) => format!("a model identifier such as {last}"),
        Some((last, rest)) => format!("a model identifier such as {} or {last}", rest.join(", ")),
        None => "a model identifier".to_owned(),
    }
}

/// `s` without `prefix`, which is compared without case.
pub(crate) fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// The model of a vendor's table whose identifier, without the vendor's
/// `prefix`, is `bare` in any case.
pub(crate) fn by_bare_name(
    models: &'static [Model],
    prefix: &str,
    bare: &str,
) -> Option<PhoneModel> {
    models
        .iter()
        .find(|m| {
            m.id.get(prefix.len()..)
                .is_some_and(|rest| rest.eq_ignore_ascii_case(bare))
        })
        .map(PhoneModel::of)
}

impl PartialEq for PhoneModel {
    fn eq(&self, other: &Self) -> bool {
        // Identifiers are unique across vendors (a test checks).
        self.0.id == other.0.id
    }
}
impl Eq for PhoneModel {}

impl std::hash::Hash for PhoneModel {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.id.hash(state)
    }
}

impl PartialOrd for PhoneModel {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for PhoneModel {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.0.vendor.name(), self.0.id).cmp(&(other.0.vendor.name(), other.0.id))
    }
}

impl fmt::Display for PhoneModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.id)
    }
}

impl fmt::Debug for PhoneModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.id)
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
        s.serialize_str(self.0.id)
    }
}

impl<'de> serde::Deserialize<'de> for PhoneModel {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        PhoneModel::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for PhoneModel {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let example = crate::example_model().as_str();
        let b = utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(format!(
                "A phone model as its provisioning file names it, e.g. {example}."
            )))
            .examples([example]);
        utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::Object(b.build()))
    }
}

impl utoipa::ToSchema for PhoneModel {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("PhoneModel")
    }
}
