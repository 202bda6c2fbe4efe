//! How the process takes pages from the system and when the allocator
//! returns freed ones: the one policy of `serve` (`main.rs`) and of the
//! benchmark that measures its index build, so the build is measured as
//! the server runs it.
//!
//! The processes' allocator is mimalloc 3 (declared by each binary). Its
//! default returns pages a second after they are freed, and only when the
//! same arena is used again, so what a full index rebuild frees stayed
//! resident (docs/BENCHMARKS-search.md, session 12).

use std::ffi::c_long;
use std::future::Future;

/// `mi_option_purge_delay` in the mimalloc that libmimalloc-sys 0.1.49
/// builds (3.3.2; the Rust bindings name only version 2's options).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Sets how long mimalloc keeps freed pages before returning them to the
/// system (ms) and returns the previous delay; `None`, setting nothing, on
/// a mimalloc other than the one whose option index was checked.
fn set_purge_delay(ms: c_long) -> Option<c_long> {
    // SAFETY: these calls take and return plain integers.
    unsafe {
        if libmimalloc_sys::mi_version() != 30302 {
            return None;
        }
        let before = libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY);
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, ms);
        Some(before)
    }
}

/// The purge delay while a start-up runs (ms): at once. A cold start at
/// 100,000 products peaks at 240 MiB; with 100 ms or 60 s it peaked at
/// 280–293 and 339–376 MiB, and was not measurably faster (freed pages
/// faulted in again cost less than the noise; docs/BENCHMARKS-search.md,
/// session 29).
const START_UP_PURGE_DELAY_MS: c_long = 0;

/// The purge delay once started (ms; mimalloc 3's default is a second). A
/// delayed purge waits for an arena's next use, so at a second what a
/// burst of publishing freed stayed resident (a peak above 320 MiB at
/// 100,000 products); at once, pages were decommitted and committed again
/// within milliseconds (twice the purges and the system time).
const PURGE_DELAY_MS: c_long = 10;

/// Turns transparent huge pages off for the rest of the process's life
/// (Linux). mimalloc 3 asks for them on its arenas (`MADV_HUGEPAGE`), so
/// with the kernel's default (`madvise`) each page it faulted in was a
/// zeroed 2 MiB one, resident as a whole. With small pages a cold start at
/// 100,000 products peaked 35–46 MiB lower (209–211 MiB) in the same time,
/// and the server ended the search benchmark 25–35 MiB lower with its
/// search as fast (docs/BENCHMARKS-search.md, session 30).
fn small_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: takes integers; changes this process's memory flags only.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// Runs a start-up (where a full index rebuild frees hundreds of MiB) with
/// [`START_UP_PURGE_DELAY_MS`], then sets [`PURGE_DELAY_MS`] (unless
/// `MIMALLOC_PURGE_DELAY` chose a delay) and returns what is still held.
/// Pages are small from the start-up on ([`small_pages`]).
pub async fn start_up<T>(start: impl Future<Output = T>) -> T {
    small_pages();
    let configured = set_purge_delay(START_UP_PURGE_DELAY_MS);
    let started = start.await;
    if let Some(delay) = configured {
        let chosen = std::env::var_os("MIMALLOC_PURGE_DELAY").is_some();
        set_purge_delay(if chosen { delay } else { PURGE_DELAY_MS });
        // SAFETY: takes a flag; purges what is free, program-wide.
        unsafe { libmimalloc_sys::mi_collect(true) };
    }
    started
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[tokio::test]
    async fn pages_are_small_from_the_start_up_on() {
        super::start_up(async {}).await;
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let thp = status.lines().find(|l| l.starts_with("THP_enabled:"));
        assert_eq!(thp.and_then(|l| l.split_whitespace().nth(1)), Some("0"), "{status}");
    }
}
