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
/// - `background_thread`: a jemalloc thread gives freed memory back on its
///   decay schedule, so a node that goes quiet after a burst (a start, a bulk
///   load, a reboot storm) does not keep the burst's memory until its next
///   allocation.
/// - `dirty_decay_ms:1000`: freed pages go back within about a second (its
///   default is ten), so a storm's buffers do not sit in RSS for ten seconds
///   after it; the hot path reuses its few small blocks long before that.
/// - `muzzy_decay_ms:0`: given back means unmapped (`MADV_DONTNEED`), not
///   only marked lazily free, which RSS would still count until the kernel
///   is short of memory.
#[allow(non_upper_case_globals)]
#[export_name = "malloc_conf"]
pub static malloc_conf: &[u8; 60] =
    b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0";

#[cfg(test)]
mod tests {
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

    fn read<T: Default>(name: &std::ffi::CStr) -> T {
        let mut value = T::default();
        let mut len = std::mem::size_of::<T>();
        // SAFETY: `value` is a live `T` of `len` bytes, the type jemalloc
        // documents for each option read below; nothing is written.
        let rc = unsafe {
            mallctl(
                name.as_ptr(),
                (&mut value as *mut T).cast(),
                &mut len,
                std::ptr::null_mut(),
                0,
            )
        };
        assert_eq!(rc, 0, "mallctl {name:?}");
        value
    }

    /// The options above are the ones jemalloc runs with: a typo in the
    /// string, or a symbol it does not read, would leave its defaults
    /// silently (ten seconds of decay, no background thread).
    #[test]
    fn jemalloc_runs_with_our_options() {
        if std::env::var_os("MALLOC_CONF").is_some() {
            return;
        }
        assert!(read::<bool>(c"opt.background_thread"));
        assert_eq!(read::<isize>(c"opt.dirty_decay_ms"), 1000);
        assert_eq!(read::<isize>(c"opt.muzzy_decay_ms"), 0);
    }
}
