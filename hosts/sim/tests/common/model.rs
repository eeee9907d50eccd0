//! The reference model shared by the fault-injection test (`tests/fault_injection.rs`)
//! and the operation-sequence fuzz target (`fuzz/fuzz_targets/ops.rs`, which includes
//! this file with `#[path]`): random operations on gpc-core with every controller of
//! gpc-subsystems and gpc-core's `TaskList` (the simulator's stack), an optional
//! allocation failure armed around the gpc call of each, and a small model of what
//! Linux would show.
//!
//! [`run_step`] checks, for every operation: with an injected allocation failure,
//! `ENOMEM`, no release notification and the whole observable state unchanged (every
//! file of every hierarchy, `/proc/PID/cgroup` of every task, `/proc/cgroups`, css_group
//! reference counts, hierarchy limits); without one, the model's result, every `tasks`
//! file, every `/proc/PID/cgroup`, the css_group reference counts and the releases.
#![allow(dead_code, reason = "each includer uses a different part")]

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use gpc_core::testing::{FailingAlloc, TaskList, TestHost};
use gpc_core::{Creds, Entry, Error, Gpc, HierarchyId, Limits, Pid};

/// `assert_eq!` that returns the failure as an `Err(String)`.
macro_rules! ensure_eq {
    ($left:expr, $right:expr, $($fmt:tt)+) => {{
        let (l, r) = (&$left, &$right);
        if l != r {
            return Err(format!(
                "{}\n  left: {:?}\n right: {:?}",
                format!($($fmt)+),
                l,
                r
            ));
        }
    }};
}

/// The hierarchies: mount options, and the controller field `/proc/PID/cgroup` shows.
/// `clone_children` on the cpuset hierarchy gives every new cpuset its parent's CPUs and
/// nodes, so an attach never meets an empty cpuset (ENOSPC) the model would have to know.
pub const HIERS: [(&str, &str); 5] = [
    (
        "cpuset,cpu,cpuacct,clone_children,release_agent=/agent",
        "cpuset,cpu,cpuacct",
    ),
    ("memory,pids,release_agent=/agent", "memory,pids"),
    (
        "devices,freezer,net_cls,debug,release_agent=/agent",
        "devices,freezer,net_cls,debug",
    ),
    ("ns,release_agent=/agent", "ns"),
    ("none,name=n,release_agent=/agent", "name=n"),
];
pub const NS: usize = 3;
pub const PIDS: usize = 1;
pub const NAMES: [&str; 3] = ["a", "b", "c"];

/// Control-file writes whose result the model does not predict (only `pids.max` changes
/// what it models); each is still checked for ENOMEM atomicity.
pub const WRITES: [&[(&str, &[&str])]; 5] = [
    &[
        ("cpuset.cpus", &["0-1\n", "0\n", "1-3", "9\n", "x\n"]),
        ("cpuset.mems", &["0\n", "0-1", "7\n"]),
        ("cpuset.sched_load_balance", &["0\n", "1\n"]),
        ("cpuset.memory_migrate", &["1\n"]),
        ("cpu.shares", &["2048\n", "1\n", "-5\n"]),
        ("cpu.cfs_quota_us", &["50000\n", "-1\n", "1\n"]),
        ("cpu.cfs_period_us", &["100000\n", "5\n"]),
        ("cpuacct.usage", &["0\n", "5\n"]),
        ("release_agent", &["/other\n", "\n"]),
    ],
    &[
        (
            "pids.max",
            &["max\n", "0\n", "1\n", "2\n", "3\n", "-1\n", "x\n"],
        ),
        ("memory.limit_in_bytes", &["1M\n", "-1\n", "4096", "x\n"]),
        ("memory.soft_limit_in_bytes", &["8K\n"]),
        ("memory.use_hierarchy", &["1\n", "0\n"]),
        ("memory.force_empty", &["0\n"]),
        ("memory.max_usage_in_bytes", &["0\n"]),
        ("cgroup.clone_children", &["1\n", "0\n"]),
    ],
    &[
        ("devices.deny", &["a\n", "c 1:3 rwm\n", "b *:* m\n", "z\n"]),
        ("devices.allow", &["a\n", "c 1:3 r\n", "c 4:* w\n", "c x\n"]),
        ("freezer.state", &["FROZEN\n", "THAWED\n", "FREEZING\n"]),
        ("net_cls.classid", &["0x100001\n", "7\n", "-1\n"]),
        ("cgroup.clone_children", &["1\n"]),
    ],
    &[("cgroup.clone_children", &["1\n", "0\n"])],
    &[
        ("cgroup.clone_children", &["1\n", "0\n"]),
        ("release_agent", &["/n\n"]),
    ],
];

