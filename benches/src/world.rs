//! Machines to benchmark on: gpc on the [`BenchHost`] with Linux's controllers mounted,
//! a task table, and the container layouts each benchmark needs.

use core::pin::Pin;

use gpc_core::{Creds, DynSubsystem, Gpc, HierarchyId, Pid, TaskInfo, TaskSlot};

use crate::host::{rcu, BenchHost};
use crate::tasks::{BenchTask, Tasks};
use crate::{BenchError, Ctx};

/// The controllers of the fork/exit benchmark that have no fork hook: every controller
/// of gpc-subsystems but `pids` and `ns` (cpuset, cpu, cpuacct, memory, devices,
/// freezer, net_cls, debug).
pub const NO_FORK_HOOKS: [&str; 8] = [
    "cpuset", "cpu", "cpuacct", "memory", "devices", "freezer", "net_cls", "debug",
];

/// The three hierarchies every world mounts (the 8 controllers above; `pids`, when
/// present, joins the third).
pub const MOUNTS: [&str; 3] = [
    "cpuset,cpu,cpuacct",
    "memory,devices,freezer",
    "net_cls,debug",
];

/// The hierarchy (index into [`World::hiers`]) attach and mkdir benchmarks work in.
pub const WORK_HIER: usize = 2;

/// Which controllers a world registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Controllers {
    /// The eight of [`NO_FORK_HOOKS`].
    NoForkHooks,
    /// Those and `pids` (fork, cancel-fork and exit hooks), mounted with net_cls.
    WithPids,
    /// Every controller of gpc-subsystems (the simulator's set): those, `ns` and the
    /// rest of Linux's (io, perf_event, net_prio, hugetlb, rdma, misc), which stay
    /// unmounted (their hooks run on their root states).
    All,
}

/// The registered controllers for `c`, in Linux's order.
///
/// # Errors
///
/// A controller missing from gpc-subsystems.
pub fn controllers(c: Controllers) -> Result<Vec<&'static dyn DynSubsystem>, BenchError> {
    let all = gpc_subsystems::all();
    let want = |name: &str| match c {
        Controllers::NoForkHooks => NO_FORK_HOOKS.contains(&name),
        Controllers::WithPids => NO_FORK_HOOKS.contains(&name) || name == "pids",
        Controllers::All => true,
    };
    let v: Vec<&'static dyn DynSubsystem> =
        all.iter().copied().filter(|s| want(s.name())).collect();
    let expect = match c {
        Controllers::NoForkHooks => NO_FORK_HOOKS.len(),
        Controllers::WithPids => NO_FORK_HOOKS.len() + 1,
        Controllers::All => all.len(),
    };
    if v.len() != expect {
        return Err(BenchError::new("gpc-subsystems lacks a controller"));
    }
    Ok(v)
}

/// gpc, its tasks, and the mounted hierarchies (the three of [`MOUNTS`] first).
pub struct World {
    /// The framework.
    pub gpc: Gpc<BenchHost>,
    /// The host's tasks (init is pid 1).
    pub tasks: Tasks,
    /// Mounted hierarchies.
    pub hiers: Vec<HierarchyId>,
}

impl World {
    /// gpc with `c`, the three hierarchies mounted, init, and room for `tasks` tasks.
    ///
    /// # Errors
    ///
    /// gpc's errors.
    pub fn new(c: Controllers, tasks: usize) -> Result<World, BenchError> {
        let gpc = Gpc::new(BenchHost::machine(), &controllers(c)?).ctx("Gpc::new")?;
        let mut t = Tasks::with_capacity(tasks.saturating_add(1));
        t.add_init(&gpc)?;
        let mut w = World {
            gpc,
            tasks: t,
            hiers: Vec::new(),
        };
        for (i, m) in MOUNTS.iter().enumerate() {
            let opts = if i == 2 && c != Controllers::NoForkHooks {
                "net_cls,pids,debug"
            } else {
                m
            };
            w.mount(opts)?;
        }
        Ok(w)
    }

    /// Mount a hierarchy (`none,name=x` for a named one); returns its index in `hiers`.
    ///
    /// # Errors
    ///
    /// gpc's errors.
    pub fn mount(&mut self, opts: &str) -> Result<usize, BenchError> {
        let h = self
            .gpc
            .mount(opts, &self.tasks.root_caller())
            .ctx(format_args!("mount {opts}"))?;
        self.hiers.push(h);
        Ok(self.hiers.len() - 1)
    }

