//! [`Gpc`]: one instance of the framework, bound to one host.
//!
//! Locks (see `doc/lock-order.md`), always taken in this order:
//! 1. `tree` (host `Mutex`, Linux `cgroup_mutex`): hierarchies, containers, files, attach;
//! 2. `table` (host `Spin`, Linux `css_set_lock`): the css_group table and the links
//!    between containers and css_groups;
//! 3. `release` (host `Spin`): the release queue.
//!
//! Fork, exit and lookups take none of them, except an exit that drops the last reference
//! to a css_group, which takes `table` (and then maybe `release`).

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::ptr::{self, NonNull};

use arrayvec::ArrayVec;

use crate::container::{Container, HierIdx};
use crate::cssgroup::{
    hash_key, tag, untag, CgKey, CgTable, CssGroup, MAX_HIERARCHIES, MAX_SHARDS,
};
use crate::error::{Error, Result};
use crate::files::{file_mode, CfFlags, FileCtx, FileInfo, Out};
use crate::host::alloc::{try_box, try_push, try_string};
use crate::host::cred::Creds;
use crate::host::lock::Lock;
use crate::host::rcu::{rcu_dereference, RcuGuard, RcuHead};
use crate::host::task::{Caller, Pid, TaskRef, TaskSlot};
use crate::host::Host;
use crate::options::{parse_mount_options, PATH_MAX};
use crate::primitive::Ordering;
use crate::release::{Release, ReleaseQueue};
use crate::rules::{HierarchyRules, V1_RULES};
use crate::subsys::{
    create_root_css, free_css_now, set_css_container, CssHeader, CssRef, DynSubsystem, SubsysId,
    Subsystem, TaskInfo, MAX_SUBSYS,
};

/// The page size kernfs limits writes to.
const PAGE_SIZE: usize = 4096;

/// A mounted (or still living) hierarchy, as hosts name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HierarchyId(pub(crate) HierIdx);

impl HierarchyId {
    /// The slot index (below [`MAX_HIERARCHIES`]), for hosts that pass handles through
    /// a C ABI.
    pub fn index(self) -> usize {
        self.0
    }

    /// The handle of slot `index`. A slot whose hierarchy was destroyed may since hold
    /// another one: hosts that keep handles across unmounts should check
    /// [`Gpc::hierarchy_proc_id`].
    pub fn from_index(index: usize) -> Option<Self> {
        (index < MAX_HIERARCHIES).then_some(HierarchyId(index))
    }
}

/// What a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// A container directory; the id is unique for the life of the `Gpc`.
    Dir {
        /// The container's id.
        id: u64,
    },
    /// A control file.
    File {
        /// Permission bits.
        mode: u16,
    },
}

/// The core files of every v1 container (`cgroup1_base_files`, kernel/cgroup/cgroup-v1.c).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CoreFile {
    Procs,
    CloneChildren,
    SaneBehavior,
    Tasks,
    NotifyOnRelease,
    ReleaseAgent,
}

const CORE_FILES: &[(CoreFile, &str, CfFlags, u16)] = &[
    (
        CoreFile::Procs,
        "cgroup.procs",
        CfFlags::empty(),
        file_mode(true, true),
    ),
    (
        CoreFile::CloneChildren,
        "cgroup.clone_children",
        CfFlags::empty(),
        file_mode(true, true),
    ),
    (
        CoreFile::SaneBehavior,
        "cgroup.sane_behavior",
        CfFlags::ONLY_ON_ROOT,
        file_mode(true, false),
    ),
    (
        CoreFile::Tasks,
        "tasks",
        CfFlags::empty(),
        file_mode(true, true),
    ),
    (
        CoreFile::NotifyOnRelease,
        "notify_on_release",
        CfFlags::empty(),
        file_mode(true, true),
    ),
    (
        CoreFile::ReleaseAgent,
        "release_agent",
        CfFlags::ONLY_ON_ROOT,
        file_mode(true, true),
    ),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FileRef {
    Core(CoreFile),
    Subsys(SubsysId, usize),
}

/// Called per file with (file, prefix, name, mode); returns whether to go on.
type FileVisitor<'a> = dyn FnMut(FileRef, Option<&str>, &str, u16) -> bool + 'a;

/// Limits on the tree of one hierarchy, enforced by [`Gpc::mkdir`] with `EAGAIN`.
///
/// Linux has them as the v2 files `cgroup.max.depth` and `cgroup.max.descendants`
/// (`cgroup_check_hierarchy_limits`); v1 has no such files and leaves them at "max"
/// (`INT_MAX`), so a hierarchy starts with [`Limits::MAX`]. Here they apply to the
/// hierarchy as a whole, as the root's v2 files would; a host sets them with
/// [`Gpc::set_hierarchy_limits`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The deepest a container may be (the root is at depth 0, its children at 1).
    pub max_depth: usize,
    /// How many containers the hierarchy may hold besides its root.
    pub max_descendants: usize,
}

impl Limits {
    /// No limit ("max"), Linux's default.
    pub const MAX: Limits = Limits {
        max_depth: usize::MAX,
        max_descendants: usize::MAX,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::MAX
    }
}

/// A resolved path: the hierarchy, the container, and the file if it names one.
type Resolved<'t> = (&'t Hierarchy, &'t Container, Option<(FileRef, u16)>);

pub(crate) struct Hierarchy {
    /// The id `/proc` shows (Linux `hierarchy_id`, allocated cyclically from 1).
    pub(crate) id: u32,
    pub(crate) subsys_mask: u32,
    pub(crate) name: String,
    pub(crate) noprefix: bool,
    pub(crate) release_agent: String,
    pub(crate) root: NonNull<Container>,
    /// Live mounts (superblock references); at 0 the hierarchy lives on while it has
    /// children.
    pub(crate) mounts: usize,
    /// Containers including the root (Linux `nr_cgrps`).
    pub(crate) nr_containers: usize,
    /// Depth and size limits for mkdir.
    pub(crate) limits: Limits,
    pub(crate) rules: &'static dyn HierarchyRules,
}

impl Hierarchy {
    fn root(&self) -> &Container {
        // SAFETY: the root lives as long as the hierarchy, which the caller borrows.
        unsafe { self.root.as_ref() }
    }
}

struct Tree {
    hiers: [Option<Box<Hierarchy>>; MAX_HIERARCHIES],
    /// The hierarchy each subsystem is bound to.
    bound: [Option<HierIdx>; MAX_SUBSYS],
    next_hier_id: u32,
    /// Every live container (roots included) by id, so that a host that resolved a path
    /// once can address the container it found, as kernfs addresses a node by its id
    /// (Linux fs/kernfs/dir.c: `kernfs_find_and_get_node_by_id`) and cgroup_mkdir takes
    /// the parent's node, not a path: `mkdir -p` of N levels then costs O(N), not O(N²).
    by_id: hashbrown::HashTable<NonNull<Container>>,
}

/// The hash of a container id in [`Tree::by_id`] (ids are sequential: Fibonacci hashing
/// spreads them).
fn id_hash(id: u64) -> u64 {
    id.wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

fn container_id_hash(c: &NonNull<Container>) -> u64 {
    // SAFETY: indexed containers are alive (removed from the index before they are
    // freed), and the index is only used under the hierarchy lock.
    id_hash(unsafe { c.as_ref() }.id)
}

impl Tree {
    /// The live container with id `id`.
    fn container_by_id(&self, id: u64) -> Option<NonNull<Container>> {
        self.by_id
            .find(id_hash(id), |c| {
                // SAFETY: as in `container_id_hash`.
                unsafe { c.as_ref() }.id == id
            })
            .copied()
    }

    /// Room for one more container in the index, so that [`Tree::index`] cannot fail.
    fn reserve_index(&mut self) -> Result {
        self.by_id
            .try_reserve(1, container_id_hash)
            .map_err(|_| Error::ENOMEM)
    }

    /// Index `c` (room reserved by [`Tree::reserve_index`]).
    fn index(&mut self, c: NonNull<Container>) {
        self.by_id
            .insert_unique(container_id_hash(&c), c, container_id_hash);
    }

    fn unindex(&mut self, c: NonNull<Container>) {
        if let Ok(e) = self.by_id.find_entry(container_id_hash(&c), |x| *x == c) {
            e.remove();
        }
    }
}

// SAFETY: the tree holds containers through pointers it owns; it lives under the
// hierarchy lock.
unsafe impl Send for Tree {}

/// One instance of gpc: the subsystems, the hierarchies and the css_groups of one kernel.
pub struct Gpc<H: Host> {
    host: H,
    subsys: ArrayVec<&'static dyn DynSubsystem, MAX_SUBSYS>,
    root_css: ArrayVec<NonNull<CssHeader>, MAX_SUBSYS>,
    fork_hooks: ArrayVec<SubsysId, MAX_SUBSYS>,
    exit_hooks: ArrayVec<SubsysId, MAX_SUBSYS>,
    tree: Lock<Tree, H::Mutex>,
    table: Lock<CgTable, H::Spin>,
    release: Lock<ReleaseQueue, H::Spin>,
    init_cg: NonNull<CssGroup>,
    /// Reference shards per css_group: one per CPU, up to `MAX_SHARDS`.
    nr_shards: usize,
    next_container_id: crate::primitive::AtomicU64,
}

// SAFETY: every raw pointer in `Gpc` is to objects it owns and frees; shared access goes
// through the locks and atomics described in the module doc.
unsafe impl<H: Host> Send for Gpc<H> {}
// SAFETY: as for Send.
unsafe impl<H: Host> Sync for Gpc<H> {}

/// A task pinned for a migration.
struct Move<'a> {
    task: TaskRef<'a>,
    info: TaskInfo,
    /// The task's slot value (css_group and the shard of the task's reference).
    from_tagged: *mut CssGroup,
    from: NonNull<CssGroup>,
    from_shard: usize,
    to: NonNull<CssGroup>,
}

