//! The `cpuset` controller on the unified hierarchy (v2): `cpuset.cpus`, `cpuset.mems`,
//! their effective masks, `cpuset.cpus.exclusive` and partitions.
//!
//! A port of the v2 half of `kernel/cgroup/cpuset.c` (torvalds/linux; `dfl_files[]`,
//! `update_cpumask`, `update_exclusive_cpumask`, `update_nodemask`, `update_prstate`,
//! `update_parent_effective_cpumask`, `update_cpumasks_hier`, `update_sibling_cpumasks`,
//! `compute_partition_effective_cpumask`, the `remote_partition_*` helpers) and of
//! Documentation/admin-guide/cgroup-v2.rst "Cpuset". doc/v2-cpuset.md lists every file,
//! format, errno and the partition state machine as built.
//!
//! # How the port is shaped
//!
//! Linux keeps `effective_cpus` in every cpuset and patches it as partitions take CPUs
//! from their parents (`partition_xcpus_add`/`_del`) and as the walks
//! (`update_cpumasks_hier`, `update_sibling_cpumasks`) pass. A write here does the same
//! on a *snapshot* of the whole hierarchy (`Snap`, one fallible allocation before
//! anything changes: `ENOMEM` leaves every cpuset as it was), running Linux's functions
//! on it in Linux's order, and commits the configuration and partition states at the end.
//!
//! What the scheduler and the files read is then derived, not stored, so it can never
//! go stale (a cpuset removed while it is a partition, for one):
//!
//! - a cpuset's CPUs given to valid partitions below it (`granted`: the children's
//!   `effective_xcpus`; at the top cpuset also the remote partitions', Linux
//!   `subpartitions_cpus`) are kept per cpuset, recomputed at every commit;
//! - `effective_cpus` of the top cpuset is every CPU less `granted`, of a valid partition
//!   root its `effective_xcpus` less `granted`, of anything else `cpus ∩ parent's
//!   effective`, or the parent's effective when that is empty ([`effective_cpus`]);
//! - `effective_mems` likewise, without partitions;
//! - `cpuset.cpus.isolated` is the union of the valid isolated partitions' own CPUs.
//!
//! Unit tests check after every write that the derived masks equal the ones Linux's
//! walks left in the snapshot.

use alloc::vec::Vec;

use core::sync::atomic::Ordering;

use gpc_core::host::alloc::{try_reserve_exact, Gfp};
use gpc_core::parse::strstrip;
use gpc_core::{Css, Error, FileCtxOf, Out, Result, TaskInfo};

use super::Cpuset;
use crate::parse::{parse_cpuset_cpus, parse_cpuset_mems, CpuMask, NodeMask};

/// `partition_root_state` values.
pub(super) const PRS_MEMBER: i8 = 0;
/// A partition root.
pub(super) const PRS_ROOT: i8 = 1;
/// A partition root without load balancing.
pub(super) const PRS_ISOLATED: i8 = 2;

/// `enum prs_errcode` (`PERR_NONE` is 0).
const PERR_INVCPUS: u8 = 1;
const PERR_INVPARENT: u8 = 2;
const PERR_NOTPART: u8 = 3;
const PERR_NOTEXCL: u8 = 4;
const PERR_NOCPUS: u8 = 5;
const PERR_CPUSEMPTY: u8 = 7;
const PERR_ACCESS: u8 = 9;
const PERR_REMOTE: u8 = 10;

/// `perr_strings[]`, indexed by the error code (`PERR_HOTPLUG` and `PERR_HKEEPING` are
/// never raised: gpc's machine has no CPU hotplug and no `isolcpus=` boot CPUs).
const PERR_STRINGS: [Option<&str>; 11] = [
    None,
    Some("Invalid cpu list in cpuset.cpus.exclusive"),
    Some("Parent is an invalid partition root"),
    Some("Parent is not a partition root"),
    Some("Cpu list in cpuset.cpus not exclusive"),
    Some("Parent unable to distribute cpu downstream"),
    Some("No cpu available due to hotplug"),
    Some("cpuset.cpus and cpuset.cpus.exclusive are empty"),
    Some("partition config conflicts with housekeeping setup"),
    Some("Enable partition not permitted"),
    Some("Have remote partition underneath"),
];

/// How deep `update_cpumasks_hier` → `update_parent_effective_cpumask` →
/// `update_sibling_cpumasks` → `update_cpumasks_hier` may recurse (Linux recurses
/// without bound; each level needs a partition change one level down, so the depth of
/// the hierarchy bounds it there). Deeper walks stop, leaving those siblings' partition
/// states as they were.
const MAX_NESTING: u32 = 64;

/// A cpuset's v2 configuration and partition state (the v2 fields of Linux's
/// `struct cpuset`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct V2 {
    /// `cpus_allowed`: what `cpuset.cpus` was set to.
    pub(super) cpus: CpuMask,
    /// `mems_allowed`: what `cpuset.mems` was set to.
    pub(super) mems: NodeMask,
    /// `exclusive_cpus`: what `cpuset.cpus.exclusive` was set to.
    pub(super) exclusive: CpuMask,
    /// `effective_xcpus` (for the top cpuset: every CPU, see [`Snap::exl`]).
    pub(super) xcpus: CpuMask,
    /// CPUs handed to valid partitions below (derived at each commit).
    pub(super) granted: CpuMask,
    /// `partition_root_state`.
    pub(super) prs: i8,
    /// `prs_err`.
    pub(super) err: u8,
    /// A remote partition (on Linux's `remote_children` list).
    pub(super) remote: bool,
}

impl V2 {
    /// `cpuset_css_alloc` on v2: nothing set, a member; the top cpuset a partition root.
    pub(super) const fn new(top: bool) -> V2 {
        V2 {
            cpus: CpuMask::new(),
            mems: NodeMask::new(),
            exclusive: CpuMask::new(),
            xcpus: CpuMask::new(),
            granted: CpuMask::new(),
            prs: if top { PRS_ROOT } else { PRS_MEMBER },
            err: 0,
            remote: false,
        }
    }

    /// `user_xcpus()`: `exclusive_cpus`, or `cpus_allowed` when that is empty.
    fn user_xcpus(&self) -> CpuMask {
        if self.exclusive.is_empty() {
            self.cpus
        } else {
            self.exclusive
        }
    }
}

fn v2_of(css: Css<'_, Cpuset>) -> V2 {
    *css.state().v2.lock()
}

/// `effective_cpus` of a v2 cpuset on a machine with `nr_cpus` CPUs (see the module doc).
///
/// Walks up to the nearest valid partition root (or the top), then down again: the
/// depth of the cpuset squared in parent steps, no allocation.
pub fn effective_cpus(css: Css<'_, Cpuset>, nr_cpus: usize) -> CpuMask {
    let all = CpuMask::full(nr_cpus);
    let mut depth = 0usize;
    let mut cur = css;
    let base = loop {
        let v = v2_of(cur);
        match cur.parent() {
            None => break all.andnot(&v.granted),
            Some(p) if v.prs <= 0 => {
                depth += 1;
                cur = p;
            }
            Some(_) => break v.xcpus.and(&all).andnot(&v.granted),
        }
    };
    down(css, depth, base, |v, e| {
        let x = v.cpus.and(e);
        if x.is_empty() {
            *e
        } else {
            x
        }
    })
}

/// `effective_mems` of a v2 cpuset on a machine with `nr_mems` nodes.
pub fn effective_mems(css: Css<'_, Cpuset>, nr_mems: usize) -> NodeMask {
    let depth = css.ancestors_and_self().count().saturating_sub(1);
    down(css, depth, NodeMask::full(nr_mems), |v, e| {
        let x = v.mems.and(e);
        if x.is_empty() {
            *e
        } else {
            x
        }
    })
}

/// Apply `step` from the ancestor `depth - 1` levels above `css` down to `css`, starting
/// from `base` (the mask of the ancestor `depth` levels up).
fn down<M>(css: Css<'_, Cpuset>, depth: usize, base: M, step: impl Fn(&V2, &M) -> M) -> M {
    let mut e = base;
    for level in (0..depth).rev() {
        let mut node = css;
        for _ in 0..level {
            match node.parent() {
                Some(p) => node = p,
                None => break,
            }
        }
        e = step(&v2_of(node), &e);
    }
    e
}

/// Partition commands of `update_parent_effective_cpumask` (`enum partition_cmd`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cmd {
    Enable,
    EnableIsolated,
    Disable,
    Update,
    Invalidate,
}

/// A cpuset in the snapshot.
struct Node<'a> {
    css: Css<'a, Cpuset>,
    parent: usize,
    depth: usize,
    /// The cgroup itself has tasks (`nr_populated_csets`; the top always).
    own_tasks: bool,
    /// The cgroup or a descendant has tasks (`cgroup_is_populated`).
    populated: bool,
    v: V2,
    /// Linux's stored `effective_cpus`, as the walks leave it.
    eff: CpuMask,
}

/// The whole hierarchy's cpusets, in pre-order (index 0 is the top cpuset), with
/// Linux's write-side functions over them.
struct Snap<'a> {
    n: Vec<Node<'a>>,
    /// Every CPU of the machine (`cpu_active_mask`, `cpu_possible_mask`).
    all: CpuMask,
    /// The writer has `CAP_SYS_ADMIN` (`capable()` in the remote-partition paths).
    admin: bool,
    nesting: u32,
}

impl<'a> Snap<'a> {
    /// Copy every cpuset of `ctx`'s hierarchy. The index of `ctx`'s own cpuset is
    /// returned beside the snapshot.
    fn take(ctx: &FileCtxOf<'a, Cpuset>) -> Result<(Snap<'a>, usize)> {
        let count = ctx.hierarchy().count();
        let mut n: Vec<Node<'a>> = Vec::new();
        try_reserve_exact(&mut n, count, Gfp::KERNEL)?;
        let all = CpuMask::full(ctx.nr_cpus());
        // The chain of nodes from the top to the last one pushed: in pre-order a node's
        // parent is on it.
        let mut path: Vec<usize> = Vec::new();
        try_reserve_exact(&mut path, count, Gfp::KERNEL)?;
        let mut me = usize::MAX;
        for (i, peer) in ctx.hierarchy().take(count).enumerate() {
            let css = peer.css();
            let mut v = v2_of(css);
            let (parent, depth) = match css.parent() {
                None => (usize::MAX, 0),
                Some(p) => {
                    while let Some(&top) = path.last() {
                        if n.get(top).is_some_and(|x| x.css.same(p)) {
                            break;
                        }
                        path.pop();
                    }
                    match path.last() {
                        Some(&pi) => (pi, path.len()),
                        None => return Err(Error::EINVAL),
                    }
                }
            };
            // Within the capacity reserved: one entry per node.
            path.push(i);
            if parent == usize::MAX {
                v.xcpus = all;
                v.prs = PRS_ROOT;
            }
            if css.same(ctx.css()) {
                me = i;
            }
            n.push(Node {
                css,
                parent,
                depth,
                own_tasks: peer.has_tasks(),
                populated: peer.is_populated(),
                v,
                eff: CpuMask::new(),
            });
        }
        if me == usize::MAX || n.is_empty() {
            return Err(Error::ENODEV);
        }
        let mut s = Snap {
            n,
            all,
            admin: ctx.caller().creds.cap_sys_admin,
            nesting: 0,
        };
        s.derive();
        for i in 0..s.n.len() {
            let e = s.derived_eff(i);
            s.n[i].eff = e;
        }
        Ok((s, me))
    }

    /// Recompute every `granted` from the partition states.
    fn derive(&mut self) {
        for node in self.n.iter_mut() {
            node.v.granted = CpuMask::new();
        }
        for j in 1..self.n.len() {
            let v = self.n[j].v;
            if v.prs > 0 {
                let to = if v.remote { 0 } else { self.n[j].parent };
                if let Some(t) = self.n.get_mut(to) {
                    t.v.granted = t.v.granted.or(&v.xcpus);
                }
            }
        }
    }

