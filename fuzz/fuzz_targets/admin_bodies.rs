//! The admin API's request bodies, read as its handlers read them (typed,
//! unknown fields refused): any bytes give a value or an error that names
//! where; a value read writes back to JSON that reads to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::{de::DeserializeOwned, Serialize};
use touchless_api::{daemon, devices, firmware, redirect, tenants, users};
use touchless_runtime::json;

/// A refusal in the words the API answers.
fn words(e: &json::BodyError) -> String {
    match e {
        json::BodyError::Syntax(e) => e.to_string(),
        json::BodyError::NotObject => "not an object".into(),
        json::BodyError::Data { path, message } => format!("{}: {message}", json::dotted(path)),
    }
}

fn one<T: DeserializeOwned + Serialize>(data: &[u8]) {
    match json::any::<T>(data) {
        Ok(v) => {
            let again = serde_json::to_value(&v).expect("writes");
            let text = again.to_string();
            let back: T =
                json::any(text.as_bytes()).unwrap_or_else(|e| panic!("{}: {text}", words(&e)));
            assert_eq!(serde_json::to_value(&back).expect("writes"), again);
        }
        Err(e) => {
            let _ = words(&e);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    match which % 12 {
        0 => one::<tenants::NewTenant>(body),
        1 => one::<tenants::TenantPatch>(body),
        2 => one::<devices::NewDevice>(body),
        3 => one::<Vec<devices::NewDevice>>(body),
        4 => one::<devices::DevicePatch>(body),
        5 => one::<daemon::NewProvider>(body),
        6 => one::<daemon::ProviderPatch>(body),
        7 => one::<daemon::Selection>(body),
        8 => one::<users::NewUser>(body),
        9 => one::<redirect::NewCompany>(body),
        10 => one::<redirect::NewApiKey>(body),
        _ => one::<firmware::PutPolicy>(body),
    }
});