/// `tasks` writes that never name a task: (data, the errno Linux gives).
pub const BAD_PIDS: [(&str, Error); 5] = [
    ("abc\n", Error::EINVAL),
    ("-1\n", Error::EINVAL),
    ("1 2\n", Error::EINVAL),
    ("4294967296\n", Error::EINVAL),
    ("99999\n", Error::ESRCH),
];

#[derive(Clone, Debug)]
pub enum Op {
    Mount(usize),
    Umount(usize),
    Mkdir(usize, usize, usize),
    Rmdir(usize, usize),
    Fork(usize),
    Thread(usize),
    Exit(usize),
    Attach(usize, usize, usize),
    AttachProcs(usize, usize, usize),
    BadAttach(usize, usize, usize),
    Notify(usize, usize, bool),
    Clone(usize),
    Write(usize, usize, usize, usize),
    Read(usize, usize, usize),
    /// `ls` of a group directory: its child groups and files.
    List(usize, usize),
    ProcPid(usize),
    ProcCgroups,
    Limits(usize, usize, usize),
}

// ----------------------------------------------------------------------------------
// The reference model.
// ----------------------------------------------------------------------------------

#[derive(Clone, Debug, Default)]
pub struct MCont {
    pub notify: bool,
    /// `pids.max` (pids hierarchy only); `None` is "max".
    pub pids_max: Option<u64>,
}

#[derive(Clone, Debug)]
pub struct MHier {
    pub mounts: usize,
    /// Container paths ("" is the root).
    pub conts: BTreeMap<String, MCont>,
    pub limits: Limits,
    /// Whether `release_agent` is set: gpc reports no release without an agent to run
    /// (Linux `cgroup1_release_agent` returns early on an empty path).
    pub agent: bool,
}

#[derive(Clone, Debug)]
pub struct MTask {
    pub tgid: Pid,
    pub paths: [String; HIERS.len()],
}

#[derive(Clone, Debug)]
pub struct Model {
    pub hiers: [Option<MHier>; HIERS.len()],
    pub ids: [Option<HierarchyId>; HIERS.len()],
    pub tasks: BTreeMap<Pid, MTask>,
}

pub fn parent_of(p: &str) -> Option<&str> {
    if p.is_empty() {
        return None;
    }
    Some(p.rfind('/').map_or("", |i| &p[..i]))
}

pub fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}/{name}")
    }
}

pub fn depth(p: &str) -> usize {
    if p.is_empty() {
        0
    } else {
        p.matches('/').count() + 1
    }
}

pub fn under(path: &str, c: &str) -> bool {
    c.is_empty() || path == c || path.starts_with(&format!("{c}/"))
}

