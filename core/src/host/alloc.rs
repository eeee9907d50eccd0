//! Fallible allocation that names its context.
//!
//! A kernel allocator must be told whether the caller may sleep: Linux `gfp_t`
//! (`GFP_KERNEL`, `GFP_ATOMIC`, `GFP_NOWAIT`), Rust-for-Linux's `kernel::alloc::Flags`
//! passed to every `KBox::new(x, flags)` and `KVec::push(x, flags)`. Rust-for-Linux has
//! no global allocator; gpc, built on stable Rust, cannot give `Vec`, `Box` and hashbrown
//! an allocator parameter (the `allocator_api` is unstable), so the mechanism stays the
//! global allocator and every call site still says its context:
//!
//! - every allocating helper takes a [`Gfp`]: [`try_box`]`(value, Gfp::KERNEL)`,
//!   [`try_reserve`]`(&mut v, n, Gfp::ATOMIC)`, [`try_string`], [`try_push`]; a container
//!   that has its own `try_reserve` (hashbrown, `VecDeque`, `String`) is reserved inside
//!   [`with_flags`];
//! - the helper opens an allocation scope ([`scope`]) around the allocation: the flags are
//!   saved where the host's global allocator reads them back ([`current`]), and the old
//!   flags restored after — Linux's own scope API for `current->flags`
//!   (`memalloc_noio_save`/`memalloc_flags_save`, include/linux/sched/mm.h) works the
//!   same way;
//! - where the flags live is the host's: a kernel keeps them per task
//!   ([`set_scope_hooks`]; the C shim passes them to `gpc_kmalloc` as `GPC_GFP_*`), a std
//!   build of gpc-core's test support keeps them per thread. Without hooks and without
//!   std, [`current`] is `None` and the host's allocator must assume atomic context.
//!
//! The host's allocator must return null on failure and never abort; gpc only calls the
//! fallible entry points, so a failure surfaces as `ENOMEM` with every structure as it
//! was (`testing::FailingAlloc` fails each allocation in turn to prove it, and records
//! each allocation's flags to prove that nothing may sleep in atomic context).
//!
//! Which flags: `KERNEL` wherever gpc holds only sleeping locks (the hierarchy mutex),
//! `ATOMIC` under a spinning lock (the css_group table, Linux `css_set_lock`) or in an RCU
//! read-side section. `doc/host-boundary.md` maps each helper to `KBox`/`KVec`.

use alloc::alloc::{alloc, Layout};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicPtr, Ordering};

use crate::error::{Error, Result};

/// The context of an allocation (Linux `gfp_t`; Rust-for-Linux `kernel::alloc::Flags`).
///
/// The bits are the C shim's `GPC_GFP_*` values, so the shim passes them on unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Gfp(u32);

impl Gfp {
    /// The caller may sleep (Linux `GFP_KERNEL`): no spinning lock held, not in an RCU
    /// read-side section, not in interrupt context.
    pub const KERNEL: Gfp = Gfp(0);
    /// The caller must not sleep and the allocation may use the atomic reserves (Linux
    /// `GFP_ATOMIC`): under a spinning lock.
    pub const ATOMIC: Gfp = Gfp(1);
    /// The caller must not sleep and the allocation may simply fail (Linux
    /// `GFP_NOWAIT`): an opportunistic allocation in atomic context.
    pub const NOWAIT: Gfp = Gfp(4);

    const NO_SLEEP: u32 = Self::ATOMIC.0 | Self::NOWAIT.0;

    /// The flags as `GPC_GFP_*` bits.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// The flags of `GPC_GFP_*` bits (unknown bits are dropped).
    pub const fn from_bits(bits: u32) -> Gfp {
        Gfp(bits & Self::NO_SLEEP)
    }

    /// Whether the allocator may sleep to satisfy the allocation (reclaim, I/O).
    pub const fn may_sleep(self) -> bool {
        self.0 & Self::NO_SLEEP == 0
    }
}

