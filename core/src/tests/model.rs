//! A proptest state machine: random sequences of mount, umount, mkdir, rmdir, fork,
//! thread, exit, attach, thread-group attach, clone, notify_on_release writes and file
//! reads, checked after every step against a simple reference model: every task in
//! exactly one container per hierarchy (walks of each container, its `tasks` and
//! `cgroup.procs` files read whole and streamed, and `/proc/PID/cgroup`), css_group
//! reference counts equal to their real users, no duplicate css_groups, and exactly the
//! release notifications Linux would send.

use std::collections::{BTreeMap, BTreeSet};
use std::format;
use std::prelude::rust_2021::*;
use std::vec;

use proptest::prelude::*;

use super::World;
use crate::{Error, HierarchyId, Pid};

/// The hierarchies the model mounts: (options, what /proc shows).
const CONFIGS: [(&str, &str); 3] = [
    ("probe,release_agent=/agent", "probe"),
    ("none,name=n,release_agent=/agent", "name=n"),
    ("plain,release_agent=/agent", "plain"),
];
const NAMES: [&str; 2] = ["a", "b"];

#[derive(Clone, Debug)]
enum Op {
    Mount(usize),
    Umount(usize),
    Mkdir(usize, usize, usize),
    Rmdir(usize, usize),
    Fork(usize),
    Thread(usize),
    Exit(usize),
    Attach(usize, usize, usize),
    AttachProcs(usize, usize, usize),
    Notify(usize, usize, bool),
    Clone(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let h = 0..CONFIGS.len();
    prop_oneof![
        2 => h.clone().prop_map(Op::Mount),
        1 => h.clone().prop_map(Op::Umount),
        4 => (h.clone(), any::<usize>(), 0..NAMES.len()).prop_map(|(h, p, n)| Op::Mkdir(h, p, n)),
        2 => (h.clone(), any::<usize>()).prop_map(|(h, c)| Op::Rmdir(h, c)),
        3 => any::<usize>().prop_map(Op::Fork),
        2 => any::<usize>().prop_map(Op::Thread),
        2 => any::<usize>().prop_map(Op::Exit),
        4 => (any::<usize>(), h.clone(), any::<usize>()).prop_map(|(t, h, c)| Op::Attach(t, h, c)),
        2 => (any::<usize>(), h.clone(), any::<usize>()).prop_map(|(t, h, c)| Op::AttachProcs(t, h, c)),
        2 => (h.clone(), any::<usize>(), any::<bool>()).prop_map(|(h, c, v)| Op::Notify(h, c, v)),
        1 => any::<usize>().prop_map(Op::Clone),
    ]
}

#[derive(Default)]
struct MHier {
    mounts: usize,
    /// Container paths ("" is the root) with their notify_on_release flag.
    conts: BTreeMap<String, bool>,
}

#[derive(Clone)]
struct MTask {
    tgid: Pid,
    paths: [String; 3],
}

struct Model {
    hiers: [Option<MHier>; 3],
    ids: [Option<HierarchyId>; 3],
    tasks: BTreeMap<Pid, MTask>,
}

impl Model {
    fn pick(v: &[String], sel: usize) -> Option<&String> {
        if v.is_empty() {
            None
        } else {
            v.get(sel % v.len())
        }
    }
    fn conts(&self, h: usize) -> Vec<String> {
        self.hiers[h]
            .as_ref()
            .map(|m| m.conts.keys().cloned().collect())
            .unwrap_or_default()
    }
    fn task(&self, sel: usize) -> Pid {
        let pids: Vec<Pid> = self.tasks.keys().copied().collect();
        pids[sel % pids.len()]
    }
    fn populated(&self, h: usize, path: &str) -> bool {
        self.tasks.values().any(|t| {
            t.paths[h] == path
                || t.paths[h].starts_with(&format!("{path}/")) && !path.is_empty()
                || path.is_empty()
        })
    }
    fn has_children(&self, h: usize, path: &str) -> bool {
        self.conts(h).iter().any(|c| parent_of(c) == Some(path))
    }
    /// Containers (per hierarchy) that are populated now.
    fn populated_set(&self) -> BTreeSet<(usize, String)> {
        let mut s = BTreeSet::new();
        for h in 0..3 {
            for c in self.conts(h) {
                if self.populated(h, &c) {
                    s.insert((h, c));
                }
            }
        }
        s
    }
    fn releasable(&self, h: usize, c: &str) -> bool {
        !c.is_empty()
            && self.hiers[h]
                .as_ref()
                .and_then(|m| m.conts.get(c))
                .copied()
                .unwrap_or(false)
            && !self.populated(h, c)
            && !self.has_children(h, c)
    }
}

fn parent_of(p: &str) -> Option<&str> {
    if p.is_empty() {
        return None;
    }
    Some(p.rfind('/').map_or("", |i| &p[..i]))
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}/{name}")
    }
}

