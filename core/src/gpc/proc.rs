//! The `/proc` files gpc owns: `/proc/PID/cgroup` and `/proc/cgroups` (Linux
//! `proc_cgroup_show`, `proc_cgroupstats_show`), and the cgroup options of
//! `/proc/mounts` (`cgroup1_show_options`).
//!
//! Both are built into the host's buffer and undone on error, so a failed read (`ENOMEM`)
//! leaves the buffer as it was.

use alloc::string::String;
use alloc::vec::Vec;
use core::ptr::NonNull;

use arrayvec::ArrayVec;

use super::{Gpc, Hierarchy, HierarchyId};
use crate::container::HierIdx;
use crate::cssgroup::{untag, MAX_HIERARCHIES};
use crate::error::{Error, Result};
use crate::files::Out;
use crate::host::alloc::Gfp;
use crate::host::rcu::rcu_dereference;
use crate::host::task::TaskSlot;
use crate::host::Host;
use crate::options::PATH_MAX;
use crate::primitive::Ordering;

impl<H: Host> Gpc<H> {
    /// `/proc/PID/cgroup` of the task with `slot` (Linux `proc_cgroup_show`): one line
    /// per hierarchy, `ID:CONTROLLERS[,name=NAME]:PATH`, newest hierarchy first.
    ///
    /// # Errors
    ///
    /// `ESRCH` if the task has no css_group, `EINVAL` if it belongs to another instance,
    /// `ENOMEM`.
    pub fn proc_pid_cgroup(&self, slot: &TaskSlot, buf: &mut Vec<u8>) -> Result {
        let start = buf.len();
        // Written under an RCU read-side section: the buffer grows atomically.
        let res = self.proc_pid_cgroup_inner(slot, None, &mut Out::atomic(buf));
        if res.is_err() {
            buf.truncate(start);
        }
        res
    }

    /// The ids of the groups of the unified (v2) hierarchy the task with `slot` is in:
    /// its own first, then each ancestor up to the root (Linux `task_dfl_cgroup` and
    /// `cgroup_parent`), each passed to `f`. What v2 attachments that live outside the
    /// core, such as device programs (kernel/bpf/cgroup.c), are looked up by. Calls `f`
    /// for none while the unified hierarchy was never mounted. Allocates nothing.
    ///
    /// # Errors
    ///
    /// `ESRCH` if the task has no css_group, `EINVAL` if it belongs to another instance.
    pub fn task_dfl_ancestors(&self, slot: &TaskSlot, f: &mut dyn FnMut(u64)) -> Result {
        let tree = self.tree.lock();
        let guard = self.rcu_read_lock();
        let (Some(cg), _) = untag(rcu_dereference(slot.raw(), &guard)) else {
            return Err(Error::ESRCH);
        };
        // SAFETY: under the guard (see `owns`).
        if !unsafe { self.owns(cg) } {
            return Err(Error::EINVAL);
        }
        let Some(idx) = Self::unified_index(&tree) else {
            return Ok(());
        };
        let Some(h) = tree.hiers.get(idx).and_then(|h| h.as_deref()) else {
            return Ok(());
        };
        // SAFETY: under the guard (see `task_css`).
        let c = unsafe { (*cg.as_ptr()).container(idx) };
        let mut cur = match NonNull::new(c) {
            // SAFETY: alive: named by a css_group read under the guard, with the
            // hierarchy lock held.
            Some(c) => Some(unsafe { &*c.as_ptr() }),
            None => Some(h.root()),
        };
        while let Some(x) = cur {
            f(x.id);
            cur = x.parent_ref();
        }
        Ok(())
    }

    pub(super) fn proc_pid_cgroup_inner(
        &self,
        slot: &TaskSlot,
        ns: Option<&super::ns::CgroupNs>,
        out: &mut Out<'_>,
    ) -> Result {
        let tree = self.tree.lock();
        let guard = self.rcu_read_lock();
        let (Some(cg), _) = untag(rcu_dereference(slot.raw(), &guard)) else {
            return Err(Error::ESRCH);
        };
        // SAFETY: under the guard (see `owns`).
        if !unsafe { self.owns(cg) } {
            return Err(Error::EINVAL);
        }
        let cg = cg.as_ptr();
        let mut hs: ArrayVec<(u32, HierIdx), MAX_HIERARCHIES> = tree
            .hiers
            .iter()
            .enumerate()
            .filter_map(|(i, h)| h.as_deref().map(|h| (h.id, i)))
            .collect();
        hs.sort_unstable_by_key(|h| core::cmp::Reverse(h.0));
        let mut path = String::new();
        for (id, idx) in hs {
            let Some(h) = tree.hiers.get(idx).and_then(|h| h.as_deref()) else {
                continue;
            };
            write!(out, "{id}:")?;
            self.write_controllers(h, out)?;
            out.bytes(b":")?;
            // SAFETY: under the guard (see `task_css`).
            let c = unsafe { (*cg).container(idx) };
            path.clear();
            match NonNull::new(c) {
                Some(c) => {
                    // SAFETY: alive: named by a css_group read under the guard, with the
                    // hierarchy lock held.
                    let c = unsafe { c.as_ref() };
                    self.container_path_ns(c, ns, &mut path, Gfp::ATOMIC)?
                }
                // The root, seen from a namespace whose root is below it.
                None => self.container_path_ns(h.root(), ns, &mut path, Gfp::ATOMIC)?,
            }
            // proc_cgroup_show: the path goes through a PATH_MAX buffer; a longer one
            // (a tree made with relative paths) is ENAMETOOLONG.
            if path.len() >= PATH_MAX {
                return Err(Error::ENAMETOOLONG);
            }
            out.bytes(path.as_bytes())?;
            out.bytes(b"\n")?;
        }
        Ok(())
    }

