//! Moving tasks between containers: `tasks` and `cgroup.procs` writes, the host's own
//! attach, and the seed's `cgroup_clone` (Linux `__cgroup1_procs_write`,
//! `cgroup_migrate_prepare_dst`, `cgroup_migrate_execute`).
//!
//! A move is all or nothing: every task's current css_group is pinned and its
//! destination found or made first (the only step that allocates), then every
//! subsystem is asked (`can_attach`, undone with `cancel_attach` on a refusal), and only
//! then is each task moved from its css_group's task list to the new one's, under both
//! shard locks, losing to a concurrent exit rather than resurrecting the task.

use alloc::vec::Vec;
use core::ptr::{self, NonNull};

use arrayvec::ArrayVec;

use super::nodes::Node;
use super::ns::CgroupNs;
use super::{Gpc, HierarchyId, Tree};
use crate::container::Container;
use crate::container::HierIdx;
use crate::cssgroup::{untag, CssGroup};
use crate::error::{Error, Result};
use crate::host::alloc::{try_push, try_reserve, Gfp};
use crate::host::cred::Creds;
use crate::host::rcu::rcu_dereference;
use crate::host::task::{Caller, Pid, TaskRef, TaskSlot};
use crate::host::Host;
use crate::primitive::Ordering;
use crate::subsys::{CssRef, SubsysId, TaskInfo, MAX_SUBSYS};

/// A task pinned for a migration.
pub(super) struct Move<'a> {
    task: TaskRef<'a>,
    info: TaskInfo,
    /// The task's slot value (css_group and the shard of the task's reference).
    from_tagged: *mut CssGroup,
    from: NonNull<CssGroup>,
    from_shard: usize,
    to: NonNull<CssGroup>,
}

impl<H: Host> Gpc<H> {
    /// `tasks` / `cgroup.procs` writes (`__cgroup1_procs_write`,
    /// `cgroup_procs_write_start`).
    pub(super) fn write_pid(
        &self,
        tree: &Tree,
        c: &Container,
        data: &[u8],
        caller: &Caller<'_>,
        threadgroup: bool,
    ) -> Result {
        let pid = crate::parse::parse_procs_pid(data)?;
        let pid = if pid == 0 {
            caller.pid.ok_or(Error::ESRCH)?
        } else {
            Pid::try_from(pid).map_err(|_| Error::ESRCH)?
        };
        let mover = &caller.creds;
        // One lookup of the task: its permission is checked and, for `tasks`, the move
        // made while the host's table hands it over.
        let mut res = Err(Error::ESRCH);
        if !threadgroup {
            let found = caller.tasks.with_task(pid, &mut |t| {
                res = Self::may_write_pid(mover, &t.creds, c)
                    .and_then(|()| self.migrate(tree, core::slice::from_ref(t), c, Some(mover)));
            });
            return if found { res } else { Err(Error::ESRCH) };
        }
        // cgroup.procs moves the thread group of the task (`cgroup_procs_write_start`
        // takes `tsk->group_leader`): one lookup for its tgid and permission, one of the
        // group.
        let mut target: Option<Pid> = None;
        let found = caller.tasks.with_task(pid, &mut |t| {
            res = Self::may_write_pid(mover, &t.creds, c);
            target = Some(t.tgid);
        });
        let tgid = match (found, target) {
            (true, Some(tgid)) => tgid,
            _ => return Err(Error::ESRCH),
        };
        res?;
        self.migrate_thread_group(tree, caller, tgid, c, mover)
    }

