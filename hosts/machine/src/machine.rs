//! [`Machine`]: a simulated Linux machine with gpc as its cgroup v1 core, implementing
//! gpc-script's [`ScriptMachine`] so `.cgsh` scripts run against it.
//!
//! What it is made of:
//!
//! * gpc-core's [`Gpc`] on the host its [`Platform`] makes (the std simulator: a
//!   sleeping lock and a quiescent-state RCU; the hobby kernel: spinlocks and a
//!   single-CPU RCU) with every controller of gpc-subsystems, in Linux's order;
//! * the [`TaskList`] of [`crate::tasks`] as the task table (Linux-like cyclic pid
//!   allocation, `pid_max` settable up to Linux's `PID_MAX_LIMIT`; fork, thread and exit
//!   drive gpc's hooks; busy or idle), plus per-task simulation state kept only for the
//!   tasks that have some: CPU time, memory charges;
//! * the file system of [`crate::fs`] (plain directories, mounts, `/proc`, ownership and
//!   permissions);
//! * the scheduler of [`crate::sched`] for `run`, and the controller effects of
//!   [`crate::effects`].
//!
//! Decisions where FORMAT.md leaves room (all deterministic):
//!
//! * init (pid 1) is idle (`S`) until a script says `busy 1`, so it does not compete in
//!   `run`; it cannot exit (`EPERM`), as Linux's init cannot be killed.
//! * `spawn` under `as UID` makes a task with that user's credentials (uid = gid = UID, as
//!   a login would); otherwise tasks are root's. `fork` and `thread` copy the creating
//!   task's credentials, whoever asks.
//! * `ps` prints no header; each line is `PID TGID UID STATE CPU_MS MEM` (state `R` busy,
//!   `S` idle, `D` frozen; CPU time in whole milliseconds; memory in bytes).
//! * `alloc` charges the memory group the task is in at that moment and remembers it:
//!   `free` (newest charge first) and `exit` uncharge that group, wherever the task is
//!   now, as Linux v1 leaves charges behind when a task moves. If that group was removed
//!   since, the nearest surviving ancestor is uncharged (its counters include the child's
//!   charge). `free` of more than the task holds is `EINVAL`. When a thread that is not
//!   the leader exits, its charges pass to the process (the leader).
//! * The release queue is drained after every command: each notification with a
//!   non-empty `release_agent` is recorded as one agent invocation, which `releases`
//!   prints and forgets (the record is [`crate::release_log`]: each distinct agent and
//!   path is stored once).
//! * Simulation commands (`fork`, `alloc`, `open`, ...) act on a task even while it is
//!   frozen; only `run` leaves frozen tasks alone.
//! * `mount ... DIR` with DIR missing makes it first as `mkdir -p DIR` run by the script
//!   runner itself (root, with every capability), also under `as UID`: the directories
//!   (groups, inside a cgroup mount) belong to root and stay when the mount fails; the
//!   mount then runs with the command's credentials (`as 1000 mount ... /new` makes
//!   `/new` and fails with `EPERM`).
//! * Allocation failure is `ENOMEM` for the command, never an abort (the hobby kernel's
//!   allocator returns null): every command reserves what it needs before its first
//!   change that could not be taken back, so `ENOMEM` leaves the machine as it was. The
//!   exceptions are the commands that are several steps by definition: `mkdir -p` (and
//!   the `mkdir -p` of `mount`) keeps the levels it made before the failure, as
//!   mkdir(1) does; running it again finishes it.

use alloc::string::String;
use alloc::vec::Vec;

use gpc_core::host::alloc::{try_push, try_string, Gfp};
use gpc_core::tasklist;
use gpc_core::{Creds, DynSubsystem, Error, Gpc, Host, Node, Out, Pid, Result, SubsysId, TaskSlot};
use gpc_script::{Machine as ScriptMachine, MachineConfig};
use gpc_subsystems::perf_event::PerfEvent;
use gpc_subsystems::{cpu, cpuacct, cpuset, devices, freezer};
use hashbrown::HashMap;

use crate::effects;
use crate::fs::{self, Env, Loc, Owner, ProcFile, Vfs, MAY_EXEC, MAY_READ, MAY_WRITE};
use crate::release_log::ReleaseLog;
use crate::sched::{self, BwState, Group, Runnable};
use crate::tasks::TaskList;

/// CPUs of a machine that no `machine` command configured.
pub const DEFAULT_CPUS: u32 = 4;
/// Memory nodes of a machine that no `machine` command configured.
pub const DEFAULT_MEMS: u32 = 2;
/// The most CPUs a machine may have (`NR_CPUS`).
pub const MAX_CPUS: u32 = gpc_subsystems::parse::NR_CPUS as u32;
/// The most memory nodes a machine may have (`MAX_NUMNODES`).
pub const MAX_MEMS: u32 = gpc_subsystems::parse::MAX_NUMNODES as u32;

/// Writes `bytes` with each byte of `special` as `\ooo` (Linux `seq_escape`).
fn escape_into(out: &mut Out<'_>, bytes: &[u8], special: &[u8]) -> Result {
    for &b in bytes {
        if special.contains(&b) {
            core::fmt::Write::write_fmt(out, format_args!("\\{b:03o}"))
                .map_err(|_| Error::ENOMEM)?;
        } else {
            out.bytes(&[b])?;
        }
    }
    Ok(())
}

/// The release agent `mount -t cpuset` sets (Linux `cpuset_init_fs_context`).
const CPUSET_RELEASE_AGENT: &str = "/sbin/cpuset_release_agent";

/// What the simulation keeps per task besides its task table entry (which holds gpc's
/// slot and whether the task is busy): CPU time, and how long `memory.high` keeps it
/// asleep. Only tasks with some have one, so that a task that has neither costs its
/// table entry alone (its memory is the machine's [`crate::mm::Mm`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct SimTask {
    cpu_ns: u64,
    /// The task sleeps (not runnable) until this clock: `memory.high`'s penalty
    /// (`mem_cgroup_handle_over_high`).
    throttled_until_ns: u64,
}

/// The subsystem ids of the controllers with effects.
#[derive(Clone, Copy, Debug, Default)]
struct Ids {
    cpuset: Option<SubsysId>,
    cpu: Option<SubsysId>,
    cpuacct: Option<SubsysId>,
    memory: Option<SubsysId>,
    devices: Option<SubsysId>,
    freezer: Option<SubsysId>,
    ns: Option<SubsysId>,
    rdma: Option<SubsysId>,
    misc: Option<SubsysId>,
    perf_event: Option<SubsysId>,
    net_prio: Option<SubsysId>,
    hugetlb: Option<SubsysId>,
    io: Option<SubsysId>,
}

/// What a machine runs on: the gpc host it builds for a configuration. The std
/// simulator and the hobby kernel each supply one.
pub trait Platform {
    /// The gpc host.
    type Host: Host;

    /// A host for a machine with CPUs `0..nr_cpus` and memory nodes `0..nr_mems` (both
    /// within [`MAX_CPUS`] and [`MAX_MEMS`]).
    ///
    /// # Errors
    ///
    /// `ENOMEM`, or whatever else keeps the platform from making one.
    fn host(nr_cpus: usize, nr_mems: usize) -> Result<Self::Host>;

    /// Tell the host the simulated clock moved to `ns` (the clock its
    /// [`gpc_core::JobControl::clock_ns`] reports). The default keeps the host's clock
    /// at 0, so `cgroup.stat.local` reports no frozen time.
    fn set_clock_ns(host: &Self::Host, ns: u64) {
        let _ = (host, ns);
    }
}

/// The simulated machine.
pub struct Machine<P: Platform> {
    // The task table is declared (so dropped) before gpc: a task slot still linked into a
    // css_group's list unlinks itself on drop, and gpc leaks such css_groups rather than
    // free them under the slot (core/src/gpc/mod.rs, `Drop for Gpc`).
    tasks: TaskList,
    gpc: Gpc<P::Host>,
    /// [`SimTask`]s of the tasks that have one (hashed: an insert after `try_reserve(1)`
    /// cannot fail).
    sim: HashMap<Pid, SimTask>,
    /// The machine's pages: anonymous memory, page cache, swap (a `RefCell`: gpc's
    /// reclaim reaches it through a shared reference during a file write).
    mm: core::cell::RefCell<crate::mm::Mm>,
    /// Tasks waiting in a v1 OOM (`oom_kill_disable`).
    oom_waiters: Vec<mem::OomWaiter>,
    vfs: Vfs,
    user: Option<u32>,
    nr_cpus: usize,
    nr_mems: usize,
    clock_ns: u64,
    /// The most work one command's `run`s may do together ([`sched::WORK_BUDGET`] unless
    /// set).
    run_budget: u64,
    /// What is left of `run_budget` to the command running now (reset by
    /// `begin_command`): `sample` and `top`, which run in steps, share one bound.
    budget_left: u64,
    bw: HashMap<u64, BwState>,
    releases: ReleaseLog,
    /// `watch`ed files; the paths notified during the current command; and those
    /// queued for `events` (FORMAT.md's rules: see `take_events`).
    watches: Vec<Watch>,
    notified: Vec<String>,
    events: Vec<String>,
    touched: bool,
    ids: Ids,
    /// The task the command runs as (`in VAR`); `None`: the script itself.
    current: Option<Pid>,
    /// The cgroup namespace of each task not in the initial one (Linux
    /// `nsproxy->cgroup_ns`).
    cgns: CgNamespaces,
    /// The script's `machine mem=BYTES` (physical memory); `None`: not given.
    mem_bytes: Option<u64>,
    /// The script's `machine swap=BYTES`; `None`: not given.
    swap_bytes: Option<u64>,
    /// The script's `machine v2=LIST` as written (`all`, `none`, or controller names
    /// separated by commas); `None`: not given.
    v2_offer: Option<String>,
    /// RDMA devices, misc capacities, their charges, v2 device programs.
    hostres: hostres::HostRes,
    /// Huge page pools and mappings (machine/small.rs).
    huge: small::HugePages,
    /// The network devices (`machine netdevs=`; `lo`, `eth0` by default).
    netdevs: small::NetDevs,
    /// The block devices (`machine disks=`; default one disk 8:0, [`crate::blk`]).
    disks: Vec<crate::blk::Disk>,
    /// Block I/O in flight (`io`), oldest first.
    flows: Vec<crate::blk::Flow>,
}

/// The cgroup namespaces tasks are in: each task not in the initial namespace names
/// one, counted by the tasks that share it (Linux `get_cgroup_ns`/`put_cgroup_ns`;
/// forks share their parent's). Hashed: an insert after `try_reserve(1)` cannot fail.
#[derive(Debug, Default)]
struct CgNamespaces {
    of_task: HashMap<Pid, u64>,
    all: HashMap<u64, (gpc_core::CgroupNs, usize)>,
    next: u64,
}

impl CgNamespaces {
    /// The namespace of `task`; `None`: the initial one.
    fn get(&self, task: Pid) -> Option<&gpc_core::CgroupNs> {
        let id = self.of_task.get(&task)?;
        self.all.get(id).map(|(ns, _)| ns)
    }

    /// Room for one more task, so that [`CgNamespaces::inherit`] cannot fail.
    fn reserve(&mut self) -> Result {
        self.of_task.try_reserve(1)?;
        Ok(())
    }

    /// `child` (just forked) is in `parent`'s namespace (copy_namespaces without
    /// CLONE_NEWCGROUP), in the room [`CgNamespaces::reserve`] made.
    fn inherit(&mut self, parent: Pid, child: Pid) {
        let Some(&id) = self.of_task.get(&parent) else {
            return;
        };
        if let Some((_, n)) = self.all.get_mut(&id) {
            *n += 1;
            self.of_task.insert(child, id);
        }
    }

    /// `task` enters the new namespace `ns` (unshare(CLONE_NEWCGROUP)), leaving its old.
    fn unshare(&mut self, task: Pid, ns: gpc_core::CgroupNs) -> Result {
        self.all.try_reserve(1)?;
        self.of_task.try_reserve(1)?;
        let id = self.next;
        self.next += 1;
        self.all.insert(id, (ns, 1));
        if let Some(old) = self.of_task.insert(task, id) {
            self.put(old);
        }
        Ok(())
    }

    /// `task` exited.
    fn forget(&mut self, task: Pid) {
        if let Some(id) = self.of_task.remove(&task) {
            self.put(id);
        }
    }

    fn put(&mut self, id: u64) {
        let last = match self.all.get_mut(&id) {
            Some((_, n)) => {
                *n = n.saturating_sub(1);
                *n == 0
            }
            None => false,
        };
        if last {
            self.all.remove(&id);
        }
    }
}

impl<P: Platform> Machine<P> {
    /// The default machine: CPUs 0-3, memory nodes 0-1, init.
    ///
    /// # Errors
    ///
    /// `ENOMEM`, or a controller's error at registration.
    pub fn new() -> Result<Self> {
        Self::with_config(DEFAULT_CPUS, DEFAULT_MEMS)
    }

    /// A machine with CPUs `0..cpus` and memory nodes `0..mems`.
    ///
    /// # Errors
    ///
    /// `EINVAL` for 0 or more than [`MAX_CPUS`] / [`MAX_MEMS`]; `ENOMEM`.
    pub fn with_config(cpus: u32, mems: u32) -> Result<Self> {
        Self::with_subsystems(cpus, mems, &gpc_subsystems::all())
    }