    /// The effective CPUs the readers will derive for node `i` (parents first).
    fn derived_eff(&self, i: usize) -> CpuMask {
        let v = &self.n[i].v;
        if i == 0 {
            return self.all.andnot(&v.granted);
        }
        if v.prs > 0 {
            return v.xcpus.and(&self.all).andnot(&v.granted);
        }
        let pe = self.n[self.n[i].parent].eff;
        let x = v.cpus.and(&pe);
        if x.is_empty() {
            pe
        } else {
            x
        }
    }

    /// Write every changed configuration back.
    fn commit(mut self) {
        self.derive();
        for node in &self.n {
            let mut cur = node.css.state().v2.lock();
            let mut v = node.v;
            if node.parent == usize::MAX {
                // The top cpuset's `xcpus` stays "every CPU" implicitly.
                v.xcpus = cur.xcpus;
                v.prs = cur.prs;
            }
            if *cur != v {
                *cur = v;
            }
        }
    }

    fn parent(&self, i: usize) -> usize {
        self.n[i].parent
    }

    fn prs(&self, i: usize) -> i8 {
        self.n[i].v.prs
    }

    fn valid(&self, i: usize) -> bool {
        self.prs(i) > 0
    }

    fn invalid(&self, i: usize) -> bool {
        self.prs(i) < 0
    }

    /// `effective_xcpus` (the top cpuset's is every CPU; so is the top's "parent's").
    fn exl(&self, i: usize) -> CpuMask {
        match self.n.get(i) {
            Some(x) if i != 0 => x.v.xcpus,
            _ => self.all,
        }
    }

    /// `is_cpu_exclusive()`: on v2 set exactly while a valid partition root
    /// (`update_partition_exclusive_flag`).
    fn excl(&self, i: usize) -> bool {
        i == 0 || self.valid(i)
    }

    /// The end (exclusive) of node `i`'s subtree in pre-order.
    fn subtree_end(&self, i: usize) -> usize {
        let d = self.n[i].depth;
        (i + 1..self.n.len())
            .find(|&j| self.n[j].depth <= d)
            .unwrap_or(self.n.len())
    }

    fn children(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        (i + 1..self.subtree_end(i)).filter(move |&j| self.n[j].parent == i)
    }

    fn siblings(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        let p = self.n[i].parent;
        let range = if p == usize::MAX {
            0..0
        } else {
            p + 1..self.subtree_end(p)
        };
        range.filter(move |&j| j != i && self.n[j].parent == p)
    }

    /// `nr_subparts`: valid local partitions among the children.
    fn nr_subparts(&self, i: usize) -> usize {
        self.children(i)
            .filter(|&c| self.valid(c) && !self.n[c].v.remote)
            .count()
    }

    /// `partition_is_populated(cs, excluded_child)`.
    fn partition_is_populated(&self, i: usize, excluded: Option<usize>) -> bool {
        if self.n[i].own_tasks {
            return true;
        }
        if excluded.is_none() && self.nr_subparts(i) == 0 {
            return self.n[i].populated;
        }
        self.children(i)
            .any(|c| Some(c) != excluded && !self.valid(c) && self.n[c].populated)
    }

    /// `subpartitions_cpus`: CPUs the top cpuset handed to partitions.
    fn subpartitions(&self) -> CpuMask {
        let mut m = CpuMask::new();
        for j in 1..self.n.len() {
            let v = &self.n[j].v;
            if v.prs > 0 && (v.remote || self.n[j].parent == 0) {
                m = m.or(&v.xcpus);
            }
        }
        m
    }

    /// `compute_effective_exclusive_cpumask(cs, xcpus, real_cs)`: with `trial`, the
    /// trial configuration of node `i` (Linux's `real_cs` case). Returns the mask and the
    /// number of siblings it conflicted with.
    fn ceecm(&self, i: usize, trial: Option<&V2>) -> (CpuMask, u32) {
        let v = trial.unwrap_or(&self.n[i].v);
        let mut x = v.user_xcpus().and(&self.exl(self.parent(i)));
        if trial.is_none() && !v.exclusive.is_empty() {
            return (x, 0);
        }
        let mut conflicts = 0;
        for s in self.siblings(i) {
            let sv = &self.n[s].v;
            if x.intersects(&sv.exclusive) {
                x = x.andnot(&sv.exclusive);
                conflicts += 1;
                continue;
            }
            if x.intersects(&sv.xcpus) {
                x = x.andnot(&sv.xcpus);
                conflicts += 1;
            }
        }
        (x, conflicts)
    }

    /// `validate_change(cur, trial)` on v2 (no `cpuset1_validate_change`): a populated
    /// cpuset keeps a CPU and a node (`ENOSPC`), siblings stay exclusive (`EINVAL`).
    /// `trial_excl` is the trial `CS_CPU_EXCLUSIVE`.
    fn validate(&self, i: usize, trial: &V2, trial_excl: bool) -> Result {
        if i == 0 {
            return Ok(());
        }
        let cur = &self.n[i].v;
        if self.n[i].populated
            && ((!cur.cpus.is_empty() && trial.cpus.is_empty())
                || (!cur.mems.is_empty() && trial.mems.is_empty()))
        {
            return Err(Error::ENOSPC);
        }
        // (The SCHED_DEADLINE bandwidth check, EBUSY, has nothing to count here.)
        for c in self.siblings(i) {
            let cv = &self.n[c].v;
            let txset = !trial.exclusive.is_empty();
            let cxset = !cv.exclusive.is_empty();
            if trial_excl || self.excl(c) || (txset && cxset) {
                // cpusets_are_exclusive()
                if trial.user_xcpus().intersects(&cv.user_xcpus()) {
                    return Err(Error::EINVAL);
                }
            } else if txset || cxset {
                // One side's exclusive CPUs would swallow the other's whole cpus.
                let (xcpus, acpus) = if txset {
                    (trial.exclusive, cv.cpus)
                } else {
                    (cv.exclusive, trial.cpus)
                };
                if !acpus.is_empty() && acpus.is_subset_of(&xcpus) {
                    return Err(Error::EINVAL);
                }
            }
            // (mem_exclusive is never set below the top on v2.)
        }
        Ok(())
    }

    /// `tasks_nocpu_error(parent, cs, xcpus)`.
    fn tasks_nocpu_error(&self, p: usize, i: usize, xcpus: &CpuMask) -> bool {
        let Some(parent) = self.n.get(p) else {
            return false;
        };
        (parent.eff.is_subset_of(xcpus) && self.partition_is_populated(p, Some(i)))
            || (!xcpus.intersects(&self.all) && self.partition_is_populated(i, None))
    }

    /// `partition_xcpus_add(new_prs, parent, xcpus)` on the effective masks (the
    /// isolated and subpartition masks are derived).
    fn xcpus_add(&mut self, p: usize, xcpus: &CpuMask) {
        self.n[p].eff = self.n[p].eff.andnot(xcpus);
    }

    /// `partition_xcpus_del(old_prs, parent, xcpus)`.
    fn xcpus_del(&mut self, p: usize, xcpus: &CpuMask) {
        let back = xcpus.and(&self.all);
        self.n[p].eff = self.n[p].eff.or(&back);
    }

    /// `reset_partition_data(cs)`.
    fn reset_partition_data(&mut self, i: usize) {
        let p = self.parent(i);
        if p == usize::MAX {
            return;
        }
        if self.n[i].v.exclusive.is_empty() {
            self.n[i].v.xcpus = CpuMask::new();
        }
        let pe = self.n[p].eff;
        let x = self.n[i].v.cpus.and(&pe);
        self.n[i].eff = if x.is_empty() { pe } else { x };
    }

    /// `notify_partition_change(cs, old_prs)`: a valid partition root has no error.
    fn notify(&mut self, i: usize, old: i8) {
        if old != self.prs(i) && self.valid(i) {
            self.n[i].v.err = 0;
        }
    }