    /// v2 `cgroup.procs` and `cgroup.threads` writes (Linux `__cgroup_procs_write`,
    /// `cgroup_attach_permissions`): `threadgroup` moves the whole process of the task
    /// named (a thread's id moves its process too), otherwise the thread alone. No
    /// credential of the moved task is checked: the writer needs write access to the
    /// destination's file (the host's VFS checked it when opening) and to the
    /// `cgroup.procs` of the nearest group above both source and destination
    /// ([`TaskTable::may_write_procs`]: the delegation rule).
    ///
    /// [`TaskTable::may_write_procs`]: crate::TaskTable::may_write_procs
    pub(super) fn write_pid_v2(
        &self,
        tree: &Tree,
        dst: &Container,
        data: &[u8],
        caller: &Caller<'_>,
        ns: Option<&CgroupNs>,
        threadgroup: bool,
    ) -> Result {
        // cgroup_kn_lock_live() comes first.
        if dst.dead.load(Ordering::Acquire) {
            return Err(Error::ENODEV);
        }
        let pid = crate::parse::parse_procs_pid(data)?;
        let pid = if pid == 0 {
            caller.pid.ok_or(Error::ESRCH)?
        } else {
            Pid::try_from(pid).map_err(|_| Error::ESRCH)?
        };
        let mut tgid = None;
        if !caller.tasks.with_task(pid, &mut |t| tgid = Some(t.tgid)) {
            return Err(Error::ESRCH);
        }
        let tgid = tgid.ok_or(Error::ESRCH)?;
        // cgroup_procs_write_start() takes the group leader for a process move.
        let subject = if threadgroup { tgid } else { pid };
        let mut src = Err(Error::ESRCH);
        caller.tasks.with_task(subject, &mut |t| {
            src = self.task_container(tree, t.slot, dst.hier)
        });
        let src = src?;
        // SAFETY: named by a live task's css_group (or the root), alive under the
        // hierarchy lock.
        let src_ref = unsafe { src.as_ref() };
        self.v2_attach_permissions(tree, src_ref, dst, caller, ns, threadgroup)?;
        let mover = &caller.creds;
        if !threadgroup {
            // One thread, within its domain (a threaded subtree).
            let mut res = Err(Error::ESRCH);
            if !caller.tasks.with_task(pid, &mut |t| {
                res = self.migrate(tree, core::slice::from_ref(t), dst, Some(mover));
            }) {
                return Err(Error::ESRCH);
            }
            return res;
        }
        self.migrate_thread_group(tree, caller, tgid, dst, mover)
    }

    /// Whether whoever `caller` and `ns` describe may move a task (a whole process if
    /// `threadgroup`) from v2 group `src` into `dst`, after the VFS allowed the
    /// destination's file (Linux kernel/cgroup/cgroup.c `cgroup_attach_permissions`:
    /// `cgroup_procs_write_permission`, then `cgroup_migrate_vet_dst`, then the thread's
    /// domain). `cgroup.procs`/`cgroup.threads` writes and clone3(`CLONE_INTO_CGROUP`)
    /// share it. `ns`: the opener's (the caller's) cgroup namespace, `None` for the
    /// initial one.
    ///
    /// # Errors
    ///
    /// `EACCES` without write access to the `cgroup.procs` of the nearest group above
    /// both; `ENOENT` with `nsdelegate` when either lies outside the namespace's root;
    /// `EBUSY` for a destination with controllers enabled for its children (no internal
    /// processes); `EOPNOTSUPP` for a thread leaving its domain.
    pub(super) fn v2_attach_permissions(
        &self,
        tree: &Tree,
        src: &Container,
        dst: &Container,
        caller: &Caller<'_>,
        ns: Option<&CgroupNs>,
        threadgroup: bool,
    ) -> Result {
        // cgroup_procs_write_permission(): the common ancestor's cgroup.procs.
        let mut common = src;
        while !Self::is_descendant(dst, common) {
            common = common.parent_ref().ok_or(Error::ENOENT)?;
        }
        if !caller.tasks.may_write_procs(&caller.creds, common.id) {
            return Err(Error::EACCES);
        }
        // With nsdelegate, both ends must be visible from the opener's namespace (the
        // initial namespace sees everything).
        if let Some(ns) = ns {
            if Self::nsdelegate(tree, dst) && !(ns.contains(src) && ns.contains(dst)) {
                return Err(Error::ENOENT);
            }
        }
        // cgroup_migrate_vet_dst() and the thread rule: invalid domains take nothing,
        // no internal processes below domain controllers, threads stay in their
        // resource domain.
        self.v2_vet_dst(src, dst, threadgroup)
    }

    /// Move every thread of group `tgid` into `dst` (the host holds the group stable
    /// meanwhile), all or none.
    fn migrate_thread_group(
        &self,
        tree: &Tree,
        caller: &Caller<'_>,
        tgid: Pid,
        dst: &Container,
        mover: &Creds,
    ) -> Result {
        let mut res = Err(Error::ESRCH);
        caller.tasks.with_thread_group(tgid, &mut |threads| {
            let mut all: Vec<TaskRef<'_>> = Vec::new();
            for t in threads {
                // In the host's thread-group walk: atomic context.
                if let Err(e) = try_push(&mut all, t, Gfp::ATOMIC) {
                    res = Err(e);
                    return;
                }
            }
            res = self.migrate(tree, &all, dst, Some(mover));
        });
        res
    }