    /// A machine with CPUs `0..cpus`, memory nodes `0..mems` and the controllers
    /// `subsystems` (in the order `/proc/cgroups` lists them), which may include
    /// subsystems of other crates: any [`gpc_core::Subsystem`] mounts, shows its files
    /// and gets its hooks here. The effects the machine gives the ten controllers of
    /// gpc-subsystems (scheduling, memory charges, device checks, ...) apply to those
    /// of them that are in the list; a script's `machine` command keeps the list.
    ///
    /// # Errors
    ///
    /// As for [`Machine::with_config`], and those of `Gpc::new` (`EINVAL` for more
    /// than `MAX_SUBSYS` subsystems or a repeated name).
    pub fn with_subsystems(
        cpus: u32,
        mems: u32,
        subsystems: &[&'static dyn DynSubsystem],
    ) -> Result<Self> {
        if cpus == 0 || cpus > MAX_CPUS || mems == 0 || mems > MAX_MEMS {
            return Err(Error::EINVAL);
        }
        let (nr_cpus, nr_mems) = (cpus as usize, mems as usize);
        let gpc = Gpc::new(P::host(nr_cpus, nr_mems)?, subsystems)?;
        // No controller on v2 until a script's `v2=` says so (see `v2_mask`).
        gpc.offer_on_v2(0);
        let mut tasks = TaskList::new();
        tasks.add_init(&gpc)?;
        let ids = Ids {
            cpuset: gpc.subsys_id("cpuset"),
            cpu: gpc.subsys_id("cpu"),
            cpuacct: gpc.subsys_id("cpuacct"),
            memory: gpc.subsys_id("memory"),
            devices: gpc.subsys_id("devices"),
            freezer: gpc.subsys_id("freezer"),
            ns: gpc.subsys_id("ns"),
            rdma: gpc.subsys_id("rdma"),
            misc: gpc.subsys_id("misc"),
            perf_event: gpc.subsys_id("perf_event"),
            net_prio: gpc.subsys_id("net_prio"),
            hugetlb: gpc.subsys_id("hugetlb"),
            io: gpc.subsys_id("io"),
        };
        let mut disks = Vec::new();
        disks.try_reserve(1)?;
        disks.push(crate::blk::Disk::new(gpc_subsystems::io::mkdev(8, 0)));
        let m = Machine {
            gpc,
            tasks,
            sim: HashMap::new(),
            mm: core::cell::RefCell::new(crate::mm::Mm::new(
                crate::mm::DEFAULT_MEM,
                crate::mm::DEFAULT_SWAP,
            )),
            oom_waiters: Vec::new(),
            vfs: Vfs::new()?,
            user: None,
            nr_cpus,
            nr_mems,
            clock_ns: 0,
            run_budget: sched::WORK_BUDGET,
            budget_left: sched::WORK_BUDGET,
            bw: HashMap::new(),
            releases: ReleaseLog::new(),
            watches: Vec::new(),
            notified: Vec::new(),
            events: Vec::new(),
            touched: false,
            ids,
            current: None,
            cgns: CgNamespaces::default(),
            mem_bytes: None,
            swap_bytes: None,
            v2_offer: None,
            hostres: hostres::HostRes::default(),
            huge: small::HugePages::default(),
            netdevs: small::NetDevs::default_devices()?,
            disks,
            flows: Vec::new(),
        };
        m.register_disks()?;
        Ok(m)
    }

    /// `pid_max`: every pid this machine gives out is below it (default
    /// [`PID_MAX_DEFAULT`](crate::tasks::PID_MAX_DEFAULT), Linux's 32,768).
    pub fn pid_max(&self) -> Pid {
        self.tasks.pid_max()
    }

    /// Set `pid_max`, as writing `/proc/sys/kernel/pid_max` does: from
    /// [`PID_MAX_MIN`](crate::tasks::PID_MAX_MIN) (301) up to
    /// [`PID_MAX_LIMIT`](crate::tasks::PID_MAX_LIMIT) (4,194,304), for machines with more
    /// tasks than Linux's default allows. Pids already given out stay; allocation goes on
    /// cyclically from the last pid, wrapping at the new `pid_max` to 300. A script's
    /// `machine` command keeps it.
    ///
    /// # Errors
    ///
    /// `EINVAL` outside those bounds.
    pub fn set_pid_max(&mut self, pid_max: Pid) -> Result {
        self.tasks.set_pid_max(pid_max)
    }

    /// The most work one `run` may do, in the units of [`sched::WORK_BUDGET`] (the
    /// default): a run that needs more is `E2BIG` and changes nothing. A host with less
    /// time to give a command (or a test of the refusal) sets less.
    pub fn set_run_budget(&mut self, units: u64) {
        self.run_budget = units;
        self.budget_left = units;
    }

    /// Number of CPUs.
    pub fn nr_cpus(&self) -> usize {
        self.nr_cpus
    }

    /// The controllers `v2=LIST` offers on cgroup v2 (a subsystem mask): `all`, `none`
    /// (also when not given: the reference recordings' machine offered none), or names
    /// of this machine's controllers separated by commas.
    ///
    /// # Errors
    ///
    /// `EINVAL` for a name the machine has no controller of, or an empty name.
    fn v2_mask(&self, list: Option<&str>) -> Result<u32> {
        match list {
            None | Some("none") => Ok(0),
            Some("all") => Ok(u32::MAX),
            Some(names) => names.split(',').try_fold(0u32, |m, name| {
                let ss = self.gpc.subsys_id(name).ok_or(Error::EINVAL)?;
                Ok(m | 1 << ss)
            }),
        }
    }

    /// The physical memory a script's `machine mem=BYTES` gave; `None`: not given.
    pub fn mem_bytes(&self) -> Option<u64> {
        self.mem_bytes
    }

    /// The swap a script's `machine swap=BYTES` gave; `None`: not given.
    pub fn swap_bytes(&self) -> Option<u64> {
        self.swap_bytes
    }

    /// The controllers a script's `machine v2=LIST` offered on the v2 hierarchy, as
    /// written; `None`: not given.
    pub fn v2_offer(&self) -> Option<&str> {
        self.v2_offer.as_deref()
    }

    /// Number of memory nodes.
    pub fn nr_mems(&self) -> usize {
        self.nr_mems
    }

    /// The simulated clock, in nanoseconds since boot.
    pub fn clock_ns(&self) -> u64 {
        self.clock_ns
    }

    /// The cgroup core.
    pub fn gpc(&self) -> &Gpc<P::Host> {
        &self.gpc
    }

    /// The credentials commands run with now.
    pub fn creds(&self) -> Creds {
        match self.user {
            None => Creds::ROOT,
            Some(uid) => Creds::user(uid, uid),
        }
    }

    /// Completions for a path being typed (`/cg/a/ta` → `/cg/a/tasks`, directories with a
    /// trailing `/`), for the interactive shell. Changes nothing; none without memory.
    pub fn complete_path(&self, word: &str) -> Vec<String> {
        self.try_complete_path(word).unwrap_or_default()
    }

    fn try_complete_path(&self, word: &str) -> Result<Vec<String>> {
        let (dir, base) = match word.rfind('/') {
            Some(i) => (
                word.get(..=i).unwrap_or("/"),
                word.get(i + 1..).unwrap_or(""),
            ),
            None => ("", word),
        };
        let creds = self.creds();
        let env = self.env();
        let dir_path = if dir.is_empty() { "/" } else { dir };
        let Ok(loc) = self.vfs.resolve(&env, &creds, dir_path) else {
            return Ok(Vec::new());
        };
        let mut names = match self.vfs.list(&env, &loc) {
            Ok(names) => names,
            Err(Error::ENOMEM) => return Err(Error::ENOMEM),
            Err(_) => return Ok(Vec::new()),
        };
        names.retain(|n| n.starts_with(base));
        names.sort_unstable();
        for name in &mut names {
            let mut full = String::new();
            // Room for the directory's `/` too.
            full.try_reserve_exact(dir.len() + name.len() + 1)?;
            full.push_str(dir);
            full.push_str(name);
            let is_dir = match self.vfs.resolve(&env, &creds, &full) {
                Ok(l) => l.is_dir(),
                Err(Error::ENOMEM) => return Err(Error::ENOMEM),
                Err(_) => false,
            };
            if is_dir {
                full.push('/');
            }
            *name = full;
        }
        Ok(names)
    }

    fn env(&self) -> Env<'_, P::Host> {
        Env {
            gpc: &self.gpc,
            tasks: &self.tasks,
            current: self.current,
        }
    }