    /// `update_parent_effective_cpumask(cs, cmd, newmask, tmp)`: 0 or a `PERR_*`.
    #[allow(clippy::too_many_lines)] // one Linux function, kept in one piece to compare
    fn update_parent(&mut self, i: usize, cmd: Cmd, newmask: Option<CpuMask>) -> u8 {
        let p = self.parent(i);
        if p == usize::MAX {
            // The top cpuset has no parent to take CPUs from (never asked).
            return 0;
        }
        let old = self.prs(i);
        let mut new = old;
        let (mut adding, mut deleting) = (false, false);
        let (mut addmask, mut delmask) = (CpuMask::new(), CpuMask::new());
        let xcpus = self.n[i].v.user_xcpus();
        let mut part_error = 0u8;
        'write_error: {
            if cmd == Cmd::Invalidate {
                if old < 0 {
                    return 0;
                }
                if self.valid(p) {
                    addmask = xcpus.and(&self.exl(p));
                    adding = !addmask.is_empty();
                }
                if old > 0 {
                    new = -old;
                }
                break 'write_error;
            }
            if !self.valid(p) {
                return if self.invalid(p) {
                    PERR_INVPARENT
                } else {
                    PERR_NOTPART
                };
            }
            if newmask.is_none() && xcpus.is_empty() && self.n[i].v.exclusive.is_empty() {
                return PERR_CPUSEMPTY;
            }
            let mut nocpu = self.tasks_nocpu_error(p, i, &xcpus);
            match (cmd, newmask) {
                (Cmd::Enable | Cmd::EnableIsolated, _) => {
                    let (x, _) = self.ceecm(i, None);
                    if x.is_empty() {
                        return PERR_INVCPUS;
                    }
                    if nocpu {
                        return PERR_NOCPUS;
                    }
                    delmask = x;
                    deleting = true;
                    new = if cmd == Cmd::Enable {
                        PRS_ROOT
                    } else {
                        PRS_ISOLATED
                    };
                }
                (Cmd::Disable, _) => {
                    if self.valid(i) {
                        addmask = self.n[i].v.xcpus;
                        adding = true;
                    }
                    new = PRS_MEMBER;
                }
                (_, Some(nm)) => {
                    if nm.is_empty() {
                        part_error = PERR_CPUSEMPTY;
                        break 'write_error;
                    }
                    nocpu |= self.tasks_nocpu_error(p, i, &nm);
                    let pex = self.exl(p);
                    if old < 0 {
                        delmask = nm.and(&pex);
                        deleting = !delmask.is_empty();
                    } else {
                        addmask = xcpus.andnot(&nm).and(&pex);
                        adding = !addmask.is_empty();
                        delmask = nm.andnot(&xcpus).and(&pex);
                        deleting = !delmask.is_empty();
                    }
                    if nocpu && (!adding || !addmask.intersects(&self.all)) {
                        part_error = PERR_NOCPUS;
                        deleting = false;
                        addmask = xcpus.and(&pex);
                        adding = !addmask.is_empty();
                    }
                }
                (_, None) => {
                    if nocpu {
                        part_error = PERR_NOCPUS;
                        if self.valid(i) {
                            addmask = xcpus.and(&self.exl(p));
                            adding = !addmask.is_empty();
                        }
                    } else if self.invalid(i)
                        && !xcpus.is_empty()
                        && xcpus.is_subset_of(&self.exl(p))
                    {
                        // Back to valid only if exclusive with every sibling.
                        let exclusive = self
                            .siblings(i)
                            .all(|c| !xcpus.intersects(&self.n[c].v.user_xcpus()));
                        if exclusive {
                            delmask = xcpus.and(&self.n[p].eff);
                            deleting = !delmask.is_empty();
                        } else {
                            part_error = PERR_NOTEXCL;
                        }
                    } else if self.invalid(i) {
                        // Linux's source falls through here with no error, turning an
                        // invalid partition whose CPUs the parent cannot grant into a
                        // valid one with no exclusive CPUs (which its own
                        // WARN_ON_ONCE in update_prstate calls a bug). gpc keeps it
                        // invalid, for the reason it has (doc/v2-cpuset.md).
                        part_error = match self.n[i].v.err {
                            0 => PERR_INVCPUS,
                            e => e,
                        };
                    }
                }
            }
        }
        if part_error != 0 {
            self.n[i].v.err = part_error;
        }
        if cmd == Cmd::Update {
            // Valid with an error, or invalid without one: the state flips.
            if (old > 0 && part_error != 0) || (old < 0 && part_error == 0) {
                new = -old;
            }
        }
        if !adding && !deleting && new == old {
            return 0;
        }
        // update_partition_exclusive_flag(): turning CS_CPU_EXCLUSIVE on validates.
        if old != new && cmd != Cmd::Update && new > 0 && !self.excl(i) {
            let v = self.n[i].v;
            if self.validate(i, &v, true).is_err() {
                return PERR_NOTEXCL;
            }
        }
        self.n[i].v.prs = new;
        if adding {
            self.xcpus_del(p, &addmask);
        }
        if deleting {
            self.xcpus_add(p, &delmask);
        }
        if adding || deleting {
            self.update_siblings(p, Some(i));
        }
        self.notify(i, old);
        0
    }

    /// `compute_partition_effective_cpumask(cs, new_ecpus)`: may invalidate children.
    fn partition_eff(&mut self, i: usize) -> CpuMask {
        let populated = self.partition_is_populated(i, None);
        let (x, _) = self.ceecm(i, None);
        let mut new = x.and(&self.all);
        let end = self.subtree_end(i);
        for c in i + 1..end {
            if self.n[c].parent != i || !self.valid(c) {
                continue;
            }
            let cx = self.n[c].v.xcpus;
            let err = if !cx.is_subset_of(&self.exl(i)) {
                PERR_INVCPUS
            } else if populated && new.is_subset_of(&cx) {
                PERR_NOCPUS
            } else {
                0
            };
            self.n[c].v.err = err;
            if err != 0 {
                // make_partition_invalid()
                let prs = self.n[c].v.prs;
                self.n[c].v.prs = -prs;
                continue;
            }
            new = new.andnot(&cx);
        }
        new
    }

    /// `update_cpumasks_hier(cs, tmp, force)`.
    fn update_hier(&mut self, cs: usize, force: bool) {
        if self.nesting >= MAX_NESTING {
            return;
        }
        self.nesting += 1;
        let mut k = cs;
        // The subtree's end moves only if nodes were added, which never happens here.
        let end = self.subtree_end(cs);
        while k < end {
            let cp = k;
            k += 1;
            let p = self.parent(cp);
            if p == usize::MAX {
                continue;
            }
            let mut remote = self.n[cp].v.remote;
            let old = self.prs(cp);
            let mut new = old;
            if remote && cp != cs {
                let (x, _) = self.ceecm(cp, None);
                if x == self.n[cp].v.xcpus {
                    k = self.subtree_end(cp);
                    continue;
                }
                self.remote_cpus_update(cp, None, x);
                new = self.prs(cp);
                remote = new == old;
            }
            let mut new_cpus = if remote || (self.valid(p) && self.valid(cp)) {
                self.partition_eff(cp)
            } else {
                self.n[cp].v.cpus.and(&self.n[p].eff)
            };
            let mut update_parent = false;
            if !remote {
                let empty_partition = self.valid(cp) && new_cpus.is_empty();
                if empty_partition {
                    update_parent = true;
                } else {
                    if new_cpus.is_empty() {
                        new_cpus = self.n[p].eff;
                    }
                    if self.prs(cp) == PRS_MEMBER && !force && new_cpus == self.n[cp].eff {
                        k = self.subtree_end(cp);
                        continue;
                    }
                }
                // update_parent_effective:
                if cp != cs && old != 0 {
                    if self.valid(p) {
                        update_parent = true;
                    } else if self.valid(cp) {
                        new = -self.prs(cp);
                        self.n[cp].v.err = if self.invalid(p) {
                            PERR_INVPARENT
                        } else {
                            PERR_NOTPART
                        };
                    }
                }
            }
            if update_parent {
                self.update_parent(cp, Cmd::Update, None);
                new = self.prs(cp);
            }
            self.n[cp].eff = new_cpus;
            self.n[cp].v.prs = new;
            if !self.n[cp].v.exclusive.is_empty() && cp != cs {
                self.n[cp].v.xcpus = self.ceecm(cp, None).0;
            }
            if new > 0 && self.n[cp].v.exclusive.is_empty() {
                self.n[cp].v.xcpus = self.n[cp].v.cpus.and(&self.exl(p));
            } else if new < 0 {
                self.reset_partition_data(cp);
            }
            self.notify(cp, old);
        }
        self.nesting -= 1;
    }

    /// `update_sibling_cpumasks(parent, cs, tmp)`.
    fn update_siblings(&mut self, p: usize, cs: Option<usize>) {
        let end = self.subtree_end(p);
        for s in p + 1..end {
            if self.n[s].parent != p || Some(s) == cs {
                continue;
            }
            if !self.valid(s) {
                // Linux compares `cpus ∩ parent's effective` without the fallback to the
                // parent's, so a sibling whose effective went empty with its parent's
                // stays empty when the parent gets CPUs back. gpc's effective masks are
                // derived (the module doc): compare what they will be.
                let pe = self.n[p].eff;
                let mut nc = self.n[s].v.cpus.and(&pe);
                if nc.is_empty() {
                    nc = pe;
                }
                if nc == self.n[s].eff {
                    continue;
                }
            } else if self.n[s].v.remote {
                continue;
            }
            self.update_hier(s, false);
        }
    }

    /// `remote_partition_enable(cs, new_prs, tmp)`: 0 or a `PERR_*`.
    fn remote_enable(&mut self, i: usize) -> u8 {
        if !self.admin {
            return PERR_ACCESS;
        }
        let (x, _) = self.ceecm(i, None);
        if !x.intersects(&self.all) || self.n[0].eff.is_subset_of(&x) {
            return PERR_INVCPUS;
        }
        self.xcpus_add(0, &x);
        self.n[i].v.remote = true;
        self.n[i].v.xcpus = x;
        self.n[i].v.err = 0;
        self.update_siblings(0, None);
        0
    }

    /// `remote_partition_disable(cs, tmp)`.
    fn remote_disable(&mut self, i: usize) {
        self.n[i].v.remote = false;
        let x = self.n[i].v.xcpus;
        self.xcpus_del(0, &x);
        let prs = self.prs(i);
        self.n[i].v.prs = if self.n[i].v.err != 0 {
            -prs
        } else {
            PRS_MEMBER
        };
        self.n[i].v.xcpus = self.ceecm(i, None).0;
        self.reset_partition_data(i);
        self.update_siblings(0, None);
    }

    /// `remote_cpus_update(cs, xcpus, excpus, tmp)`.
    fn remote_cpus_update(&mut self, i: usize, xcpus: Option<CpuMask>, excpus: CpuMask) {
        if excpus.is_empty() {
            self.n[i].v.err = PERR_CPUSEMPTY;
            self.remote_disable(i);
            return;
        }
        let cur = self.n[i].v.xcpus;
        let add = excpus.andnot(&cur);
        let del = cur.andnot(&excpus);
        if !add.is_empty() {
            if !self.admin {
                self.n[i].v.err = PERR_ACCESS;
            } else if add.intersects(&self.subpartitions()) || self.n[0].eff.is_subset_of(&add) {
                self.n[i].v.err = PERR_NOCPUS;
            }
            if self.n[i].v.err != 0 {
                self.remote_disable(i);
                return;
            }
        }
        self.xcpus_add(0, &add);
        self.xcpus_del(0, &del);
        self.n[i].v.xcpus = excpus;
        if let Some(x) = xcpus {
            self.n[i].v.exclusive = x;
        }
        self.update_siblings(0, None);
    }

    /// `update_cpumask(cs, trialcs, buf)` on v2.
    fn update_cpumask(&mut self, cs: usize, cpus: CpuMask, buf_empty: bool) -> Result {
        let p = self.parent(cs);
        if p == usize::MAX {
            return Err(Error::EACCES);
        }
        let mut trial = self.n[cs].v;
        trial.cpus = cpus;
        if buf_empty {
            if trial.exclusive.is_empty() {
                trial.xcpus = CpuMask::new();
            }
        } else if !trial.exclusive.is_empty() || self.valid(cs) {
            trial.xcpus = self.ceecm(cs, Some(&trial)).0;
        }
        if self.n[cs].v.cpus == trial.cpus {
            return Ok(());
        }
        let old_prs = self.prs(cs);
        let mut invalidate = false;
        if old_prs != 0 {
            let err = if self.valid(cs) && trial.xcpus.is_empty() {
                PERR_INVCPUS
            } else if self.tasks_nocpu_error(p, cs, &trial.xcpus) {
                PERR_NOCPUS
            } else {
                0
            };
            if err != 0 {
                invalidate = true;
                self.n[cs].v.err = err;
            }
        }
        let force = self.n[cs].v.xcpus != trial.xcpus;
        match self.validate(cs, &trial, self.excl(cs)) {
            Err(Error::EINVAL) => {
                // A sibling-exclusivity conflict: the write goes through, the partitions
                // in the way (and this one) become invalid.
                invalidate = true;
                let xc = trial.user_xcpus();
                let end = self.subtree_end(p);
                for c in p + 1..end {
                    if self.n[c].parent == p && self.valid(c) && xc.intersects(&self.n[c].v.xcpus) {
                        self.update_parent(c, Cmd::Invalidate, None);
                        if c != cs {
                            // Linux leaves the invalidated sibling's effective_cpus, and
                            // its child partitions, as they were until a later walk; gpc
                            // walks it now (its masks are derived, doc/v2-cpuset.md), so
                            // its valid children read "Parent is an invalid partition
                            // root" at once.
                            self.update_hier(c, true);
                        }
                    }
                }
            }
            r => r?,
        }
        if self.valid(cs) || (self.invalid(cs) && !invalidate) {
            let xc = if trial.xcpus.is_empty() && self.invalid(cs) {
                trial.cpus
            } else {
                trial.xcpus
            };
            if self.n[cs].v.remote {
                self.remote_cpus_update(cs, None, xc);
            } else if invalidate {
                self.update_parent(cs, Cmd::Invalidate, None);
            } else {
                self.update_parent(cs, Cmd::Update, Some(xc));
            }
        }
        self.n[cs].v.cpus = trial.cpus;
        self.n[cs].v.xcpus = trial.xcpus;
        if old_prs > 0 && !self.valid(cs) {
            self.reset_partition_data(cs);
        }
        self.update_hier(cs, force);
        Ok(())
    }

    /// `update_exclusive_cpumask(cs, trialcs, buf)`.
    fn update_exclusive(&mut self, cs: usize, exclusive: CpuMask, buf_empty: bool) -> Result {
        let p = self.parent(cs);
        if p == usize::MAX {
            return Err(Error::EINVAL);
        }
        let mut trial = self.n[cs].v;
        trial.exclusive = exclusive;
        if buf_empty {
            trial.xcpus = CpuMask::new();
        }
        if self.n[cs].v.exclusive == trial.exclusive {
            return Ok(());
        }
        if !buf_empty {
            let (x, conflicts) = self.ceecm(cs, Some(&trial));
            if conflicts > 0 {
                return Err(Error::EINVAL);
            }
            trial.xcpus = x;
        }
        let force = self.n[cs].v.xcpus != trial.xcpus;
        self.validate(cs, &trial, self.excl(cs))?;
        let old_prs = self.prs(cs);
        if old_prs != 0 {
            let err = if trial.xcpus.is_empty() {
                PERR_INVCPUS
            } else if self.tasks_nocpu_error(p, cs, &trial.xcpus) {
                PERR_NOCPUS
            } else {
                0
            };
            let invalidate = err != 0;
            if invalidate {
                self.n[cs].v.err = err;
            }
            if self.n[cs].v.remote {
                if invalidate {
                    self.remote_disable(cs);
                } else {
                    self.remote_cpus_update(cs, Some(trial.exclusive), trial.xcpus);
                }
            } else if invalidate {
                self.update_parent(cs, Cmd::Invalidate, None);
            } else {
                self.update_parent(cs, Cmd::Update, Some(trial.xcpus));
            }
        }
        self.n[cs].v.exclusive = trial.exclusive;
        self.n[cs].v.xcpus = trial.xcpus;
        if old_prs > 0 && !self.valid(cs) {
            self.reset_partition_data(cs);
        }
        if self.valid(cs) || force {
            self.update_hier(cs, force);
        }
        Ok(())
    }

    /// `update_prstate(cs, new_prs)`.
    fn update_prstate(&mut self, cs: usize, mut new: i8) {
        let p = self.parent(cs);
        if p == usize::MAX {
            return;
        }
        let mut old = self.prs(cs);
        if old == new {
            return;
        }
        if new != 0 && old < 0 {
            old = PRS_MEMBER;
        }
        // update_partition_exclusive_flag()
        let mut err = 0u8;
        if new > 0 && !self.excl(cs) {
            let v = self.n[cs].v;
            if self.validate(cs, &v, true).is_err() {
                err = PERR_NOTEXCL;
            }
        }
        if err == 0 {
            if old == 0 {
                let v = self.n[cs].v;
                if v.cpus.is_empty() && v.exclusive.is_empty() {
                    err = PERR_CPUSEMPTY;
                } else if p == 0 && v.exclusive.intersects(&self.subpartitions()) {
                    err = PERR_REMOTE;
                } else if self.valid(p) {
                    let cmd = if new == PRS_ROOT {
                        Cmd::Enable
                    } else {
                        Cmd::EnableIsolated
                    };
                    err = self.update_parent(cs, cmd, None);
                } else {
                    err = self.remote_enable(cs);
                }
            } else if new == 0 {
                // Back to member is always allowed, even if it disables child partitions.
                if self.n[cs].v.remote {
                    self.remote_disable(cs);
                } else {
                    self.update_parent(cs, Cmd::Disable, None);
                }
            }
            // (root <-> isolated changes only the load balancing and the isolated
            // CPUs, which are derived.)
        }
        if err != 0 {
            new = -new;
        }
        self.n[cs].v.prs = new;
        self.n[cs].v.err = err;
        if !self.valid(cs) {
            self.reset_partition_data(cs);
        }
        self.update_hier(cs, new == 0);
        self.notify(cs, old);
    }

    /// `update_nodemask(cs, trialcs, buf)` after the parse.
    fn update_nodemask(&mut self, cs: usize, mems: NodeMask) -> Result {
        if cs == 0 {
            return Err(Error::EACCES);
        }
        let mut trial = self.n[cs].v;
        trial.mems = mems;
        if self.n[cs].v.mems == mems {
            return Ok(());
        }
        self.validate(cs, &trial, self.excl(cs))?;
        self.n[cs].v.mems = mems;
        Ok(())
    }

    /// Test hook: the masks the readers derive equal the ones Linux's walks left.
    #[cfg(test)]
    fn check_derived(&mut self) {
        extern crate std;
        self.derive();
        // derived_eff reads the parent's `eff`, so compare in pre-order against a
        // fresh derivation that only ever reads derived values.
        let mut derived: Vec<CpuMask> = Vec::new();
        for i in 0..self.n.len() {
            let v = &self.n[i].v;
            let e = if i == 0 {
                self.all.andnot(&v.granted)
            } else if v.prs > 0 {
                v.xcpus.and(&self.all).andnot(&v.granted)
            } else {
                let pe = derived[self.n[i].parent];
                let x = v.cpus.and(&pe);
                if x.is_empty() {
                    pe
                } else {
                    x
                }
            };
            derived.push(e);
            if e != self.n[i].eff {
                for (j, x) in self.n.iter().enumerate() {
                    std::eprintln!(
                        "{j}: parent {} prs {} cpus {} xcpus {} granted {} eff {} err {}",
                        x.parent as isize,
                        x.v.prs,
                        x.v.cpus,
                        x.v.xcpus,
                        x.v.granted,
                        x.eff,
                        x.v.err
                    );
                }
            }
            assert_eq!(
                e, self.n[i].eff,
                "effective_cpus of node {i} derived differently"
            );
        }
    }
}

