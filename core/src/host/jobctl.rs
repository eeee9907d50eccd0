//! Job control: what the v2 core asks a host to do to tasks (`cgroup.freeze`,
//! `cgroup.kill`) and the clock the freezer's accounting reads.
//!
//! In Linux the cgroup core marks a task (`JOBCTL_TRAP_FREEZE`, a pending `SIGKILL`) and
//! wakes it; the task acts later, in its own context, and a freezing task reports that it
//! stopped (`cgroup_enter_frozen`) or runs again (`cgroup_leave_frozen`). gpc keeps that
//! split: these methods only mark and wake, and the host reports back through
//! [`crate::Gpc::enter_frozen`] and [`crate::Gpc::leave_frozen`] from the task's own
//! context. That is why a group's `frozen` in `cgroup.events` follows what the tasks did,
//! not what was asked.
//!
//! Every method here may be called under gpc's spinning locks (the css_group table's and
//! a css_group shard's): it must not sleep, allocate, or call gpc. The defaults describe a
//! host without job control: no task ever stops for a freeze, and `cgroup.kill` fails with
//! `EOPNOTSUPP`.

use crate::error::{Error, Result};
use crate::host::task::TaskSlot;

/// Job control of the host's tasks (Linux `signal_wake_up`, `task->frozen`, `ktime_get_ns`).
pub trait JobControl {
    /// Whether the task has stopped for a freeze and not yet left that state (Linux
    /// `task->frozen`): what [`crate::Gpc::enter_frozen`] set and
    /// [`crate::Gpc::leave_frozen`] cleared. A moved task's stopped state moves with it.
    fn task_frozen(&self, task: &TaskSlot) -> bool {
        let _ = task;
        false
    }

    /// Record the task's stopped state (Linux `task->frozen = ...`), called by gpc under
    /// its table lock from [`crate::Gpc::enter_frozen`] and [`crate::Gpc::leave_frozen`],
    /// so that the state and the group's count of stopped tasks change together. A host
    /// that reports stopped tasks implements this and [`JobControl::task_frozen`].
    fn set_task_frozen(&self, task: &TaskSlot, frozen: bool) {
        let _ = (task, frozen);
    }

    /// Ask the task to stop for a freeze (`freeze`) or to run again (Linux
    /// `cgroup_freeze_task`: set or clear `JOBCTL_TRAP_FREEZE` and wake it). The task
    /// later reports with [`crate::Gpc::enter_frozen`] / [`crate::Gpc::leave_frozen`].
    fn freeze_task(&self, task: &TaskSlot, freeze: bool) {
        let _ = (task, freeze);
    }

    /// Send `SIGKILL` to the task's process (Linux `send_sig(SIGKILL, task, 0)` in
    /// `cgroup_kill`): the process exits later, from its own context, through the host's
    /// usual exit path (which calls [`crate::Gpc::exit`]).
    ///
    /// # Errors
    ///
    /// `EOPNOTSUPP` (the default) for a host that cannot kill: the `cgroup.kill` write
    /// fails with it.
    fn kill_task(&self, task: &TaskSlot) -> Result {
        let _ = task;
        Err(Error::EOPNOTSUPP)
    }

    /// Whether the task's process was sent `SIGKILL` and has not exited yet (Linux
    /// `fatal_signal_pending`). A fork checks it after reading its group's kill count,
    /// as `copy_process` does after `cgroup_can_fork`: a parent killed by a
    /// `cgroup.kill` that the fork did not see start cannot fork any more.
    fn fatal_signal_pending(&self, task: &TaskSlot) -> bool {
        let _ = task;
        false
    }

    /// A monotonic clock in nanoseconds (Linux `ktime_get_ns`), for `cgroup.stat.local`'s
    /// `frozen_usec`. The default, a clock that never moves, reports 0.
    fn clock_ns(&self) -> u64 {
        0
    }
}