    /// Run a command: mark the machine used, then record the release agent calls it
    /// caused. The command's result is its own: calls that cannot be recorded for want
    /// of memory stay queued, in order, for the next command (as a Linux work item runs
    /// later), and a command's outcome does not depend on them.
    fn op<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.touched = true;
        let r = f(self);
        let _ = self.settle();
        r
    }

    /// Drain gpc's release queue into the record of agent invocations.
    ///
    /// # Errors
    ///
    /// `ENOMEM`: that notification and the rest stay queued.
    fn settle(&mut self) -> Result {
        // v2 job control first: the tasks stop, run or die as asked, which may
        // notify and release in turn.
        if self.tasks.job_control(&self.gpc) {
            while let Some(tgid) = self.tasks.take_killed() {
                // Init survives SIGKILL (SIGNAL_UNKILLABLE). A whole process exits
                // without allocating, so a kill cannot fail here.
                let _ = self.do_exit(tgid);
            }
        }
        // Memory: OOM kills file writes asked for, then tasks waiting for memory retry.
        self.run_pending_oom();
        self.retry_oom_waiters();
        let releases = &mut self.releases;
        self.gpc.drain_releases(&mut |r| releases.record(r))
    }

    fn task_slot(&self, pid: Pid) -> Result<&TaskSlot> {
        self.tasks.get(pid).map(|t| &t.slot).ok_or(Error::ESRCH)
    }

    fn is_frozen(&self, slot: &TaskSlot) -> bool {
        let Some(ss) = self.ids.freezer else {
            return false;
        };
        let guard = self.gpc.rcu_read_lock();
        self.gpc
            .task_state::<freezer::Freezer>(&guard, slot, ss)
            .is_some_and(effects::is_frozen)
    }

    // ------------------------------------------------------------------------------
    // File system operations.
    // ------------------------------------------------------------------------------

    fn do_mount(&mut self, fstype: &str, options: &str, source: &str, dir: &str) -> Result {
        // `mount DIR` runs as `mkdir -p DIR; mount ... DIR` (FORMAT.md): a missing DIR is
        // made first, by the script runner itself (root), whoever mounts, and stays
        // whatever the mount then does (see the module docs). A directory made inside a
        // cgroup mount is a group, as with `mkdir`.
        match self.vfs.resolve(&self.env(), &Creds::ROOT, dir) {
            Err(Error::ENOENT) => {
                let user = self.user.take();
                let made = self.do_mkdir(dir, true);
                self.user = user;
                made?;
            }
            // Whether DIR exists is unknown.
            Err(Error::ENOMEM) => return Err(Error::ENOMEM),
            _ => {}
        }
        let creds = self.creds();
        // Linux do_mount: the path lookup (user_path_at), then path_mount: may_mount()
        // (EPERM), then the filesystem type (ENODEV), the options and the hierarchy
        // (cgroup1_get_tree: EINVAL, EBUSY), then do_add_mount (EBUSY for the same
        // hierarchy on the same place, ENOTDIR for a file).
        let target = self.vfs.resolve(&self.env(), &creds, dir)?;
        if !creds.cap_sys_admin {
            return Err(Error::EPERM);
        }
        let options = match fstype {
            "cgroup" | "cgroup2" => try_string(options, Gfp::KERNEL)?,
            "cpuset" => cpuset_fs_options(options)?,
            _ => return Err(Error::ENODEV),
        };
        let room = self.vfs.prepare_mount(&target)?;
        let source = try_string(source, Gfp::KERNEL)?;
        self.vfs.reserve_source()?;
        let caller = self.tasks.caller(creds, None);
        // A mount made in a cgroup namespace (`in VAR mount`) is rooted at the
        // namespace's root group; a cgroup2 one leaves the hierarchy's flags alone, a
        // cgroup one may not make a hierarchy.
        let ns = self.current.and_then(|t| self.cgns.get(t));
        let (hier, root) = if fstype == "cgroup2" {
            let (hier, node) = self.gpc.mount_v2_ns(&options, &caller, ns)?;
            let top = self.gpc.root(hier)?;
            (hier, (node != top).then(|| node.container_id()))
        } else {
            let (hier, node) = self.gpc.mount_ns(&options, &caller, ns)?;
            let top = self.gpc.root(hier)?;
            (hier, (node != top).then(|| node.container_id()))
        };
        match self.vfs.add_mount(&target, hier, root, room) {
            Ok(id) => {
                self.vfs.set_source(id, source);
                Ok(())
            }
            Err(e) => {
                // Drop the mount count taken above (a hierarchy made by it goes again).
                let _ = self.gpc.umount(hier);
                Err(e)
            }
        }
    }

    fn do_umount(&mut self, dir: &str) -> Result {
        let creds = self.creds();
        let loc = self.vfs.resolve(&self.env(), &creds, dir)?;
        if !creds.cap_sys_admin {
            return Err(Error::EPERM);
        }
        match loc {
            Loc::Cg {
                mount,
                path,
                file: None,
                ..
            } if path == "/" => {
                let m = self.vfs.mount_info(mount).ok_or(Error::EINVAL)?;
                // Linux do_umount → propagate_mount_busy: a mount with mounts inside it.
                if self.vfs.has_submounts(mount) {
                    return Err(Error::EBUSY);
                }
                self.gpc.umount(m.hier)?;
                self.vfs.remove_mount(mount);
                Ok(())
            }
            _ => Err(Error::EINVAL),
        }
    }

    fn mkdir_one(&mut self, path: &str) -> Result {
        let creds = self.creds();
        let sp = fs::split_path(path)?;
        let env = Env {
            gpc: &self.gpc,
            tasks: &self.tasks,
            current: self.current,
        };
        let (dir, last) = self.vfs.resolve_parent(&env, &creds, &sp)?;
        // `/`, `.` and `..` exist (Linux: `filename_create` on a non-LAST_NORM name).
        let name = match last {
            None | Some(".") | Some("..") => return Err(Error::EEXIST),
            Some(n) => n,
        };
        match self.vfs.lookup(&env, &dir, name) {
            Ok(_) => return Err(Error::EEXIST),
            Err(Error::ENOENT) => {}
            Err(e) => return Err(e),
        }
        self.vfs.check(&env, &creds, &dir, MAY_WRITE | MAY_EXEC)?;
        self.make_dir(dir, name, &creds).map(|_| ())
    }

    /// Make directory `name` in `dir` (looked up: absent; checked: writable), owned by
    /// `creds`; what the new directory is (`dir`'s path grown in place).
    fn make_dir(&mut self, dir: Loc, name: &str, creds: &Creds) -> Result<Loc> {
        match dir {
            Loc::Plain(n) => self
                .vfs
                .add_plain(n, name, Owner::of(creds))
                .map(Loc::Plain),
            Loc::Cg {
                mount,
                hier,
                path,
                dir_id,
                file: None,
            } => {
                // From the parent's container: O(1) however deep it is. The memory the
                // machine's records need comes first: a group once made cannot be taken
                // back without side effects (a release notification).
                let path = fs::push_name(path, name)?;
                self.vfs.reserve_container()?;
                let id = self
                    .gpc
                    .mkdir_node(&Node::directory(hier, dir_id), name)?
                    .container_id();
                self.vfs.set_container_creator(id, Owner::of(creds));
                Ok(Loc::Cg {
                    mount,
                    hier,
                    path,
                    dir_id: id,
                    file: None,
                })
            }
            // procfs has no mkdir.
            Loc::ProcRoot | Loc::ProcPid(_) | Loc::ProcSub(_) => Err(Error::EPERM),
            Loc::Cg { .. } | Loc::Proc(_) => Err(Error::ENOTDIR),
        }
    }

    fn do_mkdir(&mut self, path: &str, parents: bool) -> Result {
        if !parents {
            return self.mkdir_one(path);
        }
        // mkdir(1) -p: each prefix in turn, an existing one is fine; the whole path is
        // fine if it exists as a directory. The path is walked once, each level looked up
        // (or made) in the directory reached so far, with the checks `mkdir PREFIX` makes
        // in the same order: N levels cost O(N), where making each prefix from `/` cost
        // O(N²) lookups, each of which gpc resolved from its root again (O(N³)).
        let creds = self.creds();
        let sp = fs::split_path(path)?;
        let mut cur = self.vfs.follow(&self.env(), Loc::Plain(fs::ROOT_NODE))?;
        for comp in sp.comps {
            let env = Env {
                gpc: &self.gpc,
                tasks: &self.tasks,
                current: self.current,
            };
            if !cur.is_dir() {
                return Err(Error::ENOTDIR);
            }
            self.vfs.check(&env, &creds, &cur, MAY_EXEC)?;
            cur = match comp {
                "." => cur,
                ".." => self.vfs.dotdot(&env, &cur)?,
                name => match self.vfs.lookup_in(&env, cur, name)? {
                    Ok(next) => self.vfs.follow(&env, next)?,
                    Err(dir) => {
                        self.vfs.check(&env, &creds, &dir, MAY_WRITE | MAY_EXEC)?;
                        self.make_dir(dir, name, &creds)?
                    }
                },
            };
        }
        if cur.is_dir() {
            Ok(())
        } else {
            Err(Error::EEXIST)
        }
    }

    fn do_rmdir(&mut self, path: &str) -> Result {
        let creds = self.creds();
        let sp = fs::split_path(path)?;
        let env = Env {
            gpc: &self.gpc,
            tasks: &self.tasks,
            current: self.current,
        };
        let (dir, last) = self.vfs.resolve_parent(&env, &creds, &sp)?;
        // Linux `do_rmdir`: LAST_ROOT is EBUSY, LAST_DOT EINVAL, LAST_DOTDOT ENOTEMPTY.
        let name = match last {
            None => return Err(Error::EBUSY),
            Some(".") => return Err(Error::EINVAL),
            Some("..") => return Err(Error::ENOTEMPTY),
            Some(n) => n,
        };
        // The victim itself, not what may be mounted on it.
        let victim = self.vfs.lookup(&env, &dir, name)?;
        self.vfs.check(&env, &creds, &dir, MAY_WRITE | MAY_EXEC)?;
        if !victim.is_dir() {
            return Err(Error::ENOTDIR);
        }
        // Linux vfs_rmdir: a mount point (through any mount of it) is EBUSY.
        if self.vfs.is_mount_point(&victim) {
            return Err(Error::EBUSY);
        }
        match victim {
            Loc::Plain(n) => self.vfs.remove_plain(n),
            Loc::Cg {
                hier, path, dir_id, ..
            } => {
                if path == "/" {
                    return Err(Error::EBUSY);
                }
                self.gpc.rmdir_node(&Node::directory(hier, dir_id))?;
                self.vfs.forget_container(dir_id);
                // cgroup_bpf_release: its programs go with it.
                self.hostres.progs.forget(dir_id);
                // Its pages are its parent's now.
                self.revalidate_owners();
                Ok(())
            }
            Loc::ProcRoot | Loc::ProcPid(_) | Loc::ProcSub(_) | Loc::Proc(_) => Err(Error::EPERM),
        }
    }

    fn do_write(&mut self, path: &str, data: &[u8]) -> Result {
        let creds = self.creds();
        let sp = fs::split_path(path)?;
        let env = self.env();
        let (dir, last) = self.vfs.resolve_parent(&env, &creds, &sp)?;
        // open(O_WRONLY|O_CREAT|O_TRUNC): a trailing slash or a directory is EISDIR.
        let name = match last {
            None | Some(".") | Some("..") => return Err(Error::EISDIR),
            Some(n) => n,
        };
        if sp.trailing_slash {
            return Err(Error::EISDIR);
        }
        let target = match self.vfs.lookup(&env, &dir, name) {
            Ok(l) => self.vfs.follow(&env, l)?,
            // Neither cgroupfs nor procfs can create files, and the simulator keeps no
            // regular files anywhere (Linux: no `->create`, EACCES).
            Err(Error::ENOENT) => return Err(Error::EACCES),
            Err(e) => return Err(e),
        };
        if target.is_dir() {
            return Err(Error::EISDIR);
        }
        self.vfs.check(&env, &creds, &target, MAY_WRITE)?;
        let pages = crate::mm::Pages(&self.mm);
        let tasks = fs::VfsTasks {
            tasks: &self.tasks,
            vfs: &self.vfs,
            pages: Some(&pages),
            netdevs: Some(&self.netdevs),
        };
        let caller = gpc_core::Caller {
            creds,
            pid: None,
            tasks: &tasks,
        };
        match target {
            // The file's node, from the walk above: gpc walks no path again.
            Loc::Cg {
                file: Some(node),
                dir_id,
                path,
                ..
            } => {
                self.gpc.write_node(&node, data, &caller)?;
                // A limit raised, an OOM killer enabled: tasks waiting for memory try
                // again (`memcg1_oom_recover`).
                self.mm.borrow_mut().recover = true;
                if path.ends_with("/cgroup.subtree_control") || path == "cgroup.subtree_control" {
                    // A controller disabled below: its states there are gone.
                    self.revalidate_owners();
                }
                // Every successful write modifies the file (inotify IN_MODIFY).
                self.notify_watchers(dir_id, path.rsplit('/').next().unwrap_or(""));
                Ok(())
            }
            Loc::Proc(ProcFile::DropCaches) => self.write_drop_caches(data),
            Loc::Proc(ProcFile::Pressure(_)) => Self::write_proc_pressure(&caller, data),
            // procfs files without a write method.
            _ => Err(Error::EINVAL),
        }
    }

    fn do_read(&self, path: &str) -> Result<Vec<u8>> {
        let creds = self.creds();
        let env = self.env();
        let loc = self.vfs.resolve(&env, &creds, path)?;
        if loc.is_dir() {
            return Err(Error::EISDIR);
        }
        self.vfs.check(&env, &creds, &loc, MAY_READ)?;
        let mut buf = Vec::new();
        match loc {
            Loc::Cg {
                file: Some(node), ..
            } => {
                let tasks = fs::VfsTasks {
                    tasks: &self.tasks,
                    vfs: &self.vfs,
                    pages: None,
                    netdevs: Some(&self.netdevs),
                };
                let caller = gpc_core::Caller {
                    creds,
                    pid: None,
                    tasks: &tasks,
                };
                self.gpc.read_node(&node, &caller, &mut buf)?;
            }
            Loc::Proc(ProcFile::Cgroups) => self.gpc.proc_cgroups(&mut buf)?,
            // Relative to the reader's namespace (the script's is the initial one).
            Loc::Proc(ProcFile::PidCgroup(pid)) => {
                let ns = self.current.and_then(|t| self.cgns.get(t));
                self.gpc
                    .proc_pid_cgroup_ns(self.task_slot(pid)?, ns, &mut buf)?
            }
            Loc::Proc(ProcFile::Mounts) => self.proc_mounts(&mut buf)?,
            Loc::Proc(ProcFile::Meminfo) => self.proc_meminfo(&mut buf)?,
            // sysctl's own permission check (`test_perm`) ignores CAP_DAC_OVERRIDE: a
            // 0200 file cannot be read, by root either.
            Loc::Proc(ProcFile::DropCaches) => return Err(Error::EACCES),
            Loc::Proc(ProcFile::Pressure(res)) => {
                self.gpc.psi_show_system(res, &mut Out::new(&mut buf))?;
            }
            _ => return Err(Error::EISDIR),
        }
        Ok(buf)
    }

    /// `/proc/mounts` (Linux fs/proc_namespace.c `show_vfsmnt`): `SOURCE DIR TYPE
    /// OPTIONS 0 0` per mount, oldest first. `/proc` is there from boot with Linux's
    /// default flags (`rw,relatime`, no `proc_show_options` option set); a cgroup mount
    /// shows `rw,relatime` and its hierarchy's options (`Gpc::show_options`, Linux
    /// `cgroup1_show_options`). A `-t cpuset` mount is a cgroup file system
    /// (`cpuset_init_fs_context` switches to `cgroup_fs_type`), so its type is `cgroup`.
    /// SOURCE and DIR are escaped as `mangle` and `seq_path_root` do (`\ooo`).
    fn proc_mounts(&self, buf: &mut Vec<u8>) -> Result {
        let mut ids: Vec<fs::MountId> = Vec::new();
        for (id, _) in self.vfs.mounts() {
            gpc_core::host::alloc::try_push(&mut ids, id, Gfp::KERNEL)?;
        }
        ids.sort_unstable();
        Out::new(buf).bytes(b"proc /proc proc rw,relatime 0 0\n")?;
        for id in ids {
            let Some(mount) = self.vfs.mount_info(id) else {
                continue;
            };
            escape_into(
                &mut Out::new(buf),
                self.vfs.source(id).as_bytes(),
                b" \t\n\\#",
            )?;
            Out::new(buf).bytes(b" ")?;
            let dir = self.vfs.mount_dir_path(id)?;
            escape_into(&mut Out::new(buf), dir.as_bytes(), b" \t\n\\")?;
            let fstype: &[u8] = if self.gpc.is_unified(mount.hier) {
                b" cgroup2 rw,relatime"
            } else {
                b" cgroup rw,relatime"
            };
            Out::new(buf).bytes(fstype)?;
            self.gpc.show_options(mount.hier, buf)?;
            Out::new(buf).bytes(b" 0 0\n")?;
        }
        Ok(())
    }

    fn do_list(&self, path: &str) -> Result<Vec<String>> {
        let creds = self.creds();
        let env = self.env();
        let loc = self.vfs.resolve(&env, &creds, path)?;
        if !loc.is_dir() {
            return Err(Error::ENOTDIR);
        }
        self.vfs.check(&env, &creds, &loc, MAY_READ)?;
        self.vfs.list(&env, &loc)
    }

    /// chdir(2): a directory (`ENOTDIR`) the caller may search (`EACCES`; Linux
    /// `do_fchdir`/`set_fs_pwd` after `path_permission(MAY_EXEC | MAY_CHDIR)`).
    fn do_chdir(&self, path: &str) -> Result {
        let creds = self.creds();
        let env = self.env();
        let loc = self.vfs.resolve(&env, &creds, path)?;
        if !loc.is_dir() {
            return Err(Error::ENOTDIR);
        }
        self.vfs.check(&env, &creds, &loc, MAY_EXEC)
    }

    /// stat(2)'s "is it a directory": search permission on the way only.
    fn do_is_dir(&self, path: &str) -> Result<bool> {
        let creds = self.creds();
        let env = self.env();
        Ok(self.vfs.resolve(&env, &creds, path)?.is_dir())
    }

    /// One directory per mounted hierarchy, oldest mount first: the oldest of its mounts
    /// that is visible, that is whose directory's path, walked now, leads to its own
    /// root (a later mount on the same place, or on a directory above it, hides it). A
    /// hierarchy mounted twice (`--layout v1`'s `cpu` and `cpuacct`) is shown once.
    fn do_cgroup_mounts(&self) -> Result<Vec<String>> {
        let env = self.env();
        let mut ids: Vec<fs::MountId> = Vec::new();
        for (id, _) in self.vfs.mounts() {
            try_push(&mut ids, id, Gfp::KERNEL)?;
        }
        ids.sort_unstable();
        let mut paths = Vec::new();
        let mut shown: Vec<gpc_core::HierarchyId> = Vec::new();
        for id in ids {
            let Some(hier) = self.vfs.mount_info(id).map(|m| m.hier) else {
                continue;
            };
            if shown.contains(&hier) {
                continue;
            }
            let path = self.vfs.mount_dir_path(id)?;
            let visible = match self.vfs.resolve(&env, &Creds::ROOT, &path) {
                Ok(Loc::Cg { mount, path: p, .. }) => mount == id && p == "/",
                Err(Error::ENOMEM) => return Err(Error::ENOMEM),
                _ => false,
            };
            if visible {
                try_push(&mut shown, hier, Gfp::KERNEL)?;
                try_push(&mut paths, path, Gfp::KERNEL)?;
            }
        }
        Ok(paths)
    }

    fn do_chown(&mut self, uid: u32, gid: Option<u32>, path: &str) -> Result {
        // chown(2), Linux fs/open.c chown_common: an id of -1 (4294967295) is left as it
        // is: no ATTR_UID / ATTR_GID, so it is neither checked nor changed.
        let uid = Some(uid).filter(|&u| u != fs::KEEP_ID);
        let gid = gid.filter(|&g| g != fs::KEEP_ID);
        let creds = self.creds();
        let env = Env {
            gpc: &self.gpc,
            tasks: &self.tasks,
            current: self.current,
        };
        let loc = self.vfs.resolve(&env, &creds, path)?;
        let (cur, _) = self.vfs.attrs(&env, &loc);
        if !fs::chown_permitted(&creds, cur, uid, gid) {
            return Err(Error::EPERM);
        }
        if uid.is_none() && gid.is_none() {
            // Only the change time would move (ATTR_CTIME), on any file.
            return Ok(());
        }
        self.vfs.set_owner(
            &loc,
            Owner {
                uid: uid.unwrap_or(cur.uid),
                gid: gid.unwrap_or(cur.gid),
            },
        )
    }

    // ------------------------------------------------------------------------------
    // Tasks.
    // ------------------------------------------------------------------------------

    fn new_task(&mut self, parent: Pid, thread: bool, creds: Option<Creds>) -> Result<Pid> {
        // Room for the child's namespace first: nothing may fail after the fork.
        self.cgns.reserve()?;
        let pid = self.tasks.fork_as(&self.gpc, parent, thread, creds)?;
        self.cgns.inherit(parent, pid);
        Ok(pid)
    }

    /// `clone PARENT VAR DIR`: clone3(`CLONE_INTO_CGROUP`) by `parent`, with the
    /// command's credentials and `parent`'s cgroup namespace (clone3's `current`).
    fn do_clone_into(&mut self, parent: Pid, dir: &str) -> Result<Pid> {
        self.tasks.get(parent).ok_or(Error::ESRCH)?;
        let creds = self.creds();
        // open(DIR, O_PATH | O_DIRECTORY): the walk, then a directory (ENOTDIR); then
        // cgroup_get_from_file(): only a v2 group directory (EBADF).
        let loc = self.vfs.resolve(&self.env(), &creds, dir)?;
        if !loc.is_dir() {
            return Err(Error::ENOTDIR);
        }
        let Loc::Cg {
            hier,
            dir_id,
            file: None,
            ..
        } = loc
        else {
            return Err(Error::EBADF);
        };
        let node = Node::directory(hier, dir_id);
        self.cgns.reserve()?;
        let perms = fs::VfsPerms { vfs: &self.vfs };
        let caller = gpc_core::Caller {
            creds,
            pid: None,
            tasks: &perms,
        };
        let ns = self.cgns.get(parent);
        let pid = self
            .tasks
            .clone_into(&self.gpc, parent, false, &node, &caller, ns)?;
        self.cgns.inherit(parent, pid);
        Ok(pid)
    }

    /// `unshare -C TASK` (Linux `copy_cgroup_ns`: `CAP_SYS_ADMIN`, then the calling
    /// thread's groups).
    fn do_unshare_cgroup(&mut self, task: Pid) -> Result {
        let slot = self.task_slot(task)?;
        if !self.creds().cap_sys_admin {
            return Err(Error::EPERM);
        }
        let ns = self.gpc.cgroup_ns_of(slot)?;
        self.cgns.unshare(task, ns)
    }

    fn do_exit(&mut self, pid: Pid) -> Result {
        let t = self.tasks.get(pid).ok_or(Error::ESRCH)?;
        if pid == 1 {
            return Err(Error::EPERM);
        }
        let (tgid, leader) = (t.tgid, t.pid == t.tgid);
        if leader {
            // The whole process: its threads' memory goes back (the group's own threads,
            // the task table's ring, not a scan of every task), then they exit. Nothing
            // to allocate, so a kill (`cgroup.kill`, the OOM killer) always completes.
            self.release_host_charges(tgid);
            self.release_huge_pages(tgid);
            let mut x = self.tasks.thread_group(tgid).map(|x| x.pid).next();
            while let Some(p) = x {
                self.sim.remove(&p);
                self.io_forget(p);
                self.release_task_memory(p);
                x = self
                    .tasks
                    .thread_group(tgid)
                    .map(|t| t.pid)
                    .skip_while(|&q| q != p)
                    .nth(1);
            }
            return self.tasks.exit(&self.gpc, pid);
        }
        // A thread: its memory passes to its process, which lives on. Room for it
        // first, since nothing may fail once the task has exited.
        let process_lives = self.tasks.get(tgid).is_some();
        if process_lives {
            self.reserve_thread_memory(pid, tgid)?;
        }
        self.tasks.exit(&self.gpc, pid)?;
        self.cgns.forget(pid);
        self.sim.remove(&pid);
        self.io_forget(pid);
        if process_lives {
            self.pass_thread_memory(pid, tgid);
        } else {
            self.release_task_memory(pid);
        }
        Ok(())
    }

    // ------------------------------------------------------------------------------
    // The scheduler.
    // ------------------------------------------------------------------------------

    fn do_run(&mut self, ms: u64) -> Result {
        self.do_run_with_progress(ms, &mut |_| {})
    }

    /// `run MS`, calling `progress` with the simulated milliseconds done so far between
    /// the scheduler's stretches.
    ///
    /// A run whose length in nanoseconds does not fit the clock's `u64` is `EINVAL`: a
    /// time value out of range (Linux include/linux/time64.h `timespec64_valid_strict`,
    /// "values that could overflow ktime_t", `EINVAL` for its callers such as
    /// kernel/time/timekeeping.c `do_settimeofday64`). A valid length that would take
    /// the clock past its end is `EOVERFLOW`, the result being too large for the
    /// clock's type. Neither moves the clock or runs anything.
    ///
    /// A run whose simulation needs more than [`sched::WORK_BUDGET`] units of work is
    /// `E2BIG` ("argument list too long": the argument asks for more than one command
    /// may do; the same time in shorter runs works). It is computed before anything is
    /// committed, so it too leaves the clock, the bandwidth states and the CPU times as
    /// they were. `EOVERFLOW` would say the clock cannot hold the result, and `ETIME` is
    /// a STREAMS timer's; neither says "split the run".
    fn do_run_with_progress(&mut self, ms: u64, progress: &mut dyn FnMut(u64)) -> Result {
        let span = ms.checked_mul(sched::TICK_NS).ok_or(Error::EINVAL)?;
        self.clock_ns.checked_add(span).ok_or(Error::EOVERFLOW)?;
        if ms == 0 {
            return self.run_segment(0, progress);
        }
        // In pieces that end where a task `memory.high` put to sleep wakes up, so that
        // it runs from then on (a piece per such task at most).
        let mut done = 0;
        while done < ms {
            let now = self.clock_ns;
            let wake = self
                .sim
                .values()
                .map(|s| s.throttled_until_ns)
                .filter(|&t| t > now)
                .min();
            let mut piece = wake.map_or(ms - done, |t| {
                (t - now).div_ceil(sched::TICK_NS).clamp(1, ms - done)
            });
            // And where I/O completes, so that its task runs from then on.
            if let Some(io) = self.io_next_tick()? {
                piece = piece.min(io.clamp(1, ms - done));
            }
            // The I/O is planned before the scheduler commits its stretch, and applied
            // after it without allocating: an ENOMEM leaves everything as it was.
            let io = self.io_plan(piece)?;
            self.run_segment(piece, &mut |t| progress(done + t))?;
            self.writeback(piece);
            self.io_commit(io);
            done += piece;
        }
        Ok(())
    }

    /// One stretch of `run` with the same tasks runnable throughout.
    fn run_segment(&mut self, ms: u64, progress: &mut dyn FnMut(u64)) -> Result {
        let guard = self.gpc.rcu_read_lock();
        let mut groups: Vec<Group> = Vec::new();
        let mut group_css: Vec<gpc_core::Css<'_, cpu::Cpu>> = Vec::new();
        let mut group_ids: Vec<u64> = Vec::new();
        let mut index: hashbrown::HashMap<u64, usize> = hashbrown::HashMap::new();
        let mut runnable: Vec<Runnable> = Vec::new();
        let mut chain: Vec<gpc_core::Css<'_, cpu::Cpu>> = Vec::new();
        for t in self.tasks.iter() {
            if !t.busy {
                continue;
            }
            if t.jobctl() & tasklist::JOBCTL_FROZEN != 0 {
                continue; // stopped by the v2 freezer
            }
            if self
                .sim
                .get(&t.pid)
                .is_some_and(|s| s.throttled_until_ns > self.clock_ns)
                || self.oom_waiters.iter().any(|w| w.pid == t.pid)
                || self.task_io_waiting(t.pid)
            {
                continue; // asleep: memory.high's penalty, in an OOM, or for its I/O
            }
            if let Some(ss) = self.ids.freezer {
                if self
                    .gpc
                    .task_state::<freezer::Freezer>(&guard, &t.slot, ss)
                    .is_some_and(effects::is_frozen)
                {
                    continue;
                }
            }
            let mut group = 0;
            chain.clear();
            if let Some(css) = self
                .ids
                .cpu
                .and_then(|ss| self.gpc.task_state::<cpu::Cpu>(&guard, &t.slot, ss))
            {
                for c in css.ancestors_and_self() {
                    gpc_core::host::alloc::try_push(&mut chain, c, Gfp::ATOMIC)?;
                }
            }
            let mut parent = None;
            for &css in chain.iter().rev() {
                let id = css.container_id();
                let idx = match index.get(&id) {
                    Some(&i) => i,
                    None => {
                        let i = groups.len();
                        groups.try_reserve(1)?;
                        group_css.try_reserve(1)?;
                        group_ids.try_reserve(1)?;
                        index.try_reserve(1)?;
                        groups.push(Group {
                            parent,
                            shares: if parent.is_some() {
                                effects::cpu_shares(css)
                            } else {
                                sched::NICE_0_WEIGHT
                            },
                            bandwidth: effects::cpu_bandwidth(css)
                                .map(|(q, p)| (q.saturating_mul(1000), p.saturating_mul(1000))),
                        });
                        group_css.push(css);
                        group_ids.push(id);
                        index.insert(id, i);
                        i
                    }
                };
                parent = Some(idx);
                group = idx;
            }
            if groups.is_empty() {
                // No cpu controller: one root group.
                gpc_core::host::alloc::try_push(
                    &mut groups,
                    Group {
                        parent: None,
                        shares: sched::NICE_0_WEIGHT,
                        bandwidth: None,
                    },
                    Gfp::ATOMIC,
                )?;
                gpc_core::host::alloc::try_push(&mut group_ids, 0, Gfp::ATOMIC)?;
                index.try_reserve(1)?;
                index.insert(0, 0);
            }
            let allowed = match self.ids.cpuset {
                Some(ss) => self
                    .gpc
                    .task_state::<cpuset::Cpuset>(&guard, &t.slot, ss)
                    .map_or_else(
                        || sched::all_cpus(self.nr_cpus),
                        |c| effects::effective_cpus(c, self.nr_cpus),
                    ),
                None => sched::all_cpus(self.nr_cpus),
            };
            gpc_core::host::alloc::try_push(
                &mut runnable,
                Runnable {
                    pid: t.pid,
                    group,
                    allowed,
                },
                Gfp::ATOMIC,
            )?;
        }
        drop(chain);
        drop(index);
        if groups.is_empty() {
            gpc_core::host::alloc::try_push(
                &mut groups,
                Group {
                    parent: None,
                    shares: sched::NICE_0_WEIGHT,
                    bandwidth: None,
                },
                Gfp::ATOMIC,
            )?;
            gpc_core::host::alloc::try_push(&mut group_ids, 0, Gfp::ATOMIC)?;
        }
        // Bandwidth state: kept while the group's quota and period stay the same.
        let mut bw: Vec<Option<BwState>> = Vec::new();
        bw.try_reserve_exact(groups.len())?;
        bw.extend(groups.iter().zip(&group_ids).map(|(g, id)| {
            g.bandwidth.map(|cfg| match self.bw.get(id) {
                Some(st) if st.config == cfg => st.clone(),
                _ => BwState::new(cfg, self.clock_ns),
            })
        }));
        // Room for what the run records, before it runs: nothing can fail once the clock
        // has moved.
        self.bw.try_reserve(bw.iter().flatten().count())?;
        self.sim.try_reserve(runnable.len())?;
        let mut psi_plan = self.psi_plan(&runnable)?;
        let started = self.clock_ns;
        let usage = sched::simulate_psi(
            &groups,
            &mut bw,
            &runnable,
            Some(&psi_plan.tree),
            self.nr_cpus,
            &mut self.clock_ns,
            ms,
            self.budget_left,
            &mut |ticks| progress(ticks),
        )?;
        self.budget_left = self.budget_left.saturating_sub(usage.work);
        P::set_clock_ns(self.gpc.host(), self.clock_ns);
        // Groups that had no runnable task keep their state as it was.
        for (id, st) in group_ids.iter().zip(bw) {
            if let Some(st) = st {
                self.bw.insert(*id, st);
            }
        }
        for (rec, times) in &usage.periods {
            if let Some(css) = group_css.get(rec.group) {
                effects::cpu_record_periods(*css, *times, rec.throttled, rec.throttled_ns);
            }
        }
        for (r, per_cpu) in runnable.iter().zip(&usage.per_task) {
            let Some(t) = self.tasks.get(r.pid) else {
                continue;
            };
            let acct = self
                .ids
                .cpuacct
                .and_then(|ss| self.gpc.task_state::<cpuacct::Cpuacct>(&guard, &t.slot, ss));
            let mut total = 0u64;
            for &(cpu, ns) in per_cpu {
                if let Some(css) = acct {
                    effects::cpuacct_charge(css, cpu, ns);
                }
                total = total.saturating_add(ns);
            }
            if let Some(css) = self
                .ids
                .perf_event
                .and_then(|ss| self.gpc.task_state::<PerfEvent>(&guard, &t.slot, ss))
            {
                effects::perf_event_account(css, total);
            }
            if total > 0 {
                self.gpc.account_cputime(&t.slot, total);
                let st = self.sim.entry(r.pid).or_default();
                st.cpu_ns = st.cpu_ns.saturating_add(total);
            }
        }
        drop(guard);
        self.psi_commit(&mut psi_plan, &usage, self.clock_ns - started);
        // Forget the bandwidth state of groups that are gone (in place: nothing can fail
        // once the clock has moved).
        if let Some(ss) = self.ids.cpu {
            let gpc = &self.gpc;
            self.bw
                .retain(|&id, _| gpc.with_css_by_container_id(ss, id, |_| ()).is_some());
        }
        Ok(())
    }

    /// `run MS` (as the script command), calling `progress` with the simulated
    /// milliseconds done so far now and then, for a caller that shows how far a long
    /// run is. The result is the same as [`ScriptMachine::run`]'s.
    ///
    /// # Errors
    ///
    /// As `run`: `EINVAL` or `EOVERFLOW` for a run the clock cannot hold, `E2BIG` for one
    /// that needs more than [`sched::WORK_BUDGET`] units of work, `ENOMEM`.
    pub fn run_with_progress(&mut self, ms: u64, progress: &mut dyn FnMut(u64)) -> Result {
        self.op(|m| m.do_run_with_progress(ms, progress))
    }

    fn do_ps(&self) -> Result<Vec<u8>> {
        let mut buf = Vec::new();
        let mut out = Out::new(&mut buf);
        let mm = self.mm.borrow();
        for t in self.tasks.iter() {
            let st = self.sim.get(&t.pid);
            // A task waiting for memory (a v1 OOM, or `memory.high`'s sleep) is in an
            // uninterruptible (killable) sleep, as a frozen one is.
            let waits = self.oom_waiters.iter().any(|w| w.pid == t.pid)
                || st.is_some_and(|s| s.throttled_until_ns > self.clock_ns)
                || self.task_io_waiting(t.pid);
            let state =
                if waits || self.is_frozen(&t.slot) || t.jobctl() & tasklist::JOBCTL_FROZEN != 0 {
                    'D'
                } else if t.busy {
                    'R'
                } else {
                    'S'
                };
            let (bytes, resident, swapped) = mm.task_memory(t.pid);
            writeln!(
                out,
                "{} {} {} {} {} {} {} {}",
                t.pid,
                t.tgid,
                t.creds.uid,
                state,
                st.map_or(0, |s| s.cpu_ns / 1_000_000),
                bytes,
                resident,
                swapped
            )?;
        }
        Ok(buf)
    }
}

