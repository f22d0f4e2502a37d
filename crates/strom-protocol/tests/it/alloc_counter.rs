//! A global allocator that counts the bytes each thread allocates, so a test can measure the
//! allocations of one decode while other tests run in parallel on other threads.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    static ALLOCATED_BYTES: Cell<usize> = const { Cell::new(0) };
}

/// Delegates to the system allocator and counts bytes allocated per thread.
pub struct CountingAllocator;

#[expect(
    unsafe_code,
    reason = "a global allocator is an unsafe trait; this one only delegates"
)]
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATED_BYTES.try_with(|n| n.set(n.get().saturating_add(layout.size())));
        // SAFETY: forwarded unchanged from our caller, who upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged from our caller, who upholds `dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATED_BYTES.try_with(|n| n.set(n.get().saturating_add(new_size)));
        // SAFETY: forwarded unchanged from our caller, who upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Runs `f` and returns its result with the bytes it allocated on this thread.
pub fn allocated_by<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATED_BYTES.with(Cell::get);
    let res = f();
    let after = ALLOCATED_BYTES.with(Cell::get);
    (res, after - before)
}

#[test]
fn counts_this_threads_allocations() {
    let (vec, allocated) = allocated_by(|| Vec::<u8>::with_capacity(10_000));
    assert!(allocated >= 10_000, "{allocated}");
    drop(vec);
}