impl<H: Host> Gpc<H> {
    /// A new instance with `subsystems` (in the order `/proc/cgroups` lists them; Linux's
    /// order is cpuset, cpu, cpuacct, io, memory, devices, freezer, net_cls, perf_event,
    /// net_prio, hugetlb, pids, rdma, misc, debug). Each subsystem's root state is made
    /// now, as Linux's `cgroup_init_subsys` does at boot.
    ///
    /// # Errors
    ///
    /// `EINVAL` for more than [`MAX_SUBSYS`] subsystems or a repeated name, `ENOMEM`, or
    /// the error of a subsystem's `create`.
    pub fn new(host: H, subsystems: &[&'static dyn DynSubsystem]) -> Result<Self> {
        if subsystems.len() > MAX_SUBSYS {
            return Err(Error::EINVAL);
        }
        for (i, a) in subsystems.iter().enumerate() {
            if subsystems.iter().skip(i + 1).any(|b| b.name() == a.name()) {
                return Err(Error::EINVAL);
            }
        }
        let mut root_css: ArrayVec<NonNull<CssHeader>, MAX_SUBSYS> = ArrayVec::new();
        let mut fork_hooks = ArrayVec::new();
        let mut exit_hooks = ArrayVec::new();
        for (ss, sub) in subsystems.iter().enumerate() {
            match create_root_css(ss, *sub, host.nr_cpus()) {
                Ok(css) => root_css.push(css),
                Err(e) => {
                    for css in root_css {
                        // SAFETY: made just now and never published.
                        unsafe { free_css_now(css) };
                    }
                    return Err(e);
                }
            }
            if sub.hooks().contains(crate::subsys::Hooks::FORK) {
                fork_hooks.push(ss);
            }
            if sub.hooks().contains(crate::subsys::Hooks::EXIT) {
                exit_hooks.push(ss);
            }
        }
        let mut subsys_ptrs = [ptr::null_mut(); MAX_SUBSYS];
        for (slot, css) in subsys_ptrs.iter_mut().zip(root_css.iter()) {
            *slot = css.as_ptr();
        }
        let nr_shards = host.nr_cpus().clamp(1, MAX_SHARDS);
        let init = match CssGroup::try_new(
            subsys_ptrs,
            [ptr::null_mut(); MAX_HIERARCHIES],
            nr_shards,
            0,
        ) {
            Ok(mut b) => {
                // The instance's identity is its init css_group's address.
                b.owner = ptr::from_ref::<CssGroup>(&b) as usize;
                NonNull::from(Box::leak(b))
            }
            Err(e) => {
                for css in root_css {
                    // SAFETY: made just now and never published.
                    unsafe { free_css_now(css) };
                }
                return Err(e);
            }
        };
        let mut table = CgTable::new();
        if let Err(e) = table.try_reserve() {
            // SAFETY: made just now and never published.
            unsafe { crate::cssgroup::free_css_group_now(init) };
            for css in root_css {
                // SAFETY: made just now and never published.
                unsafe { free_css_now(css) };
            }
            return Err(e);
        }
        table.insert(init);
        Ok(Gpc {
            host,
            subsys: subsystems.iter().copied().collect(),
            root_css,
            fork_hooks,
            exit_hooks,
            tree: Lock::new(Tree {
                hiers: core::array::from_fn(|_| None),
                bound: [None; MAX_SUBSYS],
                next_hier_id: 1,
                by_id: hashbrown::HashTable::new(),
            }),
            table: Lock::new(table),
            release: Lock::new(ReleaseQueue::new()),
            init_cg: init,
            nr_shards,
            next_container_id: crate::primitive::AtomicU64::new(1),
        })
    }

    /// The host.
    pub fn host(&self) -> &H {
        &self.host
    }

    /// The registered subsystems, in order.
    pub fn subsystems(&self) -> &[&'static dyn DynSubsystem] {
        &self.subsys
    }

    /// The id of the subsystem called `name`.
    pub fn subsys_id(&self, name: &str) -> Option<SubsysId> {
        self.subsys.iter().position(|s| s.name() == name)
    }

    /// Put the first task (init) into the root of every hierarchy.
    ///
    /// # Errors
    ///
    /// `EBUSY` if `slot` already holds a css_group.
    pub fn init_task(&self, slot: &TaskSlot) -> Result {
        // SAFETY: init_cg is never freed (its permanent reference is never dropped).
        let init = unsafe { self.init_cg.as_ref() };
        let shard = self.shard();
        if slot.is_attached() || !init.try_get(shard) {
            return Err(Error::EBUSY);
        }
        slot.raw()
            .store(tag(self.init_cg, shard), Ordering::Release);
        Ok(())
    }

    /// This instance's identity, as css_groups record it: the address of its init
    /// css_group, unique among live instances and stable however the `Gpc` moves.
    #[inline]
    fn id(&self) -> usize {
        self.init_cg.as_ptr() as usize
    }

    /// Whether `cg` belongs to this instance: a task slot names a css_group of the
    /// instance that forked the task, and a host that hands a task to another instance
    /// would otherwise have it count and free that css_group against the wrong table.
    ///
    /// # Safety
    ///
    /// `cg` is alive (the caller holds a reference, or an RCU guard of the host's RCU,
    /// which covers another instance's css_group only where the instances share one RCU,
    /// as kernels do).
    #[inline]
    unsafe fn owns(&self, cg: NonNull<CssGroup>) -> bool {
        // SAFETY: alive (caller); `owner` is immutable after creation.
        unsafe { (*cg.as_ptr()).owner == self.id() }
    }

    /// Whether the task with `slot` belongs to this instance (it was given the first task
    /// or forked here and has not exited). `false` for an empty slot, or one that names
    /// another instance's css_group.
    pub fn owns_task(&self, guard: &RcuGuard<'_>, slot: &TaskSlot) -> bool {
        let (cg, _) = untag(rcu_dereference(slot.raw(), guard));
        // SAFETY: named by a slot, read under the guard (see `owns`).
        cg.is_some_and(|cg| unsafe { self.owns(cg) })
    }

    /// The reference shard of the CPU we run on.
    #[inline]
    fn shard(&self) -> usize {
        self.host.current_cpu() % self.nr_shards
    }

    // ----------------------------------------------------------------------------
    // Fast paths.
    // ----------------------------------------------------------------------------

    /// Enter an RCU read-side critical section, for lookups.
    pub fn rcu_read_lock(&self) -> RcuGuard<'_> {
        RcuGuard::new(&self.host)
    }

