use std::collections::BTreeMap;
use std::vec::Vec;

use crate::error::{Error, Result};
use crate::gpc::Gpc;
use crate::host::cred::Creds;
use crate::host::task::{Caller, Pid, TaskRef, TaskSlot, TaskTable};
use crate::host::Host;
use crate::subsys::TaskInfo;

/// Linux's default `pid_max` (kernel/pid.c: `PID_MAX_DEFAULT`, 32768).
pub const PID_MAX_DEFAULT: Pid = 32768;

/// A task of a [`TaskList`].
pub struct Task {
    /// Thread id.
    pub pid: Pid,
    /// Thread-group id.
    pub tgid: Pid,
    /// Credentials.
    pub creds: Creds,
    /// gpc's per-task slot.
    pub slot: TaskSlot,
}

/// A task table that drives gpc's fork and exit hooks, with Linux's pid allocation
/// (cyclic from the last pid given, skipping pids in use, wrapping at `pid_max` to 300
/// as `alloc_pid` does once pid 1 exists).
pub struct TaskList {
    tasks: BTreeMap<Pid, Task>,
    last_pid: Pid,
    pid_max: Pid,
}

impl TaskList {
    /// No tasks.
    pub fn new() -> Self {
        TaskList { tasks: BTreeMap::new(), last_pid: 0, pid_max: PID_MAX_DEFAULT }
    }

    /// Make init (pid 1, root) and put it in the roots.
    ///
    /// # Errors
    ///
    /// `EBUSY` if init exists.
    pub fn add_init<H: Host>(&mut self, gpc: &Gpc<H>) -> Result<Pid> {
        if self.tasks.contains_key(&1) {
            return Err(Error::EBUSY);
        }
        let task = Task { pid: 1, tgid: 1, creds: Creds::ROOT, slot: TaskSlot::new() };
        gpc.init_task(&task.slot)?;
        self.tasks.insert(1, task);
        self.last_pid = 1;
        Ok(1)
    }

    fn alloc_pid(&self) -> Result<Pid> {
        let mut pid = self.last_pid;
        for _ in 0..self.pid_max {
            pid = if pid + 1 >= self.pid_max { 300 } else { pid + 1 };
            if !self.tasks.contains_key(&pid) {
                return Ok(pid);
            }
        }
        Err(Error::EAGAIN)
    }

    /// `parent` forks a process (`thread = false`) or makes a thread in its group.
    ///
    /// # Errors
    ///
    /// `ESRCH` for an unknown parent, `EAGAIN` with no free pid, and gpc's fork errors.
    pub fn fork<H: Host>(&mut self, gpc: &Gpc<H>, parent: Pid, thread: bool) -> Result<Pid> {
        self.fork_as(gpc, parent, thread, None)
    }

    /// [`TaskList::fork`] with the child's credentials (default: the parent's).
    ///
    /// # Errors
    ///
    /// As for [`TaskList::fork`].
    pub fn fork_as<H: Host>(&mut self, gpc: &Gpc<H>, parent: Pid, thread: bool, creds: Option<Creds>) -> Result<Pid> {
        let pid = self.alloc_pid()?;
        let p = self.tasks.get(&parent).ok_or(Error::ESRCH)?;
        let tgid = if thread { p.tgid } else { pid };
        let child = Task { pid, tgid, creds: creds.unwrap_or(p.creds), slot: TaskSlot::new() };
        gpc.fork(&p.slot, &child.slot, &TaskInfo { pid, tgid, is_thread: thread })?;
        self.tasks.insert(pid, child);
        self.last_pid = pid;
        Ok(pid)
    }

    /// The task exits and is reaped; a thread-group leader takes its whole group along
    /// (`exit_group`).
    ///
    /// # Errors
    ///
    /// `ESRCH` for an unknown task.
    pub fn exit<H: Host>(&mut self, gpc: &Gpc<H>, pid: Pid) -> Result {
        let t = self.tasks.get(&pid).ok_or(Error::ESRCH)?;
        let victims: Vec<Pid> = if t.pid == t.tgid {
            let tgid = t.tgid;
            self.tasks.values().filter(|x| x.tgid == tgid).map(|x| x.pid).collect()
        } else {
            std::vec![pid]
        };
        for v in victims {
            if let Some(t) = self.tasks.remove(&v) {
                gpc.exit(&t.slot, &TaskInfo { pid: t.pid, tgid: t.tgid, is_thread: t.pid != t.tgid });
            }
        }
        Ok(())
    }

    /// Exit every task (init included).
    pub fn exit_all<H: Host>(&mut self, gpc: &Gpc<H>) {
        let pids: Vec<Pid> = self.tasks.keys().copied().collect();
        for pid in pids {
            if let Some(t) = self.tasks.remove(&pid) {
                gpc.exit(&t.slot, &TaskInfo { pid: t.pid, tgid: t.tgid, is_thread: t.pid != t.tgid });
            }
        }
    }

    /// The task `pid`.
    pub fn get(&self, pid: Pid) -> Option<&Task> {
        self.tasks.get(&pid)
    }

    /// The task `pid`, mutably (to change credentials).
    pub fn get_mut(&mut self, pid: Pid) -> Option<&mut Task> {
        self.tasks.get_mut(&pid)
    }

    /// Every task, by pid.
    pub fn iter(&self) -> impl Iterator<Item = &Task> {
        self.tasks.values()
    }

    /// How many tasks.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether there are no tasks.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// A caller acting as `creds`, from task `pid`.
    pub fn caller(&self, creds: Creds, pid: Option<Pid>) -> Caller<'_> {
        Caller { creds, pid, tasks: self }
    }

    /// The task's [`TaskRef`].
    pub fn task_ref(&self, pid: Pid) -> Option<TaskRef<'_>> {
        self.tasks.get(&pid).map(|t| TaskRef { pid: t.pid, tgid: t.tgid, creds: t.creds, slot: &t.slot })
    }
}

impl Default for TaskList {
    fn default() -> Self {
        Self::new()
    }
}

impl TaskTable for TaskList {
    fn with_task(&self, pid: Pid, f: &mut dyn FnMut(&TaskRef<'_>)) -> bool {
        match self.task_ref(pid) {
            Some(t) => {
                f(&t);
                true
            }
            None => false,
        }
    }

    fn for_each_task(&self, f: &mut dyn FnMut(&TaskRef<'_>)) {
        for t in self.tasks.values() {
            f(&TaskRef { pid: t.pid, tgid: t.tgid, creds: t.creds, slot: &t.slot });
        }
    }

    fn with_thread_group(&self, tgid: Pid, f: &mut dyn FnMut(&[TaskRef<'_>])) -> bool {
        let threads: Vec<TaskRef<'_>> = self
            .tasks
            .values()
            .filter(|t| t.tgid == tgid)
            .map(|t| TaskRef { pid: t.pid, tgid: t.tgid, creds: t.creds, slot: &t.slot })
            .collect();
        if threads.is_empty() {
            return false;
        }
        f(&threads);
        true
    }
}
