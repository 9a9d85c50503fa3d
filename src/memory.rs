//! How the binary allocates: jemalloc, and when it gives freed memory back
//! to the OS.

/// jemalloc, also as C's `malloc` (the crate's unprefixed symbols), so
/// SQLite's page caches and statements live in the same heap.
///
/// Why jemalloc: `bench/soak.sh` (ten minutes of storms, edits and render
/// cache churn at 100,000 devices) held the live heap flat once the render
/// cache was full, yet under mimalloc (2 and 3) RSS kept rising beside it,
/// 207 -> 221 MB (minute means, minutes 4 to 10): pages held by a few
/// long-lived objects each, spread over the threads that had allocated them.
/// Under jemalloc the same load stayed at 201-212 MB, at the same hot-path
/// rate (`bench/compare.sh`, 78.9k vs 80.1k req/s in one session). glibc,
/// before either, gave each SQLite connection thread an arena it seldom
/// shrank.
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read once when it starts (before `main`); the
/// `MALLOC_CONF` environment variable, read after this, overrides any of
/// them.
///
/// - `dirty_decay_ms:0`, `muzzy_decay_ms:0`: a freed page goes back to the
///   OS at once (`MADV_DONTNEED`), not after a decay. With one second of
///   decay, `bench/soak.sh` (100,000 devices) read every 10 s found 1 to
///   45 MB of freed pages still resident, so RSS swung by ~40 MB within a
///   minute and its minute means moved with where storms fell. At 0 the
///   swing was ~8 MB, and RSS after loading the 100,000 devices 86 MB
///   instead of 120. The hot path does not notice: it reuses small blocks
///   from its thread cache and frees no pages (no `madvise` or page fault
///   in its `perf` profile; 78.3k vs 79.5k req/s, median of five interleaved
///   6 s `wrk` runs against two nodes, the default one first).
/// - `percpu_arena:percpu`: one arena per CPU instead of four per CPU, so
///   long-lived objects (view entries, cached bodies) share fewer partly
///   used pages, and the count still grows with the machine. In the same
///   soak, fragmentation (active minus allocated) ended at 16 MB instead of
///   22, jemalloc's metadata at 4.6 MB instead of 6.1, and the allocator's
///   resident memory at minute 10 ~10 MB lower.
#[allow(non_upper_case_globals)]
#[export_name = "malloc_conf"]
pub static malloc_conf: &[u8; 54] = b"dirty_decay_ms:0,muzzy_decay_ms:0,percpu_arena:percpu\0";

use std::ffi::{c_char, c_int, c_void};

extern "C" {
    /// jemalloc's control interface (unprefixed, as `malloc` is).
    fn mallctl(
        name: *const c_char,
        oldp: *mut c_void,
        oldlenp: *mut usize,
        newp: *mut c_void,
        newlen: usize,
    ) -> c_int;
}

/// Reads the jemalloc value `name`, of the type jemalloc documents for it;
/// `None` if jemalloc does not know it.
fn read<T: Default>(name: &std::ffi::CStr) -> Option<T> {
    let mut value = T::default();
    let mut len = std::mem::size_of::<T>();
    // SAFETY: `value` is a live `T` of `len` bytes, the type jemalloc
    // documents for each value read here; nothing is written.
    let rc = unsafe {
        mallctl(
            name.as_ptr(),
            (&mut value as *mut T).cast(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    (rc == 0).then_some(value)
}

/// jemalloc's counts, for the `touchless_heap_bytes` gauges (registered with
/// `touchless_server::metrics::set_heap_stats` at start).
pub fn heap_stats() -> Option<touchless_server::metrics::HeapStats> {
    // The statistics are a snapshot taken when the epoch advances.
    let mut epoch: u64 = 1;
    let mut len = std::mem::size_of::<u64>();
    // SAFETY: "epoch" reads and writes a u64; both pointers are to live
    // u64s of the length given.
    let rc = unsafe {
        mallctl(
            c"epoch".as_ptr(),
            (&mut epoch as *mut u64).cast(),
            &mut len,
            (&mut epoch as *mut u64).cast(),
            std::mem::size_of::<u64>(),
        )
    };
    if rc != 0 {
        return None;
    }
    let bytes = |name| read::<usize>(name).map(|v| v as u64);
    Some(touchless_server::metrics::HeapStats {
        allocated: bytes(c"stats.allocated")?,
        active: bytes(c"stats.active")?,
        resident: bytes(c"stats.resident")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The options above are the ones jemalloc runs with: a typo in the
    /// string, or a symbol it does not read, would leave its defaults
    /// silently (ten seconds of decay, four arenas per CPU).
    #[test]
    fn jemalloc_runs_with_our_options() {
        if std::env::var_os("MALLOC_CONF").is_some() {
            return;
        }
        assert_eq!(read::<isize>(c"opt.dirty_decay_ms"), Some(0));
        assert_eq!(read::<isize>(c"opt.muzzy_decay_ms"), Some(0));
        let arena = read::<usize>(c"opt.percpu_arena").expect("opt.percpu_arena") as *const c_char;
        // SAFETY: jemalloc documents this option as a `const char *` to a
        // static NUL-terminated string.
        assert_eq!(unsafe { std::ffi::CStr::from_ptr(arena) }, c"percpu");
    }

    /// The counts are jemalloc's and move with what the program holds.
    #[test]
    fn heap_stats_count_what_is_held() {
        let before = heap_stats().expect("jemalloc statistics");
        assert!(before.allocated > 0 && before.allocated <= before.active);
        assert!(before.active <= before.resident);
        let held = vec![1u8; 64 << 20];
        let after = heap_stats().expect("jemalloc statistics");
        assert!(
            after.allocated >= before.allocated + (64 << 20),
            "{before:?} {after:?}"
        );
        drop(held);
    }
}