/// The machine's CPU and node counts as the last write saw them, for hooks that are not
/// told (before any write every v2 cpuset has the same masks, whatever the width).
pub(super) fn machine_size(css: Css<'_, Cpuset>) -> (usize, usize) {
    let top = css.ancestors_and_self().last().unwrap_or(css).state();
    let seen = |n: usize, max: usize| if n == 0 { max } else { n };
    (
        seen(top.seen_cpus.load(Ordering::Relaxed), CpuMask::BITS),
        seen(top.seen_mems.load(Ordering::Relaxed), NodeMask::BITS),
    )
}

/// Run `op` on a snapshot of `ctx`'s hierarchy and commit it if it succeeds.
fn with_snap(
    ctx: &FileCtxOf<'_, Cpuset>,
    op: impl FnOnce(&mut Snap<'_>, usize) -> Result,
) -> Result {
    let top = ctx
        .css()
        .ancestors_and_self()
        .last()
        .unwrap_or(ctx.css())
        .state();
    top.seen_cpus.store(ctx.nr_cpus(), Ordering::Relaxed);
    top.seen_mems.store(ctx.nr_mems(), Ordering::Relaxed);
    let (mut s, me) = Snap::take(ctx)?;
    op(&mut s, me)?;
    #[cfg(test)]
    s.check_derived();
    s.commit();
    Ok(())
}

pub(super) fn read_cpus(_: &Cpuset, ctx: &FileCtxOf<'_, Cpuset>, out: &mut Out<'_>) -> Result {
    writeln!(out, "{}", v2_of(ctx.css()).cpus)
}

pub(super) fn read_mems(_: &Cpuset, ctx: &FileCtxOf<'_, Cpuset>, out: &mut Out<'_>) -> Result {
    writeln!(out, "{}", v2_of(ctx.css()).mems)
}

pub(super) fn read_exclusive(_: &Cpuset, ctx: &FileCtxOf<'_, Cpuset>, out: &mut Out<'_>) -> Result {
    writeln!(out, "{}", v2_of(ctx.css()).exclusive)
}

pub(super) fn read_xcpus(_: &Cpuset, ctx: &FileCtxOf<'_, Cpuset>, out: &mut Out<'_>) -> Result {
    writeln!(out, "{}", v2_of(ctx.css()).xcpus)
}

pub(super) fn read_effective_cpus(
    _: &Cpuset,
    ctx: &FileCtxOf<'_, Cpuset>,
    out: &mut Out<'_>,
) -> Result {
    writeln!(out, "{}", effective_cpus(ctx.css(), ctx.nr_cpus()))
}

pub(super) fn read_effective_mems(
    _: &Cpuset,
    ctx: &FileCtxOf<'_, Cpuset>,
    out: &mut Out<'_>,
) -> Result {
    writeln!(out, "{}", effective_mems(ctx.css(), ctx.nr_mems()))
}

/// `FILE_ISOLATED_CPULIST`: the CPUs of isolated partitions not handed further down.
pub(super) fn read_isolated(_: &Cpuset, ctx: &FileCtxOf<'_, Cpuset>, out: &mut Out<'_>) -> Result {
    let all = CpuMask::full(ctx.nr_cpus());
    let mut iso = CpuMask::new();
    for peer in ctx.hierarchy() {
        let v = v2_of(peer.css());
        if v.prs == PRS_ISOLATED && !peer.css().is_root() {
            iso = iso.or(&v.xcpus.andnot(&v.granted).and(&all));
        }
    }
    writeln!(out, "{iso}")
}

/// `cpuset_partition_show`.
pub(super) fn read_partition(_: &Cpuset, ctx: &FileCtxOf<'_, Cpuset>, out: &mut Out<'_>) -> Result {
    let v = v2_of(ctx.css());
    let kind = match v.prs {
        PRS_ROOT => return writeln!(out, "root"),
        PRS_ISOLATED => return writeln!(out, "isolated"),
        PRS_MEMBER => return writeln!(out, "member"),
        -1 => "root",
        _ => "isolated",
    };
    match PERR_STRINGS.get(usize::from(v.err)).copied().flatten() {
        Some(why) => writeln!(out, "{kind} invalid ({why})"),
        None => writeln!(out, "{kind} invalid"),
    }
}

/// `cpuset_write_resmask` → `update_cpumask` on v2.
pub(super) fn write_cpus(_: &Cpuset, ctx: &FileCtxOf<'_, Cpuset>, data: &[u8]) -> Result {
    if ctx.css().is_root() {
        return Err(Error::EACCES);
    }
    let nc = ctx.nr_cpus();
    let cpus = parse_cpuset_cpus(data, nc)?;
    if !cpus.is_subset_of(&CpuMask::full(nc)) {
        return Err(Error::EINVAL);
    }
    let empty = strstrip(data).is_empty();
    with_snap(ctx, |s, me| s.update_cpumask(me, cpus, empty))
}

/// `cpuset_write_resmask` → `update_exclusive_cpumask`.
pub(super) fn write_exclusive(_: &Cpuset, ctx: &FileCtxOf<'_, Cpuset>, data: &[u8]) -> Result {
    // (CFTYPE_NOT_ON_ROOT: the top cpuset has no such file.)
    if ctx.css().is_root() {
        return Err(Error::EINVAL);
    }
    let exclusive = parse_cpuset_cpus(data, ctx.nr_cpus())?;
    let empty = strstrip(data).is_empty();
    with_snap(ctx, |s, me| s.update_exclusive(me, exclusive, empty))
}

/// `cpuset_write_resmask` → `update_nodemask` on v2.
pub(super) fn write_mems(_: &Cpuset, ctx: &FileCtxOf<'_, Cpuset>, data: &[u8]) -> Result {
    if ctx.css().is_root() {
        return Err(Error::EACCES);
    }
    let mems = parse_cpuset_mems(data)?;
    if !mems.is_subset_of(&NodeMask::full(ctx.nr_mems())) {
        return Err(Error::EINVAL);
    }
    with_snap(ctx, |s, me| s.update_nodemask(me, mems))
}

/// `cpuset_partition_write`: `strstrip`, then exactly `root`, `member` or `isolated`.
pub(super) fn write_partition(_: &Cpuset, ctx: &FileCtxOf<'_, Cpuset>, data: &[u8]) -> Result {
    let new = match strstrip(data) {
        b"root" => PRS_ROOT,
        b"member" => PRS_MEMBER,
        b"isolated" => PRS_ISOLATED,
        _ => return Err(Error::EINVAL),
    };
    // (CFTYPE_NOT_ON_ROOT: the top cpuset has no such file.)
    if ctx.css().is_root() {
        return Err(Error::EINVAL);
    }
    with_snap(ctx, |s, me| {
        s.update_prstate(me, new);
        Ok(())
    })
}

/// `cpuset_can_attach_check` on v2: only an empty `effective_cpus` refuses (a member
/// below a partition root that handed all its CPUs further down).
///
/// `can_attach` is not told the machine's size: the last write's is used
/// ([`machine_size`]).
pub(super) fn can_attach(_task: &TaskInfo, to: Css<'_, Cpuset>) -> Result {
    if effective_cpus(to, machine_size(to).0).is_empty() {
        return Err(Error::ENOSPC);
    }
    Ok(())
}

/// `cpuset_css_killed`: a valid partition root going away gives its CPUs back
/// (`update_prstate(cs, PRS_MEMBER)`). Without the hierarchy at hand (gpc's `destroy`),
/// only the parent's (or, for a remote partition, the top cpuset's) handed-out mask
/// changes; invalid sibling partitions are not re-validated (see doc/v2-cpuset.md).
pub(super) fn destroy(css: Css<'_, Cpuset>) {
    let v = v2_of(css);
    if v.prs <= 0 {
        return;
    }
    let target = if v.remote {
        css.ancestors_and_self().last()
    } else {
        css.parent()
    };
    if let Some(t) = target {
        let mut tv = t.state().v2.lock();
        tv.granted = tv.granted.andnot(&v.xcpus);
    }
    let mut me = css.state().v2.lock();
    me.prs = PRS_MEMBER;
    me.remote = false;
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)] // tests: a failed unwrap is a failed test
mod tests {
    extern crate std;

