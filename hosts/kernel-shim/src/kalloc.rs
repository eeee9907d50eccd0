//! The allocator: Rust's `GlobalAlloc` on `gpc_kmalloc`/`gpc_kfree`.
//!
//! It is the shim's `#[global_allocator]` in the kernel build (see the crate doc for
//! when), so everything gpc allocates goes through the kernel. gpc only uses fallible
//! allocation (`try_reserve`, `try_box`), so a null from `gpc_kmalloc` becomes `-ENOMEM`
//! with every structure as it was.
//!
//! The GFP flags: `GlobalAlloc` has none, so they travel beside it. Every allocating
//! call in gpc names its context (`gpc_core::host::alloc::Gfp`, e.g.
//! `try_box(x, Gfp::KERNEL)`) and opens an allocation scope around the allocation; the
//! shim keeps the scope in a word of the calling task that the kernel lends
//! (`gpc_alloc_scope_word`, as Linux keeps `PF_MEMALLOC_*` scopes in `current->flags`),
//! and [`KAlloc`] passes the scope's flags to `gpc_kmalloc` unchanged, plus
//! `GPC_GFP_ZERO` for zeroed allocations. Nothing is guessed from the lock state: an
//! allocation outside any scope (none in gpc: every helper opens one) is passed as
//! `GPC_GFP_ATOMIC`, the choice that cannot sleep.

use core::alloc::{GlobalAlloc, Layout};
use core::ffi::c_uint;

use gpc_core::host::alloc::{Gfp, ScopeHooks};

use crate::abi::{GPC_GFP_ATOMIC, GPC_GFP_ZERO};
use crate::ffi;

/// Set in the task's scope word while a scope is open (the word is gpc's alone: the
/// kernel never reads it, so this bit is no part of the ABI).
const GPC_GFP_SCOPED: c_uint = 0x8000_0000;

/// The kernel's allocator, as a Rust global allocator.
pub struct KAlloc;

/// Read the task's scope word, or change it to `new`; returns the old value (`None`:
/// the caller is no task, and keeps no scope).
fn swap_word(new: Option<c_uint>) -> Option<c_uint> {
    // SAFETY: the import has no preconditions.
    let w = unsafe { ffi::gpc_alloc_scope_word() };
    if w.is_null() {
        return None;
    }
    // SAFETY: a non-null word is the calling task's own, valid for the task's lifetime
    // and touched by nobody else (import contract).
    let old = unsafe { w.read() };
    if let Some(new) = new {
        // SAFETY: as for the read.
        unsafe { w.write(new) };
    }
    Some(old)
}

fn decode(w: c_uint) -> Option<Gfp> {
    (w & GPC_GFP_SCOPED != 0).then(|| Gfp::from_bits(w))
}

fn encode(flags: Option<Gfp>) -> c_uint {
    flags.map_or(0, |f| f.bits() | GPC_GFP_SCOPED)
}

fn save(flags: Gfp) -> Option<Gfp> {
    swap_word(Some(encode(Some(flags)))).and_then(decode)
}

fn restore(prev: Option<Gfp>) {
    let _ = swap_word(Some(encode(prev)));
}

fn current() -> Option<Gfp> {
    swap_word(None).and_then(decode)
}

/// The scope hooks on the task's word: installed by every instance's creation.
pub static SCOPE_HOOKS: ScopeHooks = ScopeHooks {
    save,
    restore,
    current,
};

/// The `GPC_GFP_*` flags for an allocation made now: the open scope's.
pub(crate) fn gfp(extra: c_uint) -> c_uint {
    gpc_core::host::alloc::current().map_or(GPC_GFP_ATOMIC, Gfp::bits) | extra
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