impl Model {
    pub fn new() -> Model {
        let mut tasks = BTreeMap::new();
        tasks.insert(
            1,
            MTask {
                tgid: 1,
                paths: Default::default(),
            },
        );
        Model {
            hiers: Default::default(),
            ids: [None; HIERS.len()],
            tasks,
        }
    }
    pub fn live(&self, h: usize) -> Option<(HierarchyId, &MHier)> {
        Some((self.ids[h]?, self.hiers[h].as_ref()?))
    }
    pub fn conts(&self, h: usize) -> Vec<String> {
        self.hiers[h]
            .as_ref()
            .map(|m| m.conts.keys().cloned().collect())
            .unwrap_or_default()
    }
    pub fn pick_cont(&self, h: usize, sel: usize) -> Option<String> {
        let v = self.conts(h);
        if v.is_empty() {
            None
        } else {
            v.get(sel % v.len()).cloned()
        }
    }
    pub fn task(&self, sel: usize) -> Pid {
        let pids: Vec<Pid> = self.tasks.keys().copied().collect();
        pids[sel % pids.len()]
    }
    pub fn populated(&self, h: usize, c: &str) -> bool {
        self.tasks.values().any(|t| under(&t.paths[h], c))
    }
    pub fn has_children(&self, h: usize, c: &str) -> bool {
        self.conts(h).iter().any(|x| parent_of(x) == Some(c))
    }
    pub fn populated_set(&self) -> BTreeSet<(usize, String)> {
        let mut s = BTreeSet::new();
        for h in 0..HIERS.len() {
            for c in self.conts(h) {
                if self.populated(h, &c) {
                    s.insert((h, c));
                }
            }
        }
        s
    }
    pub fn releasable(&self, h: usize, c: &str) -> bool {
        !c.is_empty()
            && self.hiers[h]
                .as_ref()
                .and_then(|m| m.conts.get(c))
                .is_some_and(|x| x.notify)
            && !self.populated(h, c)
            && !self.has_children(h, c)
    }
    /// `mkdir` of `path` in `h` (which exists): the errno it must give, if any.
    pub fn mkdir_refusal(&self, h: usize, path: &str) -> Option<Error> {
        let mh = self.hiers[h].as_ref()?;
        if mh.conts.contains_key(path) {
            return Some(Error::EEXIST);
        }
        let parent = parent_of(path).unwrap_or("");
        // The root is not a descendant.
        let descendants = mh.conts.len() - 1;
        if depth(parent) >= mh.limits.max_depth || descendants >= mh.limits.max_descendants {
            return Some(Error::EAGAIN);
        }
        None
    }
    pub fn add_cont(&mut self, h: usize, path: &str) {
        let mh = self.hiers[h].as_mut().unwrap();
        let notify = mh.conts[parent_of(path).unwrap_or("")].notify;
        mh.conts.insert(
            path.to_string(),
            MCont {
                notify,
                pids_max: None,
            },
        );
    }
    /// Whether a fork by `parent` is refused by a `pids.max` on its way to the root.
    pub fn pids_refuse_fork(&self, parent: Pid) -> bool {
        let Some(mh) = self.hiers[PIDS].as_ref() else {
            return false;
        };
        let mut c = self.tasks[&parent].paths[PIDS].clone();
        while !c.is_empty() {
            if let Some(max) = mh.conts[&c].pids_max {
                let current = self
                    .tasks
                    .values()
                    .filter(|t| under(&t.paths[PIDS], &c))
                    .count() as u64;
                if current + 1 > max {
                    return true;
                }
            }
            c = parent_of(&c).unwrap_or("").to_string();
        }
        false
    }
}

// ----------------------------------------------------------------------------------
// The system under test.
// ----------------------------------------------------------------------------------

pub struct World {
    pub gpc: Gpc<TestHost>,
    pub tasks: TaskList,
}

impl World {
    pub fn new() -> World {
        let subsystems = gpc_subsystems::all();
        let gpc = Gpc::new(TestHost::new(4, 2), &subsystems).unwrap();
        let mut tasks = TaskList::new();
        tasks.add_init(&gpc).unwrap();
        World { gpc, tasks }
    }

    pub fn read(&self, h: HierarchyId, path: &str) -> Result<String, Error> {
        let mut buf = Vec::new();
        self.gpc
            .read(h, path, &self.tasks.caller(Creds::ROOT, Some(1)), &mut buf)?;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }

    pub fn proc_pid(&self, pid: Pid) -> Result<String, Error> {
        let mut buf = Vec::new();
        let t = self.tasks.get(pid).ok_or(Error::ESRCH)?;
        self.gpc.proc_pid_cgroup(&t.slot, &mut buf)?;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }

    pub fn releases(&self) -> Vec<String> {
        let mut v = Vec::new();
        self.gpc
            .drain_releases(&mut |r| {
                v.push(String::from(r.path));
                Ok(())
            })
            .unwrap();
        v
    }

    /// Every observable piece of state, as text.
    pub fn dump(&self, ids: &[Option<HierarchyId>]) -> String {
        let mut s = String::new();
        for id in ids.iter().flatten() {
            if !self.gpc.hierarchy_exists(*id) {
                s += "gone\n";
                continue;
            }
            s += &format!(
                "hierarchy {:?} {:?}\n",
                self.gpc.hierarchy_proc_id(*id),
                self.gpc.hierarchy_limits(*id)
            );
            self.dump_dir(*id, "", &mut s);
        }
        for t in self.tasks.iter() {
            s += &format!("pid {} {} {:?}\n", t.pid, t.tgid, self.proc_pid(t.pid));
        }
        let mut buf = Vec::new();
        self.gpc.proc_cgroups(&mut buf).unwrap();
        s += &String::from_utf8_lossy(&buf);
        let mut rc = self.gpc.css_group_refcounts();
        rc.sort_unstable();
        s += &format!("css_groups {rc:?}\n");
        s
    }