impl<P: Platform> Drop for Machine<P> {
    fn drop(&mut self) {
        self.tasks.exit_all(&self.gpc);
    }
}

/// The cgroup options `mount -t cpuset` stands for (Linux `cpuset_init_fs_context`:
/// cpuset with `noprefix` and the cpuset release agent; only `cpuset_v2_mode` may be
/// given, besides the VFS flags that mount(8) passes along).
fn cpuset_fs_options(options: &str) -> Result<String> {
    const BASE: &str = "cpuset,noprefix,release_agent=";
    const V2_MODE: &str = ",cpuset_v2_mode";
    // Each `cpuset_v2_mode` is passed on (Linux passes the options through).
    let mut v2_modes = 0usize;
    for o in options.split(',').filter(|o| !o.is_empty()) {
        match o {
            "cpuset_v2_mode" => v2_modes += 1,
            "rw" | "ro" | "nosuid" | "nodev" | "noexec" | "relatime" | "noatime" => {}
            _ => return Err(Error::EINVAL),
        }
    }
    let mut opts = String::new();
    opts.try_reserve_exact(
        BASE.len() + CPUSET_RELEASE_AGENT.len() + V2_MODE.len().saturating_mul(v2_modes),
    )?;
    opts.push_str(BASE);
    opts.push_str(CPUSET_RELEASE_AGENT);
    for _ in 0..v2_modes {
        opts.push_str(V2_MODE);
    }
    Ok(opts)
}