/// Where a host keeps the allocation flags of the running task (a kernel: a word of the
/// task, as Linux keeps `PF_MEMALLOC_*` in `current->flags`).
///
/// Each function is called by the task on itself and must not allocate, sleep or fail.
/// `None` is "no scope open": an allocation made then did not come through gpc's
/// helpers, and the host should treat it as atomic.
pub struct ScopeHooks {
    /// Make `flags` the task's allocation flags; return the ones they replace.
    pub save: fn(Gfp) -> Option<Gfp>,
    /// Put back what `save` returned.
    pub restore: fn(Option<Gfp>),
    /// The task's allocation flags now.
    pub current: fn() -> Option<Gfp>,
}

static HOOKS: AtomicPtr<ScopeHooks> = AtomicPtr::new(core::ptr::null_mut());

/// Install the host's [`ScopeHooks`] (once per program: a second call with other hooks
/// returns false and changes nothing).
pub fn set_scope_hooks(hooks: &'static ScopeHooks) -> bool {
    let new = core::ptr::from_ref(hooks).cast_mut();
    match HOOKS.compare_exchange(
        core::ptr::null_mut(),
        new,
        Ordering::AcqRel,
        Ordering::Acquire,
    ) {
        Ok(_) => true,
        Err(old) => old == new,
    }
}

fn hooks() -> Option<&'static ScopeHooks> {
    let p = HOOKS.load(Ordering::Acquire);
    // SAFETY: `HOOKS` only ever holds null or a `&'static ScopeHooks`.
    unsafe { p.as_ref() }
}

#[cfg(any(test, feature = "testing"))]
std::thread_local! {
    static THREAD_FLAGS: core::cell::Cell<Option<Gfp>> = const { core::cell::Cell::new(None) };
}

/// The flags of the allocation being made by this task, for the host's global
/// allocator; `None` when no scope is open or the host keeps no flags.
pub fn current() -> Option<Gfp> {
    if let Some(h) = hooks() {
        return (h.current)();
    }
    #[cfg(any(test, feature = "testing"))]
    {
        THREAD_FLAGS.try_with(core::cell::Cell::get).ok().flatten()
    }
    #[cfg(not(any(test, feature = "testing")))]
    {
        None
    }
}

/// An open allocation scope: restores the previous flags when dropped. It belongs to the
/// task that opened it (`!Send`), as the flags it saved do.
#[must_use = "the scope closes when this is dropped"]
pub struct AllocScope {
    prev: Option<Gfp>,
    _task: PhantomData<*const ()>,
}

/// Open a scope in which this task's allocations use `flags`.
pub fn scope(flags: Gfp) -> AllocScope {
    if let Some(h) = hooks() {
        return AllocScope {
            prev: (h.save)(flags),
            _task: PhantomData,
        };
    }
    #[cfg(any(test, feature = "testing"))]
    {
        AllocScope {
            prev: THREAD_FLAGS
                .try_with(|f| f.replace(Some(flags)))
                .ok()
                .flatten(),
            _task: PhantomData,
        }
    }
    #[cfg(not(any(test, feature = "testing")))]
    {
        let _ = flags;
        AllocScope {
            prev: None,
            _task: PhantomData,
        }
    }
}

impl Drop for AllocScope {
    fn drop(&mut self) {
        if let Some(h) = hooks() {
            (h.restore)(self.prev);
        } else {
            #[cfg(any(test, feature = "testing"))]
            let _ = THREAD_FLAGS.try_with(|f| f.set(self.prev));
        }
    }
}

/// Run `f` (which allocates through a container's own `try_reserve`) with `flags`.
pub fn with_flags<R>(flags: Gfp, f: impl FnOnce() -> R) -> R {
    let _scope = scope(flags);
    f()
}