    pub fn dump_dir(&self, h: HierarchyId, path: &str, s: &mut String) {
        let mut entries = self.gpc.list(h, path).unwrap();
        entries.sort();
        for e in entries {
            let p = format!("{path}/{e}");
            match self.gpc.stat(h, &p).unwrap() {
                Entry::Dir { .. } => {
                    *s += &format!("dir {p}\n");
                    self.dump_dir(h, &p, s);
                }
                Entry::File { mode } => {
                    *s += &format!("file {p} {mode:o} {:?}\n", self.read(h, &p));
                }
            }
        }
    }
}

/// Operation kinds, for the per-kind counts printed at the end.
pub const KINDS: [&str; 18] = [
    "mount",
    "umount",
    "mkdir",
    "rmdir",
    "fork",
    "thread",
    "exit",
    "attach",
    "attach-procs",
    "bad-attach",
    "notify",
    "clone",
    "write",
    "read",
    "proc-pid",
    "proc-cgroups",
    "limits",
    "list",
];

pub fn kind(op: &Op) -> usize {
    match op {
        Op::Mount(..) => 0,
        Op::Umount(..) => 1,
        Op::Mkdir(..) => 2,
        Op::Rmdir(..) => 3,
        Op::Fork(..) => 4,
        Op::Thread(..) => 5,
        Op::Exit(..) => 6,
        Op::Attach(..) => 7,
        Op::AttachProcs(..) => 8,
        Op::BadAttach(..) => 9,
        Op::Notify(..) => 10,
        Op::Clone(..) => 11,
        Op::Write(..) => 12,
        Op::Read(..) => 13,
        Op::ProcPid(..) => 14,
        Op::ProcCgroups => 15,
        Op::Limits(..) => 16,
        Op::List(..) => 17,
    }
}

/// Counters (fixed arrays: counting must not allocate inside the leak check).
pub struct Counts {
    ops: [Cell<u64>; KINDS.len()],
    injected: [Cell<u64>; KINDS.len()],
    armed: Cell<u64>,
}

/// What an operation does to the world, with the allocation failure armed around the
/// gpc call only. Everything the call needs is built before `arm` is called.
pub type Call<'a> = Box<dyn FnOnce(&mut World) -> Result<(), Error> + 'a>;

/// Run `call` with the `fail`th allocation failing. Returns the result and whether a
/// failure was injected.
pub fn armed(w: &mut World, fail: Option<usize>, call: Call<'_>) -> (Result<(), Error>, bool) {
    if let Some(n) = fail {
        FailingAlloc::fail_after(n);
    }
    let r = call(w);
    let injected = FailingAlloc::disarm() > 0;
    (r, injected)
}

/// The gpc call of `op`, and the model's prediction (`None`: not predicted; then the
/// model is updated by `commit` from the real result).
pub struct Plan<'a> {
    pub call: Call<'a>,
    pub expect: Option<Result<(), Error>>,
    pub commit: Commit<'a>,
}

/// Updates the model after the real call: (model, the call's result, releases that
/// rmdir adds as (hierarchy, path)).
pub type Commit<'a> =
    Box<dyn FnOnce(&mut Model, &Result<(), Error>, &mut Vec<(usize, String)>) + 'a>;

pub fn skip<'a>() -> Option<Plan<'a>> {
    None
}

