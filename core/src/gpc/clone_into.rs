//! clone3(`CLONE_INTO_CGROUP`): a fork whose child starts in a given v2 group (Linux
//! kernel/cgroup/cgroup.c `cgroup_css_set_fork`, `cgroup_can_fork`, `cgroup_post_fork`).
//!
//! It is the "open `cgroup.procs` and write" of a move made atomic with the fork, so it
//! takes the hierarchy lock and checks what a `cgroup.procs` write checks; the child's
//! css_group is the creating thread's with only the unified hierarchy's group replaced.
//! Ordinary forks never come here: `fast_path.rs` stays lock-free.

use core::pin::Pin;
use core::ptr::{self, NonNull};

use super::nodes::Node;
use super::ns::CgroupNs;
use super::{Gpc, HierarchyId};
use crate::cssgroup::{untag, CgKey, CssGroup};
use crate::error::{Error, Result};
use crate::host::rcu::rcu_dereference;
use crate::host::task::{Caller, TaskSlot};
use crate::host::Host;
use crate::primitive::Ordering;
use crate::subsys::{CssRef, TaskInfo};

impl<H: Host> Gpc<H> {
    /// Fork `child` from `parent` (the creating thread) straight into the v2 group `dst`
    /// (Linux clone3 with `CLONE_INTO_CGROUP`; `thread`: `CLONE_THREAD`). The child's
    /// v1 groups are the parent's; only its unified-hierarchy group is `dst`. Checked in
    /// Linux's order: `dst` is a directory of the unified hierarchy (`EBADF`; removed:
    /// `ENOENT`), alive (`ENODEV`), `caller` may write its `cgroup.procs` (`EACCES`, the
    /// host's [`TaskTable::may_write_procs`]), then the checks of a `cgroup.procs` write
    /// from the parent's group ([`Gpc::write_node_ns`]: the common ancestor, nsdelegate
    /// against `ns`, the destination's vet, a thread's domain). Then the subsystems'
    /// `can_fork` and the child's css_group (`ENOMEM`), and the child is linked as by
    /// [`Gpc::fork`]: populated counts and change notifications follow.
    ///
    /// Takes the hierarchy lock (a move's path), unlike [`Gpc::fork`].
    ///
    /// # Errors
    ///
    /// Those above; `ESRCH` if `parent` has no css_group, `EINVAL` if it belongs to
    /// another instance, `EBUSY` if `child` already has one; a subsystem's `can_fork`
    /// errno (pids: `EAGAIN`); `EINTR` if the parent was killed. Nothing changes on error.
    ///
    /// [`TaskTable::may_write_procs`]: crate::TaskTable::may_write_procs
    #[allow(
        clippy::too_many_arguments,
        reason = "clone3's own inputs: who, into what, and as whom"
    )]
    pub fn fork_into(
        &self,
        parent: &TaskSlot,
        child: Pin<&TaskSlot>,
        info: &TaskInfo,
        dst: &Node,
        caller: &Caller<'_>,
        ns: Option<&CgroupNs>,
        thread: bool,
    ) -> Result {
        let child = TaskSlot::pinned(child);
        if child.is_attached() {
            return Err(Error::EBUSY);
        }
        let tree = self.tree.lock();
        // cgroup_get_from_file(): a kernfs directory (EBADF), a live group (ENOENT), of
        // the default hierarchy (EBADF).
        if !dst.is_dir() {
            return Err(Error::EBADF);
        }
        let c = Self::dir_container(&tree, dst).map_err(|_| Error::ENOENT)?;
        let h = Self::hierarchy(&tree, HierarchyId(c.hier))?;
        if !h.rules.unified() {
            return Err(Error::EBADF);
        }
        if c.dead.load(Ordering::Acquire) {
            return Err(Error::ENODEV);
        }
        // cgroup_may_write(): the destination's cgroup.procs, with the caller's creds.
        if !caller.tasks.may_write_procs(&caller.creds, c.id) {
            return Err(Error::EACCES);
        }
        // The parent's css_group key: its v2 group is the move's source.
        let mut key: CgKey = {
            let guard = self.rcu_read_lock();
            let (Some(cg), _) = untag(rcu_dereference(parent.raw(), &guard)) else {
                return Err(Error::ESRCH);
            };
            // SAFETY: under the guard (see `owns`).
            if !unsafe { self.owns(cg) } {
                return Err(Error::EINVAL);
            }
            // SAFETY: under the guard; the key is immutable.
            unsafe { (*cg.as_ptr()).key }
        };
        // The containers of a key read under the guard stay alive without it: the
        // hierarchy lock is held and rmdir takes it.
        let src = match key.get(c.hier).and_then(|p| NonNull::new(*p)) {
            // SAFETY: as above.
            Some(p) => unsafe { &*p.as_ptr() },
            // SAFETY: a hierarchy's root lives as long as the hierarchy (lock held).
            None => unsafe { h.root.as_ref() },
        };
        self.v2_attach_permissions(&tree, src, c, caller, ns, !thread)?;
        if let Some(slot) = key.get_mut(c.hier) {
            *slot = if c.is_root() {
                ptr::null_mut()
            } else {
                ptr::from_ref(c).cast_mut()
            };
        }
        // can_fork on the states the child will have, before its css_group is made: a
        // refused fork then makes and drops no css_group, so no group flips populated
        // and back (Linux asks after find_css_set, but a css_set without tasks is not
        // populated there).
        for (n, &ss) in self.fork_hooks.iter().enumerate() {
            let Some(sub) = self.subsys.get(ss) else {
                continue;
            };
            // SAFETY: an effective state of live containers, alive under the lock.
            let css = unsafe { CssRef::from_raw(self.effective_css(&tree, &key, ss)) };
            if let Err(e) = sub.can_fork(info, css) {
                self.cancel_fork_key(&tree, &key, info, n);
                return Err(e);
            }
        }
        // A dying parent forks no more (copy_process's fatal_signal_pending check);
        // a cgroup.kill cannot run meanwhile: it takes the hierarchy lock, held here.
        if self.host.fatal_signal_pending(parent) {
            self.cancel_fork_key(&tree, &key, info, self.fork_hooks.len());
            return Err(Error::EINTR);
        }
        let shard = self.shard();
        let cg = match self.find_or_create(&tree, &key, shard) {
            Ok((cg, _)) => cg,
            Err(e) => {
                self.cancel_fork_key(&tree, &key, info, self.fork_hooks.len());
                return Err(e);
            }
        };
        // Our reference keeps it alive, so linking cannot find it dead.
        let linked = CssGroup::link_new_task(cg, shard, child, self.spin_ops);
        if !linked {
            self.cancel_fork_key(&tree, &key, info, self.fork_hooks.len());
            self.put_cg(cg, shard);
            return Err(Error::EBUSY);
        }
        // The child's own reference holds it now.
        self.put_cg(cg, shard);
        // Born into a freezing group: asked to stop, no flip (cgroup_post_fork). A kill
        // cannot race this one: it takes the hierarchy lock, held here.
        if c.freezer.freezing.load(crate::primitive::Ordering::Acquire) {
            self.ask_freeze(child, true);
        }
        drop(tree);
        // SAFETY: the child's reference keeps the css_group alive; only this thread can
        // move or exit the child before the fork returns.
        let cgr = unsafe { cg.as_ref() };
        for &ss in self.fork_hooks.iter() {
            if let (Some(sub), Some(css)) = (self.subsys.get(ss), self.cg_css(cgr, ss)) {
                sub.fork(info, css);
            }
        }
        Ok(())
    }

    /// `cancel_fork` on the first `asked` fork hooks, for the states of `key`.
    fn cancel_fork_key(&self, tree: &super::Tree, key: &CgKey, info: &TaskInfo, asked: usize) {
        for &ss in self.fork_hooks.iter().take(asked) {
            if let Some(sub) = self.subsys.get(ss) {
                // SAFETY: as in `fork_into`.
                let css = unsafe { CssRef::from_raw(self.effective_css(tree, key, ss)) };
                sub.cancel_fork(info, css);
            }
        }
    }
}
