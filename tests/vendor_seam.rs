//! The vendor seam holds: outside the Snom folders (`…/snom/`), test code,
//! migrations and the store's conformance suite (test support), no source
//! file names Snom or spells its file suffix (`.htm`), except the lines that
//! declare and register the module.

use std::path::{Path, PathBuf};

/// The lines that may name it: module declarations and the registrations.
const ALLOWED: &[&str] = &[
    "mod snom;",
    "pub mod snom;",
    "pub use snom::*;",
    "&snom::SNOM,",
    "(\"snom\", super::snom::KIND),",
    "&snom::SIM,",
    // Gigaset's P-series are made on Snom's platform: each side's one import.
    "use crate::snom::family as platform;",
    "use super::snom::parse_settings as platform_settings;",
    "use super::snom::firmware_hint as platform_firmware;",
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if p.is_dir() {
            if ![
                "snom",
                "tests",
                "benches",
                "migrations",
                "conformance",
                "target",
            ]
            .contains(&name.as_str())
            {
                sources(&p, out);
            }
        } else if [".rs", ".html", ".js", ".css", ".toml", ".xml", ".sql"]
            .iter()
            .any(|x| name.ends_with(x))
            && !name.ends_with("tests.rs")
        {
            out.push(p);
        }
    }
}

#[test]
fn no_source_outside_the_snom_folders_names_snom() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    sources(&root.join("crates"), &mut files);
    sources(&root.join("src"), &mut files);
    assert!(files.len() > 100, "found the sources: {}", files.len());
    let mut found = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        // In-file test modules come last, by the project's habit.
        let code = text.split("#[cfg(test)]").next().unwrap();
        for (i, line) in code.lines().enumerate() {
            let lower = line.to_ascii_lowercase();
            // Snom's name, or its file names' suffix (a URL built by hand
            // outside the seam has that shape).
            let snomish = lower.contains("snom") || lower.replace(".html", "").contains(".htm");
            if snomish && !ALLOWED.contains(&line.trim()) {
                found.push(format!(
                    "{}:{}: {}",
                    f.strip_prefix(root).unwrap().display(),
                    i + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        found.is_empty(),
        "Snom named outside its folders:\n{}",
        found.join("\n")
    );
}