pub fn plan(w: &World, m: &Model, op: &Op) -> Option<Plan<'static>> {
    match *op {
        Op::Mount(h) => {
            let got = Rc::new(Cell::new(None));
            let g2 = got.clone();
            Some(Plan {
                call: Box::new(move |w| {
                    w.gpc
                        .mount(HIERS[h].0, &w.tasks.caller(Creds::ROOT, None))
                        .map(|id| g2.set(Some(id)))
                }),
                expect: Some(Ok(())),
                commit: Box::new(move |m, _, _| {
                    m.ids[h] = got.get();
                    let mh = m.hiers[h].get_or_insert_with(|| {
                        let mut conts = BTreeMap::new();
                        conts.insert(String::new(), MCont::default());
                        MHier {
                            mounts: 0,
                            conts,
                            limits: Limits::MAX,
                            agent: true,
                        }
                    });
                    mh.mounts += 1;
                }),
            })
        }
        Op::Umount(h) => {
            let (id, mh) = m.live(h)?;
            if mh.mounts == 0 {
                return skip();
            }
            Some(Plan {
                call: Box::new(move |w| w.gpc.umount(id)),
                expect: Some(Ok(())),
                commit: Box::new(move |m, _, _| {
                    let mh = m.hiers[h].as_mut().unwrap();
                    mh.mounts -= 1;
                    if mh.mounts == 0 && mh.conts.len() == 1 {
                        m.hiers[h] = None;
                        for t in m.tasks.values_mut() {
                            t.paths[h].clear();
                        }
                    }
                }),
            })
        }
        Op::Mkdir(h, p, n) => {
            let (id, _) = m.live(h)?;
            let parent = m.pick_cont(h, p)?;
            if depth(&parent) >= 3 {
                return skip();
            }
            let path = join(&parent, NAMES[n]);
            let expect = m.mkdir_refusal(h, &path).map_or(Ok(()), Err);
            let p2 = path.clone();
            Some(Plan {
                call: Box::new(move |w| w.gpc.mkdir(id, &p2)),
                expect: Some(expect),
                commit: Box::new(move |m, r, _| {
                    if r.is_ok() {
                        m.add_cont(h, &path);
                    }
                }),
            })
        }
        Op::Rmdir(h, c) => {
            let (id, _) = m.live(h)?;
            let path = m.pick_cont(h, c)?;
            let busy = path.is_empty()
                || m.has_children(h, &path)
                || m.tasks.values().any(|t| t.paths[h] == path);
            let p2 = path.clone();
            Some(Plan {
                call: Box::new(move |w| w.gpc.rmdir(id, &p2)),
                expect: Some(if busy { Err(Error::EBUSY) } else { Ok(()) }),
                commit: Box::new(move |m, r, releases| {
                    if r.is_ok() {
                        m.hiers[h].as_mut().unwrap().conts.remove(&path);
                        let parent = parent_of(&path).unwrap_or("").to_string();
                        if m.releasable(h, &parent) {
                            releases.push((h, parent));
                        }
                    }
                }),
            })
        }
        Op::Fork(t) | Op::Thread(t) => {
            let parent = m.task(t);
            let thread = matches!(op, Op::Thread(_));
            let refused = m.pids_refuse_fork(parent);
            let child = Rc::new(Cell::new(0));
            let c2 = child.clone();
            Some(Plan {
                call: Box::new(move |w| {
                    let World { gpc, tasks } = w;
                    tasks.fork(gpc, parent, thread).map(|pid| c2.set(pid))
                }),
                expect: Some(if refused { Err(Error::EAGAIN) } else { Ok(()) }),
                commit: Box::new(move |m, r, _| {
                    if r.is_ok() {
                        let pid = child.get();
                        let mut mt = m.tasks[&parent].clone();
                        if !thread {
                            mt.tgid = pid;
                        }
                        m.tasks.insert(pid, mt);
                    }
                }),
            })
        }
        Op::Exit(t) => {
            let pid = m.task(t);
            if pid == 1 {
                return skip();
            }
            Some(Plan {
                call: Box::new(move |w| {
                    let World { gpc, tasks } = w;
                    tasks.exit(gpc, pid)
                }),
                expect: Some(Ok(())),
                commit: Box::new(move |m, _, _| {
                    let tgid = m.tasks[&pid].tgid;
                    if tgid == pid {
                        m.tasks.retain(|_, x| x.tgid != pid);
                    } else {
                        m.tasks.remove(&pid);
                    }
                }),
            })
        }
        Op::Attach(t, h, c) | Op::AttachProcs(t, h, c) => {
            // ns allows only moves into an empty child (the seed's ns rule): Clone
            // covers that hierarchy.
            if h == NS {
                return skip();
            }
            let (id, _) = m.live(h)?;
            let path = m.pick_cont(h, c)?;
            let pid = m.task(t);
            let procs = matches!(op, Op::AttachProcs(..));
            let file = join(&path, if procs { "cgroup.procs" } else { "tasks" });
            let data = format!("{pid}\n");
            Some(Plan {
                call: Box::new(move |w| {
                    w.gpc.write(
                        id,
                        &file,
                        data.as_bytes(),
                        &w.tasks.caller(Creds::ROOT, Some(1)),
                    )
                }),
                expect: Some(Ok(())),
                commit: Box::new(move |m, _, _| {
                    let tgid = m.tasks[&pid].tgid;
                    for (p, mt) in m.tasks.iter_mut() {
                        if *p == pid || procs && mt.tgid == tgid {
                            mt.paths[h] = path.clone();
                        }
                    }
                }),
            })
        }
        Op::BadAttach(h, c, v) => {
            let (id, _) = m.live(h)?;
            let path = m.pick_cont(h, c)?;
            let (data, errno) = BAD_PIDS[v];
            let file = join(&path, "tasks");
            Some(Plan {
                call: Box::new(move |w| {
                    w.gpc.write(
                        id,
                        &file,
                        data.as_bytes(),
                        &w.tasks.caller(Creds::ROOT, Some(1)),
                    )
                }),
                expect: Some(Err(errno)),
                commit: Box::new(|_, _, _| {}),
            })
        }
        Op::Notify(h, c, v) => {
            let (id, _) = m.live(h)?;
            let path = m.pick_cont(h, c)?;
            let file = join(&path, "notify_on_release");
            Some(Plan {
                call: Box::new(move |w| {
                    w.gpc.write(
                        id,
                        &file,
                        if v { b"1\n" } else { b"0\n" },
                        &w.tasks.caller(Creds::ROOT, Some(1)),
                    )
                }),
                expect: Some(Ok(())),
                commit: Box::new(move |m, _, _| {
                    if let Some(mc) = m.hiers[h].as_mut().unwrap().conts.get_mut(&path) {
                        mc.notify = v;
                    }
                }),
            })
        }
        Op::Clone(t) => {
            let pid = m.task(t);
            let name = format!("c{pid}");
            let (expect, path) = match m.hiers[NS].as_ref() {
                None => (Ok(()), None),
                Some(_) => {
                    let path = join(&m.tasks[&pid].paths[NS], &name);
                    match m.mkdir_refusal(NS, &path) {
                        Some(e) => (Err(e), None),
                        None => (Ok(()), Some(path)),
                    }
                }
            };
            Some(Plan {
                call: Box::new(move |w| {
                    let ss = w.gpc.subsys_id("ns").ok_or(Error::ENOENT)?;
                    let tr = w.tasks.task_ref(pid).ok_or(Error::ESRCH)?;
                    w.gpc.container_clone(ss, &tr, &name)
                }),
                expect: Some(expect),
                commit: Box::new(move |m, r, _| {
                    if let (Ok(()), Some(path)) = (r, path) {
                        m.add_cont(NS, &path);
                        m.tasks.get_mut(&pid).unwrap().paths[NS] = path;
                    }
                }),
            })
        }
        Op::Write(h, c, f, v) => {
            let (id, _) = m.live(h)?;
            let path = m.pick_cont(h, c)?;
            let files = WRITES[h];
            let (file, values) = files[f % files.len()];
            let data = values[v % values.len()];
            let fpath = join(&path, file);
            Some(Plan {
                call: Box::new(move |w| {
                    w.gpc.write(
                        id,
                        &fpath,
                        data.as_bytes(),
                        &w.tasks.caller(Creds::ROOT, Some(1)),
                    )
                }),
                expect: None,
                commit: Box::new(move |m, r, _| {
                    let mh = m.hiers[h].as_mut().unwrap();
                    if r.is_ok() && file == "pids.max" {
                        let v = data.trim();
                        mh.conts.get_mut(&path).unwrap().pids_max = v.parse().ok();
                    }
                    if r.is_ok() && file == "release_agent" {
                        mh.agent = !data.trim().is_empty();
                    }
                }),
            })
        }
        Op::Read(h, c, f) => {
            let (id, _) = m.live(h)?;
            let path = m.pick_cont(h, c)?;
            // Pick the file unarmed: the host's own lists are not under test.
            let mut files: Vec<String> = w
                .gpc
                .list(id, &path)
                .unwrap()
                .into_iter()
                .map(|e| join(&path, &e))
                .filter(|p| matches!(w.gpc.stat(id, p), Ok(Entry::File { .. })))
                .collect();
            files.sort();
            let file = files.get(f % files.len().max(1))?.clone();
            Some(Plan {
                call: Box::new(move |w| {
                    let mut buf = Vec::new();
                    match w
                        .gpc
                        .read(id, &file, &w.tasks.caller(Creds::ROOT, Some(1)), &mut buf)
                    {
                        // Write-only files (devices.allow, memory.force_empty).
                        Err(Error::EINVAL) => Ok(()),
                        r => r,
                    }
                }),
                expect: Some(Ok(())),
                commit: Box::new(|_, _, _| {}),
            })
        }
        Op::List(h, c) => {
            let (id, mh) = m.live(h)?;
            let path = m.pick_cont(h, c)?;
            // The child groups the model knows, as names.
            let mut want: Vec<String> = mh
                .conts
                .keys()
                .filter(|k| !k.is_empty() && parent_of(k).unwrap_or("") == path)
                .map(|k| k.rsplit('/').next().unwrap_or("").to_string())
                .collect();
            want.sort();
            // The list comes out of the armed call as it is (moved, not copied): its
            // check allocates, and runs unarmed in `commit`.
            let got: Rc<RefCell<Option<Vec<String>>>> = Rc::default();
            let g2 = got.clone();
            let p2 = path.clone();
            Some(Plan {
                call: Box::new(move |w| {
                    let names = w.gpc.list(id, &p2)?;
                    *g2.borrow_mut() = Some(names);
                    Ok(())
                }),
                expect: Some(Ok(())),
                commit: Box::new(move |_, _, _| {
                    let names = got.borrow_mut().take().unwrap_or_default();
                    // Group names are NAMES and `Clone`'s `c<pid>`; no file is named so.
                    let is_group = |n: &str| {
                        NAMES.contains(&n)
                            || n.strip_prefix('c').is_some_and(|d| {
                                !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())
                            })
                    };
                    let mut dirs: Vec<String> = names.into_iter().filter(|n| is_group(n)).collect();
                    dirs.sort();
                    assert_eq!(dirs, want, "ls of {h}:/{path}");
                }),
            })
        }
        Op::ProcPid(t) => {
            let pid = m.task(t);
            Some(Plan {
                call: Box::new(move |w| {
                    let mut buf = Vec::new();
                    let t = w.tasks.get(pid).ok_or(Error::ESRCH)?;
                    w.gpc.proc_pid_cgroup(&t.slot, &mut buf)
                }),
                expect: Some(Ok(())),
                commit: Box::new(|_, _, _| {}),
            })
        }
        Op::ProcCgroups => Some(Plan {
            call: Box::new(|w| {
                let mut buf = Vec::new();
                w.gpc.proc_cgroups(&mut buf)
            }),
            expect: Some(Ok(())),
            commit: Box::new(|_, _, _| {}),
        }),
        Op::Limits(h, d, n) => {
            let (id, _) = m.live(h)?;
            let limits = Limits {
                max_depth: if d == 4 { usize::MAX } else { d },
                max_descendants: if n >= 6 { usize::MAX } else { n * 2 },
            };
            Some(Plan {
                call: Box::new(move |w| w.gpc.set_hierarchy_limits(id, limits)),
                expect: Some(Ok(())),
                commit: Box::new(move |m, _, _| {
                    m.hiers[h].as_mut().unwrap().limits = limits;
                }),
            })
        }
    }
}