impl<P: Platform> ScriptMachine for Machine<P> {
    fn configure(&mut self, cfg: &MachineConfig<'_>) -> Result {
        if self.touched {
            return Err(Error::EINVAL);
        }
        // What the command leaves out stays as it is.
        let cpus = match cfg.cpus {
            Some(n) => n,
            None => u32::try_from(self.nr_cpus).map_err(|_| Error::EINVAL)?,
        };
        let mems = match cfg.mems {
            Some(n) => n,
            None => u32::try_from(self.nr_mems).map_err(|_| Error::EINVAL)?,
        };
        // Copied before anything changes: ENOMEM leaves the machine as it was.
        let v2_offer = match cfg.v2 {
            Some(list) => Some(try_string(list, Gfp::KERNEL)?),
            None => None,
        };
        let rdma_devs = match cfg.rdma.or(self.hostres.rdma_devs.as_deref()) {
            Some(list) => Some(try_string(list, Gfp::KERNEL)?),
            None => None,
        };
        let misc_caps = match cfg.misc.or(self.hostres.misc_caps.as_deref()) {
            Some(list) => Some(try_string(list, Gfp::KERNEL)?),
            None => None,
        };
        let disks = match cfg.disks {
            Some(list) => Some(io::parse_disks(list)?),
            None => None,
        };
        let mem = cfg.mem.or(self.mem_bytes);
        let swap = cfg.swap.or(self.swap_bytes);
        let huge_pools = match cfg.hugepages {
            Some(text) => small::parse_hugepages(text, mem.unwrap_or(crate::mm::DEFAULT_MEM))?,
            None => self.huge.totals(),
        };
        let netdevs = match cfg.netdevs {
            Some(text) => Some(small::NetDevs::parse(text)?),
            None => None,
        };
        // At least one page of memory; neither beyond what page arithmetic holds.
        if mem.is_some_and(|b| !(crate::mm::PAGE_SIZE..=crate::mm::MAX_BYTES).contains(&b))
            || swap.is_some_and(|b| b > crate::mm::MAX_BYTES)
        {
            return Err(Error::EINVAL);
        }
        let mut fresh = Self::with_subsystems(cpus, mems, self.gpc.subsystems())?;
        // What the host set survives: only the script's CPUs and nodes change.
        fresh.set_pid_max(self.pid_max())?;
        fresh.set_run_budget(self.run_budget);
        fresh.mem_bytes = mem;
        fresh.swap_bytes = swap;
        fresh.huge = small::HugePages::with_pools(huge_pools);
        fresh.v2_offer = v2_offer.or_else(|| self.v2_offer.take());
        let offered = fresh.v2_mask(fresh.v2_offer.as_deref())?;
        fresh.gpc.offer_on_v2(offered);
        fresh.hostres.rdma_devs = rdma_devs;
        fresh.hostres.misc_caps = misc_caps;
        fresh.apply_host_config()?;
        fresh.mm = core::cell::RefCell::new(crate::mm::Mm::new(
            mem.unwrap_or(crate::mm::DEFAULT_MEM),
            swap.unwrap_or(crate::mm::DEFAULT_SWAP),
        ));
        let given_disks = disks.is_some();
        fresh.disks = disks.unwrap_or_else(|| core::mem::take(&mut self.disks));
        if let Err(e) = fresh.register_disks() {
            if !given_disks {
                self.disks = core::mem::take(&mut fresh.disks);
            }
            return Err(e);
        }
        // Nothing fails from here: the old list moves over without a copy.
        fresh.netdevs = netdevs.unwrap_or_else(|| core::mem::take(&mut self.netdevs));
        *self = fresh;
        self.touched = true;
        Ok(())
    }

    fn set_user(&mut self, uid: Option<u32>) {
        self.user = uid;
    }

    fn mount(&mut self, fstype: &str, options: &str, source: &str, dir: &str) -> Result {
        self.op(|m| {
            m.do_mount(fstype, options, source, dir)?;
            // The memory controller may have moved hierarchy: pages follow its states.
            m.revalidate_owners();
            Ok(())
        })
    }

    fn umount(&mut self, dir: &str) -> Result {
        self.op(|m| {
            m.do_umount(dir)?;
            m.revalidate_owners();
            Ok(())
        })
    }

    fn mkdir(&mut self, path: &str, parents: bool) -> Result {
        self.op(|m| m.do_mkdir(path, parents))
    }

    fn rmdir(&mut self, path: &str) -> Result {
        self.op(|m| m.do_rmdir(path))
    }

    fn write(&mut self, path: &str, data: &[u8]) -> Result {
        self.op(|m| m.do_write(path, data))
    }

    fn read(&mut self, path: &str) -> Result<Vec<u8>> {
        self.op(|m| m.do_read(path))
    }

    fn list(&mut self, path: &str) -> Result<Vec<String>> {
        self.op(|m| m.do_list(path))
    }

    fn chown(&mut self, uid: u32, gid: Option<u32>, path: &str) -> Result {
        self.op(|m| m.do_chown(uid, gid, path))
    }

    fn spawn(&mut self) -> Result<Pid> {
        self.op(|m| {
            let creds = m.user.map(|u| Creds::user(u, u));
            m.new_task(1, false, creds)
        })
    }

    fn fork(&mut self, parent: Pid) -> Result<Pid> {
        self.op(|m| m.new_task(parent, false, None))
    }

    fn thread(&mut self, parent: Pid) -> Result<Pid> {
        self.op(|m| m.new_task(parent, true, None))
    }

    fn exit(&mut self, task: Pid) -> Result {
        self.op(|m| m.do_exit(task))
    }

    fn begin_command(&mut self) {
        self.budget_left = self.run_budget;
        // What the previous command notified goes to the `events` queue.
        self.flush_notified();
    }

    fn run(&mut self, ms: u64) -> Result {
        self.op(|m| m.do_run(ms))
    }

    fn block_io(&mut self, task: Pid, major: u32, minor: u32, write: bool, bytes: u64) -> Result {
        self.op(|m| m.do_io(task, major, minor, write, bytes))
    }

    fn set_busy(&mut self, task: Pid, busy: bool) -> Result {
        self.op(|m| {
            if m.tasks.set_busy(task, busy) {
                Ok(())
            } else {
                Err(Error::ESRCH)
            }
        })
    }

    fn huge_pages(&mut self, task: Pid, size: &str, count: u64, alloc: bool) -> Result {
        self.op(|m| m.huge_pages_op(task, size, count, alloc))
    }

    fn netprio(&mut self, task: Pid) -> Result<Vec<u8>> {
        self.op(|m| m.netprio_lines(task))
    }

    fn perf(&mut self, path: &str) -> Result<Vec<u8>> {
        self.op(|m| m.perf_line(path))
    }

    fn memory(&mut self, task: Pid, bytes: u64, charge: bool) -> Result {
        self.op(|m| {
            if charge {
                m.charge_memory(task, bytes)
            } else {
                m.free_memory(task, bytes)
            }
        })
    }

    fn read_file(&mut self, task: Pid, file: &str, bytes: u64) -> Result {
        self.op(|m| m.file_pages(task, file, bytes, false))
    }

    fn write_file(&mut self, task: Pid, file: &str, bytes: u64) -> Result {
        self.op(|m| m.file_pages(task, file, bytes, true))
    }

    fn open_device(
        &mut self,
        task: Pid,
        dev_type: u8,
        major: u32,
        minor: u32,
        access: &str,
    ) -> Result {
        self.op(|m| {
            // devcgroup_check_permission: the v2 programs first, then the v1 lists.
            let kind = match dev_type {
                b'b' => gpc_subsystems::parse::DevType::Block,
                _ => gpc_subsystems::parse::DevType::Char,
            };
            m.check_device_programs(task, kind, major, minor, effects::dev_access(access))?;
            let slot = m.task_slot(task)?;
            let Some(ss) = m.ids.devices else {
                return Ok(());
            };
            let guard = m.gpc.rcu_read_lock();
            let allowed = match m.gpc.task_state::<devices::Devices>(&guard, slot, ss) {
                Some(css) => effects::device_may_access(css, dev_type, major, minor, access),
                None => true,
            };
            if allowed {
                Ok(())
            } else {
                Err(Error::EPERM)
            }
        })
    }

    fn host_command(&mut self, cmd: &gpc_script::HostCommand<'_>) -> Result<Vec<u8>> {
        self.op(|m| m.do_host_command(cmd))
    }

    fn unshare(&mut self, task: Pid) -> Result {
        self.op(|m| {
            let tref = m.tasks.task_ref(task).ok_or(Error::ESRCH)?;
            match m.ids.ns {
                Some(ss) => m.gpc.container_clone(ss, &tref, &fs::pid_name(task)?),
                None => Ok(()),
            }
        })
    }

    fn unshare_cgroup(&mut self, task: Pid) -> Result {
        self.op(|m| m.do_unshare_cgroup(task))
    }

    fn clone_into(&mut self, parent: Pid, dir: &str) -> Result<Pid> {
        self.op(|m| m.do_clone_into(parent, dir))
    }

    fn set_task(&mut self, task: Option<Pid>) -> Result {
        if let Some(t) = task {
            self.tasks.get(t).ok_or(Error::ESRCH)?;
        }
        self.current = task;
        Ok(())
    }

    fn ps(&mut self) -> Result<Vec<u8>> {
        self.op(|m| m.do_ps())
    }

    fn chdir(&mut self, path: &str) -> Result {
        self.op(|m| m.do_chdir(path))
    }

    fn is_dir(&mut self, path: &str) -> Result<bool> {
        self.op(|m| m.do_is_dir(path))
    }

    fn cgroup_mounts(&mut self) -> Result<Vec<String>> {
        self.op(|m| m.do_cgroup_mounts())
    }

    fn take_releases(&mut self) -> Result<Vec<String>> {
        self.touched = true;
        // Every call made so far, or ENOMEM: a part of them must not pass for all.
        self.settle()?;
        self.releases.take_paths()
    }

    fn watch(&mut self, path: &str) -> Result {
        self.op(|m| m.do_watch(path))
    }

    fn take_events(&mut self) -> Result<Vec<String>> {
        self.touched = true;
        self.flush_notified();
        Ok(core::mem::take(&mut self.events))
    }
}

/// A watched file (inotify `IN_MODIFY`): the group's container id and the file's name,
/// so that the watch stays with the file (a group removed and made again is another
/// container), and the path to print. `container` is `None` for a file that never
/// changes by itself (outside a cgroup mount).
#[derive(Debug)]
struct Watch {
    container: Option<u64>,
    file: String,
    path: String,
    /// For a file a controller changes by itself ([`changes_by_itself`]), its contents
    /// when last looked at: a change is a notification (Linux `cgroup_file_notify`).
    snapshot: Option<Vec<u8>>,
}

/// The controller files whose contents change without a write and that Linux notifies
/// (`memcg_memory_event` → `cgroup_file_notify` on `events_file`, `events_local_file`,
/// `swap_events_file`; `pids_event` → `cgroup_file_notify` on `events_file`,
/// `events_local_file`).
fn changes_by_itself(file: &str) -> bool {
    matches!(
        file,
        "memory.events"
            | "memory.events.local"
            | "memory.swap.events"
            | "pids.events"
            | "pids.events.local"
    )
}

impl<P: Platform> Machine<P> {
    /// `watch PATH`: read permission needed (inotify_add_watch).
    fn do_watch(&mut self, path: &str) -> Result {
        let creds = self.creds();
        let env = self.env();
        let loc = self.vfs.resolve(&env, &creds, path)?;
        self.vfs.check(&env, &creds, &loc, MAY_READ)?;
        let (container, file) = match &loc {
            Loc::Cg {
                dir_id,
                path: p,
                file: Some(_),
                ..
            } => (
                Some(*dir_id),
                try_string(p.rsplit('/').next().unwrap_or(""), Gfp::KERNEL)?,
            ),
            _ => (None, String::new()),
        };
        let snapshot = if changes_by_itself(&file) {
            Some(self.do_read(path)?)
        } else {
            None
        };
        let path = try_string(path, Gfp::KERNEL)?;
        try_push(
            &mut self.watches,
            Watch {
                container,
                file,
                path,
                snapshot,
            },
            Gfp::KERNEL,
        )
    }

