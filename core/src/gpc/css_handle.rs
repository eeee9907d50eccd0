//! Counted references to subsystem states (Linux `css_get`, `css_tryget`, `css_put`).
//!
//! The lookups of the fast path hand out [`CssRef`]s borrowed from an RCU guard or the
//! hierarchy lock: free, but gone when the borrow ends. A host that keeps a state longer
//! (a kernel object remembering its memory cgroup, a socket its classid) takes a
//! [`CssHandle`]: one reference on the state, which keeps it (and its ancestors' states,
//! through the reference each state holds on its parent) allocated after its container
//! is removed, until the handle is dropped. Removal drops the container's own reference;
//! the last reference frees the state after a grace period, because lock-free readers
//! may still have found it through a css_group without counting.

use core::ptr::NonNull;

use super::nodes::Node;
use super::Gpc;
use crate::cssgroup::untag;
use crate::error::{Error, Result};
use crate::host::rcu::rcu_dereference;
use crate::host::task::TaskSlot;
use crate::host::Host;
use crate::primitive::{fence, Ordering};
use crate::subsys::{Css, CssHeader, CssRef, SubsysId, Subsystem};

/// A counted reference to a subsystem state (Linux `css_get`/`css_put`). Cloning takes
/// another reference, dropping gives it back; the state stays allocated while any
/// handle lives, also after its container was removed (then the subsystem's `destroy`
/// has run and the state is no longer any container's). Get one with
/// [`Gpc::css_get`] or [`Gpc::task_css_get`].
pub struct CssHandle<'g, H: Host> {
    gpc: &'g Gpc<H>,
    css: NonNull<CssHeader>,
}

// SAFETY: the handle owns one reference to a state whose type is `Send + Sync` (the
// `Subsystem::State` bound) and whose header is only touched through atomics; the
// `Gpc` it borrows is `Sync`.
unsafe impl<H: Host> Send for CssHandle<'_, H> {}
// SAFETY: as for Send: shared access only reads the state.
unsafe impl<H: Host> Sync for CssHandle<'_, H> {}

impl<H: Host> CssHandle<'_, H> {
    /// The state, untyped.
    pub fn css(&self) -> CssRef<'_> {
        // SAFETY: the handle's reference keeps the state allocated while it lives.
        unsafe { CssRef::from_raw(self.css) }
    }

    /// The state typed as subsystem `S`'s, if it is.
    pub fn typed<S: Subsystem>(&self) -> Option<Css<'_, S>> {
        self.css().typed::<S>()
    }

    /// The subsystem the state belongs to.
    pub fn subsys_id(&self) -> SubsysId {
        self.css().subsys_id()
    }

    /// The id of the container the state belongs to (still given after the container
    /// was removed).
    pub fn container_id(&self) -> u64 {
        self.css().container_id()
    }
}

impl<H: Host> Clone for CssHandle<'_, H> {
    fn clone(&self) -> Self {
        // A live handle already counts: a plain increment (Linux `css_get`).
        // SAFETY: alive while `self` lives.
        unsafe { self.css.as_ref() }
            .refs
            .fetch_add(1, Ordering::Relaxed);
        CssHandle {
            gpc: self.gpc,
            css: self.css,
        }
    }
}

impl<H: Host> Drop for CssHandle<'_, H> {
    fn drop(&mut self) {
        self.gpc.css_put(self.css);
    }
}

impl<H: Host> core::fmt::Debug for CssHandle<'_, H> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CssHandle")
            .field("subsys", &self.subsys_id())
            .field("container", &self.container_id())
            .finish()
    }
}

impl<H: Host> Gpc<H> {
    /// A counted handle on the state of subsystem `ss` in directory `dir`.
    ///
    /// # Errors
    ///
    /// `ENOENT` if `ss` is not bound to the node's hierarchy, `ENOTDIR` for a file,
    /// `ENODEV` if `dir` was removed.
    pub fn css_get(&self, dir: &Node, ss: SubsysId) -> Result<CssHandle<'_, H>> {
        let tree = self.tree.lock();
        let c = Self::dir_container(&tree, dir)?;
        let css = c.css_ref(ss).ok_or(Error::ENOENT)?.raw();
        // The container holds its reference while the hierarchy lock is held: a plain
        // increment.
        // SAFETY: alive: the container's state, under the hierarchy lock.
        unsafe { css.as_ref() }.refs.fetch_add(1, Ordering::Relaxed);
        Ok(CssHandle { gpc: self, css })
    }

    /// A counted handle on the state of subsystem `ss` that the task with `slot` uses
    /// (Linux `task_get_css`): no lock, one atomic read-modify-write. `None` if the task
    /// has no css_group (exited) or belongs to another instance.
    pub fn task_css_get(&self, slot: &TaskSlot, ss: SubsysId) -> Option<CssHandle<'_, H>> {
        let guard = self.rcu_read_lock();
        loop {
            let (cg, _) = untag(rcu_dereference(slot.raw(), &guard));
            let cg = cg?;
            // SAFETY: under the guard (see `owns`).
            if !unsafe { self.owns(cg) } {
                return None;
            }
            // SAFETY: a css_group read from a task slot under the guard is allocated
            // until the guard ends (see `task_css`).
            let css = self.cg_css(unsafe { cg.as_ref() }, ss)?.raw();
            // A state whose container was removed meanwhile has no reference left to
            // count from: the task was moved, so look again (Linux loops in
            // `task_get_css` the same way).
            // SAFETY: under the guard, a state found through a css_group is allocated.
            if css_tryget(unsafe { css.as_ref() }) {
                return Some(CssHandle { gpc: self, css });
            }
            crate::primitive::spin_loop();
        }
    }

    /// Drop a reference to `css`; the last one frees it after a grace period and drops
    /// its reference on its parent, and so on up (Linux `css_put`, `css_release`).
    pub(super) fn css_put(&self, css: NonNull<CssHeader>) {
        let mut next = Some(css);
        while let Some(css) = next {
            // SAFETY: the caller's reference (or, going up, the child's on its parent,
            // which we now drop) keeps it alive until the decrement.
            let header = unsafe { css.as_ref() };
            if header.refs.fetch_sub(1, Ordering::Release) != 1 {
                return;
            }
            // Every use of the state through other references happens before its free.
            fence(Ordering::Acquire);
            next = header.parent;
            // SAFETY: no reference is left and no container or css_group names it any
            // more (its container was removed before its own reference was dropped):
            // only RCU readers that found it earlier may still see it.
            unsafe { self.host.call_rcu(NonNull::from(&header.rcu)) };
        }
    }
}

/// Take a reference unless the count already reached zero (Linux `css_tryget`).
fn css_tryget(header: &CssHeader) -> bool {
    let mut n = header.refs.load(Ordering::Relaxed);
    loop {
        if n == 0 {
            return false;
        }
        match header
            .refs
            .compare_exchange_weak(n, n + 1, Ordering::Acquire, Ordering::Relaxed)
        {
            Ok(_) => return true,
            Err(now) => n = now,
        }
    }
}
