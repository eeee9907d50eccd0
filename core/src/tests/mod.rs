//! Tests of the framework on its own, with the test host and the probe subsystems.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

#[cfg(not(loom))]
mod alloc_failure;
#[cfg(loom)]
mod loom_models;
#[cfg(not(loom))]
mod model;
#[cfg(not(loom))]
mod nodes;
#[cfg(not(loom))]
mod scenarios;

use std::format;
use std::string::{String, ToString};
use std::vec::Vec;

use crate::testing::probe::{PLAIN, PROBE};
use crate::testing::{FailingAlloc, TaskList, TestHost};
use crate::{Creds, Error, Gpc, HierarchyId, Pid, Result};

#[global_allocator]
static ALLOC: FailingAlloc = FailingAlloc::new();

/// A machine: gpc with the probe subsystems, and a task list with init.
#[cfg_attr(loom, allow(dead_code, reason = "the loom models build their own"))]
pub(crate) struct World {
    // Declared (so dropped) before gpc: a task slot still on a css_group's list unlinks
    // itself when dropped, and gpc then frees the css_groups it would otherwise leak.
    pub tasks: TaskList,
    pub gpc: Gpc<TestHost>,
}

#[cfg_attr(loom, allow(dead_code, reason = "the loom models build their own"))]
impl World {
    pub fn new() -> World {
        let gpc = Gpc::new(TestHost::default(), &[&PROBE, &PLAIN]).unwrap();
        let mut tasks = TaskList::new();
        tasks.add_init(&gpc).unwrap();
        World { gpc, tasks }
    }

    pub fn mount(&self, opts: &str) -> Result<HierarchyId> {
        self.gpc.mount(opts, &self.tasks.caller(Creds::ROOT, None))
    }

    pub fn read(&self, h: HierarchyId, path: &str) -> Result<String> {
        let mut buf = Vec::new();
        self.gpc
            .read(h, path, &self.tasks.caller(Creds::ROOT, Some(1)), &mut buf)?;
        Ok(String::from_utf8(buf).unwrap())
    }

    pub fn write(&self, h: HierarchyId, path: &str, data: &str) -> Result {
        self.gpc.write(
            h,
            path,
            data.as_bytes(),
            &self.tasks.caller(Creds::ROOT, Some(1)),
        )
    }

    pub fn write_as(&self, h: HierarchyId, path: &str, data: &str, creds: Creds) -> Result {
        self.gpc
            .write(h, path, data.as_bytes(), &self.tasks.caller(creds, None))
    }

    pub fn fork(&mut self, parent: Pid) -> Result<Pid> {
        self.tasks.fork(&self.gpc, parent, false)
    }

    pub fn thread(&mut self, parent: Pid) -> Result<Pid> {
        self.tasks.fork(&self.gpc, parent, true)
    }

    pub fn exit(&mut self, pid: Pid) -> Result {
        self.tasks.exit(&self.gpc, pid)
    }

    pub fn proc_cgroup(&self, pid: Pid) -> Result<String> {
        let mut buf = Vec::new();
        let t = self.tasks.get(pid).ok_or(Error::ESRCH)?;
        self.gpc.proc_pid_cgroup(&t.slot, &mut buf)?;
        Ok(String::from_utf8(buf).unwrap())
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

    /// Every observable piece of state, as text: for the allocation-failure test's
    /// "nothing changed" check.
    pub fn dump(&self, hiers: &[HierarchyId]) -> String {
        let mut s = String::new();
        for &h in hiers {
            if !self.gpc.hierarchy_exists(h) {
                s += "gone\n";
                continue;
            }
            self.dump_dir(h, "", &mut s);
        }
        for t in self.tasks.iter() {
            s += &format!("pid {} {:?}\n", t.pid, self.proc_cgroup(t.pid));
        }
        let mut buf = Vec::new();
        self.gpc.proc_cgroups(&mut buf).unwrap();
        s += &String::from_utf8(buf).unwrap();
        let mut rc = self.gpc.css_group_refcounts();
        rc.sort_unstable();
        s += &format!("css_groups {rc:?}\n");
        s
    }

    fn dump_dir(&self, h: HierarchyId, path: &str, s: &mut String) {
        let mut entries = self.gpc.list(h, path).unwrap();
        entries.sort();
        for e in entries {
            let p = format!("{path}/{e}");
            match self.gpc.stat(h, &p).unwrap() {
                crate::Entry::Dir { .. } => {
                    *s += &format!("dir {p}\n");
                    self.dump_dir(h, &p, s);
                }
                crate::Entry::File { mode } => {
                    *s += &format!(
                        "file {p} {mode:o} {:?}\n",
                        self.read(h, &p).map_err(|e| e.to_string())
                    );
                }
            }
        }
    }
}