pub fn check(w: &World, m: &Model) -> Result<(), String> {
    for h in 0..HIERS.len() {
        let Some((id, mh)) = m.live(h) else {
            continue;
        };
        for c in mh.conts.keys() {
            let mut want: Vec<Pid> = m
                .tasks
                .iter()
                .filter(|(_, t)| t.paths[h] == *c)
                .map(|(p, _)| *p)
                .collect();
            want.sort_unstable();
            let want: String = want.iter().map(|p| format!("{p}\n")).collect();
            ensure_eq!(
                w.read(id, &join(c, "tasks")),
                Ok(want),
                "tasks of {}:{}",
                h,
                c
            );
        }
    }
    for (pid, t) in &m.tasks {
        let text = w.proc_pid(*pid).unwrap();
        let mut got: Vec<(String, String)> = text
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.splitn(3, ':').collect();
                (f[1].to_string(), f[2].to_string())
            })
            .collect();
        got.sort();
        let mut want: Vec<(String, String)> = (0..HIERS.len())
            .filter(|h| m.hiers[*h].is_some())
            .map(|h| (HIERS[h].1.to_string(), format!("/{}", t.paths[h])))
            .collect();
        want.sort();
        ensure_eq!(got, want, "/proc/{}/cgroup", pid);
    }
    // One css_group per distinct membership, counted by its tasks (+1: init's own).
    let mut keys: BTreeMap<[String; HIERS.len()], usize> = BTreeMap::new();
    for t in m.tasks.values() {
        *keys.entry(t.paths.clone()).or_default() += 1;
    }
    *keys.entry(Default::default()).or_default() += 1;
    let mut want: Vec<usize> = keys.values().copied().collect();
    want.sort_unstable();
    let mut got: Vec<usize> = w
        .gpc
        .css_group_refcounts()
        .iter()
        .map(|(r, _)| *r)
        .collect();
    got.sort_unstable();
    ensure_eq!(got, want, "css_group refcounts");
    Ok(())
}

