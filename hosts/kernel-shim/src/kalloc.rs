//! The allocator: Rust's `GlobalAlloc` on `gpc_kmalloc`/`gpc_kfree`.
//!
//! It is the shim's `#[global_allocator]` in the kernel build (see the crate doc for
//! when), so everything gpc allocates goes through the kernel. gpc only uses fallible
//! allocation (`try_reserve`, `try_box`), so a null from `gpc_kmalloc` becomes `-ENOMEM`
//! with every structure as it was.
//!
//! The GFP flags: `GlobalAlloc` has none, so the shim derives them from where the
//! allocation happens: `GPC_GFP_ATOMIC` while the CPU holds a gpc spinlock or is in a
//! gpc RCU read-side section (`host::atomic_ctx`), `GPC_GFP_KERNEL` otherwise, plus
//! `GPC_GFP_ZERO` for zeroed allocations.

use core::alloc::{GlobalAlloc, Layout};
use core::ffi::c_uint;

use crate::abi::{GPC_GFP_ATOMIC, GPC_GFP_KERNEL, GPC_GFP_ZERO};
use crate::ffi;
use crate::host::atomic_ctx;

/// The kernel's allocator, as a Rust global allocator.
pub struct KAlloc;

/// The flags for an allocation made here and now.
pub(crate) fn gfp(extra: c_uint) -> c_uint {
    let base = if atomic_ctx::in_atomic() {
        GPC_GFP_ATOMIC
    } else {
        GPC_GFP_KERNEL
    };
    base | extra
}

// SAFETY: `gpc_kmalloc` returns null or a block of at least `size` bytes aligned to
// `align` that stays valid until `gpc_kfree` (import contract); `dealloc` passes back
// exactly what `alloc` was given.
unsafe impl GlobalAlloc for KAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the import has no preconditions beyond a power-of-two alignment,
        // which `Layout` guarantees.
        unsafe { ffi::gpc_kmalloc(layout.size(), layout.align(), gfp(0)) }.cast()
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        unsafe { ffi::gpc_kmalloc(layout.size(), layout.align(), gfp(GPC_GFP_ZERO)) }.cast()
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` with this layout (GlobalAlloc's contract).
        unsafe { ffi::gpc_kfree(ptr.cast(), layout.size(), layout.align()) }
    }
}
