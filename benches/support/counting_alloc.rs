//! The system allocator, counting heap allocations while [`COUNTING`] is set: how the benches
//! print allocations (and bytes) per payload or per job. A bench installs it with
//! `#[global_allocator] static GLOBAL: Counting = Counting;`.
// Each bench reads some of the counters.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The system allocator, counting calls while [`COUNTING`] is set.
pub struct Counting;

/// Set while allocations are counted.
pub static COUNTING: AtomicBool = AtomicBool::new(false);
/// Allocations (and reallocations) counted.
pub static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
/// Bytes asked for by the allocations counted.
pub static ALLOCATED_BYTES: AtomicU64 = AtomicU64::new(0);

fn count(bytes: usize) {
    if COUNTING.load(Ordering::Relaxed) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        ALLOCATED_BYTES.fetch_add(bytes as u64, Ordering::Relaxed);
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above, i.e. from the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
