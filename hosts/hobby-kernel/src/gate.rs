//! Turning a heap that runs dry into `ENOMEM` for the command that finds it so.
//!
//! gpc-core and the controllers allocate fallibly and answer `ENOMEM` when the heap
//! refuses, leaving everything as it was. But not everything a command runs can fail
//! that way: gpc-machine's own bookkeeping and the interpreter grow `Vec`s, `String`s
//! and maps infallibly, and in a `panic = "abort"` kernel an infallible allocation that
//! fails stops the kernel. So the kernel does not wait for an allocation to fail: before
//! a command that may grow the machine's state runs, [`GatedMachine`] asks the heap
//! whether it is above its watermark ([`MemoryGate::admit`]), and if not, the command
//! fails with `ENOMEM` without running, leaving every structure as it was. A command
//! that was admitted may dig into the heap's reserve (see [`crate::heap`]) for what it
//! allocates in flight, so neither its fallible nor its infallible allocations are
//! refused while the reserve lasts; the interpreter, between machine calls, has a tier
//! of its own that machine calls cannot touch.
//!
//! This is Linux's shape: an ordinary allocation that would take a zone below its `min`
//! watermark fails (mm/page_alloc.c, `__zone_watermark_ok`), while callers that must
//! not fail (`__GFP_HIGH`, and `PF_MEMALLOC` tasks that are freeing memory) may use the
//! reserves below it. Commands that only release memory (`exit`, `rmdir`, `umount`,
//! `free`, `idle`, `releases`) are always admitted, like `PF_MEMALLOC`: refusing them
//! would keep the memory they free.

use alloc::string::String;
use alloc::vec::Vec;

use gpc_core::{Error, Result};
use gpc_script::{Machine, MachineConfig, Pid};

/// The heap as the runner sees it.
pub trait MemoryGate {
    /// Whether a command that may grow the machine's state may start now.
    fn admit(&self) -> bool;
    /// A machine call begins (the interpreter's tier closes).
    fn enter_machine(&self);
    /// The machine call returned (the interpreter's tier opens again).
    fn leave_machine(&self);
}

/// A gate that admits everything (hosts whose allocator aborts anyway, and tests).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoGate;

impl MemoryGate for NoGate {
    fn admit(&self) -> bool {
        true
    }
    fn enter_machine(&self) {}
    fn leave_machine(&self) {}
}

impl MemoryGate for crate::heap::KernelHeap {
    fn admit(&self) -> bool {
        crate::heap::KernelHeap::admit(self)
    }
    fn enter_machine(&self) {
        crate::heap::KernelHeap::enter_machine(self);
    }
    fn leave_machine(&self) {
        crate::heap::KernelHeap::leave_machine(self);
    }
}

/// Whether a command must pass the gate.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Admission {
    /// It may grow the machine's state: only above the watermark.
    Gated,
    /// It only releases memory (or touches none): always.
    Always,
}

/// A [`Machine`] whose calls pass a [`MemoryGate`] (see the module documentation).
pub struct GatedMachine<'a, M: ?Sized> {
    machine: &'a mut M,
    gate: &'a dyn MemoryGate,
    refused: usize,
}

impl<'a, M: Machine + ?Sized> GatedMachine<'a, M> {
    /// `machine` behind `gate`.
    pub fn new(machine: &'a mut M, gate: &'a dyn MemoryGate) -> Self {
        GatedMachine {
            machine,
            gate,
            refused: 0,
        }
    }

    /// Commands refused with `ENOMEM` by the gate so far.
    pub fn refused(&self) -> usize {
        self.refused
    }

    fn call<T>(&mut self, admission: Admission, f: impl FnOnce(&mut M) -> Result<T>) -> Result<T> {
        if admission == Admission::Gated && !self.gate.admit() {
            self.refused = self.refused.saturating_add(1);
            return Err(Error::ENOMEM);
        }
        self.gate.enter_machine();
        let result = f(self.machine);
        self.gate.leave_machine();
        result
    }
}

use Admission::{Always, Gated};