    /// The container of hierarchy `h` that the task with `slot` is in (its root if the
    /// task's css_group names none), under the hierarchy lock.
    pub(super) fn task_container(
        &self,
        tree: &Tree,
        slot: &TaskSlot,
        h: HierIdx,
    ) -> Result<NonNull<Container>> {
        let guard = self.rcu_read_lock();
        let (Some(cg), _) = untag(rcu_dereference(slot.raw(), &guard)) else {
            return Err(Error::ESRCH);
        };
        // SAFETY: under the guard.
        if !unsafe { self.owns(cg) } {
            return Err(Error::EINVAL);
        }
        // SAFETY: under the guard.
        let c = unsafe { (*cg.as_ptr()).container(h) };
        match NonNull::new(c) {
            // A container named by a live css_group stays alive while the hierarchy
            // lock is held (rmdir takes it).
            Some(c) => Ok(c),
            None => Ok(Self::hierarchy(tree, HierarchyId(h))?.root),
        }
    }

    /// Whether `c` is `ancestor` or below it.
    pub(super) fn is_descendant(c: &Container, ancestor: &Container) -> bool {
        let mut cur = Some(c);
        while let Some(x) = cur {
            if ptr::eq(x, ancestor) {
                return true;
            }
            cur = x.parent_ref();
        }
        false
    }

    /// The checks of `__cgroup1_procs_write` before a move: the writer may move the
    /// task (`EACCES`), and the destination is alive (`ENODEV`).
    fn may_write_pid(mover: &Creds, target: &Creds, dst: &Container) -> Result {
        if !mover.may_move(target) {
            return Err(Error::EACCES);
        }
        if dst.dead.load(Ordering::Acquire) {
            return Err(Error::ENODEV);
        }
        Ok(())
    }

