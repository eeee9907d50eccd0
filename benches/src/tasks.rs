//! A task table for benchmarks: chunks indexed by pid, with no pid limit.
//!
//! gpc-core's `TaskList` follows Linux's pid allocation up to `pid_max` = 32768, too few
//! for a million tasks. Here pid `n` is entry `n - 1` and pids are never reused: finding
//! a task is two indexes, and a task costs [`size_of::<BenchTask>()`](BenchTask) bytes of
//! host memory, of which gpc's share is the [`TaskSlot`].
//!
//! A linked slot is a node of gpc's intrusive task lists, so it must not move. Entries
//! live in heap chunks of [`CHUNK`] tasks, each allocated once with exactly that capacity
//! and never grown past it, so pushing into a chunk never reallocates it and growing the
//! table only adds chunks (the chunk headers may move, the entries never do).

use core::pin::Pin;

use gpc_core::host::task::{Caller, Pid, TaskRef, TaskSlot, TaskTable};
use gpc_core::{Creds, Gpc, Host, TaskInfo};

use crate::{BenchError, Ctx};

/// Tasks per chunk of the table (a chunk of 48-byte entries is 192 KiB: big enough that
/// the chunk list stays short at a million tasks, small enough for a tiny table).
pub const CHUNK: usize = 4096;

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

// A task walk meets slots on lists; the bench host finds their tasks (`TaskIds`).
gpc_core::embeds_task_slot!(BenchTask, slot);

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
    /// Chunk `i` holds pids `i * CHUNK + 1..`; the chunks before the one of the next
    /// pid are full, those after it empty. Each has capacity [`CHUNK`] and is never
    /// pushed past it (so it never reallocates: see the module doc).
    chunks: Vec<Vec<BenchTask>>,
    len: usize,
}

impl Tasks {
    /// An empty table with its chunks for `n` tasks made up front, so that making
    /// those tasks allocates nothing of the table's (the memory figures count only
    /// gpc's growth while tasks are made).
    pub fn with_capacity(n: usize) -> Self {
        Tasks {
            chunks: (0..n.div_ceil(CHUNK))
                .map(|_| Vec::with_capacity(CHUNK))
                .collect(),
            len: 0,
        }
    }

    fn next_pid(&self) -> Result<Pid, BenchError> {
        Pid::try_from(self.len + 1).map_err(|_| BenchError::new("pid space exhausted"))
    }

    /// Put `t` (pid `self.len + 1`) in its entry.
    fn push(&mut self, t: BenchTask) -> Result<(), BenchError> {
        // Entry `len` is in chunk `len / CHUNK`: the chunks before it are full.
        if self.chunks.len() <= self.len / CHUNK {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        let chunk = self
            .chunks
            .get_mut(self.len / CHUNK)
            .ok_or(BenchError::new("no chunk"))?;
        // Below CHUNK, hence within the capacity `with_capacity(CHUNK)` guarantees: no
        // reallocation, the entries already linked stay where they are.
        chunk.push(t);
        self.len += 1;
        Ok(())
    }

    /// Make init (pid 1) and put it in every root.
    ///
    /// # Errors
    ///
    /// If init exists, or gpc's error.
    pub fn add_init<H: Host>(&mut self, gpc: &Gpc<H>) -> Result<Pid, BenchError> {
        if self.len != 0 {
            return Err(BenchError::new("init exists"));
        }
        let t = BenchTask {
            pid: 1,
            tgid: 1,
            creds: Creds::ROOT,
            slot: TaskSlot::new(),
        };
        let info = t.info();
        self.push(t)?;
        let slot = self.pinned_slot(1).ok_or(BenchError::new("no init"))?;
        gpc.init_task(slot, &info).ctx("init_task")?;
        Ok(1)
    }

    /// `parent` forks a process; returns the child's pid. A failed fork leaves the
    /// child's entry behind, empty (pids are never reused here).
    ///
    /// # Errors
    ///
    /// An unknown parent, or gpc's fork error.
    pub fn fork<H: Host>(&mut self, gpc: &Gpc<H>, parent: Pid) -> Result<Pid, BenchError> {
        let pid = self.next_pid()?;
        let creds = self
            .get(parent)
            .ok_or(BenchError::new("no such parent"))?
            .creds;
        let child = BenchTask {
            pid,
            tgid: pid,
            creds,
            slot: TaskSlot::new(),
        };
        let info = child.info();
        self.push(child)?;
        let (Some(p), Some(c)) = (self.get(parent), self.pinned_slot(pid)) else {
            return Err(BenchError::new("no such task"));
        };
        gpc.fork(&p.slot, c, &info).ctx("fork")?;
        Ok(pid)
    }

    /// The task `pid`, live or exited.
    pub fn get(&self, pid: Pid) -> Option<&BenchTask> {
        let at = (pid as usize).checked_sub(1)?;
        self.chunks.get(at / CHUNK)?.get(at % CHUNK)
    }

    /// The gpc slot of task `pid`, pinned (entries never move: see the module doc).
    pub fn pinned_slot(&self, pid: Pid) -> Option<Pin<&TaskSlot>> {
        let t = self.get(pid)?;
        // SAFETY: the entry stays at this address until the table is dropped (chunks
        // never reallocate, entries are never removed), and no `&mut BenchTask` ever
        // leaves this module, so nothing can move the slot out.
        Some(unsafe { Pin::new_unchecked(&t.slot) })
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
        self.len
    }

    /// Whether no task was ever made.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every task, in pid order (empty chunks made up front add nothing).
    pub fn iter(&self) -> impl Iterator<Item = &BenchTask> {
        self.chunks.iter().flatten()
    }

    /// Every task exits (init too); entries stay, with empty slots.
    pub fn exit_all<H: Host>(&self, gpc: &Gpc<H>) {
        for t in self.iter() {
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
