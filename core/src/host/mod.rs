//! The host boundary: what a kernel (or the simulator) supplies to gpc.
//!
//! One small trait per concern, in the manner of Tock's HIL and smoltcp's `Device`:
//!
//! | concern | module | trait |
//! |---|---|---|
//! | a sleeping lock and a spinning lock | [`lock`] | [`lock::LockBackend`] |
//! | fallible allocation that names its context | [`alloc`] | the host's global allocator, which returns null on failure and reads the call site's [`alloc::Gfp`] through [`alloc::ScopeHooks`] |
//! | RCU: read guard, deferred free, synchronize | [`rcu`] | [`rcu::Rcu`] |
//! | current CPU, CPU and memory-node counts | [`cpu`] | [`cpu::Cpus`] |
//! | credentials of the caller and of a task | [`cred`] | [`cred::Creds`] (a value) |
//! | tasks: the per-task slot, finding and walking tasks | [`task`] | [`task::TaskSlot`], [`task::TaskTable`] |
//! | release notifications | [`crate::release`] | a queue the host drains from its own context |
//!
//! [`Host`] ties the per-instance concerns together; a `Gpc<H>` owns one `H`. Concerns
//! that depend on the call (who is calling, which task table) are passed per call in a
//! [`task::Caller`] instead, so a host never needs a back-pointer into gpc.
//!
//! See `doc/host-boundary.md` for why the boundary is drawn here.

pub mod alloc;
pub mod cpu;
pub mod cred;
pub mod lock;
pub mod rcu;
pub mod task;

/// Everything a host supplies once, for the lifetime of a `Gpc` instance.
///
/// The associated lock types are the two lock classes gpc takes: [`Host::Mutex`] for the
/// hierarchy lock (Linux `cgroup_mutex`; may sleep) and [`Host::Spin`] for the short
/// critical sections that an exit may enter (Linux `css_set_lock`; never sleeps).
pub trait Host: rcu::Rcu + cpu::Cpus + Send + Sync + 'static {
    /// The sleeping lock (Linux `struct mutex`).
    type Mutex: lock::LockBackend;
    /// The spinning lock (Linux `spinlock_t`).
    type Spin: lock::LockBackend;

    /// Called (from any context, maybe under a spinning lock) when a release notification
    /// was queued. The host must not call back into gpc from here: it schedules its own
    /// work that later calls `Gpc::drain_releases`. The default does nothing (the host
    /// polls).
    fn release_queued(&self) {}
}
