//! Gives memory back to the system after a burst. A start with thousands of objects (or a large
//! creation wave, or a resync's list of every tenant profile) allocates far more at once than
//! the steady state holds.
//!
//! The operator binary allocates with jemalloc ([`JEMALLOC_OPTIONS`], set in `src/main.rs`):
//! freed pages go back to the system at once, from a background thread. glibc's allocator kept
//! them: with 10 000 IdentityProfiles and 10 000 finished ProcessingRequests, a restart settled
//! at 94 MiB with glibc (two arenas, `malloc_trim` every 20 s) and at 70 MiB with jemalloc.
//! What else links the library (tests, examples) keeps glibc, trimmed by
//! [`spawn_release_loop`].

use std::time::Duration;

/// jemalloc's options for the operator binary: a background thread returns freed pages at once
/// (no decay delay, and no lazily freed "muzzy" pages, which still count as resident); one
/// arena, so free memory is not scattered over several; no per-thread caches (a thread's cache
/// keeps freed objects, and the slabs holding them, from going back to the arena: the worker
/// threads rarely meet on the arena's lock). Measured at 10 000 + 10 000 objects after a
/// restart (ProcessingRequests watched as metadata): 68-69 MiB with per-thread caches of
/// objects up to 1 KiB, 64-68 MiB up to 128 B, 66 MiB without (three runs each, ±1 MiB);
/// earlier, two arenas cost 6 MiB more and jemalloc's defaults 12 MiB more.
pub const JEMALLOC_OPTIONS: &str =
    "background_thread:true,dirty_decay_ms:0,muzzy_decay_ms:0,narenas:1,tcache:false";

/// `text` with a NUL appended, as C reads a string; `N` is its length plus one.
pub const fn nul_terminated<const N: usize>(text: &str) -> [u8; N] {
    let bytes = text.as_bytes();
    assert!(bytes.len() + 1 == N, "N is the text's length plus one");
    let mut out = [0u8; N];
    let mut i = 0;
    while i < bytes.len() {
        out[i] = bytes[i];
        i += 1;
    }
    out
}

/// How often freed memory is handed back.
pub const RELEASE_INTERVAL: Duration = Duration::from_secs(20);

/// Hands memory freed through glibc's allocator back every [`RELEASE_INTERVAL`] (glibc only;
/// a no-op cost for the operator binary, whose allocator is jemalloc).
pub fn spawn_release_loop() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    tokio::spawn(async {
        let mut tick = tokio::time::interval(RELEASE_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            // SAFETY: malloc_trim only walks the allocator's own free lists; it is thread-safe
            // and has no preconditions.
            unsafe {
                libc::malloc_trim(0);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_become_a_c_string() {
        const N: usize = JEMALLOC_OPTIONS.len() + 1;
        let c: [u8; N] = nul_terminated(JEMALLOC_OPTIONS);
        assert_eq!(&c[..N - 1], JEMALLOC_OPTIONS.as_bytes());
        assert_eq!(c[N - 1], 0);
        assert!(!c[..N - 1].contains(&0));
    }
}