    use std::string::String;
    use std::vec::Vec;

    use gpc_core::testing::{OneHierarchy, TaskList, TestHost};
    use gpc_core::{Creds, Gpc, Pid};

    use super::*;

    gpc_core::one_hierarchy_harness!(World);

    impl World {
        /// The unified hierarchy on `cpus` CPUs and `mems` nodes, cpuset enabled at the
        /// root, and the children `names` made.
        fn new(cpus: usize, mems: usize, names: &[&str]) -> World {
            let gpc = Gpc::new(TestHost::new(cpus, mems), &[&Cpuset]).unwrap();
            let mut tasks = TaskList::new();
            tasks.add_init(&gpc).unwrap();
            let h = gpc.mount_v2("", &tasks.caller(Creds::ROOT, None)).unwrap();
            let w = World(OneHierarchy { tasks, gpc, h });
            w.write("cgroup.subtree_control", b"+cpuset").unwrap();
            for n in names {
                w.gpc.mkdir(w.h, n).unwrap();
            }
            w
        }

        fn r(&self, path: &str) -> String {
            let f = if path.contains('/') || path.starts_with("cpuset.") {
                String::from(path)
            } else {
                std::format!("cpuset.{path}")
            };
            let s = self.read(&f).unwrap();
            String::from(s.trim_end_matches('\n'))
        }

        fn w(&self, path: &str, data: &str) -> Result {
            self.write(path, data.as_bytes())
        }

        fn ok(&self, path: &str, data: &str) {
            self.w(path, data).unwrap();
        }

        /// What the scheduler gets for tasks of `path` (via the effect API).
        fn sched(&self, path: &str) -> String {
            let ss = self.gpc.subsys_id("cpuset").unwrap();
            self.gpc
                .with_container_css(self.h, path, ss, |c| {
                    let c = c.typed::<Cpuset>().unwrap();
                    std::format!("{}", super::super::effective_cpus(c, self.gpc.host().cpus))
                })
                .unwrap()
        }

        fn move_to(&self, path: &str, pid: Pid) -> Result {
            self.write(
                &std::format!("{path}/cgroup.procs"),
                std::format!("{pid}\n").as_bytes(),
            )
        }
    }

    #[test]
    fn files_flags_and_defaults() {
        let w = World::new(4, 2, &["a"]);
        let root: Vec<String> = w
            .ls("")
            .into_iter()
            .filter(|n| n.starts_with("cpuset."))
            .collect();
        assert_eq!(
            root,
            [
                "cpuset.cpus.effective",
                "cpuset.cpus.isolated",
                "cpuset.mems.effective"
            ]
        );
        let child: Vec<String> = w
            .ls("a")
            .into_iter()
            .filter(|n| n.starts_with("cpuset."))
            .collect();
        assert_eq!(
            child,
            [
                "cpuset.cpus",
                "cpuset.cpus.effective",
                "cpuset.cpus.exclusive",
                "cpuset.cpus.exclusive.effective",
                "cpuset.cpus.partition",
                "cpuset.mems",
                "cpuset.mems.effective"
            ]
        );
        for (f, v) in [
            ("cpuset.cpus.effective", "0-3"),
            ("cpuset.mems.effective", "0-1"),
            ("cpuset.cpus.isolated", ""),
            ("a/cpuset.cpus", ""),
            ("a/cpuset.mems", ""),
            ("a/cpuset.cpus.effective", "0-3"),
            ("a/cpuset.mems.effective", "0-1"),
            ("a/cpuset.cpus.partition", "member"),
            ("a/cpuset.cpus.exclusive", ""),
            ("a/cpuset.cpus.exclusive.effective", ""),
        ] {
            assert_eq!(w.r(f), v, "{f}");
            assert!(w.read(f).unwrap().ends_with('\n'), "{f}: one line");
        }
        for f in [
            "cpuset.cpus",
            "cpuset.mems",
            "cpuset.cpus.partition",
            "cpuset.cpus.exclusive",
            "cpuset.cpus.exclusive.effective",
        ] {
            assert_eq!(w.read(f), Err(Error::ENOENT), "{f} is NOT_ON_ROOT");
            assert_eq!(w.write(f, b"root"), Err(Error::ENOENT), "{f}");
        }
        assert_eq!(
            w.read("a/cpuset.cpus.isolated"),
            Err(Error::ENOENT),
            "ONLY_ON_ROOT"
        );
        for ro in [
            "a/cpuset.cpus.effective",
            "a/cpuset.mems.effective",
            "a/cpuset.cpus.exclusive.effective",
            "cpuset.cpus.isolated",
        ] {
            assert_eq!(w.write(ro, b"0\n"), Err(Error::EINVAL), "{ro}");
        }
        // No v1 file shows on v2.
        assert_eq!(w.read("a/cpuset.cpu_exclusive"), Err(Error::ENOENT));
        assert_eq!(w.read("a/cpuset.effective_cpus"), Err(Error::ENOENT));
    }

    #[test]
    fn hostile_writes() {
        let w = World::new(4, 1, &["a"]);
        let f = "a/cpuset.cpus";
        for (input, shown) in [
            ("0-1\n", "0-1"),
            ("  3 \n", "3"),
            ("1,0", "0-1"),
            ("\n", ""),
            ("0-3:2/4", "0-1"),
        ] {
            w.ok(f, input);
            assert_eq!(w.r(f), shown, "{input:?}");
        }
        // (Blanks separate regions like commas: "1 2" is 1-2, as bitmap_parselist has it.)
        w.ok(f, "1 2");
        assert_eq!(w.r(f), "1-2");
        for bad in ["x", "-1", "3-1", "1-", "0x1", "1;2", "root"] {
            assert_eq!(w.w(f, bad), Err(Error::EINVAL), "{bad:?}");
        }
        for far in ["4", "0-4", "255", "4294967294"] {
            assert_eq!(w.w(f, far), Err(Error::ERANGE), "{far:?}");
        }
        assert_eq!(w.w(f, "4294967296"), Err(Error::EOVERFLOW));
        assert_eq!(w.w(f, "99999999999999999999999"), Err(Error::EOVERFLOW));
        assert_eq!(w.r(f), "1-2", "failed writes change nothing");
        let x = "a/cpuset.cpus.exclusive";
        for bad in ["x", "3-1", ",-"] {
            assert_eq!(w.w(x, bad), Err(Error::EINVAL), "{bad:?}");
        }
        assert_eq!(w.w(x, "4"), Err(Error::ERANGE));
        assert_eq!(w.w(x, "4294967296"), Err(Error::EOVERFLOW));
        let m = "a/cpuset.mems";
        assert_eq!(w.w(m, "1"), Err(Error::EINVAL), "not on the machine");
        assert_eq!(w.w(m, "1024"), Err(Error::ERANGE));
        assert_eq!(w.w(m, "zero"), Err(Error::EINVAL));
        w.ok(m, "0\n");
        assert_eq!(w.r(m), "0");
        let p = "a/cpuset.cpus.partition";
        for bad in [
            "root x",
            "Root",
            "\n",
            "roots",
            "member\nroot",
            "1",
            "invalid",
            "root invalid",
        ] {
            assert_eq!(w.w(p, bad), Err(Error::EINVAL), "{bad:?}");
        }
        assert_eq!(w.r(p), "member");
        w.ok(p, " \troot \n");
        assert_eq!(w.r(p), "root");
        w.ok(p, "member\0junk");
        assert_eq!(w.r(p), "member");
        w.ok(p, "member");
        assert_eq!(w.r(p), "member");
    }

    /// Documentation/admin-guide/cgroup-v2.rst: an empty `cpuset.cpus` means the
    /// parent's CPUs; effective = requested ∩ parent's effective, else the parent's;
    /// a request outside the parent is accepted.
    #[test]
    fn effective_masks_inherit() {
        let w = World::new(4, 2, &["a"]);
        w.ok("a/cgroup.subtree_control", "+cpuset");
        w.gpc.mkdir(w.h, "a/b").unwrap();
        assert_eq!(w.r("a/b/cpuset.cpus.effective"), "0-3");
        w.ok("a/cpuset.cpus", "0-1");
        w.ok("a/cpuset.mems", "1");
        assert_eq!(w.r("a/cpuset.cpus.effective"), "0-1");
        assert_eq!(w.r("a/b/cpuset.cpus.effective"), "0-1");
        assert_eq!(w.r("a/b/cpuset.mems.effective"), "1");
        w.ok("a/b/cpuset.cpus", "1-3");
        assert_eq!(
            w.r("a/b/cpuset.cpus"),
            "1-3",
            "outside the parent: accepted"
        );
        assert_eq!(w.r("a/b/cpuset.cpus.effective"), "1");
        w.ok("a/b/cpuset.cpus", "2-3");
        assert_eq!(
            w.r("a/b/cpuset.cpus.effective"),
            "0-1",
            "nothing in common: the parent's"
        );
        w.ok("a/cpuset.cpus", "\n");
        assert_eq!(w.r("a/b/cpuset.cpus.effective"), "2-3");
        assert_eq!(w.sched("a/b"), "2-3");
        w.ok("a/b/cpuset.mems", "0");
        assert_eq!(
            w.r("a/b/cpuset.mems.effective"),
            "1",
            "nothing in common: a's"
        );
    }

    #[test]
    fn populated_cpuset_keeps_cpus_and_attach_never_fails_for_empty() {
        let mut w = World::new(2, 1, &["a"]);
        let t = w.fork(1).unwrap();
        // Nothing set: effective is the parent's, so the move succeeds.
        w.move_to("a", t).unwrap();
        w.ok("a/cpuset.cpus", "1");
        w.ok("a/cpuset.mems", "0");
        assert_eq!(w.w("a/cpuset.cpus", "\n"), Err(Error::ENOSPC));
        assert_eq!(w.w("a/cpuset.mems", "\n"), Err(Error::ENOSPC));
        w.ok("a/cpuset.cpus", "0");
        w.move_to("", t).unwrap();
        w.ok("a/cpuset.cpus", "\n");
        w.ok("a/cpuset.mems", "\n");
        w.move_to("a", t).unwrap();
    }