/// Apply `op` to both; returns the real result and the releases Linux would send.
fn step(w: &mut World, m: &mut Model, op: &Op) -> Result<(), TestCaseError> {
    let before = m.populated_set();
    let mut extra_release: Vec<(usize, String)> = Vec::new();
    let real: Result<(), Error>;
    let expect: Result<(), Error>;
    match *op {
        Op::Mount(h) => {
            real = w.mount(CONFIGS[h].0).map(|id| m.ids[h] = Some(id));
            let mh = m.hiers[h].get_or_insert_with(|| {
                let mut conts = BTreeMap::new();
                conts.insert(String::new(), false);
                MHier { mounts: 0, conts }
            });
            mh.mounts += 1;
            expect = Ok(());
        }
        Op::Umount(h) => {
            match (m.hiers[h].as_mut(), m.ids[h]) {
                (Some(mh), Some(id)) if mh.mounts > 0 => {
                    real = w.gpc.umount(id);
                    mh.mounts -= 1;
                    if mh.mounts == 0 && mh.conts.len() == 1 {
                        m.hiers[h] = None;
                        for t in m.tasks.values_mut() {
                            t.paths[h].clear();
                        }
                    }
                }
                _ => real = Ok(()),
            }
            expect = Ok(());
        }
        Op::Mkdir(h, p, n) => {
            let conts = m.conts(h);
            let (Some(id), Some(parent)) = (
                m.ids[h].filter(|_| m.hiers[h].is_some()),
                Model::pick(&conts, p),
            ) else {
                return Ok(());
            };
            if parent.matches('/').count() >= 2 {
                return Ok(());
            }
            let path = join(parent, NAMES[n]);
            real = w.gpc.mkdir(id, &path);
            let mh = m.hiers[h].as_mut().unwrap();
            if mh.conts.contains_key(&path) {
                expect = Err(Error::EEXIST);
            } else {
                let notify = mh.conts[parent];
                mh.conts.insert(path, notify);
                expect = Ok(());
            }
        }
        Op::Rmdir(h, c) => {
            let conts = m.conts(h);
            let (Some(id), Some(path)) = (
                m.ids[h].filter(|_| m.hiers[h].is_some()),
                Model::pick(&conts, c),
            ) else {
                return Ok(());
            };
            real = w.gpc.rmdir(id, path);
            if path.is_empty()
                || m.has_children(h, path)
                || m.tasks.values().any(|t| t.paths[h] == *path)
            {
                expect = Err(Error::EBUSY);
            } else {
                m.hiers[h].as_mut().unwrap().conts.remove(path);
                let parent = parent_of(path).unwrap_or("").to_string();
                if m.releasable(h, &parent) {
                    extra_release.push((h, parent));
                }
                expect = Ok(());
            }
        }
        Op::Fork(t) | Op::Thread(t) => {
            let parent = m.task(t);
            let thread = matches!(op, Op::Thread(_));
            real = w.tasks.fork(&w.gpc, parent, thread).map(|pid| {
                let mut child = m.tasks[&parent].clone();
                child.tgid = if thread { child.tgid } else { pid };
                m.tasks.insert(pid, child);
            });
            expect = Ok(());
        }
        Op::Exit(t) => {
            let pid = m.task(t);
            if pid == 1 {
                return Ok(());
            }
            real = w.exit(pid);
            let mt = m.tasks[&pid].clone();
            if mt.tgid == pid {
                m.tasks.retain(|_, x| x.tgid != pid);
            } else {
                m.tasks.remove(&pid);
            }
            expect = Ok(());
        }
        Op::Attach(t, h, c) | Op::AttachProcs(t, h, c) => {
            let conts = m.conts(h);
            let (Some(id), Some(path)) = (
                m.ids[h].filter(|_| m.hiers[h].is_some()),
                Model::pick(&conts, c),
            ) else {
                return Ok(());
            };
            let pid = m.task(t);
            let procs = matches!(op, Op::AttachProcs(..));
            let file = if procs { "cgroup.procs" } else { "tasks" };
            real = w.write(id, &join(path, file), &pid.to_string());
            let tgid = m.tasks[&pid].tgid;
            for (p, mt) in m.tasks.iter_mut() {
                if *p == pid || procs && mt.tgid == tgid {
                    mt.paths[h] = path.clone();
                }
            }
            expect = Ok(());
        }
        Op::Notify(h, c, v) => {
            let conts = m.conts(h);
            let (Some(id), Some(path)) = (
                m.ids[h].filter(|_| m.hiers[h].is_some()),
                Model::pick(&conts, c),
            ) else {
                return Ok(());
            };
            let path = path.clone();
            real = w.write(
                id,
                &join(&path, "notify_on_release"),
                if v { "1" } else { "0" },
            );
            m.hiers[h].as_mut().unwrap().conts.insert(path, v);
            expect = Ok(());
        }
        Op::Clone(t) => {
            let pid = m.task(t);
            let ss = w.gpc.subsys_id("probe").unwrap();
            let tr = w.tasks.task_ref(pid).unwrap();
            let name = format!("c{pid}");
            real = w.gpc.container_clone(ss, &tr, &name);
            expect = match m.hiers[0].as_mut() {
                None => Ok(()),
                Some(mh) => {
                    let cur = m.tasks[&pid].paths[0].clone();
                    let path = join(&cur, &name);
                    if mh.conts.contains_key(&path) {
                        Err(Error::EEXIST)
                    } else {
                        let notify = mh.conts[&cur];
                        mh.conts.insert(path.clone(), notify);
                        m.tasks.get_mut(&pid).unwrap().paths[0] = path;
                        Ok(())
                    }
                }
            };
        }
    }
    prop_assert_eq!(real, expect, "{:?}", op);
    // Releases: every container that stopped being populated, or that rmdir emptied.
    let after = m.populated_set();
    let mut want: Vec<String> = before
        .difference(&after)
        .filter(|(h, c)| m.releasable(*h, c))
        .map(|(_, c)| format!("/{c}"))
        .chain(extra_release.into_iter().map(|(_, c)| format!("/{c}")))
        .collect();
    want.sort();
    want.dedup();
    let mut got = w.releases();
    got.sort();
    prop_assert_eq!(got, want, "releases after {:?}", op);
    check(w, m)
}

