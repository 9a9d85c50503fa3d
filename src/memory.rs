//! How the binary allocates: mimalloc, and when it gives freed memory back
//! to the OS.

/// The provisioning hot path allocates a few small buffers per request; glibc
/// malloc spends measurably more time on them (and on arena trimming) than mimalloc.
/// mimalloc also takes C's `malloc` (the crate's `override` feature), so SQLite's
/// page caches and statements live in the same heap, purged by the same thread.
/// glibc gave each connection thread an arena it seldom shrank: 40-50 MB of RSS
/// during `bench/soak.sh` for the 17-18 MB SQLite said it used (the node's
/// steady RSS went 227 -> 213 MB).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

extern "C" {
    /// mimalloc's own: runs the purges of freed memory that are due (`force`:
    /// all of them, and frees the caller's cached pages).
    fn mi_collect(force: bool);
    #[cfg(test)]
    fn mi_option_get(option: std::ffi::c_int) -> std::ffi::c_long;
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// `mi_option_purge_delay` in `mimalloc.h` (its options keep their numbers
/// across versions; retired ones stay as `deprecated` entries).
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

/// How long mimalloc keeps freed memory before it gives it back, unless
/// `MIMALLOC_PURGE_DELAY` says otherwise. Its own default (a second) kept
/// every reboot storm's buffers resident for a second after they were
/// freed: `bench/soak.sh`'s RSS, read every second, ran 15 MB higher and
/// swung 15 MB within a minute; at 50 ms it was 210 MB steady, swinging
/// 8 MB. The hot path reuses its few small blocks and never waits this long.
pub fn purge_sooner() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: integer arguments only; options may be set at any time.
        unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, 50) };
    }
}

/// mimalloc gives freed memory back to the OS only from inside later
/// allocator calls, after a delay. A server that goes quiet after a burst (a
/// start reading 100,000 devices, a bulk load, a reboot storm) would keep
/// that memory for as long as it stays quiet, so a thread asks for the due
/// purges once a second: a few microseconds, off the request path.
pub fn purge_freed_memory() {
    let _ = std::thread::Builder::new()
        .name("mi-purge".into())
        .spawn(|| loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
            // SAFETY: takes no pointers; mimalloc is the global allocator,
            // linked into this binary, and collect is thread-safe.
            unsafe { mi_collect(false) };
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The option number is mimalloc's purge delay: it reads as that
    /// option's default (1000 ms in mimalloc 3) and then as what we set.
    #[test]
    fn the_purge_delay_is_the_option_set() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        // SAFETY: integer arguments only.
        assert_eq!(unsafe { mi_option_get(MI_OPTION_PURGE_DELAY) }, 1000);
        purge_sooner();
        // SAFETY: as above.
        assert_eq!(unsafe { mi_option_get(MI_OPTION_PURGE_DELAY) }, 50);
    }
}