    /// The brief's first case: a partition root on CPUs 2-3 takes them from the top
    /// cpuset, so a sibling that asks for nothing runs on 0-1.
    #[test]
    fn partition_takes_cpus_from_siblings() {
        let w = World::new(4, 1, &["a", "b"]);
        w.ok("a/cpuset.cpus", "2-3");
        w.ok("a/cpuset.cpus.partition", "root");
        assert_eq!(w.r("a/cpuset.cpus.partition"), "root");
        assert_eq!(w.r("a/cpuset.cpus.effective"), "2-3");
        assert_eq!(w.r("a/cpuset.cpus.exclusive.effective"), "2-3");
        assert_eq!(w.r("a/cpuset.cpus.exclusive"), "", "only the effective one");
        assert_eq!(w.r("cpuset.cpus.effective"), "0-1");
        assert_eq!(w.r("b/cpuset.cpus.effective"), "0-1");
        assert_eq!(w.sched("b"), "0-1");
        assert_eq!(w.sched("a"), "2-3");
        assert_eq!(w.r("cpuset.cpus.isolated"), "");
        w.ok("b/cpuset.cpus", "1");
        assert_eq!(w.r("b/cpuset.cpus.effective"), "1");
        // Back to member: the CPUs return.
        w.ok("a/cpuset.cpus.partition", "member");
        assert_eq!(w.r("a/cpuset.cpus.exclusive.effective"), "");
        assert_eq!(w.r("cpuset.cpus.effective"), "0-3");
        w.ok("b/cpuset.cpus", "\n");
        assert_eq!(w.r("b/cpuset.cpus.effective"), "0-3");
        assert_eq!(w.sched("b"), "0-3");
        // A sibling asking for a partition's CPUs does get them: the write goes
        // through and the partition turns invalid (update_cpumask).
        w.ok("a/cpuset.cpus.partition", "root");
        w.ok("b/cpuset.cpus", "1-3");
        assert_eq!(w.r("a/cpuset.cpus.partition"), "root invalid");
        assert_eq!(w.r("b/cpuset.cpus.effective"), "1-3");
        assert_eq!(w.r("a/cpuset.cpus.effective"), "2-3");
        assert_eq!(w.r("cpuset.cpus.effective"), "0-3");
    }

    #[test]
    fn isolated_partition() {
        let w = World::new(4, 1, &["a"]);
        w.ok("a/cpuset.cpus", "2-3");
        w.ok("a/cpuset.cpus.partition", "isolated");
        assert_eq!(w.r("a/cpuset.cpus.partition"), "isolated");
        assert_eq!(w.r("cpuset.cpus.isolated"), "2-3");
        assert_eq!(w.r("cpuset.cpus.effective"), "0-1");
        w.ok("a/cpuset.cpus.partition", "root");
        assert_eq!(w.r("cpuset.cpus.isolated"), "");
        w.ok("a/cpuset.cpus.partition", "isolated");
        w.ok("a/cpuset.cpus", "3");
        assert_eq!(w.r("cpuset.cpus.isolated"), "3");
        assert_eq!(w.r("cpuset.cpus.effective"), "0-2");
        w.ok("a/cpuset.cpus.partition", "member");
        assert_eq!(w.r("cpuset.cpus.isolated"), "");
        assert_eq!(w.r("cpuset.cpus.effective"), "0-3");
    }

    /// The invalid states and their reasons (`perr_strings[]`).
    #[test]
    fn invalid_partitions_and_reasons() {
        let w = World::new(4, 1, &["a", "b", "m"]);
        let p = "a/cpuset.cpus.partition";
        w.ok(p, "root");
        assert_eq!(
            w.r(p),
            "root invalid (cpuset.cpus and cpuset.cpus.exclusive are empty)"
        );
        assert_eq!(w.r("cpuset.cpus.effective"), "0-3");
        w.ok(p, "isolated");
        assert_eq!(
            w.r(p),
            "isolated invalid (cpuset.cpus and cpuset.cpus.exclusive are empty)"
        );
        w.ok(p, "member");
        // The top cpuset always has tasks: it cannot give away its last CPU.
        w.ok("a/cpuset.cpus", "0-3");
        w.ok(p, "root");
        assert_eq!(
            w.r(p),
            "root invalid (Parent unable to distribute cpu downstream)"
        );
        assert_eq!(w.r("a/cpuset.cpus.effective"), "0-3");
        w.ok(p, "member");
        // Overlapping siblings.
        w.ok("a/cpuset.cpus", "0-1");
        w.ok("b/cpuset.cpus", "1-2");
        w.ok(p, "root");
        assert_eq!(
            w.r(p),
            "root invalid (Cpu list in cpuset.cpus not exclusive)"
        );
        assert_eq!(w.r("cpuset.cpus.effective"), "0-3");
        // Made exclusive by b moving away: still invalid until written again (Linux
        // re-validates only on its own walks).
        w.ok("b/cpuset.cpus", "2");
        w.ok(p, "root");
        assert_eq!(w.r(p), "root");
        assert_eq!(w.r("cpuset.cpus.effective"), "2-3");
        assert_eq!(w.r("b/cpuset.cpus.effective"), "2");
        // b now overlapping a valid partition: the write goes through, a turns invalid.
        w.ok("b/cpuset.cpus", "1-2");
        assert_eq!(w.r(p), "root invalid");
        assert_eq!(w.r("cpuset.cpus.effective"), "0-3");
        assert_eq!(w.r("b/cpuset.cpus.effective"), "1-2");
        // A child of a member cannot be a local partition; as a remote one its
        // exclusive CPUs (none passed down) are the reason.
        w.ok("m/cgroup.subtree_control", "+cpuset");
        w.gpc.mkdir(w.h, "m/c").unwrap();
        w.ok("m/c/cpuset.cpus", "3");
        w.ok("m/c/cpuset.cpus.partition", "root");
        assert_eq!(
            w.r("m/c/cpuset.cpus.partition"),
            "root invalid (Invalid cpu list in cpuset.cpus.exclusive)"
        );
    }

    /// Nested partitions: a child partition of a partition root, invalidated when the
    /// parent stops being one ("Parent is not a partition root") and valid again when it
    /// is one again (update_cpumasks_hier → update_parent_effective_cpumask).
    #[test]
    fn nested_partitions() {
        let w = World::new(4, 1, &["a", "b"]);
        w.ok("a/cgroup.subtree_control", "+cpuset");
        w.gpc.mkdir(w.h, "a/c").unwrap();
        w.gpc.mkdir(w.h, "a/d").unwrap();
        w.ok("a/cpuset.cpus", "1-3");
        w.ok("a/cpuset.cpus.partition", "root");
        w.ok("a/c/cpuset.cpus", "3");
        w.ok("a/c/cpuset.cpus.partition", "isolated");
        assert_eq!(w.r("a/c/cpuset.cpus.partition"), "isolated");
        assert_eq!(w.r("a/c/cpuset.cpus.effective"), "3");
        assert_eq!(w.r("a/cpuset.cpus.effective"), "1-2");
        assert_eq!(w.r("a/d/cpuset.cpus.effective"), "1-2");
        assert_eq!(w.r("b/cpuset.cpus.effective"), "0");
        assert_eq!(w.r("cpuset.cpus.isolated"), "3");
        w.ok("a/cpuset.cpus.partition", "member");
        assert_eq!(
            w.r("a/c/cpuset.cpus.partition"),
            "isolated invalid (Parent is not a partition root)"
        );
        assert_eq!(w.r("cpuset.cpus.isolated"), "");
        assert_eq!(w.r("a/c/cpuset.cpus.effective"), "3");
        assert_eq!(w.r("a/d/cpuset.cpus.effective"), "1-3");
        assert_eq!(w.r("b/cpuset.cpus.effective"), "0-3");
        w.ok("a/cpuset.cpus.partition", "root");
        assert_eq!(w.r("a/c/cpuset.cpus.partition"), "isolated");
        assert_eq!(w.r("a/cpuset.cpus.effective"), "1-2");
        assert_eq!(w.r("cpuset.cpus.isolated"), "3");
        // The parent's CPUs shrinking away from the child's invalidates it.
        w.ok("a/cpuset.cpus", "1-2");
        assert_eq!(w.r("a/cpuset.cpus.partition"), "root");
        assert_eq!(
            w.r("a/c/cpuset.cpus.partition"),
            "isolated invalid (Invalid cpu list in cpuset.cpus.exclusive)"
        );
        assert_eq!(w.r("a/cpuset.cpus.effective"), "1-2");
        assert_eq!(w.r("b/cpuset.cpus.effective"), "0,3");
    }

    /// A partition root may hand all its CPUs down while it has no task of its own;
    /// a member below it then has none, and takes no task (`ENOSPC`).
    #[test]
    fn empty_effective_refuses_tasks() {
        let mut w = World::new(4, 1, &["a"]);
        w.ok("a/cgroup.subtree_control", "+cpuset");
        w.gpc.mkdir(w.h, "a/c").unwrap();
        w.gpc.mkdir(w.h, "a/d").unwrap();
        w.ok("a/cpuset.cpus", "2-3");
        w.ok("a/cpuset.cpus.partition", "root");
        w.ok("a/c/cpuset.cpus", "2-3");
        w.ok("a/c/cpuset.cpus.partition", "root");
        assert_eq!(w.r("a/c/cpuset.cpus.partition"), "root");
        assert_eq!(w.r("a/cpuset.cpus.effective"), "");
        assert_eq!(w.r("a/d/cpuset.cpus.effective"), "");
        let t = w.fork(1).unwrap();
        assert_eq!(w.move_to("a/d", t), Err(Error::ENOSPC));
        w.move_to("a/c", t).unwrap();
        assert_eq!(w.sched("a/c"), "2-3");
        // With a task in c, c can no longer hand... and d may not take it over.
        w.ok("a/c/cpuset.cpus.partition", "member");
        assert_eq!(w.r("a/cpuset.cpus.effective"), "2-3");
        w.move_to("a/d", t).unwrap();
        w.ok("a/c/cpuset.cpus.partition", "root");
        assert_eq!(
            w.r("a/c/cpuset.cpus.partition"),
            "root invalid (Parent unable to distribute cpu downstream)"
        );
    }

    #[test]
    fn exclusive_cpus() {
        let w = World::new(4, 1, &["a", "b"]);
        w.ok("a/cpuset.cpus.exclusive", "2-3");
        assert_eq!(w.r("a/cpuset.cpus.exclusive"), "2-3");
        assert_eq!(w.r("a/cpuset.cpus.exclusive.effective"), "2-3");
        assert_eq!(
            w.r("cpuset.cpus.effective"),
            "0-3",
            "not taken until a partition"
        );
        assert_eq!(w.w("b/cpuset.cpus.exclusive", "3"), Err(Error::EINVAL));
        // validate_change refuses cpus wholly inside a sibling's exclusive CPUs with
        // EINVAL, which update_cpumask on v2 turns into "invalidate the partitions in
        // the way and go on": the write succeeds.
        w.ok("b/cpuset.cpus", "2-3");
        assert_eq!(w.r("b/cpuset.cpus.effective"), "2-3");
        w.ok("b/cpuset.cpus", "1-3");
        w.ok("a/cpuset.cpus.partition", "root");
        assert_eq!(
            w.r("a/cpuset.cpus.partition"),
            "root invalid (Cpu list in cpuset.cpus not exclusive)",
            "b's cpus overlap a's exclusive CPUs"
        );
        w.ok("b/cpuset.cpus", "1");
        w.ok("a/cpuset.cpus.partition", "member");
        w.ok("a/cpuset.cpus.partition", "root");
        assert_eq!(w.r("a/cpuset.cpus.partition"), "root");
        assert_eq!(w.r("a/cpuset.cpus.effective"), "2-3");
        assert_eq!(w.r("b/cpuset.cpus.effective"), "1");
        w.ok("b/cpuset.cpus", "\n");
        assert_eq!(w.r("b/cpuset.cpus.effective"), "0-1");
        // Shrinking the exclusive CPUs of a valid partition gives the rest back.
        w.ok("a/cpuset.cpus.exclusive", "3");
        assert_eq!(w.r("a/cpuset.cpus.effective"), "3");
        assert_eq!(w.r("a/cpuset.cpus.exclusive.effective"), "3");
        assert_eq!(w.r("b/cpuset.cpus.effective"), "0-2");
        // Emptying them (update_exclusive_cpumask clears effective_xcpus too).
        w.ok("a/cpuset.cpus.exclusive", "\n");
        assert_eq!(
            w.r("a/cpuset.cpus.partition"),
            "root invalid (Invalid cpu list in cpuset.cpus.exclusive)"
        );
        assert_eq!(w.r("b/cpuset.cpus.effective"), "0-3");
    }