impl<M: Machine + ?Sized> Machine for GatedMachine<'_, M> {
    fn configure(&mut self, cfg: &MachineConfig<'_>) -> Result {
        self.call(Gated, |m| m.configure(cfg))
    }

    fn set_user(&mut self, uid: Option<u32>) {
        self.machine.set_user(uid);
    }

    fn mount(&mut self, fstype: &str, options: &str, source: &str, dir: &str) -> Result {
        self.call(Gated, |m| m.mount(fstype, options, source, dir))
    }

    fn umount(&mut self, dir: &str) -> Result {
        self.call(Always, |m| m.umount(dir))
    }

    fn mkdir(&mut self, path: &str, parents: bool) -> Result {
        self.call(Gated, |m| m.mkdir(path, parents))
    }

    fn rmdir(&mut self, path: &str) -> Result {
        self.call(Always, |m| m.rmdir(path))
    }

    fn write(&mut self, path: &str, data: &[u8]) -> Result {
        self.call(Gated, |m| m.write(path, data))
    }

    fn read(&mut self, path: &str) -> Result<Vec<u8>> {
        self.call(Gated, |m| m.read(path))
    }

    fn list(&mut self, path: &str) -> Result<Vec<String>> {
        self.call(Gated, |m| m.list(path))
    }

    fn chown(&mut self, uid: u32, gid: Option<u32>, path: &str) -> Result {
        self.call(Gated, |m| m.chown(uid, gid, path))
    }

    fn spawn(&mut self) -> Result<Pid> {
        self.call(Gated, |m| m.spawn())
    }

    fn fork(&mut self, parent: Pid) -> Result<Pid> {
        self.call(Gated, |m| m.fork(parent))
    }

    fn thread(&mut self, parent: Pid) -> Result<Pid> {
        self.call(Gated, |m| m.thread(parent))
    }

    fn exit(&mut self, task: Pid) -> Result {
        self.call(Always, |m| m.exit(task))
    }

    fn begin_command(&mut self) {
        self.machine.begin_command();
    }

    fn run(&mut self, ms: u64) -> Result {
        self.call(Gated, |m| m.run(ms))
    }

    fn set_busy(&mut self, task: Pid, busy: bool) -> Result {
        let admission = if busy { Gated } else { Always };
        self.call(admission, |m| m.set_busy(task, busy))
    }

    fn memory(&mut self, task: Pid, bytes: u64, charge: bool) -> Result {
        let admission = if charge { Gated } else { Always };
        self.call(admission, |m| m.memory(task, bytes, charge))
    }

    fn read_file(&mut self, task: Pid, file: &str, bytes: u64) -> Result {
        self.call(Gated, |m| m.read_file(task, file, bytes))
    }

    fn write_file(&mut self, task: Pid, file: &str, bytes: u64) -> Result {
        self.call(Gated, |m| m.write_file(task, file, bytes))
    }

    fn block_io(&mut self, task: Pid, major: u32, minor: u32, write: bool, bytes: u64) -> Result {
        self.call(Gated, |m| m.block_io(task, major, minor, write, bytes))
    }

    fn open_device(
        &mut self,
        task: Pid,
        dev_type: u8,
        major: u32,
        minor: u32,
        access: &str,
    ) -> Result {
        self.call(Gated, |m| {
            m.open_device(task, dev_type, major, minor, access)
        })
    }

    fn host_command(&mut self, cmd: &gpc_script::HostCommand<'_>) -> Result<Vec<u8>> {
        self.call(Gated, |m| m.host_command(cmd))
    }

    fn unshare(&mut self, task: Pid) -> Result {
        self.call(Gated, |m| m.unshare(task))
    }

    fn huge_pages(&mut self, task: Pid, size: &str, count: u64, alloc: bool) -> Result {
        let admission = if alloc { Gated } else { Always };
        self.call(admission, |m| m.huge_pages(task, size, count, alloc))
    }

    fn netprio(&mut self, task: Pid) -> Result<Vec<u8>> {
        self.call(Gated, |m| m.netprio(task))
    }

    fn perf(&mut self, path: &str) -> Result<Vec<u8>> {
        self.call(Gated, |m| m.perf(path))
    }

    fn unshare_cgroup(&mut self, task: Pid) -> Result {
        self.call(Gated, |m| m.unshare_cgroup(task))
    }

    fn clone_into(&mut self, parent: Pid, dir: &str) -> Result<Pid> {
        self.call(Gated, |m| m.clone_into(parent, dir))
    }

    fn set_task(&mut self, task: Option<Pid>) -> Result {
        // Never refused: the interpreter's reset (`None`) after an `in` command must
        // take effect, as `set_user`'s does.
        self.call(Always, |m| m.set_task(task))
    }

    fn ps(&mut self) -> Result<Vec<u8>> {
        self.call(Gated, |m| m.ps())
    }

    fn chdir(&mut self, path: &str) -> Result {
        self.call(Gated, |m| m.chdir(path))
    }

    fn is_dir(&mut self, path: &str) -> Result<bool> {
        self.call(Gated, |m| m.is_dir(path))
    }

    fn cgroup_mounts(&mut self) -> Result<Vec<String>> {
        self.call(Gated, |m| m.cgroup_mounts())
    }

    fn take_releases(&mut self) -> Result<Vec<String>> {
        self.gate.enter_machine();
        let releases = self.machine.take_releases();
        self.gate.leave_machine();
        releases
    }

    fn watch(&mut self, path: &str) -> Result {
        self.gate.enter_machine();
        let r = self.machine.watch(path);
        self.gate.leave_machine();
        r
    }

    fn take_events(&mut self) -> Result<Vec<String>> {
        self.gate.enter_machine();
        let events = self.machine.take_events();
        self.gate.leave_machine();
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::KernelMachine;
    use core::cell::Cell;

    /// A gate that admits while `open`, and counts machine calls.
    #[derive(Default)]
    struct Fake {
        open: Cell<bool>,
        depth: Cell<i32>,
        calls: Cell<u32>,
    }

    impl MemoryGate for Fake {
        fn admit(&self) -> bool {
            self.open.get()
        }
        fn enter_machine(&self) {
            assert_eq!(self.depth.replace(1), 0, "machine calls nest");
            self.calls.set(self.calls.get() + 1);
        }
        fn leave_machine(&self) {
            assert_eq!(
                self.depth.replace(0),
                1,
                "left a machine call never entered"
            );
        }
    }

    #[test]
    fn a_closed_gate_refuses_what_grows_and_admits_what_frees() -> Result {
        let mut machine = KernelMachine::new()?;
        let gate = Fake::default();
        gate.open.set(true);
        let mut m = GatedMachine::new(&mut machine, &gate);
        m.mount("cgroup", "pids", "none", "/cg")?;
        m.mkdir("/cg/a", false)?;
        let a = m.spawn()?;
        let calls = gate.calls.get();

        gate.open.set(false);
        assert_eq!(m.mkdir("/cg/b", false), Err(Error::ENOMEM));
        assert_eq!(m.spawn(), Err(Error::ENOMEM));
        assert_eq!(m.write("/cg/a/tasks", b"2\n"), Err(Error::ENOMEM));
        assert_eq!(m.read("/cg/a/tasks"), Err(Error::ENOMEM));
        assert_eq!(m.memory(a, 4096, true), Err(Error::ENOMEM));
        assert_eq!(m.refused(), 5);
        assert_eq!(
            gate.calls.get(),
            calls,
            "a refused command reached the machine"
        );
        // Refused commands changed nothing; releasing ones still run.
        m.rmdir("/cg/a")?;
        m.exit(a)?;
        m.set_busy(1, false)?;
        assert!(m.take_releases()?.is_empty());
        m.umount("/cg")?;
        assert_eq!(gate.calls.get(), calls + 5);
        assert_eq!(gate.depth.get(), 0);

        gate.open.set(true);
        assert_eq!(m.list("/")?.len(), 2);
        Ok(())
    }
}
