//! The kernel as a gpc host, and as a gpc-machine platform.
//!
//! | gpc asks for | the kernel gives |
//! |---|---|
//! | a sleeping lock, a spinning lock | [`KSpin`] for both (one CPU, nothing to sleep for) |
//! | RCU | [`UpRcu`] |
//! | the current CPU, CPU and memory-node counts | CPU 0; the counts of the machine the script configured |
//! | allocation that may fail | the global allocator, [`crate::heap::KernelHeap`] |
//!
//! The CPUs a script sees (`machine cpus=N`, 4 by default) are the machine model's:
//! gpc-machine's scheduler runs them in simulated time, so cpusets, shares and quotas
//! act exactly as in the simulator; the kernel itself runs on its one real CPU.

use core::ptr::NonNull;

use gpc_core::host::cpu::Cpus;
use gpc_core::host::rcu::{Rcu, RcuHead};
use gpc_core::{Host, Result};
use gpc_machine::Platform;

use crate::rcu::UpRcu;
use crate::sync::KSpin;

/// The gpc host of the kernel.
pub struct KernelHost {
    /// The RCU.
    pub rcu: UpRcu,
    cpus: usize,
    mems: usize,
    /// The machine's simulated clock, set as it advances ([`Platform::set_clock_ns`]).
    clock_ns: core::sync::atomic::AtomicU64,
}

impl KernelHost {
    /// A host for a machine of `cpus` CPUs and `mems` memory nodes (at least 1 each).
    pub const fn new(cpus: usize, mems: usize) -> Self {
        KernelHost {
            rcu: UpRcu::new(),
            cpus: if cpus == 0 { 1 } else { cpus },
            mems: if mems == 0 { 1 } else { mems },
            clock_ns: core::sync::atomic::AtomicU64::new(0),
        }
    }
}

// SAFETY: forwards to `UpRcu`, which keeps the contract.
unsafe impl Rcu for KernelHost {
    fn read_lock(&self) {
        self.rcu.read_lock();
    }

    unsafe fn read_unlock(&self) {
        // SAFETY: forwarded from the caller.
        unsafe { self.rcu.read_unlock() }
    }

    unsafe fn call_rcu(&self, head: NonNull<RcuHead>) {
        // SAFETY: forwarded from the caller.
        unsafe { self.rcu.call_rcu(head) }
    }

    fn synchronize(&self) {
        self.rcu.synchronize();
    }
}

impl Cpus for KernelHost {
    fn current_cpu(&self) -> usize {
        0
    }

    fn nr_cpus(&self) -> usize {
        self.cpus
    }

    fn nr_mem_nodes(&self) -> usize {
        self.mems
    }
}

// Job control on the machine's tasks: the requests are the tasks' bits, which the
// machine acts on after each command.
gpc_core::task_job_control!(KernelHost, |h| h
    .clock_ns
    .load(core::sync::atomic::Ordering::Relaxed));

/// The kernel's tasks are the machine's `tasklist::Task`s: a walk finds a task's ids in
/// the task struct that embeds the slot it meets.
impl gpc_core::TaskIds for KernelHost {
    fn task_ids(&self, slot: &gpc_core::TaskSlot) -> gpc_core::TaskId {
        // SAFETY: gpc passes only slots this host linked, and the machine links only the
        // slots of its task list's `Task`s, from those tasks.
        unsafe { gpc_core::tasklist::Task::of_slot(slot) }.id()
    }
}

impl Host for KernelHost {
    type Mutex = KSpin;
    type Spin = KSpin;
    // One CPU and no interrupt handler calls gpc: the plain spinlock is irq-safe here.
    type IrqSpin = KSpin;
}

/// gpc-machine on this kernel: a [`KernelHost`] per machine.
#[derive(Clone, Copy, Debug, Default)]
pub struct KernelPlatform;

impl Platform for KernelPlatform {
    type Host = KernelHost;

    fn host(nr_cpus: usize, nr_mems: usize) -> Result<KernelHost> {
        Ok(KernelHost::new(nr_cpus, nr_mems))
    }

    fn set_clock_ns(host: &KernelHost, ns: u64) {
        host.clock_ns
            .store(ns, core::sync::atomic::Ordering::Relaxed);
    }
}

/// The machine scripts run on in the kernel.
pub type KernelMachine = gpc_machine::Machine<KernelPlatform>;

#[cfg(test)]
mod tests {
    use super::*;
    use gpc_core::host::task::{Caller, NoTasks};
    use gpc_core::{Creds, Gpc};

    type R = core::result::Result<(), gpc_core::Error>;

    #[test]
    fn rcu_defers_frees_past_readers() -> R {
        let gpc = Gpc::new(KernelHost::new(4, 2), &gpc_subsystems::all())?;
        let caller = Caller {
            creds: Creds::ROOT,
            pid: None,
            tasks: &NoTasks,
        };
        let hier = gpc.mount("none,name=t", &caller)?;
        gpc.mkdir(hier, "/a")?;
        let (q0, i0) = gpc.host().rcu.counts();
        assert_eq!(q0, i0);
        let guard = gpc.rcu_read_lock();
        gpc.rmdir(hier, "/a")?;
        let (q1, i1) = gpc.host().rcu.counts();
        assert!(q1 > q0, "rmdir queued no RCU callback");
        assert_eq!(i1, i0, "a callback ran inside a read-side section");
        drop(guard);
        let (q2, i2) = gpc.host().rcu.counts();
        assert_eq!((q2, i2), (q1, q1));
        gpc.umount(hier)?;
        Ok(())
    }
}