    /// The watched paths of `file` of container `container`, into the current command's.
    fn notify_watchers(&mut self, container: u64, file: &str) {
        for w in &self.watches {
            if w.container == Some(container) && w.file == file {
                // A lost notification when memory runs out (inotify's queue overflow).
                if let Ok(p) = try_string(&w.path, Gfp::KERNEL) {
                    let _ = try_push(&mut self.notified, p, Gfp::KERNEL);
                }
            }
        }
    }

    /// Gather gpc's notifications, then queue the current command's paths for `events`:
    /// once each, bytewise, a path equal to the last one queued not queued again (an
    /// inotify queue merges an event identical to the last unread one).
    fn flush_notified(&mut self) {
        let mut changed: Vec<(u64, &'static str)> = Vec::new();
        self.gpc.drain_notifications(&mut |_, id, file| {
            let _ = try_push(&mut changed, (id, file), Gfp::KERNEL);
        });
        for (id, file) in changed {
            self.notify_watchers(id, file);
        }
        // Files the controllers change by themselves: compared with what they held.
        for i in 0..self.watches.len() {
            if self.watches[i].snapshot.is_none() {
                continue;
            }
            // A file gone (its group removed, even if made again) notifies nothing more.
            let same = {
                let env = self.env();
                let creds = self.creds();
                matches!(
                    self.vfs.resolve(&env, &creds, &self.watches[i].path),
                    Ok(Loc::Cg { dir_id, .. }) if Some(dir_id) == self.watches[i].container
                )
            };
            if !same {
                continue;
            }
            let Ok(now) = self.do_read(&self.watches[i].path) else {
                continue;
            };
            if self.watches[i].snapshot.as_ref() != Some(&now) {
                if let Ok(p) = try_string(&self.watches[i].path, Gfp::KERNEL) {
                    let _ = try_push(&mut self.notified, p, Gfp::KERNEL);
                }
                self.watches[i].snapshot = Some(now);
            }
        }
        let mut paths = core::mem::take(&mut self.notified);
        paths.sort_unstable();
        paths.dedup();
        for p in paths {
            if self.events.last() != Some(&p) {
                let _ = try_push(&mut self.events, p, Gfp::KERNEL);
            }
        }
    }
}

#[path = "machine/io.rs"]
mod io;
#[path = "machine/memory.rs"]
mod mem;
#[path = "machine/psi.rs"]
mod psi;

#[path = "machine/hostres.rs"]
mod hostres;
#[path = "machine/small.rs"]
mod small;

#[cfg(test)]
mod enomem_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::ToString;
    use alloc::vec;
    use gpc_core::testing::TestHost;

    struct Std;

    impl Platform for Std {
        type Host = TestHost;
        fn host(nr_cpus: usize, nr_mems: usize) -> Result<TestHost> {
            Ok(TestHost::new(nr_cpus, nr_mems))
        }
    }

    type SimMachine = Machine<Std>;

    type R = std::result::Result<(), Error>;

    #[test]
    fn chdir_and_is_dir_follow_the_path_walk() -> R {
        let mut m = machine()?;
        m.mkdir("/cg/a", false)?;
        m.mkdir("/plain", false)?;
        assert_eq!(m.chdir("/cg/a"), Ok(()));
        assert_eq!(m.chdir("/cg/a/../a/./"), Ok(()));
        assert_eq!(m.chdir("/cg/nope"), Err(Error::ENOENT));
        assert_eq!(m.chdir("/cg/tasks"), Err(Error::ENOTDIR));
        assert_eq!(m.chdir("/cg/tasks/x"), Err(Error::ENOTDIR));
        assert_eq!(m.chdir("/proc/1"), Ok(()));
        // Every directory here has search permission for others (there is no chmod):
        // a user may enter them all, and EACCES cannot arise.
        assert_eq!(as_user(&mut m, 1000, |m| m.chdir("/cg/a")), Ok(()));
        assert_eq!(m.is_dir("/cg/a"), Ok(true));
        assert_eq!(m.is_dir("/cg/a/tasks"), Ok(false));
        assert_eq!(m.is_dir("/proc/cgroups"), Ok(false));
        assert_eq!(m.is_dir("/plain"), Ok(true));
        assert_eq!(m.is_dir("/cg/none"), Err(Error::ENOENT));
        Ok(())
    }

    #[test]
    fn cgroup_mounts_are_the_visible_ones_once_per_hierarchy() -> R {
        let mut m = machine()?;
        m.mkdir("/cg/a", false)?;
        m.mount("cgroup", "cpu", "cgroup", "/cpu")?;
        // On a group directory of another hierarchy.
        m.mount("cgroup", "memory", "cgroup", "/cg/a")?;
        // The same hierarchy a second time: shown once, at its oldest mount.
        m.mount("cgroup", "cpu", "cgroup", "/cpu2")?;
        assert_eq!(m.cgroup_mounts()?, vec!["/cg", "/cpu", "/cg/a"]);
        // A mount that covers another hides it.
        m.mount("cgroup", "none,name=over", "cgroup", "/cpu")?;
        assert_eq!(m.cgroup_mounts()?, vec!["/cg", "/cg/a", "/cpu2", "/cpu"]);
        m.umount("/cpu")?;
        m.umount("/cpu2")?;
        assert_eq!(m.cgroup_mounts()?, vec!["/cg", "/cpu", "/cg/a"]);
        Ok(())
    }

    fn machine() -> std::result::Result<SimMachine, Error> {
        let mut m = SimMachine::new()?;
        m.mount("cgroup", "none,name=t", "cgroup", "/cg")?;
        Ok(m)
    }

    fn text(m: &mut SimMachine, path: &str) -> std::result::Result<String, Error> {
        Ok(String::from_utf8_lossy(&m.read(path)?).into_owned())
    }

    fn as_user<T>(m: &mut SimMachine, uid: u32, f: impl FnOnce(&mut SimMachine) -> T) -> T {
        m.set_user(Some(uid));
        let r = f(m);
        m.set_user(None);
        r
    }

    #[test]
    fn path_length_limits() -> R {
        let mut m = machine()?;
        // PATH_MAX counts the NUL: 4095 bytes is the longest path.
        let long = format!("/cg/{}", "a".repeat(fs::PATH_MAX - 1 - 4));
        assert_eq!(long.len(), fs::PATH_MAX - 1);
        m.mkdir(&long, false)?;
        assert_eq!(
            m.mkdir(&format!("{long}b"), false),
            Err(Error::ENAMETOOLONG)
        );
        assert_eq!(m.read(&format!("{long}/tasks")), Err(Error::ENAMETOOLONG));
        // cgroupfs has no NAME_MAX, plain directories do.
        m.mkdir(&format!("/cg/{}", "n".repeat(300)), false)?;
        assert_eq!(
            m.mkdir(&format!("/{}", "n".repeat(256)), false),
            Err(Error::ENAMETOOLONG)
        );
        m.mkdir(&format!("/{}", "n".repeat(255)), false)?;
        assert_eq!(m.read(""), Err(Error::ENOENT));
        Ok(())
    }

    #[test]
    fn walking_dots_and_mount_boundaries() -> R {
        let mut m = machine()?;
        m.mkdir("/cg/a/b", true)?;
        assert_eq!(text(&mut m, "/cg/a/b/../../tasks")?, "1\n");
        assert_eq!(text(&mut m, "cg/a/./b/notify_on_release")?, "0\n");
        // `..` of a mount's root leaves the mount.
        let mut root = m.list("/cg/..")?;
        root.sort();
        assert_eq!(root, vec!["cg", "proc"]);
        assert_eq!(m.list("/../../cg/a/b/..")?.len(), 5);
        assert_eq!(m.read("/cg/tasks/."), Err(Error::ENOTDIR));
        assert_eq!(m.read("/cg/tasks/x"), Err(Error::ENOTDIR));
        assert_eq!(m.read("/cg/x/tasks"), Err(Error::ENOENT));
        assert_eq!(m.list("/cg/tasks"), Err(Error::ENOTDIR));
        assert_eq!(m.read("/cg/a"), Err(Error::EISDIR));
        assert_eq!(m.read("/proc"), Err(Error::EISDIR));
        assert_eq!(m.write("/cg/a/", b"1\n"), Err(Error::EISDIR));
        assert_eq!(m.write("/cg/a/tasks/", b"1\n"), Err(Error::EISDIR));
        assert_eq!(m.write("/cg/a/new", b"1\n"), Err(Error::EACCES));
        assert_eq!(m.write("/new", b"1\n"), Err(Error::EACCES));
        assert_eq!(m.write("/proc/cgroups", b"1\n"), Err(Error::EINVAL));
        Ok(())
    }

    #[test]
    fn mkdir_and_rmdir_rules() -> R {
        let mut m = machine()?;
        assert_eq!(m.mkdir("/", false), Err(Error::EEXIST));
        assert_eq!(m.mkdir("/cg/.", false), Err(Error::EEXIST));
        assert_eq!(m.mkdir("/cg/..", false), Err(Error::EEXIST));
        assert_eq!(m.mkdir("/cg/tasks", true), Err(Error::EEXIST));
        assert_eq!(m.mkdir("/cg/tasks/z", true), Err(Error::ENOTDIR));
        assert_eq!(m.mkdir("/cg/a\nb", false), Err(Error::EINVAL));
        assert_eq!(m.mkdir("/proc/x", false), Err(Error::EPERM));
        m.mkdir("/cg/a", false)?;
        m.mkdir("/cg/a/", true)?;
        assert_eq!(m.rmdir("/"), Err(Error::EBUSY));
        assert_eq!(m.rmdir("/cg"), Err(Error::EBUSY));
        assert_eq!(m.rmdir("/proc"), Err(Error::EBUSY));
        assert_eq!(m.rmdir("/cg/a/."), Err(Error::EINVAL));
        assert_eq!(m.rmdir("/cg/a/.."), Err(Error::ENOTEMPTY));
        assert_eq!(m.rmdir("/cg/nope"), Err(Error::ENOENT));
        assert_eq!(m.rmdir("/cg/tasks"), Err(Error::ENOTDIR));
        m.rmdir("/cg/a/")?;
        // Plain directories.
        m.mkdir("/p/q", true)?;
        assert_eq!(m.rmdir("/p"), Err(Error::ENOTEMPTY));
        m.rmdir("/p/q")?;
        m.rmdir("/p")?;
        Ok(())
    }

    #[test]
    fn mounts_stack_and_unmount() -> R {
        let mut m = machine()?;
        m.mkdir("/cg/a", false)?;
        // A second mount of the same hierarchy elsewhere, and another one on top of /cg.
        m.mount("cgroup", "name=t", "x", "/other/place")?;
        assert!(m.list("/other/place")?.contains(&String::from("a")));
        m.mount("cgroup", "none,name=u", "x", "/cg")?;
        assert!(!m.list("/cg")?.contains(&String::from("a")));
        m.umount("/cg")?;
        assert!(m.list("/cg")?.contains(&String::from("a")));
        assert_eq!(m.umount("/cg/a"), Err(Error::EINVAL));
        assert_eq!(m.umount("/"), Err(Error::EINVAL));
        assert_eq!(m.umount("/nope"), Err(Error::ENOENT));
        assert_eq!(
            m.mount("cgroup", "none,name=v", "x", "/cg/tasks"),
            Err(Error::ENOTDIR)
        );
        assert_eq!(m.mount("ext4", "", "x", "/e"), Err(Error::ENODEV));
        assert_eq!(m.mount("cpuset", "noprefix", "x", "/e"), Err(Error::EINVAL));
        m.mount("cpuset", "", "x", "/cs")?;
        assert_eq!(
            text(&mut m, "/cs/release_agent")?,
            "/sbin/cpuset_release_agent\n"
        );
        assert!(m.list("/cs")?.contains(&String::from("cpus")));
        Ok(())
    }

    fn names(m: &mut SimMachine, path: &str) -> std::result::Result<Vec<String>, Error> {
        let mut v = m.list(path)?;
        v.sort();
        Ok(v)
    }

    /// Linux fs/namespace.c do_add_mount: "Refuse the same filesystem on the same mount
    /// point": EBUSY when the place already shows the root of a mount of the hierarchy
    /// the options select (kernel/cgroup/cgroup-v1.c cgroup1_root_to_use finds it by
    /// name or by its exact controllers; kernfs gives it one superblock).
    #[test]
    fn same_hierarchy_twice_on_one_place_is_ebusy() -> R {
        let mut m = SimMachine::new()?;
        m.mount("cgroup", "net_cls,name=x", "cgroup", "/cg")?;
        for opts in [
            "net_cls,name=x",
            "name=x",
            "net_cls",
            "net_cls,name=x,clone_children",
        ] {
            assert_eq!(m.mount("cgroup", opts, "cgroup", "/cg"), Err(Error::EBUSY));
            assert_eq!(m.mount("cgroup", opts, "cgroup", "/cg/"), Err(Error::EBUSY));
            assert_eq!(
                m.mount("cgroup", opts, "cgroup", "/cg/../cg/."),
                Err(Error::EBUSY)
            );
        }
        // The failed mounts took no mount count: one umount ends the hierarchy.
        m.umount("/cg")?;
        assert_eq!(m.umount("/cg"), Err(Error::EINVAL));
        assert!(!text(&mut m, "/proc/cgroups")?.contains("net_cls\t1"));
        // Another hierarchy stacks, and then the first one may go on top of it again.
        m.mount("cgroup", "net_cls,name=x", "cgroup", "/cg")?;
        m.mount("cgroup", "none,name=y", "cgroup", "/cg")?;
        assert_eq!(
            m.mount("cgroup", "none,name=y", "cgroup", "/cg"),
            Err(Error::EBUSY)
        );
        m.mount("cgroup", "name=x", "cgroup", "/cg")?;
        assert!(names(&mut m, "/cg")?.contains(&String::from("net_cls.classid")));
        m.umount("/cg")?;
        assert!(!names(&mut m, "/cg")?.contains(&String::from("net_cls.classid")));
        m.umount("/cg")?;
        assert!(names(&mut m, "/cg")?.contains(&String::from("net_cls.classid")));
        // The same hierarchy on one of its own groups is another place: allowed.
        m.mkdir("/cg/g", false)?;
        m.mount("cgroup", "name=x", "cgroup", "/cg/g")?;
        assert!(names(&mut m, "/cg/g")?.contains(&String::from("g")));
        assert_eq!(
            m.mount("cgroup", "name=x", "cgroup", "/cg/g"),
            Err(Error::EBUSY)
        );
        Ok(())
    }