    fn write_controllers(&self, h: &Hierarchy, out: &mut Out<'_>) -> Result {
        let mut count = 0;
        for (ss, sub) in self.subsys.iter().enumerate() {
            if h.subsys_mask & (1 << ss) != 0 {
                if count > 0 {
                    out.bytes(b",")?;
                }
                // proc_cgroup_show prints `ss->legacy_name` (only v1 hierarchies have
                // controllers here: the unified one's line is `0::PATH`).
                out.bytes(sub.legacy_name().as_bytes())?;
                count += 1;
            }
        }
        if !h.name.is_empty() {
            if count > 0 {
                out.bytes(b",")?;
            }
            write!(out, "name={}", h.name)?;
        }
        Ok(())
    }

    /// `/proc/cgroups` (Linux `proc_cgroupstats_show`): a header, then per subsystem its
    /// hierarchy id (0 when not mounted), its number of containers (1 when not
    /// mounted: the dummy root) and whether it is enabled.
    ///
    /// # Errors
    ///
    /// `ENOMEM`.
    pub fn proc_cgroups(&self, buf: &mut Vec<u8>) -> Result {
        let start = buf.len();
        let res = (|| {
            let tree = self.tree.lock();
            let mut out = Out::new(buf);
            out.bytes(b"#subsys_name\thierarchy\tnum_cgroups\tenabled\n")?;
            for (ss, sub) in self.subsys.iter().enumerate() {
                let h = tree
                    .bound
                    .get(ss)
                    .copied()
                    .flatten()
                    .and_then(|i| tree.hiers.get(i))
                    .and_then(|h| h.as_deref());
                // A controller no v1 hierarchy holds sits on the default hierarchy: id 0,
                // and its groups counted (`cgrp_dfl_root.nr_cgrps`, root included).
                let dfl = Self::unified_index(&tree)
                    .and_then(|u| tree.hiers.get(u))
                    .and_then(|h| h.as_deref())
                    .map_or(1, |u| u.nr_containers);
                let (id, n) = h.map_or((0, dfl), |h| (h.id, h.nr_containers));
                // proc_cgroupstats_show prints `ss->legacy_name`.
                writeln!(out, "{}\t{}\t{}\t1", sub.legacy_name(), id, n)?;
            }
            Ok(())
        })();
        if res.is_err() {
            buf.truncate(start);
        }
        res
    }

    /// The superblock options `/proc/mounts` shows for `hier` after `rw,relatime`
    /// (Linux kernel/cgroup/cgroup-v1.c `cgroup1_show_options`): `,CONTROLLER` for each
    /// bound subsystem in subsystem order, `,noprefix`, `,release_agent=PATH` if set,
    /// `,clone_children` if the root has it, `,name=NAME` if named; values escaped as
    /// `seq_show_option` does (`\ooo` for `,`, blank, tab, newline, backslash). For the
    /// unified hierarchy (`cgroup_show_options`): `,nsdelegate`, `,favordynmods`, ...,
    /// the flags its last mount set.
    ///
    /// # Errors
    ///
    /// `ENOENT` if `hier` does not exist, `ENOMEM` (with `buf` as it was).
    pub fn show_options(&self, hier: HierarchyId, buf: &mut Vec<u8>) -> Result {
        let start = buf.len();
        let res = (|| {
            let tree = self.tree.lock();
            let h = tree
                .hiers
                .get(hier.0)
                .and_then(|h| h.as_deref())
                .ok_or(Error::ENOENT)?;
            let mut out = Out::new(buf);
            if h.rules.unified() {
                // cgroup_show_options (kernel/cgroup/cgroup.c): the root's flags.
                use crate::options::V2Options as F;
                for (flag, name) in [
                    (F::NSDELEGATE, ",nsdelegate"),
                    (F::FAVOR_DYNMODS, ",favordynmods"),
                    (F::MEMORY_LOCAL_EVENTS, ",memory_localevents"),
                    (F::MEMORY_RECURSIVE_PROT, ",memory_recursiveprot"),
                    (F::MEMORY_HUGETLB_ACCOUNTING, ",memory_hugetlb_accounting"),
                    (F::PIDS_LOCAL_EVENTS, ",pids_localevents"),
                ] {
                    if h.v2_options.contains(flag) {
                        out.bytes(name.as_bytes())?;
                    }
                }
                return Ok(());
            }
            for (ss, sub) in self.subsys.iter().enumerate() {
                if h.subsys_mask & (1 << ss) != 0 {
                    // cgroup1_show_options: `ss->legacy_name`.
                    out.bytes(b",")?;
                    out.bytes(sub.legacy_name().as_bytes())?;
                }
            }
            if h.noprefix {
                out.bytes(b",noprefix")?;
            }
            if !h.release_agent.is_empty() {
                out.bytes(b",release_agent=")?;
                for &b in h.release_agent.as_bytes() {
                    if matches!(b, b',' | b' ' | b'\t' | b'\n' | b'\\') {
                        write!(out, "\\{b:03o}")?;
                    } else {
                        out.bytes(&[b])?;
                    }
                }
            }
            if h.root().clone_children.load(Ordering::Relaxed) {
                out.bytes(b",clone_children")?;
            }
            if !h.name.is_empty() {
                write!(out, ",name={}", h.name)?;
            }
            Ok(())
        })();
        if res.is_err() {
            buf.truncate(start);
        }
        res
    }
}