/// What happened to one operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Not applicable in this state (no such hierarchy, ...): not run.
    Skipped,
    /// Ran to its end; the model followed it.
    Ran,
    /// An allocation failed inside it: ENOMEM, nothing changed.
    Injected,
}

/// Run `op` on both the world and the model, with the `fail`th allocation of its gpc
/// call failing (`None`: no failure armed), and check everything the module doc lists.
///
/// # Errors
///
/// What differs, as text.
pub fn run_step(
    w: &mut World,
    m: &mut Model,
    op: &Op,
    fail: Option<usize>,
) -> Result<Outcome, String> {
    let Some(p) = plan(w, m, op) else {
        return Ok(Outcome::Skipped);
    };
    let before = fail.map(|_| w.dump(&m.ids));
    let populated = m.populated_set();
    let (r, injected) = armed(w, fail, p.call);
    if injected {
        ensure_eq!(r, Err(Error::ENOMEM), "{op:?}: an allocation failed");
        let after = w.dump(&m.ids);
        ensure_eq!(
            before.as_deref(),
            Some(after.as_str()),
            "{op:?}: allocation {fail:?} failed but the state changed"
        );
        ensure_eq!(w.releases(), Vec::<String>::new(), "{op:?}: released");
        return Ok(Outcome::Injected);
    }
    if let Some(expect) = &p.expect {
        ensure_eq!(&r, expect, "{op:?}");
    }
    let mut extra = Vec::new();
    (p.commit)(m, &r, &mut extra);
    // Releases: containers that stopped being populated, or that rmdir emptied.
    let now = m.populated_set();
    let mut want: Vec<String> = populated
        .difference(&now)
        .filter(|(h, c)| m.releasable(*h, c))
        .cloned()
        .chain(extra)
        .filter(|(h, _)| m.hiers[*h].as_ref().is_some_and(|mh| mh.agent))
        .map(|(_, c)| format!("/{c}"))
        .collect();
    want.sort();
    want.dedup();
    let mut got = w.releases();
    got.sort();
    ensure_eq!(got, want, "releases after {op:?}");
    check(w, m)?;
    Ok(Outcome::Ran)
}

/// Run a whole sequence on a fresh world; at the end every task exits and everything is
/// dropped, and this thread must have as many live allocations as before (meaningful
/// where [`FailingAlloc`] is the global allocator). Calls `seen` with each step and its
/// outcome.
///
/// # Errors
///
/// The first difference, as text.
pub fn run_sequence(
    steps: &[(Op, Option<usize>)],
    seen: &mut dyn FnMut(&Op, Option<usize>, Outcome),
) -> Result<(), String> {
    let start = FailingAlloc::thread_live();
    {
        let mut w = World::new();
        let mut m = Model::new();
        for (op, fail) in steps {
            let outcome = run_step(&mut w, &mut m, op, *fail)?;
            seen(op, *fail, outcome);
        }
        let World { gpc, mut tasks } = w;
        tasks.exit_all(&gpc);
        drop(tasks);
        drop(gpc);
    }
    ensure_eq!(FailingAlloc::thread_live(), start, "allocations leaked");
    Ok(())
}