    /// Any directory is a mount point, a group directory too: paths walk into the new
    /// mount, `..` leaves it, the covered group cannot be removed through any mount of
    /// its hierarchy (Linux fs/namei.c vfs_rmdir: is_local_mountpoint, EBUSY), the
    /// mount below cannot be unmounted (fs/namespace.c do_umount: propagate_mount_busy,
    /// EBUSY), and umount shows the group again.
    #[test]
    fn mounts_on_group_directories() -> R {
        let mut m = machine()?;
        m.mount("cgroup", "name=t", "cgroup", "/again")?;
        m.mkdir("/cg/a", false)?;
        m.mkdir("/cg/a/keep", false)?;
        m.mount("cgroup", "none,name=u", "cgroup", "/cg/a")?;
        assert!(!names(&mut m, "/cg/a")?.contains(&String::from("keep")));
        m.mkdir("/cg/a/in_u", false)?;
        assert!(names(&mut m, "/cg/a")?.contains(&String::from("in_u")));
        assert!(text(&mut m, "/cg/a/../a/in_u/tasks").is_ok());
        assert!(names(&mut m, "/cg/a/..")?.contains(&String::from("a")));
        // The other mount of `t` shows the group itself.
        assert!(names(&mut m, "/again/a")?.contains(&String::from("keep")));
        assert_eq!(m.rmdir("/cg/a"), Err(Error::EBUSY));
        assert_eq!(m.rmdir("/again/a"), Err(Error::EBUSY));
        assert_eq!(m.umount("/cg"), Err(Error::EBUSY));
        m.umount("/again")?;
        // A mount inside a mount inside a mount, and `..` back out of both.
        m.mount("cgroup", "none,name=v", "cgroup", "/cg/a/in_u")?;
        assert!(names(&mut m, "/cg/a/in_u/../..")?.contains(&String::from("a")));
        assert_eq!(m.umount("/cg/a"), Err(Error::EBUSY));
        m.umount("/cg/a/in_u")?;
        m.umount("/cg/a")?;
        assert!(names(&mut m, "/cg/a")?.contains(&String::from("keep")));
        m.rmdir("/cg/a/keep")?;
        m.rmdir("/cg/a")?;
        // Through a stack: the newest mount on the group is the one walked into.
        m.mkdir("/cg/b", false)?;
        m.mount("cgroup", "none,name=u", "cgroup", "/cg/b")?;
        m.mount("cgroup", "none,name=w", "cgroup", "/cg/b")?;
        assert!(!names(&mut m, "/cg/b")?.contains(&String::from("in_u")));
        m.umount("/cg/b")?;
        assert!(names(&mut m, "/cg/b")?.contains(&String::from("in_u")));
        m.umount("/cg/b")?;
        m.rmdir("/cg/b")?;
        Ok(())
    }

    /// `mount ... DIR` is `mkdir -p DIR; mount ... DIR` (FORMAT.md): a missing DIR is
    /// made (by the runner, as root; inside a cgroup mount as groups) and stays when the
    /// mount fails, for whatever reason.
    #[test]
    fn a_made_mount_point_stays_when_the_mount_fails() -> R {
        let mut m = machine()?;
        assert_eq!(
            m.mount("cgroup", "bogus", "cgroup", "/x/y"),
            Err(Error::EINVAL)
        );
        assert_eq!(names(&mut m, "/x")?, vec![String::from("y")]);
        assert_eq!(m.mount("ext4", "", "x", "/e"), Err(Error::ENODEV));
        assert!(names(&mut m, "/e")?.is_empty());
        assert_eq!(
            as_user(&mut m, 1000, |m| m.mount(
                "cgroup",
                "none,name=u",
                "c",
                "/u"
            )),
            Err(Error::EPERM)
        );
        // Made by root: the user may not make anything in it.
        assert_eq!(
            as_user(&mut m, 1000, |m| m.mkdir("/u/mine", false)),
            Err(Error::EACCES)
        );
        assert_eq!(
            m.mount("cgroup", "name=t", "cgroup", "/cg/g/h"),
            Ok(()),
            "groups g and g/h are made, and t goes on g/h"
        );
        assert_eq!(
            m.mount("cgroup", "name=t", "c", "/cg/g/h"),
            Err(Error::EBUSY)
        );
        m.umount("/cg/g/h")?;
        assert_eq!(
            m.mount("cgroup", "none,name=t,release_agent=", "c", "/cg/p/q"),
            Err(Error::EINVAL)
        );
        assert!(names(&mut m, "/cg/p")?.contains(&String::from("q")));
        assert!(text(&mut m, "/cg/p/q/tasks").is_ok(), "q is a group");
        // A path through a file is no place to make anything.
        assert_eq!(
            m.mount("cgroup", "none,name=z", "c", "/cg/tasks/x"),
            Err(Error::ENOTDIR)
        );
        Ok(())
    }

    #[test]
    fn ownership_and_permissions() -> R {
        let mut m = machine()?;
        assert_eq!(
            as_user(&mut m, 1000, |m| m.mkdir("/cg/a", false)),
            Err(Error::EACCES)
        );
        m.mkdir("/cg/a", false)?;
        m.chown(1000, None, "/cg/a")?;
        as_user(&mut m, 1000, |m| m.mkdir("/cg/a/b", false))?;
        as_user(&mut m, 1000, |m| {
            m.write("/cg/a/b/cgroup.clone_children", b"1\n")
        })?;
        assert_eq!(
            as_user(&mut m, 1000, |m| m
                .write("/cg/a/cgroup.clone_children", b"1\n")),
            Err(Error::EACCES)
        );
        assert_eq!(
            as_user(&mut m, 1001, |m| m.rmdir("/cg/a/b")),
            Err(Error::EACCES)
        );
        assert_eq!(
            as_user(&mut m, 1000, |m| m.chown(1001, None, "/cg/a/b")),
            Err(Error::EPERM)
        );
        as_user(&mut m, 1000, |m| m.chown(1000, Some(1000), "/cg/a/b"))?;
        assert_eq!(
            as_user(&mut m, 1000, |m| m.chown(1000, Some(5), "/cg/a/b")),
            Err(Error::EPERM)
        );
        assert_eq!(m.chown(5, None, "/proc/cgroups"), Err(Error::EPERM));
        // Plain directories belong to their maker too.
        m.mkdir("/home", false)?;
        m.chown(1000, None, "/home")?;
        as_user(&mut m, 1000, |m| m.mkdir("/home/me", false))?;
        assert_eq!(
            as_user(&mut m, 1001, |m| m.mkdir("/home/you", false)),
            Err(Error::EACCES)
        );
        as_user(&mut m, 1000, |m| m.rmdir("/home/me"))?;
        Ok(())
    }

    /// chown(2) with -1 (4294967295) for an id leaves it unchanged and unchecked (Linux
    /// fs/open.c chown_common sets ATTR_UID/ATTR_GID only for other ids; fs/attr.c
    /// setattr_prepare checks only those).
    #[test]
    fn chown_minus_one_keeps_that_id() -> R {
        const KEEP: u32 = u32::MAX;
        let mut m = machine()?;
        m.mkdir("/cg/a", false)?;
        let owner = |m: &SimMachine, path: &str| -> std::result::Result<Owner, Error> {
            let creds = Creds::ROOT;
            let loc = m.vfs.resolve(&m.env(), &creds, path)?;
            Ok(m.vfs.attrs(&m.env(), &loc).0)
        };
        m.chown(7, Some(8), "/cg/a")?;
        m.chown(KEEP, Some(9), "/cg/a")?;
        assert_eq!(owner(&m, "/cg/a")?, Owner { uid: 7, gid: 9 });
        m.chown(10, Some(KEEP), "/cg/a")?;
        assert_eq!(owner(&m, "/cg/a")?, Owner { uid: 10, gid: 9 });
        m.chown(KEEP, None, "/cg/a")?;
        m.chown(KEEP, Some(KEEP), "/cg/a")?;
        assert_eq!(owner(&m, "/cg/a")?, Owner { uid: 10, gid: 9 });
        m.chown(KEEP, Some(3), "/cg/a/tasks")?;
        assert_eq!(owner(&m, "/cg/a/tasks")?, Owner { uid: 0, gid: 3 });
        // Without CAP_CHOWN: nothing to check for -1, the group rule for the rest.
        as_user(&mut m, 1000, |m| m.chown(KEEP, Some(KEEP), "/cg/a"))?;
        as_user(&mut m, 1000, |m| m.chown(KEEP, None, "/cg"))?;
        assert_eq!(
            as_user(&mut m, 1000, |m| m.chown(KEEP, Some(1000), "/cg/a")),
            Err(Error::EPERM)
        );
        m.chown(1000, None, "/cg/a")?;
        as_user(&mut m, 1000, |m| m.chown(KEEP, Some(1000), "/cg/a"))?;
        assert_eq!(
            owner(&m, "/cg/a")?,
            Owner {
                uid: 1000,
                gid: 1000
            }
        );
        assert_eq!(
            as_user(&mut m, 1000, |m| m.chown(KEEP, Some(5), "/cg/a")),
            Err(Error::EPERM)
        );
        // A plain directory, and a missing path.
        m.mkdir("/home", false)?;
        m.chown(KEEP, Some(4), "/home")?;
        assert_eq!(owner(&m, "/home")?, Owner { uid: 0, gid: 4 });
        assert_eq!(m.chown(KEEP, None, "/nope"), Err(Error::ENOENT));
        Ok(())
    }

    #[test]
    fn drop_caches_parses_as_proc_dointvec_minmax() -> R {
        let mut m = machine()?;
        let a = m.spawn()?;
        m.read_file(a, "f", 1 << 20)?;
        m.write_file(a, "g", 4096)?;
        let cached = |m: &mut SimMachine| -> std::result::Result<String, Error> {
            Ok(text(m, "/proc/meminfo")?
                .lines()
                .find(|l| l.starts_with("Cached:"))
                .unwrap_or_default()
                .to_string())
        };
        for bad in [&b"0"[..], b"5", b"-1", b"x", b"1 2", b"1x", b"", b"\n"] {
            let r = m.write("/proc/sys/vm/drop_caches", bad);
            if bad.is_empty() {
                continue; // (the script never writes nothing; the VFS would)
            }
            assert_eq!(r, Err(Error::EINVAL), "{bad:?}");
        }
        assert_eq!(cached(&mut m)?, "Cached:             1028 kB");
        // Values 2 and 4 leave the page cache; 0x1, 1 and 3 drop its clean pages, not
        // the dirty one.
        m.write("/proc/sys/vm/drop_caches", b" 2\n")?;
        m.write("/proc/sys/vm/drop_caches", b"4")?;
        assert_eq!(cached(&mut m)?, "Cached:             1028 kB");
        m.write("/proc/sys/vm/drop_caches", b"0x1\n")?;
        assert_eq!(cached(&mut m)?, "Cached:                4 kB");
        m.write("/proc/sys/vm/drop_caches", b"3")?;
        assert_eq!(m.read("/proc/sys/vm/drop_caches"), Err(Error::EACCES));
        Ok(())
    }

    #[test]
    fn proc_entries() -> R {
        let mut m = machine()?;
        let a = m.spawn()?;
        let t = m.thread(a)?;
        let mut procs = m.list("/proc")?;
        procs.sort();
        assert_eq!(
            procs,
            vec![
                String::from("1"),
                a.to_string(),
                String::from("cgroups"),
                String::from("meminfo"),
                String::from("mounts"),
                String::from("pressure"),
                String::from("sys")
            ]
        );
        assert_eq!(text(&mut m, &format!("/proc/{t}/cgroup"))?, "1:name=t:/\n");
        assert_eq!(m.read("/proc/99/cgroup"), Err(Error::ENOENT));
        assert_eq!(m.read(&format!("/proc/0{a}/cgroup")), Err(Error::ENOENT));
        assert_eq!(
            m.list(&format!("/proc/{a}"))?,
            vec![String::from("cgroup"), String::from("mounts")]
        );
        // One mount namespace: every task's mounts file is /proc/mounts.
        assert_eq!(
            text(&mut m, &format!("/proc/{t}/mounts"))?,
            text(&mut m, "/proc/mounts")?
        );
        assert_eq!(m.read("/proc/99/mounts"), Err(Error::ENOENT));
        m.exit(a)?;
        assert_eq!(m.read(&format!("/proc/{t}/cgroup")), Err(Error::ENOENT));
        Ok(())
    }

    #[test]
    fn pid_max_bounds_allocation_and_survives_configure() -> R {
        use crate::tasks::{PID_MAX_DEFAULT, PID_MAX_LIMIT, PID_MAX_MIN};
        let mut m = SimMachine::new()?;
        assert_eq!(m.pid_max(), PID_MAX_DEFAULT);
        assert_eq!(m.set_pid_max(PID_MAX_MIN - 1), Err(Error::EINVAL));
        assert_eq!(m.set_pid_max(PID_MAX_LIMIT + 1), Err(Error::EINVAL));
        m.set_pid_max(PID_MAX_LIMIT)?;
        // `machine` (configure) starts a fresh machine with the same pid_max.
        m.configure(&cpus_mems(2, 1))?;
        assert_eq!(m.pid_max(), PID_MAX_LIMIT);
        // Pids 2..310 are given out, then allocation wraps to 300 and finds none free.
        m.set_pid_max(310)?;
        let mut pids = Vec::new();
        let err = loop {
            match m.spawn() {
                Ok(p) => pids.push(p),
                Err(e) => break e,
            }
        };
        assert_eq!(err, Error::EAGAIN);
        assert_eq!(pids, (2..310).collect::<Vec<Pid>>());
        // Below 300 a freed pid is not reused after the wrap; above it, it is.
        m.exit(5)?;
        assert_eq!(m.spawn(), Err(Error::EAGAIN));
        m.exit(305)?;
        assert_eq!(m.spawn(), Ok(305));
        // Raised past Linux's default, pids go on past it.
        m.set_pid_max(PID_MAX_DEFAULT + 10)?;
        let mut last = 0;
        while let Ok(p) = m.spawn() {
            last = p;
        }
        assert_eq!(last, PID_MAX_DEFAULT + 9);
        assert_eq!(m.read(&format!("/proc/{last}/cgroup"))?, b"");
        Ok(())
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_task_is_at_most_sixty_four_bytes() {
        // The whole per-task cost of a task that neither ran nor holds memory (gpc's
        // 24-byte slot, its link in its css_group's task list, included):
        // `sim_rss_1m_tasks` in bench-report counts on it. 28 of them are credentials, 8
        // of those the permitted capability set that cpuset's setscheduler check compares
        // (Linux kernel/cgroup/cpuset.c cpuset_can_attach).
        let size = core::mem::size_of::<crate::tasks::Task>();
        assert!(size <= 64, "a task is {size} bytes");
    }

    /// `machine cpus=CPUS mems=MEMS`.
    fn cpus_mems(cpus: u32, mems: u32) -> MachineConfig<'static> {
        MachineConfig {
            cpus: Some(cpus),
            mems: Some(mems),
            ..MachineConfig::default()
        }
    }