    /// Remote partitions (cgroup-v2.rst): exclusive CPUs passed down through a member
    /// let a grandchild take them straight from the top cpuset; it needs
    /// `CAP_SYS_ADMIN`.
    #[test]
    fn remote_partition() {
        let w = World::new(4, 1, &["m", "b"]);
        w.ok("m/cgroup.subtree_control", "+cpuset");
        w.gpc.mkdir(w.h, "m/r").unwrap();
        w.ok("m/cpuset.cpus.exclusive", "2-3");
        w.ok("m/r/cpuset.cpus.exclusive", "3");
        let nobody = Creds {
            cap_sys_admin: false,
            ..Creds::ROOT
        };
        w.gpc
            .write(
                w.h,
                "m/r/cpuset.cpus.partition",
                b"root",
                &w.tasks.caller(nobody, Some(1)),
            )
            .unwrap();
        assert_eq!(
            w.r("m/r/cpuset.cpus.partition"),
            "root invalid (Enable partition not permitted)"
        );
        w.ok("m/r/cpuset.cpus.partition", "root");
        assert_eq!(w.r("m/r/cpuset.cpus.partition"), "root");
        assert_eq!(w.r("m/r/cpuset.cpus.effective"), "3");
        assert_eq!(w.r("cpuset.cpus.effective"), "0-2");
        assert_eq!(w.r("m/cpuset.cpus.effective"), "0-2");
        assert_eq!(w.r("b/cpuset.cpus.effective"), "0-2");
        w.ok("m/r/cpuset.cpus.partition", "member");
        assert_eq!(w.r("cpuset.cpus.effective"), "0-3");
    }

    /// kernel/cgroup/cpuset.c cpuset_can_attach: on v2 `security_task_setscheduler` only
    /// when the effective CPUs or nodes differ; uid 0 without CAP_SYS_NICE moving root's
    /// task (security/commoncap.c cap_safe_nice) is refused only then.
    #[test]
    fn setscheduler_only_when_masks_differ() {
        let mut w = World::new(4, 1, &["a", "b"]);
        let t = w.fork(1).unwrap();
        let uid0 = Creds::user(0, 0);
        let move_as = |w: &World, path: &str| {
            w.gpc.write(
                w.h,
                &std::format!("{path}/cgroup.procs"),
                std::format!("{t}\n").as_bytes(),
                &w.tasks.caller(uid0, Some(1)),
            )
        };
        move_as(&w, "a").unwrap();
        move_as(&w, "b").unwrap();
        w.ok("a/cpuset.cpus", "1");
        assert_eq!(move_as(&w, "a"), Err(Error::EPERM));
        w.ok("b/cpuset.cpus", "1-2");
        assert_eq!(move_as(&w, "a"), Err(Error::EPERM));
        w.ok("b/cpuset.cpus", "1");
        move_as(&w, "a").unwrap();
        w.exit(t).unwrap();
    }

    /// Run rows of test_cpuset_prs.sh's TEST_MATRIX; the rows that do not give Linux's
    /// figures, with what differs.
    fn run_matrix(rows: &[&str]) -> Vec<String> {
        const A123: &str = "C1-3:P1:S+ C2-3:P1:S+ C3:P1";
        let paths = ["A1", "A1/A2", "A1/A2/A3", "B1"];
        let mut failures = Vec::new();
        for row in rows {
            let row = row.replace("A123", A123);
            let f: Vec<&str> = row.split_whitespace().collect();
            let mut w = World::new(8, 1, &["A1", "B1"]);
            w.gpc.mkdir(w.h, "A1/A2").unwrap();
            w.gpc.mkdir(w.h, "A1/A2/A3").unwrap();
            let mut failed_write = None;
            for (col, cell) in f.iter().take(8).enumerate() {
                if *cell == "." {
                    continue;
                }
                let path = paths[col % 4];
                for act in cell.split(':') {
                    let file = |n: &str| std::format!("{path}/{n}");
                    let list = |l: &str| std::format!("{l}\n");
                    let r = if let Some(l) = act.strip_prefix("CX") {
                        w.w(&file("cpuset.cpus"), &list(l))
                            .and_then(|()| w.w(&file("cpuset.cpus.exclusive"), &list(l)))
                    } else if let Some(l) = act.strip_prefix('C') {
                        w.w(&file("cpuset.cpus"), &list(l))
                    } else if let Some(l) = act.strip_prefix('X') {
                        w.w(&file("cpuset.cpus.exclusive"), &list(l))
                    } else if let Some(l) = act.strip_prefix('P') {
                        let v = ["member", "root", "isolated"][l.parse::<usize>().unwrap()];
                        w.w(&file("cpuset.cpus.partition"), v)
                    } else if act == "S+" {
                        w.w(&file("cgroup.subtree_control"), "+cpuset")
                    } else if act == "T" {
                        let t = w.fork(1).unwrap();
                        w.move_to(path, t)
                    } else {
                        panic!("action {act}");
                    };
                    if col >= 4 && r.is_err() && failed_write.is_none() {
                        failed_write = Some(std::format!("{path} {act}: {r:?}"));
                    }
                }
            }
            let mut bad = Vec::new();
            if let Some(e) = failed_write {
                bad.push(e);
            }
            let node = |n: &str| {
                let (x, n) = match n.strip_prefix('X') {
                    Some(n) => (true, n),
                    None => (false, n),
                };
                let p = paths[["A1", "A2", "A3", "B1"]
                    .iter()
                    .position(|&c| c == n)
                    .unwrap()];
                (x, p)
            };
            if let Some(ecpus) = f.get(9) {
                for e in ecpus.split('|') {
                    let (n, want) = e.split_once(':').unwrap_or((e, ""));
                    let (x, p) = node(n);
                    let file = if x {
                        "cpuset.cpus.exclusive.effective"
                    } else {
                        "cpuset.cpus.effective"
                    };
                    let got = w.r(&std::format!("{p}/{file}"));
                    if got != want {
                        bad.push(std::format!("{n}: {file} {got:?}, Linux {want:?}"));
                    }
                }
            }
            if let Some(pstate) = f.get(10) {
                for e in pstate.split('|') {
                    let (n, want) = e.split_once(':').unwrap();
                    let (_, p) = node(n);
                    let got = w.r(&std::format!("{p}/cpuset.cpus.partition"));
                    let ok = match want {
                        "P0" => got == "member",
                        "P1" => got == "root",
                        "P2" => got == "isolated",
                        "P-1" => got.starts_with("root invalid"),
                        "P-2" => got.starts_with("isolated invalid"),
                        _ => false,
                    };
                    if !ok {
                        bad.push(std::format!("{n}: partition {got:?}, Linux {want}"));
                    }
                }
            }
            if let Some(iso) = f.get(11) {
                let want = iso.rsplit('|').next().unwrap_or("");
                let want = if want == "." { "" } else { want };
                let got = w.r("cpuset.cpus.isolated");
                if got != want {
                    bad.push(std::format!("isolated {got:?}, Linux {want:?}"));
                }
            }
            if !bad.is_empty() {
                failures.push(std::format!("{row}\n    {}", bad.join("\n    ")));
            }
        }
        failures
    }