    fn hier(&self, h: usize) -> Result<HierarchyId, BenchError> {
        self.hiers
            .get(h)
            .copied()
            .ok_or(BenchError::new("no such hierarchy"))
    }

    /// Make container `path` in hierarchy `h`, ready for tasks (cpuset gets CPU 0 and
    /// memory node 0, without which Linux refuses tasks with `ENOSPC`).
    ///
    /// # Errors
    ///
    /// gpc's errors.
    pub fn mkdir(&self, h: usize, path: &str) -> Result<(), BenchError> {
        let hid = self.hier(h)?;
        self.gpc
            .mkdir(hid, path)
            .ctx(format_args!("mkdir {path}"))?;
        if h == 0 {
            for f in ["cpuset.cpus", "cpuset.mems"] {
                let file = format!("{path}/{f}");
                self.gpc
                    .write(hid, &file, b"0", &self.tasks.root_caller())
                    .ctx(format_args!("write {file}"))?;
            }
        }
        Ok(())
    }

    /// Move task `pid` into `path` of hierarchy `h` (`Gpc::attach`: the move a write of
    /// the pid to `tasks` makes, without parsing the pid or checking permissions).
    ///
    /// # Errors
    ///
    /// gpc's errors.
    pub fn attach(&self, h: usize, path: &str, pid: Pid) -> Result<(), BenchError> {
        let hid = self.hier(h)?;
        self.gpc
            .attach(hid, path, &self.tasks.task_ref(pid)?)
            .ctx(format_args!("attach {pid} to {path}"))
    }

    /// A new task forked from init and moved into `path` of each of the three
    /// hierarchies (made first if `make`).
    ///
    /// # Errors
    ///
    /// gpc's errors.
    pub fn task_in(&mut self, path: &str, make: bool) -> Result<Pid, BenchError> {
        let pid = self.tasks.fork(&self.gpc, 1)?;
        for h in 0..MOUNTS.len() {
            if make {
                self.mkdir(h, path)?;
            }
            self.attach(h, path, pid)?;
        }
        Ok(pid)
    }

    /// Fork `n` children of `parent` (they share its css_group).
    ///
    /// # Errors
    ///
    /// gpc's errors.
    pub fn fork_n(&mut self, parent: Pid, n: usize) -> Result<(), BenchError> {
        for _ in 0..n {
            self.tasks.fork(&self.gpc, parent)?;
        }
        Ok(())
    }
}

impl Drop for World {
    fn drop(&mut self) {
        self.tasks.exit_all(&self.gpc);
        rcu::quiescent();
        // gpc's own Drop waits for a grace period and frees the rest.
    }
}

/// A task slot for a fork+exit loop: the child that is forked and exits again.
#[derive(Debug)]
pub struct Child {
    /// The child task, its slot empty between iterations; boxed and pinned: a fork links
    /// the slot into its css_group's task list, so it must not move while the `Child`
    /// does. A `BenchTask`, as every task of the bench host is (its `TaskIds`).
    pub task: Pin<Box<BenchTask>>,
    /// What the hooks are told.
    pub info: TaskInfo,
}

impl Child {
    /// A child with pid `pid` (any number: gpc does not look it up).
    pub fn new(pid: Pid) -> Self {
        Child {
            task: Box::pin(BenchTask {
                pid,
                tgid: pid,
                creds: Creds::ROOT,
                slot: TaskSlot::new(),
            }),
            info: TaskInfo {
                pid,
                tgid: pid,
                is_thread: false,
            },
        }
    }
}

impl Child {
    /// The child's slot, pinned as the child is.
    pub fn slot(&self) -> Pin<&TaskSlot> {
        // SAFETY: structural pinning: nothing moves the slot out of the pinned task
        // (`BenchTask` has no `Drop` and this module gives out no `&mut` to it).
        unsafe { self.task.as_ref().map_unchecked(|t| &t.slot) }
    }
}

