//! What the debug controller may see of gpc's own state (Linux kernel/cgroup/debug.c),
//! built for one file operation under the hierarchy lock.
//!
//! The controller lives in gpc-subsystems and knows nothing of css_groups; this view
//! answers its questions (`crate::debug::DebugView`) from inside the core.

use alloc::vec::Vec;
use core::ptr::{self, NonNull};

use super::{Gpc, Hierarchy, Tree};
use crate::container::Container;
use crate::cssgroup::{untag, CssGroup};
use crate::error::Result;
use crate::files::Out;
use crate::host::alloc::Gfp;
use crate::host::rcu::rcu_dereference;
use crate::host::task::Caller;
use crate::host::Host;
use crate::primitive::Ordering;

/// The debug controller's window on gpc, for one file operation.
pub(super) struct DebugCtx<'a, H: Host> {
    pub(super) gpc: &'a Gpc<H>,
    pub(super) tree: &'a Tree,
    pub(super) h: &'a Hierarchy,
    pub(super) c: &'a Container,
    pub(super) caller: &'a Caller<'a>,
}

impl<H: Host> DebugCtx<'_, H> {
    fn caller_cg(&self) -> Option<NonNull<CssGroup>> {
        let pid = self.caller.pid?;
        let mut cg = None;
        self.caller.tasks.with_task(pid, &mut |t| {
            let guard = self.gpc.rcu_read_lock();
            cg = untag(rcu_dereference(t.slot.raw(), &guard))
                .0
                // SAFETY: under the guard (see `owns`).
                .filter(|&c| unsafe { self.gpc.owns(c) });
        });
        cg
    }

    /// `current_css_set_cg_links` (kernel/cgroup/debug.c): `Root ID group NAME` per
    /// hierarchy.
    fn write_links(&self, cg: &CssGroup, out: &mut Out<'_>) -> Result {
        for (idx, h) in self.tree.hiers.iter().enumerate() {
            let Some(h) = h.as_deref() else { continue };
            let c = cg.container(idx);
            // SAFETY: containers named by a referenced css_group are alive; the
            // hierarchy lock is held.
            let name = NonNull::new(c).map_or("", |c| unsafe { &*c.as_ptr() }.name.as_str());
            writeln!(out, "Root {} group {}", h.id, name)?;
        }
        Ok(())
    }
}

impl<H: Host> crate::debug::DebugView for DebugCtx<'_, H> {
    fn task_count(&self) -> usize {
        // Counted on the container's own lists, as Linux's cgroup_task_count() sums its
        // css_sets' task counts: O(its tasks), and without allocating, so the file never
        // reads a wrong count when memory is short.
        self.gpc.count_tasks(self.tree, self.c)
    }

    fn current_css_group(&self, out: &mut Out<'_>) -> Result {
        match self.caller_cg() {
            Some(cg) => writeln!(out, "0x{:x}", cg.as_ptr() as usize),
            None => out.bytes(b"0x0\n"),
        }
    }

    fn current_css_group_refcount(&self, out: &mut Out<'_>) -> Result {
        let n = self.caller_cg().map_or(0, |cg| {
            // SAFETY: the caller task holds a reference; under the hierarchy lock.
            unsafe { cg.as_ref() }.refs()
        });
        writeln!(out, "{n}")
    }

    fn current_css_group_links(&self, out: &mut Out<'_>) -> Result {
        let Some(cg) = self.caller_cg() else {
            return Ok(());
        };
        // SAFETY: as above.
        let cg = unsafe { cg.as_ref() };
        self.write_links(cg, out)
    }

    fn container_css_links(&self, out: &mut Out<'_>) -> Result {
        let table = self.gpc.table.lock();
        let want: *mut Container = if self.c.is_root() {
            ptr::null_mut()
        } else {
            self.c as *const Container as *mut Container
        };
        // In address order: the hash table's own order changes when it grows, also in
        // an operation that then fails with ENOMEM, and a failed operation must change
        // nothing that can be read.
        let mut linked: Vec<(usize, usize)> = Vec::new();
        crate::host::alloc::try_reserve(&mut linked, table.len(), Gfp::ATOMIC)?;
        for cg in table.iter() {
            // SAFETY: in the table, hence alive.
            let cgr = unsafe { cg.as_ref() };
            if cgr.container(self.c.hier) == want {
                linked.push((cg.as_ptr() as usize, cgr.refs()));
            }
        }
        drop(table);
        linked.sort_unstable();
        for (addr, refs) in linked {
            writeln!(out, "css_set 0x{addr:x} refcount {refs}")?;
        }
        Ok(())
    }

    fn releasable(&self) -> bool {
        !self.c.is_root()
            && !self.c.is_populated_tree()
            && self.c.nr_children.load(Ordering::Relaxed) == 0
    }

    fn container_subsys_states(&self, out: &mut Out<'_>) -> Result {
        // Linux prints css->id (per subsystem); gpc's states carry their container's id.
        // online_cnt is 1 for the state itself plus 1 per online child (online_css()).
        let online = 1 + self.c.nr_children.load(Ordering::Relaxed);
        for (ss, sub) in self.gpc.subsys.iter().enumerate() {
            let Some(css) = self.c.css_ref(ss) else {
                continue;
            };
            write!(
                out,
                "{:2}: {:<4}\t- {:x}[{}] {}",
                ss,
                sub.name(),
                css.raw().as_ptr() as usize,
                css.container_id(),
                online
            )?;
            if let Some(parent) = css.parent() {
                write!(out, " P={}", parent.container_id())?;
            }
            out.bytes(b"\n")?;
        }
        Ok(())
    }

    fn container_masks(&self, out: &mut Out<'_>) -> Result {
        for label in ["subtree_control", "subtree_ss_mask"] {
            write!(out, "{label:<17}: ")?;
            let mut first = true;
            for (ss, sub) in self.gpc.subsys.iter().enumerate() {
                if self.h.subsys_mask & (1 << ss) == 0 {
                    continue;
                }
                if !first {
                    out.bytes(b", ")?;
                }
                out.bytes(sub.name().as_bytes())?;
                first = false;
            }
            out.bytes(b"\n")?;
        }
        Ok(())
    }
}
