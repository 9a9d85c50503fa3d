//! The data directory: the lock a running node holds on it, and restoring a
//! backup into it (`touchless restore`).

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::config::Config;

/// The file a running node locks, so that a second `serve` or a restore on
/// the same directory is refused instead of corrupting it.
const LOCK: &str = "touchless.lock";

#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("a touchless server is running on the data directory {0} (it holds {0}/touchless.lock); stop it first")]
    InUse(PathBuf),
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("restoring is for SQLite installations; restore PostgreSQL with pg_restore (see the README)")]
    NotSqlite,
    #[error(transparent)]
    Store(#[from] touchless_store::StoreError),
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> DataDirError + 'a {
    move |source| DataDirError::Io {
        what,
        path: path.to_owned(),
        source,
    }
}

/// Takes the data directory's lock (creating the directory 0700 if needed);
/// held until the returned file is dropped. The OS lets go of it when the
/// process dies, however it dies.
pub fn lock(dir: &Path) -> Result<File, DataDirError> {
    touchless_store::private::create_dir(dir).map_err(io("creating", dir))?;
    let path = dir.join(LOCK);
    let file = touchless_store::private::append(&path).map_err(io("opening", &path))?;
    use std::os::fd::AsRawFd as _;
    // SAFETY: flock on a descriptor this function owns for the call.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(file);
    }
    match std::io::Error::last_os_error() {
        e if e.kind() == std::io::ErrorKind::WouldBlock => Err(DataDirError::InUse(dir.to_owned())),
        e => Err(io("locking", &path)(e)),
    }
}

/// What a restore did.
#[derive(Debug)]
pub struct Restored {
    pub summary: touchless_store::BackupSummary,
    pub database: PathBuf,
    /// Where the database that was there before now is, if there was one.
    pub previous: Option<PathBuf>,
}

/// Puts the backup `from` in place of the installation's SQLite database,
/// which must not be in use. The backup is checked first (SQLite's
/// integrity check, our tables); the database it replaces is kept beside it
/// (with its WAL, whose commits belong to it), never deleted.
pub async fn restore(cfg: &Config, from: &Path) -> Result<Restored, DataDirError> {
    let url = cfg.database_url();
    let db = touchless_store::sqlite_path(&url)
        .ok_or(DataDirError::NotSqlite)?
        .to_owned();
    let _lock = lock(&cfg.data_dir)?;
    let summary = touchless_store::check_backup(from).await?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let aside = |suffix: &str| {
        let mut name = db.as_os_str().to_owned();
        name.push(format!(".before-restore-{stamp}{suffix}"));
        PathBuf::from(name)
    };
    let previous = if db.exists() {
        let to = aside("");
        std::fs::rename(&db, &to).map_err(io("moving aside", &db))?;
        for ext in ["-wal", "-shm"] {
            let mut side = db.as_os_str().to_owned();
            side.push(ext);
            let side = PathBuf::from(side);
            if side.exists() {
                std::fs::rename(&side, aside(ext)).map_err(io("moving aside", &side))?;
            }
        }
        Some(to)
    } else {
        None
    };
    // Copied to a new 0600 file next to the target, then renamed over it:
    // the database is either the old one or the whole backup.
    let mut tmp = db.as_os_str().to_owned();
    tmp.push(".restoring");
    let tmp = PathBuf::from(tmp);
    touchless_store::private::write(&tmp, b"").map_err(io("creating", &tmp))?;
    let copied = File::open(from).and_then(|mut src| {
        let mut out = std::fs::OpenOptions::new().write(true).open(&tmp)?;
        std::io::copy(&mut src, &mut out)?;
        out.sync_all()
    });
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&tmp);
        return Err(io("copying into", &tmp)(e));
    }
    std::fs::rename(&tmp, &db).map_err(io("renaming", &tmp))?;
    Ok(Restored {
        summary,
        database: db,
        previous,
    })
}