    /// The state of subsystem `ss` for the task with `slot`: no lock, no atomic
    /// read-modify-write, two dependent loads (slot → css_group → state).
    #[inline]
    pub fn task_css<'g>(
        &self,
        guard: &'g RcuGuard<'_>,
        slot: &'g TaskSlot,
        ss: SubsysId,
    ) -> Option<CssRef<'g>> {
        let (cg, _) = untag(rcu_dereference(slot.raw(), guard));
        let cg = cg?;
        // SAFETY: a css_group reachable from a task slot inside an RCU read-side section
        // is freed only after the section ends (it is unlinked first, then call_rcu).
        let css = *unsafe { &(*cg.as_ptr()).subsys }.get(ss)?;
        // SAFETY: states named by a live css_group are alive at least as long (a
        // container with linked css_groups cannot be removed; frees go through RCU).
        NonNull::new(css).map(|p| unsafe { CssRef::from_raw(p) })
    }

    /// Typed [`Gpc::task_css`].
    #[inline]
    pub fn task_state<'g, S: Subsystem>(
        &self,
        guard: &'g RcuGuard<'_>,
        slot: &'g TaskSlot,
        ss: SubsysId,
    ) -> Option<crate::subsys::Css<'g, S>> {
        self.task_css(guard, slot, ss).and_then(CssRef::typed::<S>)
    }

    /// Fork hook (Linux `cgroup_can_fork` + `cgroup_post_fork`): `child` joins the
    /// css_group of `parent` (the creating thread). Takes no lock: one reference on the
    /// css_group, plus the fork hooks of the subsystems that have them.
    ///
    /// # Errors
    ///
    /// A subsystem's `can_fork` errno (pids: `EAGAIN`), after `cancel_fork` on those
    /// already asked; `ESRCH` if `parent` has no css_group (it exited); `EINVAL` if
    /// `parent` belongs to another instance; `EBUSY` if `child` already has one. Nothing
    /// changes on error.
    pub fn fork(&self, parent: &TaskSlot, child: &TaskSlot, info: &TaskInfo) -> Result {
        if child.is_attached() {
            return Err(Error::EBUSY);
        }
        let guard = self.rcu_read_lock();
        let shard = self.shard();
        let cg = loop {
            let (p, _) = untag(rcu_dereference(parent.raw(), &guard));
            let Some(p) = p else {
                return Err(Error::ESRCH);
            };
            // SAFETY: under the guard, and the parent's reference keeps it alive.
            if !unsafe { self.owns(p) } {
                return Err(Error::EINVAL);
            }
            // SAFETY: under the guard the css_group's memory is valid even if its count
            // already dropped to zero; `try_get` refuses a dying one, and the parent's
            // slot then names another.
            if unsafe { p.as_ref() }.try_get(shard) {
                break p;
            }
            crate::primitive::spin_loop();
        };
        // SAFETY: pinned by the reference just taken.
        let cgr = unsafe { cg.as_ref() };
        for (n, &ss) in self.fork_hooks.iter().enumerate() {
            let Some(css) = self.cg_css(cgr, ss) else {
                continue;
            };
            let Some(sub) = self.subsys.get(ss) else {
                continue;
            };
            if let Err(e) = sub.can_fork(info, css) {
                for &prev in self.fork_hooks.iter().take(n) {
                    if let (Some(sub), Some(css)) = (self.subsys.get(prev), self.cg_css(cgr, prev))
                    {
                        sub.cancel_fork(info, css);
                    }
                }
                drop(guard);
                self.put_cg(cg, shard);
                return Err(e);
            }
        }
        // The child is not visible to anyone else yet (checked empty above): a store.
        child.raw().store(tag(cg, shard), Ordering::Release);
        for &ss in self.fork_hooks.iter() {
            if let (Some(sub), Some(css)) = (self.subsys.get(ss), self.cg_css(cgr, ss)) {
                sub.fork(info, css);
            }
        }
        Ok(())
    }

    /// Exit hook (Linux `cgroup_exit` + `cgroup_release` + `cgroup_free`): the task
    /// leaves its css_group; subsystems with exit hooks are told. Takes no lock unless
    /// this was the css_group's last task. A task of another instance is left as it is
    /// (see [`Gpc::try_exit`]).
    pub fn exit(&self, slot: &TaskSlot, info: &TaskInfo) {
        let _ = self.try_exit(slot, info);
    }

    /// [`Gpc::exit`], saying whether the task was this instance's.
    ///
    /// # Errors
    ///
    /// `EINVAL` if the task belongs to another instance: nothing changes. An empty slot
    /// (never forked, or exited) is `Ok`.
    pub fn try_exit(&self, slot: &TaskSlot, info: &TaskInfo) -> Result {
        let (current, _) = untag(slot.raw().load(Ordering::Acquire));
        // SAFETY: the task's reference keeps its css_group alive; a migration may swap
        // it for another css_group, but only of the same instance.
        if current.is_some_and(|cg| !unsafe { self.owns(cg) }) {
            return Err(Error::EINVAL);
        }
        let (cg, shard) = untag(slot.raw().swap(ptr::null_mut(), Ordering::AcqRel));
        let Some(cg) = cg else { return Ok(()) };
        if !self.exit_hooks.is_empty() {
            // SAFETY: the task's reference, now ours, keeps the css_group alive.
            let cgr = unsafe { cg.as_ref() };
            for &ss in self.exit_hooks.iter() {
                if let (Some(sub), Some(css)) = (self.subsys.get(ss), self.cg_css(cgr, ss)) {
                    sub.exit(info, css);
                }
            }
        }
        self.put_cg(cg, shard);
        Ok(())
    }

    /// The state of `ss` in a css_group we hold a reference to.
    fn cg_css<'a>(&self, cg: &'a CssGroup, ss: SubsysId) -> Option<CssRef<'a>> {
        let p = NonNull::new(*cg.subsys.get(ss)?)?;
        // SAFETY: states named by a referenced css_group are alive.
        Some(unsafe { CssRef::from_raw(p) })
    }

    /// Drop a reference taken on `shard`; the last one unlinks and frees (after a grace
    /// period).
    fn put_cg(&self, cg: NonNull<CssGroup>, shard: usize) {
        self.put_cg_inner(cg, shard, true);
    }

    fn put_cg_inner(&self, cg: NonNull<CssGroup>, shard: usize, notify: bool) {
        // SAFETY: the caller's reference keeps it alive until we drop it.
        let cgr = unsafe { cg.as_ref() };
        if !cgr.put(shard) {
            return;
        }
        let mut table = self.table.lock();
        if !cgr.put_locked(shard) {
            return;
        }
        table.remove(cg);
        let mut queued = false;
        for &c in cgr.key.iter() {
            let Some(c) = NonNull::new(c) else { continue };
            // SAFETY: a linked container is alive (rmdir refuses while linked).
            let cont = unsafe { c.as_ref() };
            // SAFETY: the table lock is held and no other borrow of the list exists.
            let csets = unsafe { cont.csets_mut() };
            if let Some(pos) = csets.iter().position(|x| *x == cg) {
                csets.swap_remove(pos);
            }
            cont.nr_csets.store(csets.len(), Ordering::Release);
            if csets.is_empty() {
                queued |= self.update_populated(c, false, notify);
            }
        }
        drop(table);
        if queued {
            self.host.release_queued();
        }
        // SAFETY: unlinked from the table and from every container, and no task slot
        // names it (count reached zero): only RCU readers can still see it.
        unsafe { self.host.call_rcu(NonNull::from(&cgr.rcu)) };
    }

    /// A container gained its first or lost its last css_group: update the populated
    /// counts up the tree and check for release (Linux `cgroup_update_populated`).
    /// Caller holds the table lock. Returns whether a release was queued.
    ///
    /// As in Linux, a container counts its populated *children*, so the walk stops at the
    /// first ancestor whose populated state does not flip: O(1) for a task moving between
    /// a container and its child however deep they are (`unshare` nests a task one level
    /// deeper each time), where counting every populated descendant would walk to the
    /// root on every change.
    fn update_populated(&self, c: NonNull<Container>, populated: bool, notify: bool) -> bool {
        let mut queued = false;
        let mut cur = Some(c);
        while let Some(p) = cur {
            // SAFETY: the container and its ancestors are alive (table lock, linked).
            let cont = unsafe { p.as_ref() };
            let before = if populated {
                cont.populated.fetch_add(1, Ordering::AcqRel)
            } else {
                cont.populated.fetch_sub(1, Ordering::AcqRel)
            };
            let flipped = if populated { before == 0 } else { before == 1 };
            if !flipped {
                break;
            }
            if !populated && notify {
                queued |= self.check_for_release(cont);
            }
            cur = cont.parent;
        }
        queued
    }

    /// Linux `cgroup1_check_for_release`.
    fn check_for_release(&self, c: &Container) -> bool {
        if c.is_root()
            || !c.notify_on_release.load(Ordering::Acquire)
            || c.is_populated_tree()
            || c.nr_children.load(Ordering::Acquire) != 0
            || c.dead.load(Ordering::Acquire)
        {
            return false;
        }
        self.release.lock().push(NonNull::from(c))
    }

    // ----------------------------------------------------------------------------
    // css_groups.
    // ----------------------------------------------------------------------------

    /// Find the css_group with `key`, or make it, with one reference taken for the
    /// caller. Caller holds the hierarchy lock (so no one else creates one meanwhile).
    /// Returns whether it was created.
    fn find_or_create(
        &self,
        tree: &Tree,
        key: &CgKey,
        shard: usize,
    ) -> Result<(NonNull<CssGroup>, bool)> {
        let hash = hash_key(key);
        {
            let table = self.table.lock();
            if let Some(cg) = table.find(key, hash) {
                // SAFETY: in the table, hence alive with a count of at least one (the
                // last reference is dropped and the entry removed under this lock, so
                // `try_get` cannot fail here).
                if unsafe { cg.as_ref() }.try_get(shard) {
                    return Ok((cg, false));
                }
            }
        }
        let mut subsys = [ptr::null_mut(); MAX_SUBSYS];
        for (ss, slot) in subsys.iter_mut().enumerate().take(self.subsys.len()) {
            *slot = self.effective_css(tree, key, ss).as_ptr();
        }
        let mut new = CssGroup::try_new(subsys, *key, self.nr_shards, shard)?;
        new.owner = self.id();
        let cg = NonNull::from(Box::leak(new));
        let mut table = self.table.lock();
        let reserved = table.try_reserve().and_then(|()| {
            key.iter()
                .filter_map(|c| NonNull::new(*c))
                .try_for_each(|c| {
                    // SAFETY: containers in a key being built under the hierarchy lock are
                    // alive; the table lock is held.
                    let csets = unsafe { c.as_ref().csets_mut() };
                    csets.try_reserve(1).map_err(Error::from)
                })
        });
        if let Err(e) = reserved {
            drop(table);
            // SAFETY: never published.
            unsafe { crate::cssgroup::free_css_group_now(cg) };
            return Err(e);
        }
        table.insert(cg);
        for c in key.iter().filter_map(|c| NonNull::new(*c)) {
            // SAFETY: as above.
            let cont = unsafe { c.as_ref() };
            // SAFETY: table lock held, no other borrow.
            let csets = unsafe { cont.csets_mut() };
            csets.push(cg);
            cont.nr_csets.store(csets.len(), Ordering::Release);
            if csets.len() == 1 {
                self.update_populated(c, true, false);
            }
        }
        Ok((cg, true))
    }

    /// The state a task in the containers of `key` uses for subsystem `ss`.
    fn effective_css(&self, tree: &Tree, key: &CgKey, ss: SubsysId) -> NonNull<CssHeader> {
        let root = self.root_css.get(ss).copied();
        let Some(root) = root else {
            return NonNull::dangling();
        };
        let Some(h) = tree.bound.get(ss).copied().flatten() else {
            return root;
        };
        let Some(hier) = tree.hiers.get(h).and_then(|x| x.as_deref()) else {
            return root;
        };
        let c = key.get(h).copied().unwrap_or(ptr::null_mut());
        let start = NonNull::new(c).unwrap_or(hier.root);
        // SAFETY: containers named by a key are alive under the hierarchy lock.
        hier.rules
            .effective_css(unsafe { start.as_ref() }, ss)
            .unwrap_or(root)
    }

    // ----------------------------------------------------------------------------
    // Mounting.
    // ----------------------------------------------------------------------------

    /// Mount a v1 hierarchy with `options` (Linux `cgroup1_get_tree`): an existing
    /// hierarchy that matches is reused (its mount count grows), otherwise a new one is
    /// made and the subsystems are bound to it.
    ///
    /// # Errors
    ///
    /// `EPERM` without `CAP_SYS_ADMIN`; the option errors of
    /// [`crate::options::parse_mount_options`]; `EBUSY` when a name matches a hierarchy
    /// with other subsystems or a subsystem is bound elsewhere; `EINVAL` when a new
    /// hierarchy would have neither subsystems nor `none`; `ENOSPC` past
    /// [`MAX_HIERARCHIES`]; `ENOMEM`.
    pub fn mount(&self, options: &str, caller: &Caller<'_>) -> Result<HierarchyId> {
        if !caller.creds.cap_sys_admin {
            return Err(Error::EPERM);
        }
        let names: ArrayVec<&str, MAX_SUBSYS> = self.subsys.iter().map(|s| s.name()).collect();
        let opts = parse_mount_options(options, &names, caller.creds.cap_sys_admin)?;
        let mut tree = self.tree.lock();
        // cgroup1_root_to_use()
        for (idx, slot) in tree.hiers.iter_mut().enumerate() {
            let Some(h) = slot.as_deref_mut() else {
                continue;
            };
            let mut name_match = false;
            if let Some(name) = &opts.name {
                if *name != h.name {
                    continue;
                }
                name_match = true;
            }
            if (opts.subsys_mask != 0 || opts.none) && opts.subsys_mask != h.subsys_mask {
                if !name_match {
                    continue;
                }
                return Err(Error::EBUSY);
            }
            // Differing flags are ignored with a warning in Linux.
            h.mounts += 1;
            return Ok(HierarchyId(idx));
        }
        if opts.subsys_mask == 0 && !opts.none {
            return Err(Error::EINVAL);
        }
        // Linux allocates the new root's id before binding the subsystems, so a mount
        // that then fails with EBUSY still uses an id up (doc/linux-v1-reference.md §1.5).
        let hid = self.alloc_hier_id(&tree);
        tree.next_hier_id = hid.wrapping_add(1).max(1);
        for ss in 0..self.subsys.len() {
            if opts.subsys_mask & (1 << ss) != 0 && tree.bound.get(ss).copied().flatten().is_some()
            {
                return Err(Error::EBUSY);
            }
        }
        let idx = tree
            .hiers
            .iter()
            .position(Option::is_none)
            .ok_or(Error::ENOSPC)?;
        let name = opts.name.unwrap_or_default();
        let release_agent = opts.release_agent.unwrap_or_default();
        let id = self.next_container_id.fetch_add(1, Ordering::Relaxed);
        let root = try_box(Container::new(
            id,
            idx,
            None,
            String::new(),
            0,
            free_container,
        ))?;
        let root = NonNull::from(Box::leak(root));
        // SAFETY: just made, not yet shared.
        let rootc = unsafe { root.as_ref() };
        if let Err(e) = tree.reserve_index() {
            // SAFETY: never published.
            drop(unsafe { Box::from_raw(root.as_ptr()) });
            return Err(e);
        }
        rootc.populated.store(1, Ordering::Relaxed); // init never leaves: see check_for_release
        rootc
            .clone_children
            .store(opts.clone_children, Ordering::Relaxed);
        let hier = match try_box(Hierarchy {
            id: 0,
            subsys_mask: opts.subsys_mask,
            name,
            noprefix: opts.noprefix,
            release_agent,
            root,
            mounts: 1,
            nr_containers: 1,
            limits: Limits::MAX,
            rules: &V1_RULES,
        }) {
            Ok(h) => h,
            Err(e) => {
                // SAFETY: never published.
                drop(unsafe { Box::from_raw(root.as_ptr()) });
                return Err(e);
            }
        };
        // Nothing can fail from here on.
        let mut hier = hier;
        hier.id = hid;
        for ss in 0..self.subsys.len() {
            if opts.subsys_mask & (1 << ss) == 0 {
                continue;
            }
            if let (Some(css), Some(slot)) = (self.root_css.get(ss), rootc.css.get(ss)) {
                slot.store(css.as_ptr(), Ordering::Release);
                set_css_container(*css, root.as_ptr());
                if let Some(sub) = self.subsys.get(ss) {
                    // SAFETY: root states live as long as gpc.
                    sub.bind(unsafe { CssRef::from_raw(*css) }, true);
                }
            }
            if let Some(b) = tree.bound.get_mut(ss) {
                *b = Some(idx);
            }
        }
        if let Some(slot) = tree.hiers.get_mut(idx) {
            *slot = Some(hier);
        }
        tree.index(root);
        Ok(HierarchyId(idx))
    }

    /// The next hierarchy id (cyclic like Linux's idr, skipping ids in use).
    fn alloc_hier_id(&self, tree: &Tree) -> u32 {
        let mut id = tree.next_hier_id.max(1);
        loop {
            if !tree.hiers.iter().flatten().any(|h| h.id == id) {
                return id;
            }
            id = id.wrapping_add(1).max(1);
        }
    }

    /// Drop one mount of `hier` (Linux `cgroup_kill_sb`). The last one destroys the
    /// hierarchy if it has no child containers, returning its subsystems to the dummy
    /// hierarchy; otherwise it lives on and a later matching mount finds it.
    ///
    /// # Errors
    ///
    /// `EINVAL` if `hier` is not mounted.
    pub fn umount(&self, hier: HierarchyId) -> Result {
        let mut tree = self.tree.lock();
        let h = tree
            .hiers
            .get_mut(hier.0)
            .and_then(|h| h.as_deref_mut())
            .ok_or(Error::EINVAL)?;
        if h.mounts == 0 {
            return Err(Error::EINVAL);
        }
        h.mounts -= 1;
        self.maybe_destroy_hierarchy(&mut tree, hier.0);
        Ok(())
    }

    fn maybe_destroy_hierarchy(&self, tree: &mut Tree, idx: HierIdx) {
        let Some(h) = tree.hiers.get(idx).and_then(|h| h.as_deref()) else {
            return;
        };
        if h.mounts != 0 || !h.root().children_unlocked().is_empty() {
            return;
        }
        let mask = h.subsys_mask;
        let root = h.root;
        for ss in 0..self.subsys.len() {
            if mask & (1 << ss) == 0 {
                continue;
            }
            if let Some(css) = self.root_css.get(ss) {
                set_css_container(*css, ptr::null_mut());
                if let Some(sub) = self.subsys.get(ss) {
                    // SAFETY: root states live as long as gpc.
                    sub.bind(unsafe { CssRef::from_raw(*css) }, false);
                }
            }
            if let Some(b) = tree.bound.get_mut(ss) {
                *b = None;
            }
        }
        if let Some(slot) = tree.hiers.get_mut(idx) {
            *slot = None;
        }
        tree.unindex(root);
        // SAFETY: the root is unreachable now (no css_group names a root: roots are
        // null in keys); lock-free readers may still hold it through a root state's
        // container pointer, hence RCU.
        unsafe { self.host.call_rcu(NonNull::from(&(*root.as_ptr()).rcu)) };
    }

    /// Whether `hier` still exists (mounted, or alive with children).
    pub fn hierarchy_exists(&self, hier: HierarchyId) -> bool {
        self.tree
            .lock()
            .hiers
            .get(hier.0)
            .is_some_and(Option::is_some)
    }

    /// Set the depth and size limits of `hier` (default [`Limits::MAX`]). Containers
    /// already beyond new limits stay; only later `mkdir`s are refused.
    ///
    /// # Errors
    ///
    /// `ENOENT` if `hier` does not exist.
    pub fn set_hierarchy_limits(&self, hier: HierarchyId, limits: Limits) -> Result {
        let mut tree = self.tree.lock();
        let h = tree
            .hiers
            .get_mut(hier.0)
            .and_then(|h| h.as_deref_mut())
            .ok_or(Error::ENOENT)?;
        h.limits = limits;
        Ok(())
    }

    /// The depth and size limits of `hier`.
    pub fn hierarchy_limits(&self, hier: HierarchyId) -> Option<Limits> {
        self.tree
            .lock()
            .hiers
            .get(hier.0)
            .and_then(|h| h.as_deref())
            .map(|h| h.limits)
    }

    /// The id `/proc` shows for `hier`.
    pub fn hierarchy_proc_id(&self, hier: HierarchyId) -> Option<u32> {
        self.tree
            .lock()
            .hiers
            .get(hier.0)
            .and_then(|h| h.as_deref())
            .map(|h| h.id)
    }

    // ----------------------------------------------------------------------------
    // The directory tree.
    // ----------------------------------------------------------------------------

    fn hierarchy(tree: &Tree, hier: HierarchyId) -> Result<&Hierarchy> {
        tree.hiers
            .get(hier.0)
            .and_then(|h| h.as_deref())
            .ok_or(Error::ENOENT)
    }

    fn child_named<'t>(c: &'t Container, name: &str) -> Option<&'t Container> {
        c.child_named(name)
    }

    /// Every file of container `c`, with its name parts (prefix, name).
    fn for_each_file(&self, h: &Hierarchy, c: &Container, f: &mut FileVisitor<'_>) {
        let on_root = c.is_root();
        let visible = |flags: CfFlags| {
            !(flags.contains(CfFlags::ONLY_ON_ROOT) && !on_root
                || flags.contains(CfFlags::NOT_ON_ROOT) && on_root)
        };
        for &(cf, name, flags, mode) in CORE_FILES {
            if visible(flags)
                && h.rules.has_core_file(name)
                && !f(FileRef::Core(cf), None, name, mode)
            {
                return;
            }
        }
        for (ss, sub) in self.subsys.iter().enumerate() {
            if h.subsys_mask & (1 << ss) == 0 {
                continue;
            }
            for idx in 0..sub.file_count() {
                let Some(FileInfo { name, flags, mode }) = sub.file_info(idx) else {
                    continue;
                };
                if !visible(flags) {
                    continue;
                }
                let prefix = if h.noprefix || flags.contains(CfFlags::NO_PREFIX) {
                    None
                } else {
                    Some(sub.name())
                };
                if !f(FileRef::Subsys(ss, idx), prefix, name, mode) {
                    return;
                }
            }
        }
    }

    fn find_file(&self, h: &Hierarchy, c: &Container, want: &str) -> Option<(FileRef, u16)> {
        let mut found = None;
        self.for_each_file(h, c, &mut |fr, prefix, name, mode| {
            let matches = match prefix {
                Some(p) => want.strip_prefix(p).and_then(|r| r.strip_prefix('.')) == Some(name),
                None => want == name,
            };
            if matches {
                found = Some((fr, mode));
            }
            !matches
        });
        found
    }

    fn resolve_full<'t>(
        &self,
        tree: &'t Tree,
        hier: HierarchyId,
        path: &str,
    ) -> Result<Resolved<'t>> {
        let h = Self::hierarchy(tree, hier)?;
        let mut cur = h.root();
        let mut comps = path.split('/').filter(|c| !c.is_empty()).peekable();
        while let Some(comp) = comps.next() {
            if let Some(child) = Self::child_named(cur, comp) {
                cur = child;
                continue;
            }
            if let Some(f) = self.find_file(h, cur, comp) {
                if comps.peek().is_some() {
                    return Err(Error::ENOTDIR);
                }
                return Ok((h, cur, Some(f)));
            }
            return Err(Error::ENOENT);
        }
        Ok((h, cur, None))
    }

    /// What `path` names in `hier`.
    ///
    /// # Errors
    ///
    /// `ENOENT`, `ENOTDIR` (a file used as a directory).
    pub fn stat(&self, hier: HierarchyId, path: &str) -> Result<Entry> {
        let tree = self.tree.lock();
        let (_, c, file) = self.resolve_full(&tree, hier, path)?;
        Ok(match file {
            Some((_, mode)) => Entry::File { mode },
            None => Entry::Dir { id: c.id },
        })
    }

    /// The entries of directory `path`: child containers and files, unsorted.
    ///
    /// # Errors
    ///
    /// `ENOENT`, `ENOTDIR`, `ENOMEM`.
    pub fn list(&self, hier: HierarchyId, path: &str) -> Result<Vec<String>> {
        let tree = self.tree.lock();
        let (h, c, file) = self.resolve_full(&tree, hier, path)?;
        if file.is_some() {
            return Err(Error::ENOTDIR);
        }
        let mut out: Vec<String> = Vec::new();
        for ch in c.children_unlocked() {
            // SAFETY: alive under the hierarchy lock.
            let ch = unsafe { ch.as_ref() };
            try_push(&mut out, try_string(&ch.name)?)?;
        }
        let mut err = Ok(());
        self.for_each_file(h, c, &mut |_, prefix, name, _| {
            let mut s = String::new();
            let len = prefix.map_or(0, |p| p.len() + 1) + name.len();
            if let Err(e) = s.try_reserve_exact(len) {
                err = Err(Error::from(e));
                return false;
            }
            if let Some(p) = prefix {
                s.push_str(p);
                s.push('.');
            }
            s.push_str(name);
            if let Err(e) = try_push(&mut out, s) {
                err = Err(e);
                return false;
            }
            true
        });
        err.map(|()| out)
    }

    /// Call `f` with the state of subsystem `ss` in container `path` of `hier`, under
    /// the hierarchy lock (`f` must not call back into gpc).
    ///
    /// # Errors
    ///
    /// `ENOENT` if there is no such container or `ss` is not bound to `hier`,
    /// `ENOTDIR` for a file.
    pub fn with_container_css<R>(
        &self,
        hier: HierarchyId,
        path: &str,
        ss: SubsysId,
        f: impl FnOnce(CssRef<'_>) -> R,
    ) -> Result<R> {
        let tree = self.tree.lock();
        let (_, c, file) = self.resolve_full(&tree, hier, path)?;
        if file.is_some() {
            return Err(Error::ENOTDIR);
        }
        let css = c.css_ref(ss).ok_or(Error::ENOENT)?;
        Ok(f(css))
    }

    /// Call `f` with the state of subsystem `ss` in the container with id `id` (as
    /// [`CssRef::container_id`] gives), if it still exists and `ss` is mounted. O(1)
    /// through the id index, and allocation-free: `None` means gone, never "no memory
    /// to look" (the simulator uncharges through it after a task has exited).
    pub fn with_css_by_container_id<R>(
        &self,
        ss: SubsysId,
        id: u64,
        f: impl FnOnce(CssRef<'_>) -> R,
    ) -> Option<R> {
        let tree = self.tree.lock();
        let h = tree.bound.get(ss).copied().flatten()?;
        let c = tree.container_by_id(id)?;
        // SAFETY: indexed, hence alive under the hierarchy lock.
        let c = unsafe { c.as_ref() };
        if c.hier != h {
            return None;
        }
        c.css_ref(ss).map(f)
    }

    /// Make container `path` (Linux `cgroup_mkdir`). The parent must exist. Permission to
    /// write the parent directory is the host VFS's check.
    ///
    /// # Errors
    ///
    /// `ENOENT` (no parent, or the parent was removed), `ENOTDIR`, `EEXIST` (a container
    /// or file of that name, `.` or `..`), `EINVAL` (a name with a newline or a NUL), `EAGAIN`
    /// (past the hierarchy's [`Limits`]), `ENOMEM`, or a subsystem's `create` errno.
    /// Nothing is left behind on error.
    pub fn mkdir(&self, hier: HierarchyId, path: &str) -> Result {
        let mut tree = self.tree.lock();
        let (parent_path, name) = split_last(path).ok_or(Error::EEXIST)?;
        let (_, parent, file) = self.resolve_full(&tree, hier, parent_path)?;
        if file.is_some() {
            return Err(Error::ENOTDIR);
        }
        let parent = NonNull::from(parent);
        self.mkdir_in(&mut tree, parent, name).map(|_| ())
    }

    /// [`Gpc::mkdir`] of `name` in the directory with container id `parent_id` (as
    /// [`Entry::Dir`] gives it) of `hier`, in O(1) however deep it is: a host that walked
    /// to the parent already need not have gpc walk the path again (Linux `cgroup_mkdir`
    /// takes the parent's kernfs node). Returns the new container's id.
    ///
    /// # Errors
    ///
    /// `ENOENT` if there is no such container in `hier` (or it was removed); otherwise
    /// as for [`Gpc::mkdir`].
    pub fn mkdir_at(&self, hier: HierarchyId, parent_id: u64, name: &str) -> Result<u64> {
        let mut tree = self.tree.lock();
        let parent = Self::container_at(&tree, hier, parent_id)?;
        let c = self.mkdir_in(&mut tree, parent, name)?;
        // SAFETY: just made, alive under the hierarchy lock.
        Ok(unsafe { c.as_ref() }.id)
    }

    /// What `name` in the directory with container id `dir_id` of `hier` is: a child
    /// container or a file ([`Gpc::stat`] of the directory's path joined with `name`, in
    /// O(1) however deep the directory is).
    ///
    /// # Errors
    ///
    /// `ENOENT` (no such directory or entry).
    pub fn stat_at(&self, hier: HierarchyId, dir_id: u64, name: &str) -> Result<Entry> {
        let tree = self.tree.lock();
        let h = Self::hierarchy(&tree, hier)?;
        let dir = Self::container_at(&tree, hier, dir_id)?;
        // SAFETY: indexed, hence alive under the hierarchy lock.
        let dir = unsafe { dir.as_ref() };
        if let Some(c) = Self::child_named(dir, name) {
            return Ok(Entry::Dir { id: c.id });
        }
        match self.find_file(h, dir, name) {
            Some((_, mode)) => Ok(Entry::File { mode }),
            None => Err(Error::ENOENT),
        }
    }

    /// The live container with id `id` in `hier`.
    fn container_at(tree: &Tree, hier: HierarchyId, id: u64) -> Result<NonNull<Container>> {
        Self::hierarchy(tree, hier)?;
        tree.container_by_id(id)
            // SAFETY: indexed, hence alive under the hierarchy lock.
            .filter(|c| unsafe { c.as_ref() }.hier == hier.0)
            .ok_or(Error::ENOENT)
    }

    /// Make container `name` under `parent` (alive, under the hierarchy lock the caller
    /// holds through `tree`): the body of [`Gpc::mkdir`].
    fn mkdir_in(
        &self,
        tree: &mut Tree,
        parent: NonNull<Container>,
        name: &str,
    ) -> Result<NonNull<Container>> {
        let parent_ptr = parent;
        // SAFETY: the caller's contract: alive under the hierarchy lock.
        let parent = unsafe { parent_ptr.as_ref() };
        let hier = HierarchyId(parent.hier);
        let h = Self::hierarchy(tree, hier)?;
        validate_name(name)?;
        if Self::child_named(parent, name).is_some() || self.find_file(h, parent, name).is_some() {
            return Err(Error::EEXIST);
        }
        // cgroup_check_hierarchy_limits(), after the name checks as in cgroup_mkdir().
        if parent.depth >= h.limits.max_depth
            || h.nr_containers.saturating_sub(1) >= h.limits.max_descendants
        {
            return Err(Error::EAGAIN);
        }
        let mask = h.subsys_mask;
        tree.reserve_index()?;
        let notify = parent.notify_on_release.load(Ordering::Relaxed);
        let clone = parent.clone_children.load(Ordering::Relaxed);
        let name = try_string(name)?;
        let id = self.next_container_id.fetch_add(1, Ordering::Relaxed);
        let c = try_box(Container::new(
            id,
            hier.0,
            Some(parent_ptr),
            name,
            parent.depth + 1,
            free_container,
        ))?;
        let c = NonNull::from(Box::leak(c));
        // SAFETY: just made, owned here.
        let cr = unsafe { c.as_ref() };
        let undo_box = |c: NonNull<Container>| {
            // SAFETY: never published.
            drop(unsafe { Box::from_raw(c.as_ptr()) });
        };
        // SAFETY: hierarchy lock held, no other borrow of the parent's list alive.
        if let Err(e) = unsafe { parent.children_mut() }.try_reserve() {
            undo_box(c);
            return Err(e);
        }
        if notify {
            if let Err(e) = self.release.lock().reserve_one() {
                undo_box(c);
                return Err(e);
            }
        }
        let mut made: ArrayVec<SubsysId, MAX_SUBSYS> = ArrayVec::new();
        for ss in 0..self.subsys.len() {
            if mask & (1 << ss) == 0 {
                continue;
            }
            let (Some(sub), Some(pcss)) = (self.subsys.get(ss), parent.css_ref(ss)) else {
                continue;
            };
            match sub.create_css(ss, Some(pcss), c.as_ptr(), self.host.nr_cpus()) {
                Ok(css) => {
                    if let Some(slot) = cr.css.get(ss) {
                        slot.store(css.as_ptr(), Ordering::Release);
                    }
                    made.push(ss);
                }
                Err(e) => {
                    for &ss in made.iter().rev() {
                        if let (Some(sub), Some(css)) = (self.subsys.get(ss), cr.css_ref(ss)) {
                            sub.destroy(css);
                            // SAFETY: never visible to readers (the container is not
                            // linked anywhere yet).
                            unsafe { free_css_now(css.raw()) };
                        }
                    }
                    if notify {
                        self.release.lock().unreserve_one();
                    }
                    undo_box(c);
                    return Err(e);
                }
            }
        }
        // Commit: nothing fails from here.
        cr.notify_on_release.store(notify, Ordering::Relaxed);
        cr.clone_children.store(clone, Ordering::Relaxed);
        if clone {
            for &ss in made.iter() {
                if let (Some(sub), Some(css)) = (self.subsys.get(ss), cr.css_ref(ss)) {
                    sub.post_clone(css);
                }
            }
        }
        // SAFETY: hierarchy lock held; capacity reserved above.
        unsafe { parent.children_mut() }.push(c);
        parent.nr_children.fetch_add(1, Ordering::Release);
        tree.index(c);
        if let Some(h) = tree.hiers.get_mut(hier.0).and_then(|h| h.as_deref_mut()) {
            h.nr_containers += 1;
        }
        Ok(c)
    }

    /// Remove container `path` (Linux `cgroup_rmdir`).
    ///
    /// # Errors
    ///
    /// `EBUSY` for the root or a container with tasks or children, `ENOENT`, `ENOTDIR`
    /// (a file).
    pub fn rmdir(&self, hier: HierarchyId, path: &str) -> Result {
        let mut tree = self.tree.lock();
        let (_, c, file) = self.resolve_full(&tree, hier, path)?;
        if file.is_some() {
            return Err(Error::ENOTDIR);
        }
        let c = NonNull::from(c);
        self.rmdir_node(&mut tree, c)
    }

    /// Remove container `c` (alive, under the hierarchy lock the caller holds through
    /// `tree`): the body of [`Gpc::rmdir`].
    fn rmdir_node(&self, tree: &mut Tree, c: NonNull<Container>) -> Result {
        // SAFETY: the caller's contract.
        let c = unsafe { c.as_ref() };
        let hier = HierarchyId(c.hier);
        let h = Self::hierarchy(tree, hier)?;
        if c.is_root() {
            return Err(Error::EBUSY);
        }
        if c.has_tasks() || !c.children_unlocked().is_empty() {
            return Err(Error::EBUSY);
        }
        let mask = h.subsys_mask;
        let cptr = NonNull::from(c);
        let Some(parent) = c.parent else {
            return Err(Error::EBUSY);
        };
        c.dead.store(true, Ordering::Release);
        for ss in 0..self.subsys.len() {
            if mask & (1 << ss) == 0 {
                continue;
            }
            if let (Some(sub), Some(css)) = (self.subsys.get(ss), c.css_ref(ss)) {
                sub.destroy(css);
            }
        }
        // SAFETY: the parent outlives the child; hierarchy lock held.
        let parent_ref = unsafe { parent.as_ref() };
        // SAFETY: hierarchy lock held, no other borrow alive.
        unsafe { parent_ref.children_mut() }.remove(cptr);
        parent_ref.nr_children.fetch_sub(1, Ordering::Release);
        tree.unindex(cptr);
        {
            let mut rq = self.release.lock();
            if c.release_queued.load(Ordering::Relaxed) {
                rq.remove(cptr);
            }
            if c.notify_on_release.load(Ordering::Relaxed) {
                rq.unreserve_one();
            }
        }
        // SAFETY: the container is still allocated (freed only through RCU below).
        let c = unsafe { &*cptr.as_ptr() };
        if let Some(h) = tree.hiers.get_mut(hier.0).and_then(|h| h.as_deref_mut()) {
            h.nr_containers = h.nr_containers.saturating_sub(1);
        }
        for ss in 0..self.subsys.len() {
            if let Some(css) = c
                .css
                .get(ss)
                .and_then(|p| NonNull::new(p.load(Ordering::Acquire)))
            {
                // SAFETY: the container is unlinked; its states are reachable only by
                // readers that found them before, hence RCU.
                unsafe { self.host.call_rcu(NonNull::from(&(*css.as_ptr()).rcu)) };
            }
        }
        // SAFETY: as above for the container itself.
        unsafe { self.host.call_rcu(NonNull::from(&(*cptr.as_ptr()).rcu)) };
        // The parent may have become releasable (cgroup_destroy_locked).
        let queued = {
            let _table = self.table.lock();
            self.check_for_release(parent_ref)
        };
        if queued {
            self.host.release_queued();
        }
        // A hierarchy kept alive only by children after its last umount stays until the
        // next mount and umount, as in Linux.
        Ok(())
    }

    // ----------------------------------------------------------------------------
    // Files.
    // ----------------------------------------------------------------------------

    /// Read file `path` into `buf` (appending).
    ///
    /// # Errors
    ///
    /// `ENOENT`, `ENOTDIR`, `EISDIR` (a directory), `EINVAL` (a write-only file),
    /// `ENOMEM`, or the handler's errno.
    pub fn read(
        &self,
        hier: HierarchyId,
        path: &str,
        caller: &Caller<'_>,
        buf: &mut Vec<u8>,
    ) -> Result {
        let tree = self.tree.lock();
        let (h, c, file) = self.resolve_full(&tree, hier, path)?;
        let (file, _) = file.ok_or(Error::EISDIR)?;
        let start = buf.len();
        let res = self.read_file(&tree, h, c, file, caller, &mut Out::new(buf));
        if res.is_err() {
            buf.truncate(start);
        }
        res
    }

    fn read_file(
        &self,
        tree: &Tree,
        h: &Hierarchy,
        c: &Container,
        file: FileRef,
        caller: &Caller<'_>,
        out: &mut Out<'_>,
    ) -> Result {
        match file {
            FileRef::Core(CoreFile::Tasks) => self.read_pids(h, c, caller, false, out),
            FileRef::Core(CoreFile::Procs) => self.read_pids(h, c, caller, true, out),
            FileRef::Core(CoreFile::NotifyOnRelease) => {
                writeln!(
                    out,
                    "{}",
                    u8::from(c.notify_on_release.load(Ordering::Relaxed))
                )
            }
            FileRef::Core(CoreFile::CloneChildren) => {
                writeln!(
                    out,
                    "{}",
                    u8::from(c.clone_children.load(Ordering::Relaxed))
                )
            }
            FileRef::Core(CoreFile::SaneBehavior) => out.bytes(b"0\n"),
            FileRef::Core(CoreFile::ReleaseAgent) => {
                let agent = &h.release_agent;
                writeln!(out, "{agent}")
            }
            FileRef::Subsys(ss, idx) => {
                let sub = self.subsys.get(ss).ok_or(Error::ENOENT)?;
                let css = c.css_ref(ss).ok_or(Error::ENOENT)?;
                let view = DebugCtx {
                    gpc: self,
                    tree,
                    h,
                    c,
                    caller,
                };
                let ctx = FileCtx {
                    caller,
                    container: c,
                    ss,
                    nr_cpus: self.host.nr_cpus(),
                    nr_mems: self.host.nr_mem_nodes(),
                    debug: Some(&view),
                };
                sub.read_file(idx, &ctx, css, out)
            }
        }
    }

    /// The pids (or tgids) of the tasks in `c`, sorted and unique.
    fn read_pids(
        &self,
        h: &Hierarchy,
        c: &Container,
        caller: &Caller<'_>,
        tgids: bool,
        out: &mut Out<'_>,
    ) -> Result {
        let pids = self.container_pids(h, c, caller, tgids)?;
        for pid in pids {
            writeln!(out, "{pid}")?;
        }
        Ok(())
    }

    fn container_pids(
        &self,
        h: &Hierarchy,
        c: &Container,
        caller: &Caller<'_>,
        tgids: bool,
    ) -> Result<Vec<Pid>> {
        let hidx = c.hier;
        let want: *mut Container = if c.is_root() {
            ptr::null_mut()
        } else {
            c as *const Container as *mut Container
        };
        let _ = h;
        let mut pids: Vec<Pid> = Vec::new();
        let mut err = Ok(());
        let guard = self.rcu_read_lock();
        caller.tasks.for_each_task(&mut |t| {
            if err.is_err() {
                return;
            }
            let (Some(cg), _) = untag(rcu_dereference(t.slot.raw(), &guard)) else {
                return;
            };
            // A task of another instance is in none of this instance's containers.
            // SAFETY: under the RCU guard (see `owns`).
            if !unsafe { self.owns(cg) } {
                return;
            }
            let cg = cg.as_ptr();
            // SAFETY: under the RCU guard (see `task_css`).
            if unsafe { (*cg).container(hidx) } == want {
                if let Err(e) = try_push(&mut pids, if tgids { t.tgid } else { t.pid }) {
                    err = Err(e);
                }
            }
        });
        drop(guard);
        err?;
        pids.sort_unstable();
        pids.dedup();
        Ok(pids)
    }

    /// Write `data` (one `write(2)`) to file `path`. File modes and ownership are the
    /// host VFS's check; this checks what Linux checks inside the handlers.
    ///
    /// # Errors
    ///
    /// `ENOENT`, `ENOTDIR`, `EISDIR`, `EINVAL` (a read-only file or bad value), and the
    /// handler's errno (`ESRCH`, `EACCES`, `EPERM`, `ENOSPC`, `EBUSY`, `ENOMEM`, ...).
    pub fn write(&self, hier: HierarchyId, path: &str, data: &[u8], caller: &Caller<'_>) -> Result {
        let mut tree = self.tree.lock();
        let (h, c, file) = self.resolve_full(&tree, hier, path)?;
        let (file, mode) = file.ok_or(Error::EISDIR)?;
        // kernfs: a write longer than the file's atomic_write_len (a page; PATH_MAX - 1
        // for release_agent) is refused whole; cgroup_file_write ignores empty writes.
        let max = if file == FileRef::Core(CoreFile::ReleaseAgent) {
            PATH_MAX - 1
        } else {
            PAGE_SIZE
        };
        if data.len() > max {
            return Err(Error::E2BIG);
        }
        if mode & 0o200 == 0 {
            return Err(Error::EINVAL);
        }
        if data.is_empty() {
            return Ok(());
        }
        match file {
            FileRef::Core(CoreFile::Tasks) => self.write_pid(&tree, c, data, caller, false),
            FileRef::Core(CoreFile::Procs) => self.write_pid(&tree, c, data, caller, true),
            FileRef::Core(CoreFile::NotifyOnRelease) => {
                let v = crate::parse::write_u64_input(data)? != 0;
                let was = c.notify_on_release.load(Ordering::Relaxed);
                if v && !was {
                    self.release.lock().reserve_one()?;
                } else if !v && was {
                    let mut rq = self.release.lock();
                    if c.release_queued.load(Ordering::Relaxed) {
                        rq.remove(NonNull::from(c));
                    }
                    rq.unreserve_one();
                }
                c.notify_on_release.store(v, Ordering::Relaxed);
                Ok(())
            }
            FileRef::Core(CoreFile::CloneChildren) => {
                let v = crate::parse::write_u64_input(data)? != 0;
                c.clone_children.store(v, Ordering::Relaxed);
                Ok(())
            }
            FileRef::Core(CoreFile::ReleaseAgent) => {
                if !caller.creds.cap_sys_admin {
                    return Err(Error::EPERM);
                }
                let text = crate::parse::strstrip(data);
                let text = text.get(..text.len().min(PATH_MAX - 1)).unwrap_or(&[]);
                let text = core::str::from_utf8(text).map_err(|_| Error::EINVAL)?;
                let agent = try_string(text)?;
                let idx = hier.0;
                if let Some(h) = tree.hiers.get_mut(idx).and_then(|h| h.as_deref_mut()) {
                    h.release_agent = agent;
                }
                Ok(())
            }
            FileRef::Core(CoreFile::SaneBehavior) => Err(Error::EINVAL),
            FileRef::Subsys(ss, idx) => {
                let sub = self.subsys.get(ss).ok_or(Error::ENOENT)?;
                let css = c.css_ref(ss).ok_or(Error::ENOENT)?;
                let view = DebugCtx {
                    gpc: self,
                    tree: &tree,
                    h,
                    c,
                    caller,
                };
                let ctx = FileCtx {
                    caller,
                    container: c,
                    ss,
                    nr_cpus: self.host.nr_cpus(),
                    nr_mems: self.host.nr_mem_nodes(),
                    debug: Some(&view),
                };
                sub.write_file(idx, &ctx, css, data)
            }
        }
    }

    /// `tasks` / `cgroup.procs` writes (`__cgroup1_procs_write`,
    /// `cgroup_procs_write_start`).
    fn write_pid(
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
        let mut target: Option<(Pid, Creds)> = None;
        if !caller
            .tasks
            .with_task(pid, &mut |t| target = Some((t.tgid, t.creds)))
        {
            return Err(Error::ESRCH);
        }
        let (tgid, tcreds) = target.ok_or(Error::ESRCH)?;
        if !caller.creds.may_move(&tcreds) {
            return Err(Error::EACCES);
        }
        if c.dead.load(Ordering::Acquire) {
            return Err(Error::ENODEV);
        }
        let mut res = Err(Error::ESRCH);
        if threadgroup {
            caller.tasks.with_thread_group(tgid, &mut |threads| {
                let mut all: Vec<TaskRef<'_>> = Vec::new();
                for t in threads {
                    if let Err(e) = try_push(&mut all, t) {
                        res = Err(e);
                        return;
                    }
                }
                res = self.migrate(tree, &all, c, Some(&caller.creds));
            });
        } else {
            caller.tasks.with_task(pid, &mut |t| {
                res = self.migrate(tree, core::slice::from_ref(t), c, Some(&caller.creds))
            });
        }
        res
    }

    /// Move `tasks` into `dst`, all or none (Linux `cgroup_migrate`). Caller holds the
    /// hierarchy lock. `mover`: the credentials of whoever asked (Linux `current`), for
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
        let mask = tree
            .hiers
            .get(h)
            .and_then(|x| x.as_deref())
            .map_or(0, |x| x.subsys_mask);
        let mut moves: Vec<Move<'_>> = Vec::new();
        moves.try_reserve(tasks.len())?;
        let mut created: Vec<NonNull<CssGroup>> = Vec::new();
        created.try_reserve(tasks.len())?;
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
            let setscheduler = sub.attach_needs_setscheduler();
            let mut failed = None;
            for (i, m) in moves.iter().enumerate() {
                let (Some(from), Some(to)) =
                    (self.pinned_css(m.from, ss), self.pinned_css(m.to, ss))
                else {
                    continue;
                };
                if let Err(e) = sub.can_attach(&m.info, from, to) {
                    failed = Some((i, e));
                    break;
                }
                // Linux kernel/cgroup/cpuset.c cpuset_can_attach: after
                // cpuset_can_attach_check (ENOSPC), security_task_setscheduler(task)
                // for each task (on v1 always), failing the whole move with EPERM.
                if setscheduler && mover.is_some_and(|c| !c.may_setscheduler(&m.task.creds)) {
                    // This subsystem's can_attach of `m` succeeded: cancel it too.
                    failed = Some((i + 1, Error::EPERM));
                    break;
                }
            }
            if let Some((i, e)) = failed {
                for m in moves.iter().take(i) {
                    if let (Some(from), Some(to)) =
                        (self.pinned_css(m.from, ss), self.pinned_css(m.to, ss))
                    {
                        sub.cancel_attach(&m.info, from, to);
                    }
                }
                for &prev in subs.iter().take(n) {
                    let Some(psub) = self.subsys.get(prev) else {
                        continue;
                    };
                    for m in moves.iter() {
                        if let (Some(from), Some(to)) =
                            (self.pinned_css(m.from, prev), self.pinned_css(m.to, prev))
                        {
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
            let swapped = m
                .task
                .slot
                .raw()
                .compare_exchange(
                    m.from_tagged,
                    tag(m.to, shard),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok();
            if swapped {
                for &ss in subs.iter() {
                    if let (Some(sub), Some(from), Some(to)) = (
                        self.subsys.get(ss),
                        self.pinned_css(m.from, ss),
                        self.pinned_css(m.to, ss),
                    ) {
                        sub.attach(&m.info, from, to);
                    }
                }
                // The task's old reference and our pin.
                self.put_cg(m.from, m.from_shard);
                self.put_cg(m.from, shard);
            } else {
                // The task exited meanwhile.
                for &ss in subs.iter() {
                    if let (Some(sub), Some(from), Some(to)) = (
                        self.subsys.get(ss),
                        self.pinned_css(m.from, ss),
                        self.pinned_css(m.to, ss),
                    ) {
                        sub.cancel_attach(&m.info, from, to);
                    }
                }
                self.put_cg(m.from, shard);
                self.put_cg(m.to, shard);
            }
        }
        Ok(())
    }

    fn pinned_css(&self, cg: NonNull<CssGroup>, ss: SubsysId) -> Option<CssRef<'_>> {
        // SAFETY: the caller holds a reference on `cg`.
        self.cg_css(unsafe { &*cg.as_ptr() }, ss)
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
        let (_, c, file) = self.resolve_full(&tree, hier, path)?;
        if file.is_some() {
            return Err(Error::ENOTDIR);
        }
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
            let _ = self.rmdir_node(&mut tree, child);
        }
        res
    }

    /// The path of `c` relative to its hierarchy root (`/a/b`; `/` for the root), into
    /// `out`. Never recursive: the depth of a tree is the user's to choose and a kernel
    /// stack is small (Linux's `kernfs_path_from_node` walks up in a loop too).
    fn container_path(&self, c: &Container, out: &mut String) -> Result {
        if c.is_root() {
            out.try_reserve(1)?;
            out.push('/');
            return Ok(());
        }
        let mut names: ArrayVec<&str, 64> = ArrayVec::new();
        let mut cur = Some(c);
        let mut total = 0;
        let mut deep = false;
        while let Some(x) = cur {
            if x.is_root() {
                break;
            }
            if names.try_push(x.name.as_str()).is_err() {
                deep = true;
                break;
            }
            total += x.name.len() + 1;
            cur = x.parent_ref();
        }
        if deep {
            return Self::deep_container_path(c, out);
        }
        out.try_reserve(total)?;
        for n in names.iter().rev() {
            out.push('/');
            out.push_str(n);
        }
        Ok(())
    }

    /// `container_path` of a container more than 64 levels down: measure the
    /// path walking up, then walk up again writing each name at its place from the end.
    fn deep_container_path(c: &Container, out: &mut String) -> Result {
        let mut total = 0usize;
        let mut cur = Some(c);
        while let Some(x) = cur.filter(|x| !x.is_root()) {
            total = total.saturating_add(x.name.len() + 1);
            cur = x.parent_ref();
        }
        let mut buf: Vec<u8> = Vec::new();
        buf.try_reserve_exact(total)?;
        buf.resize(total, b'/');
        let mut end = total;
        let mut cur = Some(c);
        while let Some(x) = cur.filter(|x| !x.is_root()) {
            let Some(start) = end.checked_sub(x.name.len()) else {
                break;
            };
            if let Some(dst) = buf.get_mut(start..end) {
                dst.copy_from_slice(x.name.as_bytes());
            }
            // Leave the '/' before the name.
            end = start.saturating_sub(1);
            cur = x.parent_ref();
        }
        // Names are UTF-8 and '/' is ASCII: this cannot fail.
        let path = core::str::from_utf8(&buf).map_err(|_| Error::EINVAL)?;
        out.try_reserve(path.len())?;
        out.push_str(path);
        Ok(())
    }

    // ----------------------------------------------------------------------------
    // /proc.
    // ----------------------------------------------------------------------------

    /// `/proc/PID/cgroup` of the task with `slot` (Linux `proc_cgroup_show`): one line
    /// per hierarchy, `ID:CONTROLLERS[,name=NAME]:PATH`, newest hierarchy first.
    ///
    /// # Errors
    ///
    /// `ESRCH` if the task has no css_group, `EINVAL` if it belongs to another instance,
    /// `ENOMEM`.
    pub fn proc_pid_cgroup(&self, slot: &TaskSlot, buf: &mut Vec<u8>) -> Result {
        let start = buf.len();
        let res = self.proc_pid_cgroup_inner(slot, &mut Out::new(buf));
        if res.is_err() {
            buf.truncate(start);
        }
        res
    }

    fn proc_pid_cgroup_inner(&self, slot: &TaskSlot, out: &mut Out<'_>) -> Result {
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
                // SAFETY: alive: named by a css_group read under the guard, with the
                // hierarchy lock held.
                Some(c) => self.container_path(unsafe { c.as_ref() }, &mut path)?,
                None => {
                    path.try_reserve(1)?;
                    path.push('/');
                }
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
                out.bytes(sub.name().as_bytes())?;
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
                let (id, n) = h.map_or((0, 1), |h| (h.id, h.nr_containers));
                writeln!(out, "{}\t{}\t{}\t1", sub.name(), id, n)?;
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
    /// `seq_show_option` does (`\ooo` for `,`, blank, tab, newline, backslash).
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
            for (ss, sub) in self.subsys.iter().enumerate() {
                if h.subsys_mask & (1 << ss) != 0 {
                    out.bytes(b",")?;
                    out.bytes(sub.name().as_bytes())?;
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

    // ----------------------------------------------------------------------------
    // Release notifications.
    // ----------------------------------------------------------------------------

    /// Take the queued release notifications, oldest first, calling `f` for each; a
    /// hierarchy with an empty `release_agent` reports nothing (Linux skips the call).
    /// A notification `f` fails on (`ENOMEM` recording it) goes back to the head of
    /// the queue, with the rest, and the drain stops with that error.
    ///
    /// Each [`Release`] borrows the hierarchy's current `release_agent` and a path built
    /// into one buffer that every notification of the call reuses, so draining copies
    /// no agent string, however many notifications there are: as Linux
    /// `cgroup1_release_agent` (kernel/cgroup/cgroup-v1.c), the work reads the agent and
    /// the path when it runs, not when it was queued. The queue itself holds at most one
    /// entry per container (`release_queued` is Linux's pending bit on the container's
    /// one `release_agent_work`: `schedule_work` of a pending work is a no-op).
    ///
    /// # Errors
    ///
    /// `ENOMEM` if a path cannot be built, or `f`'s error; that entry and the rest stay
    /// queued.
    pub fn drain_releases(&self, f: &mut dyn FnMut(Release<'_>) -> Result) -> Result {
        let tree = self.tree.lock();
        let mut path = String::new();
        loop {
            let next = {
                let mut rq = self.release.lock();
                let Some(c) = rq.queue.pop_front() else {
                    return Ok(());
                };
                // SAFETY: queued containers are alive (rmdir dequeues before freeing).
                unsafe { c.as_ref() }
                    .release_queued
                    .store(false, Ordering::Relaxed);
                c
            };
            // SAFETY: as above; the hierarchy lock keeps it alive while we use it.
            let c = unsafe { next.as_ref() };
            let agent = tree
                .hiers
                .get(c.hier)
                .and_then(|h| h.as_deref())
                .map(|h| h.release_agent.as_str())
                .unwrap_or("");
            if agent.is_empty() {
                continue;
            }
            path.clear();
            let reported = self
                .container_path(c, &mut path)
                .and_then(|()| f(Release { agent, path: &path }));
            match reported {
                Ok(()) => {}
                Err(e) => {
                    let mut rq = self.release.lock();
                    rq.queue.push_front(next);
                    c.release_queued.store(true, Ordering::Relaxed);
                    return Err(e);
                }
            }
        }
    }

    // ----------------------------------------------------------------------------
    // Introspection, for tests, the debug controller and benchmarks.
    // ----------------------------------------------------------------------------

    /// Live css_groups.
    pub fn css_group_count(&self) -> usize {
        self.table.lock().len()
    }

    /// Every live css_group's reference count, and how many containers link it.
    pub fn css_group_refcounts(&self) -> Vec<(usize, usize)> {
        let table = self.table.lock();
        let mut v = Vec::new();
        if v.try_reserve(table.len()).is_err() {
            return v;
        }
        for cg in table.iter() {
            // SAFETY: in the table, hence alive.
            let cg = unsafe { cg.as_ref() };
            v.push((cg.refs(), cg.key.iter().filter(|c| !c.is_null()).count()));
        }
        v
    }

    /// A stable identity of the task's css_group (its address), for tests.
    pub fn css_group_of(&self, slot: &TaskSlot) -> usize {
        untag(slot.raw().load(Ordering::Acquire))
            .0
            .map_or(0, |p| p.as_ptr() as usize)
    }

    /// The reference count of the init css_group's permanent reference holder, i.e. how
    /// many references the initial css_group has.
    pub fn init_css_group(&self) -> usize {
        self.init_cg.as_ptr() as usize
    }
}

impl<H: Host> Drop for Gpc<H> {
    /// Tear down whatever the host left: hierarchies with their containers, the remaining
    /// css_groups, the root states. Allocates nothing (teardown must not fail). Tasks must
    /// have exited; a slot that still names a css_group dangles afterwards, as it would in
    /// a kernel that unloads a subsystem under its tasks.
    fn drop(&mut self) {
        // Objects already unlinked (rmdir, last exits) wait in the host's RCU queue.
        self.host.synchronize();
        let root_css: ArrayVec<NonNull<CssHeader>, MAX_SUBSYS> = self.root_css.clone();
        let tree = self.tree.get_mut();
        for h in tree.hiers.iter_mut() {
            if let Some(h) = h.take() {
                // SAFETY: gpc is being dropped: no task, reader or host call can reach the
                // tree any more.
                unsafe { free_subtree(h.root, &root_css) };
            }
        }
        let table = self.table.get_mut();
        for cg in table.map.drain() {
            // SAFETY: as above.
            unsafe { crate::cssgroup::free_css_group_now(cg) };
        }
        for css in self.root_css.drain(..) {
            // SAFETY: as above.
            unsafe { free_css_now(css) };
        }
    }
}

/// Free `root` and everything below it, leaves first, without allocating: descend to a
/// leaf, unlink it from its parent (O(1)), free it, and go on from the parent, so that
/// the whole tree costs O(containers) however deep it is.
///
/// # Safety
///
/// Nothing else may use the subtree, now or later.
unsafe fn free_subtree(root: NonNull<Container>, root_css: &[NonNull<CssHeader>]) {
    let mut cur = root;
    loop {
        // SAFETY: the subtree is ours alone (caller's contract).
        while let Some(ch) = unsafe { cur.as_ref() }.children_unlocked().last() {
            cur = *ch;
        }
        // SAFETY: as above.
        let cont = unsafe { cur.as_ref() };
        if let Some(parent) = cont.parent {
            // SAFETY: as above; no other borrow of the parent's list is alive.
            unsafe { parent.as_ref().children_mut() }.remove(cur);
        }
        for slot in cont.css.iter() {
            if let Some(p) = NonNull::new(slot.load(Ordering::Relaxed)) {
                if !root_css.contains(&p) {
                    // SAFETY: as above; root states are freed by the caller.
                    unsafe { free_css_now(p) };
                }
            }
        }
        let next = cont.parent.filter(|_| cur != root);
        // SAFETY: as above; made by `Box` in mkdir or mount.
        drop(unsafe { Box::from_raw(cur.as_ptr()) });
        match next {
            Some(parent) => cur = parent,
            None => return,
        }
    }
}

/// RCU callback freeing a container.
///
/// # Safety
///
/// `head` is the `rcu` field of a `Box`ed, unlinked container, passed once after a grace
/// period.
unsafe fn free_container(head: NonNull<RcuHead>) {
    let offset = core::mem::offset_of!(Container, rcu);
    // SAFETY: stepping back from the field to its struct (caller's contract).
    let c = unsafe { head.as_ptr().cast::<u8>().sub(offset) }.cast::<Container>();
    // SAFETY: made by `Box` in `mkdir` or `mount`, freed only here.
    drop(unsafe { Box::from_raw(c) });
}

/// Split `a/b/c` into (`a/b`, `c`), ignoring empty components; `None` for an empty path.
fn split_last(path: &str) -> Option<(&str, &str)> {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return None;
    }
    match trimmed.rfind('/') {
        Some(i) => Some((
            trimmed.get(..i).unwrap_or(""),
            trimmed.get(i + 1..).unwrap_or(""),
        )),
        None => Some(("", trimmed)),
    }
}

/// Container name rules: no newline (`cgroup_mkdir`), not `.`/`..` (the VFS says
/// `EEXIST`). kernfs sets no length limit of its own: the host VFS limits whole paths
/// (`PATH_MAX`), as Linux's does (doc/linux-v1-reference.md, mkdir).
fn validate_name(name: &str) -> Result {
    if name.is_empty() || name == "." || name == ".." {
        return Err(Error::EEXIST);
    }
    // Linux: `cgroup_mkdir` refuses '\n' (it would break /proc/PID/cgroup). A NUL cannot
    // reach Linux at all (a path is a C string); a host that passes one gets EINVAL, so
    // no name can cut a /proc line or a release agent's argument short.
    if name.contains('\n') || name.contains('\0') {
        return Err(Error::EINVAL);
    }
    Ok(())
}

/// The debug controller's window on gpc, for one file operation.
struct DebugCtx<'a, H: Host> {
    gpc: &'a Gpc<H>,
    tree: &'a Tree,
    h: &'a Hierarchy,
    c: &'a Container,
    caller: &'a Caller<'a>,
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
        // Counted in place, as Linux's cgroup_task_count() does: a list of the pids
        // would need an allocation, and a failed one must not read as "0".
        let hidx = self.c.hier;
        let want: *mut Container = if self.c.is_root() {
            ptr::null_mut()
        } else {
            self.c as *const Container as *mut Container
        };
        let mut n = 0;
        let guard = self.gpc.rcu_read_lock();
        self.caller.tasks.for_each_task(&mut |t| {
            let (Some(cg), _) = untag(rcu_dereference(t.slot.raw(), &guard)) else {
                return;
            };
            // SAFETY: under the RCU guard (see `owns` and `task_css`).
            if unsafe { self.gpc.owns(cg) && (*cg.as_ptr()).container(hidx) == want } {
                n += 1;
            }
        });
        n
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
        linked.try_reserve(table.len())?;
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
