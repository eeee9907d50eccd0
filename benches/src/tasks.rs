//! A task table for benchmarks: a `Vec` indexed by pid, with no pid limit.
//!
//! gpc-core's `TaskList` follows Linux's pid allocation up to `pid_max` = 32768, too few
//! for a million tasks, and keeps tasks sorted (an insertion is a binary search and a
//! shift). Here pid `n` is entry `n - 1` and pids are never reused: finding a task is one
//! index, and a task costs [`size_of::<BenchTask>()`](BenchTask) bytes of host memory
//! (40 on 64-bit), of which gpc's share is the 8-byte [`TaskSlot`].

use gpc_core::host::task::{Caller, Pid, TaskRef, TaskSlot, TaskTable};
use gpc_core::{Creds, Gpc, Host, TaskInfo};

use crate::{BenchError, Ctx};

/// A task: what a kernel's task struct holds that gpc reads.
#[derive(Debug)]
pub struct BenchTask {
    /// Thread id.
    pub pid: Pid,
    /// Thread-group id.
    pub tgid: Pid,
    /// Credentials.
    pub creds: Creds,
    /// gpc's per-task state.
    pub slot: TaskSlot,
}

impl BenchTask {
    /// The task as gpc sees it.
    pub fn task_ref(&self) -> TaskRef<'_> {
        TaskRef {
            pid: self.pid,
            tgid: self.tgid,
            creds: self.creds,
            slot: &self.slot,
        }
    }

    /// What fork and exit hooks are told about it.
    pub fn info(&self) -> TaskInfo {
        TaskInfo {
            pid: self.pid,
            tgid: self.tgid,
            is_thread: self.pid != self.tgid,
        }
    }
}

/// The table (see the module doc). Exited tasks stay as entries with an empty slot.
#[derive(Debug, Default)]
pub struct Tasks {
    v: Vec<BenchTask>,
}

impl Tasks {
    /// An empty table with room for `n` tasks.
    pub fn with_capacity(n: usize) -> Self {
        Tasks {
            v: Vec::with_capacity(n),
        }
    }

    fn next_pid(&self) -> Result<Pid, BenchError> {
        Pid::try_from(self.v.len() + 1).map_err(|_| BenchError::new("pid space exhausted"))
    }

    /// Make init (pid 1) and put it in every root.
    ///
    /// # Errors
    ///
    /// If init exists, or gpc's error.
    pub fn add_init<H: Host>(&mut self, gpc: &Gpc<H>) -> Result<Pid, BenchError> {
        if !self.v.is_empty() {
            return Err(BenchError::new("init exists"));
        }
        let t = BenchTask {
            pid: 1,
            tgid: 1,
            creds: Creds::ROOT,
            slot: TaskSlot::new(),
        };
        gpc.init_task(&t.slot).ctx("init_task")?;
        self.v.push(t);
        Ok(1)
    }

    /// `parent` forks a process; returns the child's pid.
    ///
    /// # Errors
    ///
    /// An unknown parent, or gpc's fork error.
    pub fn fork<H: Host>(&mut self, gpc: &Gpc<H>, parent: Pid) -> Result<Pid, BenchError> {
        let pid = self.next_pid()?;
        let p = self.get(parent).ok_or(BenchError::new("no such parent"))?;
        let child = BenchTask {
            pid,
            tgid: pid,
            creds: p.creds,
            slot: TaskSlot::new(),
        };
        gpc.fork(&p.slot, &child.slot, &child.info()).ctx("fork")?;
        self.v.push(child);
        Ok(pid)
    }

    /// The task `pid`, live or exited.
    pub fn get(&self, pid: Pid) -> Option<&BenchTask> {
        self.v.get((pid as usize).checked_sub(1)?)
    }

    /// The task `pid` as gpc sees it.
    ///
    /// # Errors
    ///
    /// An unknown pid.
    pub fn task_ref(&self, pid: Pid) -> Result<TaskRef<'_>, BenchError> {
        self.get(pid)
            .map(BenchTask::task_ref)
            .ok_or(BenchError::new("no such task"))
    }

    /// Tasks ever made (live or exited).
    pub fn len(&self) -> usize {
        self.v.len()
    }

    /// Whether no task was ever made.
    pub fn is_empty(&self) -> bool {
        self.v.is_empty()
    }

    /// Every task exits (init too); entries stay, with empty slots.
    pub fn exit_all<H: Host>(&self, gpc: &Gpc<H>) {
        for t in &self.v {
            gpc.exit(&t.slot, &t.info());
        }
    }

    /// A root caller acting from init.
    pub fn root_caller(&self) -> Caller<'_> {
        Caller {
            creds: Creds::ROOT,
            pid: Some(1),
            tasks: self,
        }
    }
}

impl TaskTable for Tasks {
    fn with_task(&self, pid: Pid, f: &mut dyn FnMut(&TaskRef<'_>)) -> bool {
        match self.get(pid) {
            Some(t) if t.slot.is_attached() => {
                f(&t.task_ref());
                true
            }
            _ => false,
        }
    }

    fn for_each_task(&self, f: &mut dyn FnMut(&TaskRef<'_>)) {
        for t in self.v.iter().filter(|t| t.slot.is_attached()) {
            f(&t.task_ref());
        }
    }

    fn with_thread_group(
        &self,
        tgid: Pid,
        f: &mut dyn FnMut(&mut dyn Iterator<Item = TaskRef<'_>>),
    ) -> bool {
        // Every task is its own thread group here.
        match self.get(tgid) {
            Some(t) if t.slot.is_attached() => {
                f(&mut core::iter::once(t.task_ref()));
                true
            }
            _ => false,
        }
    }
}