fn check(w: &World, m: &Model) -> Result<(), TestCaseError> {
    // tasks files.
    for h in 0..3 {
        let (Some(mh), Some(id)) = (m.hiers[h].as_ref(), m.ids[h]) else {
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
            // The walk itself: every member once, nothing else, whatever the order.
            let node = w.gpc.lookup(id, c).unwrap();
            let mut walked: Vec<Pid> = w.gpc.tasks(&node).unwrap().map(|t| t.pid).collect();
            walked.sort_unstable();
            prop_assert_eq!(&walked, &want, "walk of {}:{}", h, c);
            let mut tgids: Vec<Pid> = want.iter().map(|p| m.tasks[p].tgid).collect();
            tgids.sort_unstable();
            tgids.dedup();
            for (file, pids) in [("tasks", &want), ("cgroup.procs", &tgids)] {
                let path = join(c, file);
                let text = w.read(id, &path).unwrap();
                let want: String = pids.iter().map(|p| format!("{p}\n")).collect();
                prop_assert_eq!(&text, &want, "{} of {}:{}", file, h, c);
                // The streaming reader, a few bytes at a time (lines split across
                // reads), gives the same bytes.
                let mut r = w
                    .gpc
                    .pids_reader(&w.gpc.lookup(id, &path).unwrap())
                    .unwrap();
                let mut streamed = Vec::new();
                let mut buf = [0u8; 3];
                loop {
                    let n = r.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    streamed.extend_from_slice(&buf[..n]);
                }
                prop_assert_eq!(
                    String::from_utf8(streamed).unwrap(),
                    text,
                    "streamed {} of {}:{}",
                    file,
                    h,
                    c
                );
            }
        }
    }
    // /proc/PID/cgroup.
    for (pid, t) in &m.tasks {
        let text = w.proc_cgroup(*pid).unwrap();
        let mut got: Vec<(String, String)> = text
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.splitn(3, ':').collect();
                (f[1].to_string(), f[2].to_string())
            })
            .collect();
        got.sort();
        let mut want: Vec<(String, String)> = (0..3)
            .filter(|h| m.hiers[*h].is_some())
            .map(|h| (CONFIGS[h].1.to_string(), format!("/{}", t.paths[h])))
            .collect();
        want.sort();
        prop_assert_eq!(got, want, "/proc/{}/cgroup", pid);
    }
    // css_groups: one per distinct membership, counted by its tasks (+1 for init's).
    let mut keys: BTreeMap<[String; 3], usize> = BTreeMap::new();
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
    prop_assert_eq!(got, want, "css_group refcounts");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, max_shrink_iters: 2000, ..ProptestConfig::default() })]

    #[test]
    fn framework_matches_the_model(ops in proptest::collection::vec(op(), 1..60)) {
        let mut w = World::new();
        let mut m = Model { hiers: [None, None, None], ids: [None; 3], tasks: BTreeMap::new() };
        m.tasks.insert(1, MTask { tgid: 1, paths: Default::default() });
        for op in &ops {
            step(&mut w, &mut m, op)?;
        }
        let gpc = &w.gpc;
        w.tasks.exit_all(gpc);
    }
}