    /// `rdma=` registers the devices in order, `misc=` sets the capacities; a bad list
    /// refuses the whole command and the machine stays as it was; both survive a later
    /// `machine` that leaves them out.
    #[test]
    fn rdma_and_misc_options() -> R {
        let mut m = SimMachine::new()?;
        let cfg = |rdma, misc| MachineConfig {
            rdma,
            misc,
            ..MachineConfig::default()
        };
        for bad in [
            cfg(Some("a,a"), None),
            cfg(Some(""), None),
            cfg(Some("a,"), None),
            cfg(Some("a b"), None),
            cfg(None, Some("sev")),
            cfg(None, Some("foo:1")),
            cfg(None, Some("sev:x")),
            cfg(None, Some("sev:-1")),
            cfg(None, Some("sev:18446744073709551616")),
        ] {
            assert!(m.configure(&bad).is_err(), "{bad:?}");
            assert!(!m.touched);
        }
        m.configure(&cfg(Some("mlx4_0,mlx5_1"), Some("sev:3,tdx:0,sev_es:1")))?;
        m.touched = false;
        m.configure(&MachineConfig {
            cpus: Some(2),
            ..MachineConfig::default()
        })?;
        m.mount("cgroup", "rdma,misc", "x", "/rm")?;
        assert_eq!(m.read("/rm/misc.capacity")?, b"sev 3\nsev_es 1\n");
        m.mkdir("/rm/a", false)?;
        assert_eq!(
            m.read("/rm/a/rdma.current")?,
            b"mlx4_0 hca_handle=0 hca_object=0 \nmlx5_1 hca_handle=0 hca_object=0 \n"
        );
        Ok(())
    }

    /// Every option is optional: what `machine` leaves out stays as it was; `mem=`,
    /// `machine hugepages=` sets the pools `/proc/meminfo` shows (hugetlb_report_meminfo);
    /// mapped pages leave the free count; bad pools and device lists are EINVAL.
    #[test]
    fn huge_page_pools_in_meminfo_and_machine_options() -> R {
        let mut m = SimMachine::new()?;
        for bad in ["2MB", "4MB:1", "2MB:1,2MB:2", "2MB:-1", "1GB:9", "2MB:x"] {
            let cfg = MachineConfig {
                hugepages: Some(bad),
                ..MachineConfig::default()
            };
            assert_eq!(m.configure(&cfg), Err(Error::EINVAL), "{bad}");
        }
        for bad in ["", "lo,lo", "a/b", "a:b", "0123456789abcdef", ".", "a b"] {
            let cfg = MachineConfig {
                netdevs: Some(bad),
                ..MachineConfig::default()
            };
            assert_eq!(m.configure(&cfg), Err(Error::EINVAL), "{bad:?}");
        }
        m.configure(&MachineConfig {
            hugepages: Some("2MB:4,1GB:1"),
            netdevs: Some("lo,eth0,eth1"),
            ..MachineConfig::default()
        })?;
        let a = m.spawn()?;
        m.huge_pages(a, "2MB", 3, true)?;
        assert_eq!(m.huge_pages(a, "2MB", 2, true), Err(Error::ENOMEM));
        assert_eq!(m.huge_pages(a, "3MB", 1, true), Err(Error::EINVAL));
        assert_eq!(m.huge_pages(a, "2MB", 0, true), Err(Error::EINVAL));
        assert_eq!(m.huge_pages(a, "1GB", 1, false), Err(Error::EINVAL));
        let info = text(&mut m, "/proc/meminfo")?;
        assert!(
            info.contains(
                "HugePages_Total:       4\nHugePages_Free:        1\nHugePages_Rsvd:        0\n\
                 HugePages_Surp:        0\nHugepagesize:       2048 kB\nHugetlb:         1056768 kB\n"
            ),
            "{info}"
        );
        assert_eq!(m.netprio(a)?, b"lo 0\neth0 0\neth1 0\n");
        m.exit(a)?;
        let info = text(&mut m, "/proc/meminfo")?;
        assert!(info.contains("HugePages_Free:        4\n"), "{info}");
        Ok(())
    }

    /// `swap=` and `v2=` are kept for the memory model, and a refused `machine` keeps
    /// none of them.
    #[test]
    fn configure_keeps_what_is_left_out() -> R {
        let mut m = SimMachine::new()?;
        let bad = MachineConfig {
            cpus: Some(0),
            mem: Some(1 << 30),
            v2: Some("memory"),
            ..MachineConfig::default()
        };
        assert_eq!(m.configure(&bad), Err(Error::EINVAL));
        assert_eq!((m.mem_bytes(), m.v2_offer()), (None, None));
        m.configure(&MachineConfig {
            mem: Some(1 << 30),
            swap: Some(0),
            v2: Some("memory,pids"),
            ..MachineConfig::default()
        })?;
        assert_eq!(
            (m.nr_cpus, m.nr_mems),
            (DEFAULT_CPUS as usize, DEFAULT_MEMS as usize)
        );
        assert_eq!((m.mem_bytes, m.swap_bytes), (Some(1 << 30), Some(0)));
        assert_eq!(m.v2_offer(), Some("memory,pids"));
        let mut m = SimMachine::with_config(1, 1)?;
        m.configure(&MachineConfig {
            mems: Some(2),
            ..MachineConfig::default()
        })?;
        assert_eq!((m.nr_cpus, m.nr_mems), (1, 2));
        assert_eq!(
            (m.mem_bytes, m.swap_bytes, m.v2_offer()),
            (None, None, None)
        );
        Ok(())
    }

    #[test]
    fn configure_only_first_and_within_limits() -> R {
        let mut m = SimMachine::new()?;
        assert_eq!(m.configure(&cpus_mems(0, 1)), Err(Error::EINVAL));
        assert_eq!(m.configure(&cpus_mems(MAX_CPUS + 1, 1)), Err(Error::EINVAL));
        assert_eq!(m.configure(&cpus_mems(1, MAX_MEMS + 1)), Err(Error::EINVAL));
        m.set_run_budget(1 << 10);
        m.configure(&cpus_mems(2, 1))?;
        assert_eq!(m.nr_cpus(), 2);
        assert_eq!(m.configure(&cpus_mems(2, 1)), Err(Error::EINVAL));
        // The host's run budget survives the script's `machine` command.
        assert_eq!(m.run_budget, 1 << 10);
        Ok(())
    }

    /// One command's `run`s share one bound (`sample` and `top` run in steps): the
    /// steps of a command stop with `E2BIG` when together they need more than a run may
    /// do, the refused step changes nothing, and the next command starts anew.
    #[test]
    fn the_runs_of_one_command_share_its_budget() -> R {
        let mut m = machine()?;
        m.spawn()?;
        m.begin_command();
        m.run(10)?;
        let step = m.run_budget - m.budget_left;
        assert!(step > 0);
        m.set_run_budget(step * 3 + step / 2);
        m.begin_command();
        let mut done = 0;
        let refused = loop {
            let before = m.clock_ns;
            match m.run(10) {
                Ok(()) => done += 1,
                Err(e) => {
                    assert_eq!(m.clock_ns, before, "a refused step moves no clock");
                    break e;
                }
            }
            assert!(done <= 8, "the steps never ran out of budget");
        };
        assert_eq!(refused, Error::E2BIG);
        assert!((2..=4).contains(&done), "{done} steps");
        m.begin_command();
        m.run(10)?;
        Ok(())
    }

    #[test]
    fn tasks_and_memory() -> R {
        let mut m = machine()?;
        assert_eq!(m.exit(1), Err(Error::EPERM));
        assert_eq!(m.fork(77), Err(Error::ESRCH));
        assert_eq!(m.set_busy(77, true), Err(Error::ESRCH));
        let a = m.spawn()?;
        m.set_user(Some(1000));
        let u = m.spawn()?;
        let uf = m.fork(u)?;
        m.set_user(None);
        let ps = String::from_utf8_lossy(&m.ps()?).into_owned();
        assert_eq!(
            ps,
            format!(
                "1 1 0 S 0 0 0 0\n{a} {a} 0 R 0 0 0 0\n{u} {u} 1000 R 0 0 0 0\n\
                 {uf} {uf} 1000 R 0 0 0 0\n"
            )
        );
        m.mount("cgroup", "memory", "x", "/mem")?;
        m.mkdir("/mem/g", false)?;
        m.write("/mem/g/tasks", format!("{a}\n").as_bytes())?;
        m.memory(a, 6000, true)?;
        assert_eq!(text(&mut m, "/mem/g/memory.usage_in_bytes")?, "8192\n");
        m.memory(a, 3000, false)?;
        assert_eq!(text(&mut m, "/mem/g/memory.usage_in_bytes")?, "4096\n");
        // The charge stays with the group the task was in.
        m.write("/mem/tasks", format!("{a}\n").as_bytes())?;
        m.memory(a, 3000, false)?;
        assert_eq!(text(&mut m, "/mem/g/memory.usage_in_bytes")?, "0\n");
        assert_eq!(m.memory(a, 1, false), Err(Error::EINVAL));
        m.write("/mem/g/memory.limit_in_bytes", b"8K\n")?;
        m.write("/mem/g/tasks", format!("{a}\n").as_bytes())?;
        let t = m.thread(a)?;
        m.memory(t, 4096, true)?;
        m.exit(t)?;
        assert_eq!(text(&mut m, "/mem/g/memory.usage_in_bytes")?, "4096\n");
        // Past the limit, with nothing to reclaim and no swap: the OOM killer takes the
        // largest task, here the one charging, whose memory goes back.
        assert_eq!(m.memory(a, 12 * 1024, true), Err(Error::ENOMEM));
        assert_eq!(text(&mut m, "/mem/g/memory.failcnt")?, "1\n");
        assert_eq!(m.exit(a), Err(Error::ESRCH));
        assert!(text(&mut m, "/mem/g/memory.oom_control")?.ends_with("oom_kill 1\n"));
        assert_eq!(text(&mut m, "/mem/g/memory.usage_in_bytes")?, "0\n");
        Ok(())
    }

    #[test]
    fn run_shares_cpu_by_cpu_shares() -> R {
        let mut m = SimMachine::new()?;
        m.configure(&cpus_mems(1, 1))?;
        m.mount("cgroup", "cpu,cpuacct", "x", "/cpu")?;
        m.mkdir("/cpu/a", false)?;
        m.mkdir("/cpu/b", false)?;
        m.write("/cpu/a/cpu.shares", b"2048\n")?;
        let (a, b) = (m.spawn()?, m.spawn()?);
        m.write("/cpu/a/tasks", format!("{a}\n").as_bytes())?;
        m.write("/cpu/b/tasks", format!("{b}\n").as_bytes())?;
        m.run(3000)?;
        let ua: f64 = text(&mut m, "/cpu/a/cpuacct.usage")?
            .trim()
            .parse()
            .unwrap_or(0.0);
        let ub: f64 = text(&mut m, "/cpu/b/cpuacct.usage")?
            .trim()
            .parse()
            .unwrap_or(1.0);
        assert!((ua / ub - 2.0).abs() < 0.02, "{ua} {ub}");
        assert_eq!(m.clock_ns(), 3_000_000_000);
        // Idle and frozen tasks do not run.
        m.set_busy(a, false)?;
        m.run(100)?;
        let ub2: f64 = text(&mut m, "/cpu/b/cpuacct.usage")?
            .trim()
            .parse()
            .unwrap_or(0.0);
        assert_eq!(ub2 - ub, 100_000_000.0);
        m.mount("cgroup", "freezer", "x", "/fz")?;
        m.mkdir("/fz/f", false)?;
        m.write("/fz/f/tasks", format!("{b}\n").as_bytes())?;
        m.write("/fz/f/freezer.state", b"FROZEN\n")?;
        m.run(100)?;
        assert_eq!(
            text(&mut m, "/cpu/b/cpuacct.usage")?,
            format!("{}\n", ub2 as u64)
        );
        assert!(String::from_utf8_lossy(&m.ps()?).contains(&format!("{b} {b} 0 D ")));
        Ok(())
    }

    #[test]
    fn devices_and_unshare() -> R {
        let mut m = machine()?;
        let a = m.spawn()?;
        m.open_device(a, b'c', 1, 3, "rw")?;
        m.mount("cgroup", "devices", "x", "/dev-cg")?;
        m.mkdir("/dev-cg/d", false)?;
        m.write("/dev-cg/d/tasks", format!("{a}\n").as_bytes())?;
        m.write("/dev-cg/d/devices.deny", b"a\n")?;
        assert_eq!(m.open_device(a, b'c', 1, 3, "r"), Err(Error::EPERM));
        m.write("/dev-cg/d/devices.allow", b"c 1:3 r\n")?;
        m.open_device(a, b'c', 1, 3, "r")?;
        assert_eq!(m.open_device(a, b'c', 1, 3, "rw"), Err(Error::EPERM));
        assert_eq!(m.open_device(99, b'c', 1, 3, "r"), Err(Error::ESRCH));
        // unshare without ns mounted does nothing; with it, a child named after the pid.
        m.unshare(a)?;
        m.mount("cgroup", "ns", "x", "/ns")?;
        m.unshare(a)?;
        assert_eq!(text(&mut m, &format!("/ns/{a}/tasks"))?, format!("{a}\n"));
        Ok(())
    }

    #[test]
    fn releases_are_recorded_with_their_agent() -> R {
        let mut m = machine()?;
        m.write("/cg/release_agent", b"/bin/agent\n")?;
        m.mkdir("/cg/a/b", true)?;
        m.write("/cg/a/notify_on_release", b"1\n")?;
        m.rmdir("/cg/a/b")?;
        assert_eq!(m.releases.iter().next(), Some(("/bin/agent", "/a")));
        assert_eq!(m.take_releases()?, vec![String::from("/a")]);
        assert!(m.take_releases()?.is_empty());
        Ok(())
    }
}
