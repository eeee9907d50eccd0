//! [`Gpc`]: one instance of the framework, bound to one host.
//!
//! One big `impl Gpc` split across files by concern (smoltcp's style), so that each part
//! can be read in one sitting and the fast path stands on its own:
//!
//! | file | concern | Linux |
//! |---|---|---|
//! | `mod.rs` | the instance: its state, [`Gpc::new`], teardown | `cgroup_init` |
//! | `fast_path.rs` | fork, exit, the lock-free task → state lookup | `cgroup_post_fork`, `cgroup_exit`, `task_css` |
//! | `css_groups.rs` | find or make a css_group, drop the last reference, populated counts | `find_css_set`, `put_css_set_locked` |
//! | `mount.rs` | hierarchies: mount, umount, limits | `cgroup1_get_tree`, `cgroup_kill_sb` |
//! | `tree.rs` | containers: mkdir, rmdir, paths | `cgroup_mkdir`, `cgroup_rmdir` |
//! | `nodes.rs` | kernfs-like nodes: resolve a path once, then operate on the node | fs/kernfs |
//! | `css_handle.rs` | counted references to subsystem states a host may keep | `css_get`, `css_put` |
//! | `control.rs` | the core control files and the dispatch of reads and writes | `cgroup_file_write`, cgroup-v1.c |
//! | `migrate.rs` | moving tasks: `tasks`/`cgroup.procs` writes, attach, clone | `cgroup_migrate` |
//! | `proc.rs` | `/proc/PID/cgroup`, `/proc/cgroups` | `proc_cgroup_show` |
//! | `ns.rs` | cgroup namespaces, paths relative to them, nsdelegate | kernel/cgroup/namespace.c, `cgroup_path_ns` |
//! | `clone_into.rs` | a fork into a given v2 group | `cgroup_css_set_fork` (`CLONE_INTO_CGROUP`) |
//! | `threaded.rs` | v2 threaded subtrees: `cgroup.type`, resource domains, the vets of moves and `subtree_control` | `cgroup_enable_threaded`, `cgroup_migrate_vet_dst` |
//! | `jobctl.rs` | v2 freezing and killing, CPU time | kernel/cgroup/freezer.c, `cgroup_kill` |
//! | `apply_control.rs` | controllers on v2: enabling and disabling them per subtree | `cgroup_apply_control`, `cgroup_update_dfl_csses` |
//! | `releases.rs` | the release check and the drain of the release queue | `cgroup1_check_for_release` |
//! | `debug_view.rs` | what the debug controller sees | kernel/cgroup/debug.c |
//!
//! Locks (see `doc/lock-order.md`), always taken in this order:
//! 1. `tree` (host `Mutex`, Linux `cgroup_mutex`): hierarchies, containers, files, attach;
//! 2. `table` (host `Spin`, Linux `css_set_lock`): the css_group table and the links
//!    between containers and css_groups;
//! 3. `release` (host `Spin`): the release queue.
//!
//! Fork, exit and lookups take none of them, except an exit that drops the last reference
//! to a css_group, which takes `table` (and then maybe `release`).

mod apply_control;
mod clone_into;
mod control;
mod css_groups;
mod css_handle;
mod debug_view;
mod fast_path;
mod jobctl;
mod migrate;
mod mount;
mod nodes;
mod notify;
mod ns;
mod proc;
mod psi;
mod releases;
mod task_iter;
mod threaded;
mod tree;

pub use css_handle::CssHandle;
pub use nodes::Node;
pub use ns::CgroupNs;
pub use psi::PSI_SYSTEM;
pub use task_iter::{PidsReader, TaskId, TaskIter, PIDS_PER_PASS};
pub use tree::SubtreeTasks;

use alloc::boxed::Box;
use alloc::string::String;
use core::ptr::{self, NonNull};

use arrayvec::ArrayVec;