/// The fork hook and the exit hook of one task: one iteration of the fork+exit benchmark.
///
/// # Errors
///
/// gpc's fork error (`EAGAIN` from pids at its limit; none here).
#[inline]
pub fn fork_exit(gpc: &Gpc<BenchHost>, parent: &TaskSlot, child: &Child) -> Result<(), BenchError> {
    gpc.fork(parent, child.slot(), &child.info).ctx("fork")?;
    gpc.exit(&child.task.slot, &child.info);
    Ok(())
}

/// The fork/exit machine: a parent in container `c0` of each of the three hierarchies
/// (depth 1), plus `extra` more tasks there.
///
/// # Errors
///
/// gpc's errors.
pub fn fork_world(c: Controllers, extra: usize) -> Result<(World, Pid), BenchError> {
    let mut w = World::new(c, extra + 2)?;
    let p = w.task_in("c0", true)?;
    w.fork_n(p, extra)?;
    Ok((w, p))
}

/// Names of the flat containers of [`FlatWorld`].
pub fn flat_name(i: usize) -> String {
    format!("c{i}")
}

/// One hierarchy with `n` sibling containers under its root, and pairs of containers in
/// the middle of the sibling list to move a task between.
pub struct FlatWorld {
    /// The machine; the containers are in hierarchy [`WORK_HIER`].
    pub world: World,
    /// Per pair: the two container paths, the moving task, the residents of each.
    pub pairs: Vec<Pair>,
    /// Containers in the work hierarchy (without its root).
    pub containers: usize,
}

/// Two containers and a task moved between them.
#[derive(Clone, Debug)]
pub struct Pair {
    /// Where the mover starts.
    pub a: String,
    /// Where it goes.
    pub b: String,
    /// The moving task.
    pub mover: Pid,
    /// Tasks living in each of `a` and `b` besides the mover (0: every attach makes a
    /// new css_group and frees the old one).
    pub residents: usize,
}

impl FlatWorld {
    /// `n` flat containers (at least `2 * residents.len()`); pair `i` holds
    /// `residents[i]` tasks in each of its containers. Containers sit at the middle of
    /// the sibling list: the average position for a lookup that scans siblings.
    ///
    /// # Errors
    ///
    /// gpc's errors, or too few containers.
    pub fn new(n: usize, residents: &[usize]) -> Result<FlatWorld, BenchError> {
        if n < 2 * residents.len() {
            return Err(BenchError::new("too few containers for the pairs"));
        }
        let tasks: usize = residents.iter().map(|r| 2 * r + 1).sum();
        let mut world = World::new(Controllers::NoForkHooks, tasks)?;
        for i in 0..n {
            world.mkdir(WORK_HIER, &flat_name(i))?;
        }
        let base = n / 2 - residents.len();
        let mut pairs = Vec::new();
        for (p, &k) in residents.iter().enumerate() {
            let a = flat_name(base + 2 * p);
            let b = flat_name(base + 2 * p + 1);
            for path in [&a, &b] {
                if k > 0 {
                    let r = world.tasks.fork(&world.gpc, 1)?;
                    world.attach(WORK_HIER, path, r)?;
                    world.fork_n(r, k - 1)?;
                }
            }
            let mover = world.tasks.fork(&world.gpc, 1)?;
            world.attach(WORK_HIER, &a, mover)?;
            pairs.push(Pair {
                a,
                b,
                mover,
                residents: k,
            });
        }
        Ok(FlatWorld {
            world,
            pairs,
            containers: n,
        })
    }

    /// Move pair `i`'s task to `b` and back: two attaches.
    ///
    /// # Errors
    ///
    /// gpc's errors.
    #[inline]
    pub fn attach_there_and_back(&self, i: usize) -> Result<(), BenchError> {
        let p = self.pairs.get(i).ok_or(BenchError::new("no such pair"))?;
        self.world.attach(WORK_HIER, &p.b, p.mover)?;
        self.world.attach(WORK_HIER, &p.a, p.mover)
    }

    /// Make an empty container and remove it again.
    ///
    /// # Errors
    ///
    /// gpc's errors.
    #[inline]
    pub fn mkdir_rmdir(&self) -> Result<(), BenchError> {
        let h = self.world.hier(WORK_HIER)?;
        self.world
            .gpc
            .mkdir(h, "bench-tmp")
            .ctx("mkdir bench-tmp")?;
        self.world.gpc.rmdir(h, "bench-tmp").ctx("rmdir bench-tmp")
    }
}

