//! A global allocator that tracks, per thread, the bytes live and the peak of that, so a test can
//! measure the most memory one decode held at once while other tests run on other threads. Used
//! to show that decompression bombs and lying headers cost bounded memory.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    static LIVE_BYTES: Cell<isize> = const { Cell::new(0) };
    static PEAK_BYTES: Cell<isize> = const { Cell::new(0) };
}

/// The system allocator, with per-thread accounting.
pub struct PeakTracking;

fn account(delta: isize) {
    // `try_with` fails only while the thread's locals are being torn down; skip accounting then.
    let _ = LIVE_BYTES.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK_BYTES.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

#[expect(
    unsafe_code,
    reason = "GlobalAlloc is an unsafe trait; this one forwards to System"
)]
unsafe impl GlobalAlloc for PeakTracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        account(layout.size() as isize);
        // SAFETY: the caller upholds `alloc`'s contract, which we forward unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        account(layout.size() as isize);
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        account(-(layout.size() as isize));
        // SAFETY: the caller upholds `dealloc`'s contract, which we forward unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        account(new_size as isize - layout.size() as isize);
        // SAFETY: the caller upholds `realloc`'s contract, which we forward unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Runs `f` and returns its result with the most bytes it had allocated at once on this thread
/// (beyond what was live when it started). Memory the C codecs allocate through their own
/// allocators is not seen here; zstd's context is, since the `zstd` crate uses Rust's allocator
/// only when asked to, so that number is a lower bound for zstd.
pub fn peak_allocated_by<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let start = LIVE_BYTES.with(Cell::get);
    PEAK_BYTES.with(|peak| peak.set(start));
    let res = f();
    let peak = PEAK_BYTES.with(Cell::get);
    (res, (peak - start).max(0) as usize)
}

#[test]
fn measures_what_is_held_at_once() {
    let ((), peak) = peak_allocated_by(|| {
        for _ in 0..10 {
            drop(std::hint::black_box(Vec::<u8>::with_capacity(100_000)));
        }
    });
    assert!((100_000..200_000).contains(&peak), "{peak}");
}
