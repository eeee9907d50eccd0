//! The machine's task table: tasks with pids, thread groups and credentials, whose fork
//! and exit drive gpc's hooks.
//!
//! A reference task table for hosts that have none of their own: the simulator, the
//! hobby kernel and the tests use it. `no_std` + `alloc`; growth is fallible (a full
//! table is `ENOMEM`, never an abort), and exit never allocates.

use alloc::vec::Vec;

use crate::{Caller, Creds, Error, Gpc, Host, Pid, Result, TaskInfo, TaskRef, TaskSlot, TaskTable};

/// Linux's default `pid_max` (kernel/pid.c: `PID_MAX_DEFAULT`, 32768).
pub const PID_MAX_DEFAULT: Pid = 32768;

/// The largest `pid_max` Linux allows on 64-bit (include/linux/threads.h:
/// `PID_MAX_LIMIT`, 4 * 1024 * 1024).
pub const PID_MAX_LIMIT: Pid = 4 * 1024 * 1024;

/// The smallest `pid_max` Linux allows (kernel/pid.c: `pid_max_min`,
/// `RESERVED_PIDS + 1` = 301).
pub const PID_MAX_MIN: Pid = RESERVED_PIDS + 1;

/// Where pid allocation starts again after wrapping at `pid_max` (kernel/pid.c:
/// `RESERVED_PIDS`, 300).
const RESERVED_PIDS: Pid = 300;

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
    /// Whether the task wants the CPU (the simulated scheduler runs busy tasks): init is
    /// idle, a forked task busy. It fits in the entry's padding: a task is 48 bytes on
    /// 64-bit, 8 of them gpc's slot.
    pub busy: bool,
}

/// A task table that drives gpc's fork and exit hooks, with Linux's pid allocation
/// (cyclic from the last pid given, skipping pids in use, wrapping at `pid_max` to 300
/// as `alloc_pid` does once pid 1 exists).
pub struct TaskList {
    tasks: Tasks,
    last_pid: Pid,
    pid_max: Pid,
}

impl TaskList {
    /// No tasks.
    pub fn new() -> Self {
        TaskList {
            tasks: Tasks(Vec::new()),
            last_pid: 0,
            pid_max: PID_MAX_DEFAULT,
        }
    }

    /// The largest pid plus one that [`TaskList::fork`] may give out.
    pub fn pid_max(&self) -> Pid {
        self.pid_max
    }

    /// Set `pid_max` (`/proc/sys/kernel/pid_max`): new pids are below it, allocation
    /// wraps at it to 300. Tasks with pids at or above a lowered `pid_max` keep them.
    ///
    /// # Errors
    ///
    /// `EINVAL` outside [`PID_MAX_MIN`]..=[`PID_MAX_LIMIT`] (Linux's sysctl bounds).
    pub fn set_pid_max(&mut self, pid_max: Pid) -> Result {
        if !(PID_MAX_MIN..=PID_MAX_LIMIT).contains(&pid_max) {
            return Err(Error::EINVAL);
        }
        self.pid_max = pid_max;
        Ok(())
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
        let task = Task {
            pid: 1,
            tgid: 1,
            creds: Creds::ROOT,
            slot: TaskSlot::new(),
            busy: false,
        };
        self.tasks.0.try_reserve(1).map_err(|_| Error::ENOMEM)?;
        gpc.init_task(&task.slot)?;
        self.tasks.insert(1, task);
        self.last_pid = 1;
        Ok(1)
    }

    fn alloc_pid(&self) -> Result<Pid> {
        let mut pid = self.last_pid;
        for _ in 0..self.pid_max {
            pid = if pid + 1 >= self.pid_max {
                RESERVED_PIDS
            } else {
                pid + 1
            };
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
    pub fn fork_as<H: Host>(
        &mut self,
        gpc: &Gpc<H>,
        parent: Pid,
        thread: bool,
        creds: Option<Creds>,
    ) -> Result<Pid> {
        let pid = self.alloc_pid()?;
        // Reserve first: a failed reservation must not leave a forked child behind.
        self.tasks.0.try_reserve(1).map_err(|_| Error::ENOMEM)?;
        let p = self.tasks.get(&parent).ok_or(Error::ESRCH)?;
        let tgid = if thread { p.tgid } else { pid };
        let child = Task {
            pid,
            tgid,
            creds: creds.unwrap_or(p.creds),
            slot: TaskSlot::new(),
            busy: true,
        };
        gpc.fork(
            &p.slot,
            &child.slot,
            &TaskInfo {
                pid,
                tgid,
                is_thread: thread,
            },
        )?;
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
        let (leader, tgid) = (t.pid == t.tgid, t.tgid);
        // Exit in place, then drop the entries: no allocation on the exit path.
        for t in self
            .tasks
            .0
            .iter()
            .filter(|x| if leader { x.tgid == tgid } else { x.pid == pid })
        {
            gpc.exit(
                &t.slot,
                &TaskInfo {
                    pid: t.pid,
                    tgid: t.tgid,
                    is_thread: t.pid != t.tgid,
                },
            );
        }
        self.tasks
            .0
            .retain(|x| if leader { x.tgid != tgid } else { x.pid != pid });
        Ok(())
    }

    /// Exit every task (init included).
    pub fn exit_all<H: Host>(&mut self, gpc: &Gpc<H>) {
        for t in self.tasks.0.drain(..) {
            gpc.exit(
                &t.slot,
                &TaskInfo {
                    pid: t.pid,
                    tgid: t.tgid,
                    is_thread: t.pid != t.tgid,
                },
            );
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
        Caller {
            creds,
            pid,
            tasks: self,
        }
    }

    /// The task's [`TaskRef`].
    pub fn task_ref(&self, pid: Pid) -> Option<TaskRef<'_>> {
        self.tasks.get(&pid).map(|t| TaskRef {
            pid: t.pid,
            tgid: t.tgid,
            creds: t.creds,
            slot: &t.slot,
        })
    }
}

/// Tasks sorted by pid, in a Vec so that growth is fallible.
struct Tasks(Vec<Task>);

impl Tasks {
    fn find(&self, pid: Pid) -> core::result::Result<usize, usize> {
        self.0.binary_search_by_key(&pid, |t| t.pid)
    }
    fn contains_key(&self, pid: &Pid) -> bool {
        self.find(*pid).is_ok()
    }
    fn get(&self, pid: &Pid) -> Option<&Task> {
        self.find(*pid).ok().and_then(|i| self.0.get(i))
    }
    fn get_mut(&mut self, pid: &Pid) -> Option<&mut Task> {
        self.find(*pid).ok().and_then(|i| self.0.get_mut(i))
    }
    /// Capacity must have been reserved.
    fn insert(&mut self, pid: Pid, task: Task) {
        if let Err(i) = self.find(pid) {
            self.0.insert(i, task);
        }
    }
    fn values(&self) -> core::slice::Iter<'_, Task> {
        self.0.iter()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
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
            f(&TaskRef {
                pid: t.pid,
                tgid: t.tgid,
                creds: t.creds,
                slot: &t.slot,
            });
        }
    }

    fn with_thread_group(
        &self,
        tgid: Pid,
        f: &mut dyn FnMut(&mut dyn Iterator<Item = TaskRef<'_>>),
    ) -> bool {
        if !self.tasks.values().any(|t| t.tgid == tgid) {
            return false;
        }
        let mut it = self
            .tasks
            .values()
            .filter(|t| t.tgid == tgid)
            .map(|t| TaskRef {
                pid: t.pid,
                tgid: t.tgid,
                creds: t.creds,
                slot: &t.slot,
            });
        f(&mut it);
        true
    }
}