    /// Move `tasks` into `dst`, all or none (Linux `cgroup_migrate`), under the
    /// hierarchy lock (`tree`: its data, the evidence). `mover`: the credentials of whoever asked (Linux `current`), for
    /// the subsystems that check them ([`Subsystem::ATTACH_NEEDS_SETSCHEDULER`]);
    /// `None` for a move the kernel makes itself.
    ///
    /// [`Subsystem::ATTACH_NEEDS_SETSCHEDULER`]: crate::Subsystem::ATTACH_NEEDS_SETSCHEDULER
    fn migrate(
        &self,
        tree: &Tree,
        tasks: &[TaskRef<'_>],
        dst: &Container,
        mover: Option<&Creds>,
    ) -> Result {
        let h = dst.hier;
        let dst_key: *mut Container = if dst.is_root() {
            ptr::null_mut()
        } else {
            dst as *const Container as *mut Container
        };
        let Some(hier) = tree.hiers.get(h).and_then(|x| x.as_deref()) else {
            return Err(Error::ENODEV);
        };
        // v2: the controllers on the unified hierarchy (each asked only where the task's
        // state changes, `moved_css`).
        let mask = if dst.unified {
            self.dfl_subsys_mask(tree)
        } else {
            hier.subsys_mask
        };
        let root = hier.root;
        let mut moves: Vec<Move<'_>> = Vec::new();
        try_reserve(&mut moves, tasks.len(), Gfp::KERNEL)?;
        let mut created: Vec<NonNull<CssGroup>> = Vec::new();
        try_reserve(&mut created, tasks.len(), Gfp::KERNEL)?;
        // Our pins and the new references are taken on this CPU's shard.
        let shard = self.shard();
        let unpin = |moves: &mut Vec<Move<'_>>, created: &[NonNull<CssGroup>]| {
            for m in moves.drain(..) {
                self.put_cg(m.from, shard);
                let silent = created.contains(&m.to);
                self.put_cg_inner(m.to, shard, !silent);
            }
        };
        // Pin every task's current css_group and find its destination.
        for t in tasks {
            let guard = self.rcu_read_lock();
            let tagged = rcu_dereference(t.slot.raw(), &guard);
            let (cur, from_shard) = untag(tagged);
            // An exiting task (empty slot) is skipped, as Linux skips PF_EXITING.
            let Some(cur) = cur else { continue };
            // SAFETY: under the guard (see `owns`).
            if !unsafe { self.owns(cur) } {
                drop(guard);
                unpin(&mut moves, &created);
                return Err(Error::EINVAL);
            }
            // SAFETY: under the guard; refused if dying.
            if !unsafe { cur.as_ref() }.try_get(shard) {
                continue;
            }
            drop(guard);
            // SAFETY: pinned.
            let curr = unsafe { cur.as_ref() };
            if curr.container(h) == dst_key {
                self.put_cg(cur, shard);
                continue; // already there: Linux skips it without asking anyone
            }
            let mut key = curr.key;
            if let Some(slot) = key.get_mut(h) {
                *slot = dst_key;
            }
            match self.find_or_create(tree, &key, shard) {
                Ok((to, new)) => {
                    if new {
                        created.push(to);
                    }
                    moves.push(Move {
                        task: *t,
                        info: TaskInfo {
                            pid: t.pid,
                            tgid: t.tgid,
                            is_thread: t.pid != t.tgid,
                        },
                        from_tagged: tagged,
                        from: cur,
                        from_shard,
                        to,
                    });
                }
                Err(e) => {
                    self.put_cg(cur, shard);
                    unpin(&mut moves, &created);
                    return Err(e);
                }
            }
        }
        if moves.is_empty() {
            return Ok(());
        }
        // can_attach on every subsystem of the hierarchy, in order; cancel_attach on the
        // ones already asked when one refuses (cgroup_migrate_execute). A task already in
        // `dst` was dropped above, so nobody is asked about it (cgroup_migrate_prepare_dst
        // drops a source css_set equal to its destination).
        let subs: ArrayVec<SubsysId, MAX_SUBSYS> = (0..self.subsys.len())
            .filter(|ss| mask & (1 << ss) != 0)
            .collect();
        for (n, &ss) in subs.iter().enumerate() {
            let Some(sub) = self.subsys.get(ss) else {
                continue;
            };
            let mut failed = None;
            for (i, m) in moves.iter().enumerate() {
                let Some((from, to)) = self.moved_css(m, ss) else {
                    continue;
                };
                if let Err(e) = sub.can_attach(&m.info, from, to) {
                    failed = Some((i, e));
                    break;
                }
                // Linux kernel/cgroup/cpuset.c cpuset_can_attach: after
                // cpuset_can_attach_check (ENOSPC), security_task_setscheduler(task)
                // for each task (on v1 always), failing the whole move with EPERM.
                if sub.attach_needs_setscheduler(from, to)
                    && mover.is_some_and(|c| !c.may_setscheduler(&m.task.creds))
                {
                    // This subsystem's can_attach of `m` succeeded: cancel it too.
                    failed = Some((i + 1, Error::EPERM));
                    break;
                }
            }
            if let Some((i, e)) = failed {
                for m in moves.iter().take(i) {
                    if let Some((from, to)) = self.moved_css(m, ss) {
                        sub.cancel_attach(&m.info, from, to);
                    }
                }
                for &prev in subs.iter().take(n) {
                    let Some(psub) = self.subsys.get(prev) else {
                        continue;
                    };
                    for m in moves.iter() {
                        if let Some((from, to)) = self.moved_css(m, prev) {
                            psub.cancel_attach(&m.info, from, to);
                        }
                    }
                }
                unpin(&mut moves, &created);
                return Err(e);
            }
        }
        // Commit.
        for m in moves.drain(..) {
            // Off the old css_group's list, onto the new one's, under both shard locks;
            // loses to a concurrent exit rather than resurrecting the task.
            let swapped = CssGroup::relink_task(m.from_tagged, m.task.slot, m.to, shard, tree);
            if swapped {
                for &ss in subs.iter() {
                    if let (Some(sub), Some((from, to))) =
                        (self.subsys.get(ss), self.moved_css(&m, ss))
                    {
                        sub.attach(&m.info, from, to);
                    }
                }
                if dst.unified {
                    // SAFETY: the pinned source names a live container (or the root).
                    let src =
                        NonNull::new(unsafe { m.from.as_ref() }.container(h)).map_or(root, |c| c);
                    let table = self.table.lock();
                    // SAFETY: alive under the hierarchy lock (named by a pinned
                    // css_group, or the root).
                    self.freezer_migrate_task(m.task.slot, unsafe { src.as_ref() }, dst, &table);
                }
                // The task's old reference and our pin.
                self.put_cg(m.from, m.from_shard);
                self.put_cg(m.from, shard);
            } else {
                // The task exited meanwhile.
                for &ss in subs.iter() {
                    if let (Some(sub), Some((from, to))) =
                        (self.subsys.get(ss), self.moved_css(&m, ss))
                    {
                        sub.cancel_attach(&m.info, from, to);
                    }
                }
                self.put_cg(m.from, shard);
                self.put_cg(m.to, shard);
            }
        }
        Ok(())
    }