/// `n` live css_groups, each one task's distinct membership in two named hierarchies
/// (`fa` with up to 1,000 flat containers, `fb` with two-level containers), and a task
/// moved between two containers of a third named hierarchy `fc` where it is alone, so
/// that every move makes a css_group (and frees the one it leaves).
pub struct GroupsWorld {
    /// The machine (the three controller hierarchies, then fa, fb, fc).
    pub world: World,
    /// The moving task.
    pub mover: Pid,
    fc: usize,
}

impl GroupsWorld {
    /// The world with about `n` css_groups made by tasks (see the type doc).
    ///
    /// # Errors
    ///
    /// gpc's errors.
    pub fn new(n: usize) -> Result<GroupsWorld, BenchError> {
        let mut world = World::new(Controllers::NoForkHooks, n + 2)?;
        let fa = world.mount("none,name=fa")?;
        let fb = world.mount("none,name=fb")?;
        let fc = world.mount("none,name=fc")?;
        let a = n.clamp(1, 1000);
        let b = n.div_ceil(a);
        let fan = (b as f64).sqrt().ceil().max(1.0) as usize;
        let b_path = |j: usize| format!("g{}/b{}", j / fan, j % fan);
        for i in 0..a {
            world.mkdir(fa, &format!("a{i}"))?;
        }
        if b > 1 {
            for g in 0..b.div_ceil(fan) {
                world.mkdir(fb, &format!("g{g}"))?;
            }
            for j in 0..b {
                world.mkdir(fb, &b_path(j))?;
            }
        }
        let mut made = 0;
        'outer: for i in 0..a {
            let parent = world.tasks.fork(&world.gpc, 1)?;
            world.attach(fa, &format!("a{i}"), parent)?;
            for j in 0..b {
                if made == n {
                    break 'outer;
                }
                let t = if j == 0 {
                    parent
                } else {
                    world.tasks.fork(&world.gpc, parent)?
                };
                if b > 1 {
                    world.attach(fb, &b_path(j), t)?;
                }
                made += 1;
                if made % 4096 == 0 {
                    rcu::quiescent();
                }
            }
        }
        world.mkdir(fc, "x0")?;
        world.mkdir(fc, "x1")?;
        let mover = world.tasks.fork(&world.gpc, 1)?;
        world.attach(fc, "x0", mover)?;
        rcu::quiescent();
        Ok(GroupsWorld { world, mover, fc })
    }

    /// Live css_groups.
    pub fn css_groups(&self) -> usize {
        self.world.gpc.css_group_count()
    }

    /// Two attaches, each of which makes a css_group and frees one.
    ///
    /// # Errors
    ///
    /// gpc's errors.
    #[inline]
    pub fn attach_new_there_and_back(&self) -> Result<(), BenchError> {
        self.world.attach(self.fc, "x1", self.mover)?;
        self.world.attach(self.fc, "x0", self.mover)
    }
}

/// The memory machine: every controller (the simulator's set; `pids` with net_cls and
/// debug, `ns` unmounted), `containers` containers in each of the three hierarchies, and `tasks` tasks spread evenly over
/// them (a parent attached per container, the rest forked from it).
pub struct SpreadWorld {
    /// The machine.
    pub world: World,
}

impl SpreadWorld {
    /// The containers only (room reserved for `tasks` tasks).
    ///
    /// # Errors
    ///
    /// gpc's errors.
    pub fn containers(containers: usize, tasks: usize) -> Result<SpreadWorld, BenchError> {
        let world = World::new(Controllers::All, tasks + 1)?;
        for i in 0..containers {
            for h in 0..MOUNTS.len() {
                world.mkdir(h, &flat_name(i))?;
            }
        }
        Ok(SpreadWorld { world })
    }

    /// Put `tasks` tasks in the `containers` containers.
    ///
    /// # Errors
    ///
    /// gpc's errors.
    pub fn populate(&mut self, containers: usize, tasks: usize) -> Result<(), BenchError> {
        let per = tasks / containers.max(1);
        for i in 0..containers {
            let parent = self.world.task_in(&flat_name(i), false)?;
            self.world.fork_n(parent, per.saturating_sub(1))?;
        }
        Ok(())
    }
}
