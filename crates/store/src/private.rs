//! Files and folders only their owner may read: the database, its WAL and
//! shared-memory files, the admin token, the access log and backups hold SIP
//! passwords, provisioning credentials and API secrets.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

/// Creates `dir` and any missing parents as 0700 (whatever the umask allows
/// beyond that is not added); an existing folder is left as it is.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// Opens `path` for appending, creating it 0600 (and its folder 0700) if missing.
pub fn append(path: &Path) -> io::Result<File> {
    if let Some(dir) = path.parent() {
        create_dir(dir)?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
}

/// Creates or truncates `path` as 0600 (its folder 0700) and writes `content`.
pub fn write(path: &Path, content: &[u8]) -> io::Result<()> {
    use std::io::Write as _;
    if let Some(dir) = path.parent() {
        create_dir(dir)?;
    }
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // An existing file keeps its mode through `open`; tighten it.
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    f.write_all(content)
}

/// `Some(mode)` when `path` exists and its group or others may read, write or
/// enter it: worth a warning at start.
pub fn too_open(path: &Path) -> Option<u32> {
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then_some(mode)
}