    /// Rows of Linux's tools/testing/selftests/cgroup/test_cpuset_prs.sh TEST_MATRIX
    /// (those without CPU hotplug, with a well-formed expectation), run as that script
    /// runs them: A1, A1/A2, A1/A2/A3 and B1 on an 8-CPU machine whose root has tasks;
    /// the old then the new state of each cgroup, each `:`-separated action in turn
    /// (`C` cpus, `X` cpus.exclusive, `CX` both, `P` partition, `S+` subtree_control,
    /// `T` a task moved in); then the effective CPUs (`X` prefix: exclusive effective),
    /// partition states (`P-1`: root invalid) and `cpuset.cpus.isolated`.
    #[test]
    fn linux_selftest_matrix() {
        let rows: &[&str] = &[
            "   C0-1     .      .    C2-3    S+    C4-5     .      .     0 A2:0-1",
            "   C0-1     .      .    C2-3    P1      .      .      .     0 ",
            "   C0-1     .      .    C2-3   P1:S+ C0-1:P1   .      .     0 ",
            "   C0-1     .      .    C2-3   P1:S+  C1:P1    .      .     0 ",
            "  C0-1:S+   .      .    C2-3     .      .      .     P1     0 ",
            "  C0-1:P1   .      .    C2-3    S+     C1      .      .     0 ",
            "  C0-1:P1   .      .    C2-3    S+    C1:P1    .      .     0 ",
            "  C0-1:P1   .      .    C2-3    S+    C1:P1    .     P1     0 ",
            "  C0-1:P1   .      .    C2-3   C4-5     .      .      .     0 A1:4-5",
            "  C0-1:P1   .      .    C2-3  S+:C4-5   .      .      .     0 A1:4-5",
            "   C0-1     .      .   C2-3:P1   .      .      .     C2     0 ",
            "   C0-1     .      .   C2-3:P1   .      .      .    C4-5    0 B1:4-5",
            "C0-3:P1:S+ C2-3:P1 .      .      .      .      .      .     0 A1:0-1|A2:2-3|XA2:2-3",
            "C0-3:P1:S+ C2-3:P1 .      .     C1-3    .      .      .     0 A1:1|A2:2-3|XA2:2-3",
            "C2-3:P1:S+  C3:P1  .      .     C3      .      .      .     0 A1:|A2:3|XA2:3 A1:P1|A2:P1",
            "C2-3:P1:S+  C3:P1  .      .     C3      P0     .      .     0 A1:3|A2:3 A1:P1|A2:P0",
            "C2-3:P1:S+  C2:P1  .      .     C2-4    .      .      .     0 A1:3-4|A2:2",
            "C2-3:P1:S+  C3:P1  .      .     C3      .      .     C0-2   0 A1:|B1:0-2 A1:P1|A2:P1",
            "A123    .     C2-3    .      .      .     0 A1:|A2:2|A3:3 A1:P1|A2:P1|A3:P1",
            " C0-3:S+ C1-3:S+ C2-3     .    X2-3     .      .      .     0 A1:0-3|A2:1-3|A3:2-3|XA1:2-3",
            " C0-3:S+ C1-3:S+ C2-3     .    X2-3  X2-3:P2   .      .     0 A1:0-1|A2:2-3|A3:2-3 A1:P0|A2:P2 2-3",
            " C0-3:S+ C1-3:S+ C2-3     .    X2-3   X3:P2    .      .     0 A1:0-2|A2:3|A3:3 A1:P0|A2:P2 3",
            " C0-3:S+ C1-3:S+ C2-3     .    X2-3   X2-3  X2-3:P2   .     0 A1:0-1|A2:1|A3:2-3 A1:P0|A3:P2 2-3",
            " C0-3:S+ C1-3:S+ C2-3     .    X2-3   X2-3 X2-3:P2:C3 .     0 A1:0-1|A2:1|A3:2-3 A1:P0|A3:P2 2-3",
            " C0-3:S+ C1-3:S+ C2-3   C2-3     .      .      .      P2    0 A1:0-3|A2:1-3|A3:2-3|B1:2-3 A1:P0|A3:P0|B1:P-2",
            " C0-3:S+ C1-3:S+ C2-3   C4-5     .      .      .      P2    0 B1:4-5 B1:P2 4-5",
            " C0-3:S+ C1-3:S+ C2-3    C4    X2-3   X2-3  X2-3:P2   P2    0 A3:2-3|B1:4 A3:P2|B1:P2 2-4",
            " C0-3:S+ C1-3:S+ C2-3    C4    X1-3  X1-3:P2   P2     .     0 A2:1|A3:2-3 A2:P2|A3:P2 1-3",
            " C4:X0-3:S+ X1-3:S+ X2-3  .      .      P2     .      .     0 A1:4|A2:1-3|A3:1-3 A2:P2 1-3",
            " C4:X0-3:S+ X1-3:S+ X2-3  .      .      .      P2     .     0 A1:4|A2:4|A3:2-3 A3:P2 2-3",
            " C0-3:S+ C1-3:S+  C2      .   X2-3:X    .      .      .     0 A1:0-3|A2:1-3|A3:2|XA1:",
            " C0-3:S+   C1-3    .      .      .    X3:P2    .      .     0 A1:0-3|A2:1-3|XA2: A2:P-2",
            "  C0-3:P2   .      .    C4-6   C0-4     .      .      .     0 A1:0-4|B1:4-6 A1:P-2|B1:P0",
            "  C0-3:P2   .      .    C4-6 C0-4:C0-3  .      .      .     0 A1:0-3|B1:4-6 A1:P2|B1:P0 0-3",
            " C0-5:S+:P2 C4-5:S+:P1 .  .      .    C3-5     .      .     0 A1:0-2|A2:3-5 A1:P2|A2:P1 0-2",
            " C0-5:S+:P2 C4-5:S+:P1 .  .    C1-5     .      .      .     0 A1:1-3|A2:4-5 A1:P2|A2:P1 1-3",
            "C2-3:P1:S+ C3:P1   .      .      .     C2-4    .      .     0 A1:|A2:2-3 A1:P1|A2:P1",
            "C2-3:P1:S+  C3:P1  .      .      T     C2-3    .      .     0 A1:2-3|A2:2-3 A1:P1|A2:P-1",
            " C3:P1:S+    C3    .      .      T      P1     .      .     0 A1:3|A2:3 A1:P1|A2:P-1",
            "A123    .    T:C2-3   .      .      .     0 A1:2-3|A2:2-3|A3:3 A1:P1|A2:P-1|A3:P-1",
            "A123    . T:C2-3:C1-3 .      .      .     0 A1:1|A2:2|A3:3 A1:P1|A2:P1|A3:P1",
            "C2-3:P1:S+  C3:P1  .      .      P0     .      .      .     0 A1:2-3|A2:3 A1:P0|A2:P-1",
            "A123    .     C2-3    P0     .      .     0 A1:2-3|A2:2-3|A3:3 A1:P1|A2:P0|A3:P-1",
            "C2-3:P1:S+  .      .      .      .   C3-4:P1   .      .     0 A1:2|A2:3 A1:P1|A2:P1",
            "C0-1:P1:S+ C1      .    C2-3   C4-5     .      .      .     0 A1:4-5|A2:4-5",
            "  C0-1:P1   .      .    C2-3    S+   C4-5:P1   .      .     0 A1:0-1|A2:0-1 A1:P1|A2:P-1",
            "  C0-1:S+  C1      .    C2-3    P1      .      .      .     0 A1:0-1|A2:1 A1:P1",
            "  C0-1:S+  C1      .    C2-3     .      P2     .      .     0 A1:0-1|A2:1 A1:P0|A2:P-2",
            "  C0-1:S+ C1:P2    .    C2-3     P1     .      .      .     0 A1:0|A2:1 A1:P1|A2:P2 0-1|1",
            "  C0-1:P1   .      .    C2-3   C0-2     .      .      .     0 A1:0-2|B1:2-3 A1:P-1|B1:P0",
            "  C0-1:P1   .      .  P1:C2-3  C0-2     .      .      .     0 A1:0-2|B1:2-3 A1:P-1|B1:P-1",
            "   C0-1     .      .  P1:C2-3  C0-2     .      .      .     0 A1:0-2|B1:2-3 A1:P0|B1:P-1",
            "   C0-3     .      .    C4-5     X5     .      .      .     0 A1:0-3|B1:4-5",
            " C1-4:P1:S+ P1     .      .       .     .      .      .     0 A1:1-4|A2:1-4 A1:P1|A2:P-1",
            " C1-4:P1:S+ P1     .      .       .   C1-4     .      .     0 A1:|A2:1-4 A1:P1|A2:P1",
            " C1-4:P1:S+ P1     .      .       T   C1-4     .      .     0 A1:1-4|A2:1-4 A1:P1|A2:P-1",
            " C1-4:X3:S+ C1:X3  .      .       .     C      .      .     0 A2:1-4|XA2:3",
        ];
        let failures = run_matrix(rows);
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    /// The matrix's rows on nested remote and local partitions, `cpus.exclusive`
    /// updates and invalidation (the script's rows split over lines joined; its typos
    /// `A2:1-3:XA2:` and `A2:P2:B1:P1` read with `|`).
    #[test]
    fn linux_selftest_matrix_exclusive() {
        let rows: &[&str] = &[
            " C0-3:S+ C1-3:S+ C2-3   C4-5   X2-3  X2-3:P1   P2     P1    0 A1:0-1|A2:|A3:2-3|B1:4-5 A1:P0|A2:P1|A3:P2|B1:P1 2-3",
            " C0-3:S+ C1-3:S+ C2-3    C4    X2-3  X2-3:P1   P2     P1    0 A1:0-1|A2:|A3:2-3|B1:4 A1:P0|A2:P1|A3:P2|B1:P1 2-4|2-3",
            " C0-3:S+ C1-3:S+ C2-3    C4    X2-3  X2-3:P1    .     P1    0 A1:0-1|A2:2-3|A3:2-3|B1:4 A1:P0|A2:P1|A3:P0|B1:P1",
            " C0-3:S+ C1-3:S+  C3     C4    X2-3  X2-3:P1   P2     P1    0 A1:0-1|A2:2|A3:3|B1:4 A1:P0|A2:P1|A3:P2|B1:P1 2-4|3",
            " C0-4:S+ C1-4:S+ C2-4     .    X2-4  X2-4:P2  X4:P1    .    0 A1:0-1|A2:2-3|A3:4 A1:P0|A2:P2|A3:P1 2-4|2-3",
            " C0-4:S+ C1-4:S+ C2-4     .    X2-4  X2-4:P2 X3-4:P1   .    0 A1:0-1|A2:2|A3:3-4 A1:P0|A2:P2|A3:P1 2",
            " C0-4:X2-4:S+ C1-4:X2-4:S+:P2 C2-4:X4:P1 . . X5 . . 0 A1:0-4|A2:1-4|A3:2-4 A1:P0|A2:P-2|A3:P-1 .",
            " C0-4:X2-4:S+ C1-4:X2-4:S+:P2 C2-4:X4:P1 . . . X1 . 0 A1:0-1|A2:2-4|A3:2-4 A1:P0|A2:P2|A3:P-1 2-4",
            " C0-3:S+ C1-3:X3:P2 . . X2-3 P2 . . 0 A1:0-2|A2:3|XA2:3 A2:P2 3",
            " C1-3:S+:P2 X4:P2  .      .      .      .      .      .     0 A1:1-3|XA1:1-3|A2:1-3|XA2: A1:P2|A2:P-2 1-3",
            " C1-3:S+:P2 X4:P2  .      .      .    X3:P2    .      .     0 A1:1-2|XA1:1-3|A2:3|XA2:3 A1:P2|A2:P2 1-3",
            " C0-3:X1-3:S+:P2 C1-3:X2-3:S+:P2 C2-3:X3:P2 . . . . . 0 A1:1|A2:2|A3:3 A1:P2|A2:P2|A3:P2 1-3",
            " C0-3:X1-3:S+:P2 C1-3:X2-3:S+:P2 C2-3:X3:P2 . . X4 . . 0 A1:1-3|A2:1-3|A3:2-3|XA2:|XA3: A1:P2|A2:P-2|A3:P-2 1-3",
            " C0-3:X1-3:S+:P2 C1-3:X2-3:S+:P2 C2-3:X3:P2 . . C4:X . . 0 A1:1-3|A2:1-3|A3:2-3|XA2:|XA3: A1:P2|A2:P-2|A3:P-2 1-3",
            " C0-3:X2-3:S+ C1-3:X2-3:S+ C2-3:X2-3 . X:C4 . P2 . 0 A1:4|A2:4|XA2:|XA3:|A3:4 A1:P0|A3:P-2 .",
            " C0-3:X2-3:S+ C1-3:X2-3:S+ C2-3:X2-3 . X1 . P2 . 0 A1:0-3|A2:1-3|XA1:1|XA2:|XA3:|A3:2-3 A1:P0|A3:P-2 .",
            " C0-3:X2-3:S+ C1-3:X2-3:S+ C2-3:X2-3 . . X3 P2 . 0 A1:0-2|A2:1-2|XA2:3|XA3:3|A3:3 A1:P0|A3:P2 3",
            " C0-3:X2-3:S+ C1-3:X2-3:S+ C2-3:X2-3:P2 . . X3 . . 0 A1:0-2|A2:1-2|XA2:3|XA3:3|A3:3|XA3:3 A1:P0|A3:P2 3",
            " C0-3:X2-3:S+ C1-3:X2-3:S+ C2-3:X2-3:P2 . X4 . . . 0 A1:0-3|A2:1-3|A3:2-3|XA1:4|XA2:|XA3 A1:P0|A3:P-2",
            " CX1-4:S+ CX2-4:P2 .    C5-6      .     .      .      P1    0 A1:1|A2:2-4|B1:5-6|XB1:5-6 A1:P0|A2:P2|B1:P1 2-4",
            " CX1-4:S+ CX2-4:P2 .    C3-6      .     .      .      P1    0 A1:1|A2:2-4|B1:5-6 A1:P0|A2:P2|B1:P-1 2-4",
            " CX1-4:S+ CX2-4:P2 .    C5-6      .     .      .   P1:C3-6  0 A1:1|A2:2-4|B1:5-6 A1:P0|A2:P2|B1:P-1 2-4",
            " C0-3:S+ C1-3:S+ C2-3    C4    X2-3   X2-3 X2-3:P2:C1-3 P2  0 A3:2-3|B1:4 A3:P2|B1:P2 2-4",
            " C0-3:S+ C1-3:S+ C2-3    C4    X2-3   X2-3  X2-3:P2 P2:C4-5 0 A3:2-3|B1:4-5 A3:P2|B1:P2 2-5",
        ];
        let failures = run_matrix(rows);
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    /// rmdir and `-cpuset` give a partition's CPUs back (`cpuset_css_killed`).
    #[test]
    fn removal_returns_cpus() {
        let w = World::new(4, 1, &["a", "b"]);
        w.ok("a/cpuset.cpus", "2-3");
        w.ok("a/cpuset.cpus.partition", "root");
        assert_eq!(w.sched("b"), "0-1");
        w.gpc.rmdir(w.h, "a").unwrap();
        assert_eq!(w.r("cpuset.cpus.effective"), "0-3");
        assert_eq!(w.sched("b"), "0-3");
        w.ok("b/cpuset.cpus", "1");
        w.ok("b/cpuset.cpus.partition", "isolated");
        assert_eq!(w.r("cpuset.cpus.isolated"), "1");
        w.ok("cgroup.subtree_control", "-cpuset");
        assert_eq!(w.r("cpuset.cpus.effective"), "0-3");
        assert_eq!(w.r("cpuset.cpus.isolated"), "");
    }
}
