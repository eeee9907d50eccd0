//! The host boundary: what a kernel (or the simulator) supplies to gpc.
//!
//! One small trait per concern, in the manner of Tock's HIL and smoltcp's `Device`:
//!
//! | concern | module | trait |
//! |---|---|---|
//! | a sleeping lock, a spinning lock, an irq-safe spinning lock, lock classes | [`lock`] | [`lock::LockBackend`] |
//! | fallible allocation that names its context | [`alloc`] | the host's global allocator, which returns null on failure and reads the call site's [`alloc::Gfp`] through [`alloc::ScopeHooks`] |
//! | RCU: read guard, deferred free, synchronize | [`rcu`] | [`rcu::Rcu`] |
//! | current CPU, CPU and memory-node counts | [`cpu`] | [`cpu::Cpus`] |
//! | credentials of the caller and of a task | [`cred`] | [`cred::Creds`] (a value) |
//! | tasks: the per-task slot, finding and walking tasks | [`task`] | [`task::TaskSlot`], [`task::TaskTable`] |
//! | release notifications | [`crate::release`] | a queue the host drains from its own context |
//! | freezing and killing tasks (v2), the clock | [`jobctl`] | [`jobctl::JobControl`] |
//!
//! [`Host`] ties the per-instance concerns together; a `Gpc<H>` owns one `H`. Concerns
//! that depend on the call (who is calling, which task table) are passed per call in a
//! [`task::Caller`] instead, so a host never needs a back-pointer into gpc.
//!
//! See `doc/host-boundary.md` for why the boundary is drawn here.

pub mod alloc;
pub mod cpu;
pub mod cred;
pub mod jobctl;
pub mod lock;
pub mod rcu;
pub mod reclaim;
pub mod task;

/// Everything a host supplies once, for the lifetime of a `Gpc` instance.
///
/// The associated lock types are every kind of lock gpc takes (`doc/lock-order.md` lists
/// each lock): [`Host::Mutex`] for the hierarchy lock (Linux `cgroup_mutex`; may sleep),
/// [`Host::Spin`] for the short critical sections that an exit may enter (Linux
/// `css_set_lock`, a css_group's transition lock; never sleeps, preemption off) and
/// [`Host::IrqSpin`] for controller state that the kernel may read with interrupts off
/// (the scheduler asking for a CPU quota; Linux `spin_lock_irqsave`). gpc takes no lock
/// of its own: `Gpc::new` installs `Spin` and `IrqSpin` for the locks of types that are
/// not generic over the host (see [`lock`]).
pub trait Host:
    rcu::Rcu + cpu::Cpus + task::TaskIds + jobctl::JobControl + Send + Sync + 'static
{
    /// The sleeping lock (Linux `struct mutex`): kind [`lock::LockKind::Sleeping`].
    type Mutex: lock::LockBackend;
    /// The spinning lock (Linux `spinlock_t`): kind [`lock::LockKind::Spinning`].
    type Spin: lock::LockBackend;
    /// The spinning lock that also disables interrupts (Linux `spin_lock_irqsave`): kind
    /// [`lock::LockKind::SpinningIrq`]. A host without interrupts may give its `Spin`.
    type IrqSpin: lock::LockBackend;

    /// Called (from any context, maybe under a spinning lock) when a release notification
    /// was queued. The host must not call back into gpc from here: it schedules its own
    /// work that later calls `Gpc::drain_releases`. The default does nothing (the host
    /// polls).
    fn release_queued(&self) {}

    /// Called (from any context, maybe under a spinning lock) when a file's contents
    /// changed by themselves (a group's `cgroup.events`). The host must not call back
    /// into gpc from here: it schedules its own work that later calls
    /// `Gpc::drain_notifications` and wakes its `poll`/`inotify` waiters (Linux
    /// `kernfs_notify`). The default does nothing (the host polls).
    fn files_changed(&self) {}
}