/// `KBox::new(value, flags)`: `Box::new`, returning `ENOMEM` instead of aborting.
pub fn try_box<T>(value: T, flags: Gfp) -> Result<Box<T>> {
    let layout = Layout::new::<T>();
    if layout.size() == 0 {
        return Ok(Box::new(value));
    }
    let raw = {
        let _scope = scope(flags);
        // SAFETY: the layout has a non-zero size.
        unsafe { alloc(layout) }.cast::<T>()
    };
    let ptr = NonNull::new(raw).ok_or(Error::ENOMEM)?;
    // SAFETY: `ptr` is a fresh, suitably aligned allocation of `T`'s layout.
    unsafe { ptr.as_ptr().write(value) };
    // SAFETY: the allocation was made by the global allocator with `T`'s layout and now
    // holds an initialised `T`: exactly what `Box::from_raw` requires.
    Ok(unsafe { Box::from_raw(ptr.as_ptr()) })
}

/// `KVec::reserve(n, flags)`: room for `n` more elements, or `ENOMEM`. Opens no scope
/// when the room is already there (the common case on fast paths).
pub fn try_reserve<T>(vec: &mut Vec<T>, n: usize, flags: Gfp) -> Result {
    if vec.capacity() - vec.len() >= n {
        return Ok(());
    }
    let _scope = scope(flags);
    Ok(vec.try_reserve(n)?)
}

/// [`try_reserve`] for exactly `n` more elements.
pub fn try_reserve_exact<T>(vec: &mut Vec<T>, n: usize, flags: Gfp) -> Result {
    if vec.capacity() - vec.len() >= n {
        return Ok(());
    }
    let _scope = scope(flags);
    Ok(vec.try_reserve_exact(n)?)
}

/// `KVec::push(value, flags)`: `Vec::push`, returning `ENOMEM` instead of aborting.
pub fn try_push<T>(vec: &mut Vec<T>, value: T, flags: Gfp) -> Result {
    try_reserve(vec, 1, flags)?;
    vec.push(value);
    Ok(())
}

/// [`try_reserve`] for a `String`: room for `n` more bytes.
pub fn try_reserve_str(s: &mut String, n: usize, flags: Gfp) -> Result {
    if s.capacity() - s.len() >= n {
        return Ok(());
    }
    let _scope = scope(flags);
    Ok(s.try_reserve(n)?)
}

/// A copy of `s` as a `String`, or `ENOMEM`.
pub fn try_string(s: &str, flags: Gfp) -> Result<String> {
    let mut out = String::new();
    with_flags(flags, || out.try_reserve_exact(s.len()))?;
    out.push_str(s);
    Ok(out)
}

/// A copy of `bytes` as a `Vec`, or `ENOMEM`.
pub fn try_vec_from(bytes: &[u8], flags: Gfp) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    try_reserve_exact(&mut out, bytes.len(), flags)?;
    out.extend_from_slice(bytes);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_copy() {
        assert_eq!(*try_box(5u64, Gfp::KERNEL).ok().unwrap_or_default(), 5);
        let mut v = Vec::new();
        assert!(try_push(&mut v, 1, Gfp::ATOMIC).is_ok());
        assert_eq!(v, [1]);
        assert_eq!(try_string("abc", Gfp::KERNEL).ok().as_deref(), Some("abc"));
        assert!(try_box((), Gfp::NOWAIT).is_ok());
    }

    #[test]
    fn scopes_nest_and_restore() {
        assert_eq!(current(), None);
        {
            let _outer = scope(Gfp::KERNEL);
            assert_eq!(current(), Some(Gfp::KERNEL));
            with_flags(Gfp::ATOMIC, || assert_eq!(current(), Some(Gfp::ATOMIC)));
            assert_eq!(current(), Some(Gfp::KERNEL));
        }
        assert_eq!(current(), None);
    }

    #[test]
    fn flags_say_whether_they_may_sleep() {
        assert!(Gfp::KERNEL.may_sleep());
        assert!(!Gfp::ATOMIC.may_sleep());
        assert!(!Gfp::NOWAIT.may_sleep());
        assert_eq!(Gfp::from_bits(Gfp::NOWAIT.bits() | 2), Gfp::NOWAIT);
    }
}