use crate::container::{Container, HierIdx};
use crate::cssgroup::{CgTable, CssGroup, MAX_HIERARCHIES, MAX_SHARDS};
use crate::error::{Error, Result};
use crate::host::alloc::{with_flags, Gfp};
use crate::host::lock::Lock;
use crate::host::rcu::RcuHead;
use crate::host::Host;
use crate::primitive::Ordering;
use crate::release::ReleaseQueue;
use crate::rules::HierarchyRules;
use crate::subsys::{create_root_css, free_css_now, CssHeader, DynSubsystem, SubsysId, MAX_SUBSYS};

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
    /// The unified hierarchy's mount flags ([`crate::options::V2Options`]), as the last
    /// mount set them (Linux `apply_cgroup_root_flags`); empty for v1.
    pub(crate) v2_options: crate::options::V2Options,
}

impl Hierarchy {
    fn root(&self) -> &Container {
        // SAFETY: the root lives as long as the hierarchy, which the caller borrows.
        unsafe { self.root.as_ref() }
    }
}

/// What the hierarchy lock (Linux `cgroup_mutex`) protects. A `&Tree` (or `&mut Tree`)
/// exists only behind the lock's guard: functions that need the lock held take one as
/// evidence.
pub(crate) struct Tree {
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
        with_flags(Gfp::KERNEL, || self.by_id.try_reserve(1, container_id_hash))
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
    /// Containers with changed files (`notify.rs`).
    notify: Lock<notify::NotifyQueue, H::Spin>,
    /// Pressure stall information (`psi.rs`): the system's group, and the lock under
    /// which every container's group is read and written. A leaf: nothing is taken
    /// while it is held.
    psi: Lock<crate::psi::PsiGroup, H::Spin>,
    init_cg: NonNull<CssGroup>,
    /// Reference shards per css_group: one per CPU, up to `MAX_SHARDS`.
    nr_shards: usize,
    /// The table the css_group shard locks were made with (the host's spinning lock), so
    /// fork and exit call `H::Spin` directly.
    spin_ops: crate::host::lock::OpsOfBackend<H::Spin>,
    next_container_id: crate::primitive::AtomicU64,
    /// The unified hierarchy's slot once made ([`NO_UNIFIED`] before): read without a
    /// lock by the paths that ask a task's v2 group (exit's freezer check, CPU time).
    /// Set once, never cleared (the unified hierarchy is never destroyed).
    unified_slot: crate::primitive::AtomicUsize,
    /// The unified hierarchy's root container once made (null before), for the same
    /// lock-free readers: a task at the root names no container in its key.
    unified_root: crate::primitive::AtomicPtr<Container>,
    /// gpc asked the host to freeze, thaw or kill a task since the host last looked
    /// ([`Gpc::take_job_control`]).
    jobctl_asked: crate::primitive::AtomicBool,
    /// The controllers the host lets the unified hierarchy offer (a subsystem mask; all by
    /// default): see [`Gpc::offer_on_v2`].
    v2_offered: crate::primitive::AtomicU32,
}

/// [`Gpc`]'s `unified_slot` before the first `mount -t cgroup2`.
const NO_UNIFIED: usize = usize::MAX;

// SAFETY: every raw pointer in `Gpc` is to objects it owns and frees; shared access goes
// through the locks and atomics described in the module doc.
unsafe impl<H: Host> Send for Gpc<H> {}