    /// The states of `ss` a move takes the task from and to, or `None` when they are
    /// the same (v2: both groups use one ancestor's state; Linux asks only the
    /// controllers whose state changes, `cgroup_migrate_prepare_dst`).
    fn moved_css(&self, m: &Move<'_>, ss: SubsysId) -> Option<(CssRef<'_>, CssRef<'_>)> {
        let (from, to) = (self.pinned_css(m.from, ss)?, self.pinned_css(m.to, ss)?);
        (from.raw() != to.raw()).then_some((from, to))
    }

    /// Move one task into the container at `path` of `hier`, as a write of its pid to
    /// `tasks` would, but without the permission check (for hosts and tests).
    ///
    /// # Errors
    ///
    /// As for the write, less `EACCES`; `EINVAL` if the task belongs to another
    /// instance.
    pub fn attach(&self, hier: HierarchyId, path: &str, task: &TaskRef<'_>) -> Result {
        let tree = self.tree.lock();
        let node = self.lookup_locked(&tree, hier, path)?;
        let c = Self::dir_container(&tree, &node)?;
        self.migrate(&tree, core::slice::from_ref(task), c, None)
    }

    /// Move one task into directory `dir`, as a write of its pid to its `tasks` file
    /// would, but without the permission check (for hosts and tests).
    ///
    /// # Errors
    ///
    /// As for the write, less `EACCES`; `ENOTDIR` for a file, `ENODEV` if `dir` was
    /// removed; `EINVAL` if the task belongs to another instance.
    pub fn attach_node(&self, dir: &Node, task: &TaskRef<'_>) -> Result {
        let tree = self.tree.lock();
        let c = Self::dir_container(&tree, dir)?;
        self.migrate(&tree, core::slice::from_ref(task), c, None)
    }

    /// Make a child container of `task`'s container in the hierarchy of subsystem `ss`,
    /// named `name`, and move the task into it in one step (the seed's `cgroup_clone`,
    /// used by the ns subsystem on unshare). Does nothing if `ss` is not mounted.
    ///
    /// # Errors
    ///
    /// The errors of `mkdir` and of the move; a container made for the move is removed
    /// again when the move fails.
    pub fn container_clone(&self, ss: SubsysId, task: &TaskRef<'_>, name: &str) -> Result {
        // All under one hold of the hierarchy lock, on the containers themselves: no path
        // is built or resolved, so the cost does not grow with the depth (each unshare
        // nests the task one level deeper).
        let mut tree = self.tree.lock();
        let Some(h) = tree.bound.get(ss).copied().flatten() else {
            return Ok(());
        };
        let parent = {
            let guard = self.rcu_read_lock();
            let (Some(cg), _) = untag(rcu_dereference(task.slot.raw(), &guard)) else {
                return Err(Error::ESRCH);
            };
            // SAFETY: under the guard.
            if !unsafe { self.owns(cg) } {
                return Err(Error::EINVAL);
            }
            // SAFETY: under the guard.
            let c = unsafe { (*cg.as_ptr()).container(h) };
            match NonNull::new(c) {
                // A container named by a live css_group is alive, and stays so while the
                // hierarchy lock is held (rmdir takes it).
                Some(c) => c,
                None => Self::hierarchy(&tree, HierarchyId(h))?.root,
            }
        };
        let child = self.mkdir_in(&mut tree, parent, name)?;
        // A move the host makes itself (the seed's ns subsystem), as `attach`: no
        // writer's credentials to check.
        let res = self.migrate(
            &tree,
            core::slice::from_ref(task),
            // SAFETY: just made, alive under the hierarchy lock.
            unsafe { child.as_ref() },
            None,
        );
        if res.is_err() {
            // Cannot fail: the container was just made and has no tasks or children.
            let _ = self.rmdir_locked(&mut tree, child);
        }
        res
    }
}
