//! The smallest gpc host: one CPU, no preemption, a fixed task table. Copy it and
//! replace each part with your kernel's (doc/embedding.md walks through the steps).
#![no_std]

use core::pin::Pin;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicUsize, Ordering};

use gpc_core::host::alloc::{Gfp, ScopeHooks};
use gpc_core::host::cpu::Cpus;
use gpc_core::host::lock::RawSpin;
use gpc_core::host::rcu::{Rcu, RcuHead};
use gpc_core::{Creds, EmbedsTaskSlot, Host, Pid, TaskId, TaskIds, TaskRef, TaskSlot, TaskTable};

/// Step 1, RCU: on one CPU without preemption a grace period has passed whenever no
/// read-side section is open; callbacks wait on a list linked through their own heads.
pub struct MiniHost {
    readers: AtomicUsize,
    pending: AtomicPtr<RcuHead>,
}

impl MiniHost {
    /// No readers, nothing pending.
    pub const fn new() -> Self {
        MiniHost {
            readers: AtomicUsize::new(0),
            pending: AtomicPtr::new(ptr::null_mut()),
        }
    }

    fn quiesce(&self) {
        while self.readers.load(Ordering::SeqCst) == 0 {
            let mut head = self.pending.swap(ptr::null_mut(), Ordering::AcqRel);
            if head.is_null() {
                return;
            }
            while let Some(h) = NonNull::new(head) {
                // SAFETY: queued by `call_rcu`, valid until invoked.
                head = unsafe { h.as_ref() }.next.load(Ordering::Relaxed);
                // SAFETY: taken off the list (invoked once) with no reader open.
                unsafe { RcuHead::invoke(h) };
            }
        }
    }
}

impl Default for MiniHost {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: callbacks run only from `quiesce`, with no read-side section open on the
// only CPU: every reader that could have seen the object has finished.
unsafe impl Rcu for MiniHost {
    fn read_lock(&self) {
        self.readers.fetch_add(1, Ordering::SeqCst);
    }
    unsafe fn read_unlock(&self) {
        if self.readers.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.quiesce();
        }
    }
    unsafe fn call_rcu(&self, head: NonNull<RcuHead>) {
        // SAFETY: the caller hands us the head until it is invoked.
        unsafe { head.as_ref() }
            .next
            .store(self.pending.load(Ordering::Relaxed), Ordering::Relaxed);
        self.pending.store(head.as_ptr(), Ordering::Release); // one CPU: no race
        self.quiesce();
    }
    fn synchronize(&self) {
        self.quiesce();
    }
}

/// Step 2, CPU ids: per-CPU slots are indexed by `current_cpu`.
impl Cpus for MiniHost {
    fn current_cpu(&self) -> usize {
        0
    }
    fn nr_cpus(&self) -> usize {
        1
    }
}

/// Step 3, locks: a kernel's sleeping lock, `spin_lock`, `spin_lock_irqsave` (here one).
impl Host for MiniHost {
    type Mutex = RawSpin;
    type Spin = RawSpin;
    type IrqSpin = RawSpin;
}

/// Step 4, allocation flags: one task, so one scope word (a kernel: per task).
static SCOPE: AtomicU32 = AtomicU32::new(0);
const SCOPED: u32 = 1 << 31;

fn decode(w: u32) -> Option<Gfp> {
    (w & SCOPED != 0).then(|| Gfp::from_bits(w))
}

/// Install with `gpc_core::host::alloc::set_scope_hooks`; the global allocator reads
/// `gpc_core::host::alloc::current()` and passes `GFP_KERNEL` or `GFP_ATOMIC` on.
pub static SCOPE_HOOKS: ScopeHooks = ScopeHooks {
    save: |f| decode(SCOPE.swap(f.bits() | SCOPED, Ordering::Relaxed)),
    restore: |f| SCOPE.store(f.map_or(0, |f| f.bits() | SCOPED), Ordering::Relaxed),
    current: || decode(SCOPE.load(Ordering::Relaxed)),
};

/// Step 5, tasks: a task struct embeds a `TaskSlot`; the table lets gpc find tasks by
/// pid. The slot is a node of its css_group's task list, so a task struct must not move
/// while its task lives: `init_task` and `fork` take the slot pinned.
pub struct Task {
    /// Thread id (0: a free entry).
    pub pid: Pid,
    /// gpc's per-task state.
    pub slot: TaskSlot,
}

// The slot's place in the task struct, so gpc's task walks find the task (its ids) from
// the slot they meet on a list: `container_of`.
gpc_core::embeds_task_slot!(Task, slot);

/// Step 5, tasks: a task walk (the `tasks` file) meets slots on lists and asks the host
/// whose they are. Called under spinning locks: no sleeping, no allocation.
/// No job control: nothing stops for `cgroup.freeze`, and `cgroup.kill` is
/// `EOPNOTSUPP` (the defaults). A kernel marks and wakes its tasks here.
impl gpc_core::JobControl for MiniHost {}

impl TaskIds for MiniHost {
    fn task_ids(&self, slot: &TaskSlot) -> TaskId {
        // SAFETY: gpc passes only slots this host linked, and every one is the `slot` of
        // a `Task` in `Tasks`, handed to gpc as `&task.slot`.
        let task = unsafe { Task::from_slot(slot) };
        TaskId {
            pid: task.pid,
            tgid: task.pid,
        }
    }
}

/// A fixed task table, each task its own thread group.
pub struct Tasks(pub [Task; 4]);

impl Tasks {
    /// Task `i`'s slot, pinned with the table (a kernel's task structs do not move).
    pub fn slot(self: Pin<&Self>, i: usize) -> Option<Pin<&TaskSlot>> {
        let slot = &self.get_ref().0.get(i)?.slot;
        // SAFETY: structural pinning: the table is pinned and never hands out `&mut` to
        // a task, so the slot stays where it is until the table is dropped.
        Some(unsafe { Pin::new_unchecked(slot) })
    }

    fn view(t: &Task) -> TaskRef<'_> {
        TaskRef {
            pid: t.pid,
            tgid: t.pid,
            creds: Creds::ROOT,
            slot: &t.slot,
        }
    }
}

impl TaskTable for Tasks {
    fn with_task(&self, pid: Pid, f: &mut dyn FnMut(&TaskRef<'_>)) -> bool {
        let t = self.0.iter().find(|t| t.pid == pid && pid != 0);
        t.map(|t| f(&Self::view(t))).is_some()
    }
    fn with_thread_group(
        &self,
        tgid: Pid,
        f: &mut dyn FnMut(&mut dyn Iterator<Item = TaskRef<'_>>),
    ) -> bool {
        self.with_task(tgid, &mut |t| f(&mut core::iter::once(*t)))
    }
}