// SAFETY: as for Send.
unsafe impl<H: Host> Sync for Gpc<H> {}

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
            if subsystems
                .iter()
                .skip(i + 1)
                .any(|b| b.name() == a.name() || b.legacy_name() == a.legacy_name())
            {
                return Err(Error::EINVAL);
            }
        }
        // Every lock gpc takes is the host's: the css_groups' and the subsystems' locks
        // (not generic over the host) dispatch to these.
        let spin_ops = crate::host::lock::install_host_locks::<H::Spin, H::IrqSpin>();
        // Made first, so a failure later frees them with the rest of the locals.
        let tree = crate::new_lock!(
            Tree {
                hiers: core::array::from_fn(|_| None),
                bound: [None; MAX_SUBSYS],
                next_hier_id: 1,
                by_id: hashbrown::HashTable::new(),
            },
            c"gpc_tree"
        )?;
        let mut table: Lock<CgTable, H::Spin> =
            Lock::try_new(CgTable::new(), crate::lock_class!(c"gpc_css_set"))?;
        let release = Lock::try_new(ReleaseQueue::new(), crate::lock_class!(c"gpc_release"))?;
        let notify = Lock::try_new(
            notify::NotifyQueue::try_new()?,
            crate::lock_class!(c"gpc_notify"),
        )?;
        let psi = Lock::try_new(
            crate::psi::PsiGroup::try_new(host.nr_cpus(), host.clock_ns())?,
            crate::lock_class!(c"gpc_psi"),
        )?;
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
        if let Err(e) = with_flags(Gfp::KERNEL, || table.get_mut().try_reserve()) {
            // SAFETY: made just now and never published.
            unsafe { crate::cssgroup::free_css_group_now(init) };
            for css in root_css {
                // SAFETY: made just now and never published.
                unsafe { free_css_now(css) };
            }
            return Err(e);
        }
        table.get_mut().insert(init);
        Ok(Gpc {
            host,
            subsys: subsystems.iter().copied().collect(),
            root_css,
            fork_hooks,
            exit_hooks,
            tree,
            table,
            release,
            notify,
            psi,
            init_cg: init,
            nr_shards,
            spin_ops,
            next_container_id: crate::primitive::AtomicU64::new(1),
            unified_slot: crate::primitive::AtomicUsize::new(NO_UNIFIED),
            unified_root: crate::primitive::AtomicPtr::new(core::ptr::null_mut()),
            jobctl_asked: crate::primitive::AtomicBool::new(false),
            v2_offered: crate::primitive::AtomicU32::new(u32::MAX),
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

    /// This instance's identity, as css_groups record it: the address of its init
    /// css_group, unique among live instances and stable however the `Gpc` moves.
    #[inline]
    pub(super) fn id(&self) -> usize {
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
    pub(super) unsafe fn owns(&self, cg: NonNull<CssGroup>) -> bool {
        // SAFETY: alive (caller); `owner` is immutable after creation.
        unsafe { (*cg.as_ptr()).owner == self.id() }
    }

    /// The reference shard of the CPU we run on.
    #[inline]
    pub(super) fn shard(&self) -> usize {
        let cpu = self.host.current_cpu();
        // No division on the fast path unless the host has more CPUs than shards.
        if cpu < self.nr_shards {
            cpu
        } else {
            cpu % self.nr_shards.max(1)
        }
    }
}

impl<H: Host> Drop for Gpc<H> {
    /// Tear down whatever the host left: hierarchies with their containers, the remaining
    /// css_groups, the root states. Allocates nothing (teardown must not fail). Tasks must
    /// have exited; the css_group of a task that did not is leaked rather than freed, so
    /// that the task's slot stays valid (a kernel does not unload its cgroup core under
    /// live tasks).
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
            // A css_group that tasks still name is left to them (leaked): a task slot
            // dropped later unlinks itself through it. Hosts exit their tasks first.
            // SAFETY: as above.
            if unsafe { cg.as_ref() }.has_tasks() {
                continue;
            }
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
        while let Some(ch) = unsafe { cur.as_ref().children_owned() }.last() {
            cur = *ch;
        }
        // SAFETY: as above.
        let cont = unsafe { cur.as_ref() };
        if let Some(parent) = cont.parent {
            // SAFETY: as above; no other borrow of the parent's list is alive.
            unsafe { parent.as_ref().children_owned_mut() }.remove(cur);
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
pub(super) unsafe fn free_container(head: NonNull<RcuHead>) {
    let offset = core::mem::offset_of!(Container, rcu);
    // SAFETY: stepping back from the field to its struct (caller's contract).
    let c = unsafe { head.as_ptr().cast::<u8>().sub(offset) }.cast::<Container>();
    // SAFETY: made by `Box` in `mkdir` or `mount`, freed only here.
    drop(unsafe { Box::from_raw(c) });
}
