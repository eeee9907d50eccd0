//! The machine a script drives.
//!
//! The interpreter knows nothing of how tasks, files or controllers are implemented: it
//! parses a line, expands variables and calls one method here. The std simulator
//! (`gpc-sim`) and the hobby kernel each implement this trait, so the same script prints
//! the same transcript on both.
//!
//! Every method acts with the credentials set by the last [`Machine::set_user`] call
//! (`None`: root with all capabilities, the default). Every failure is a Linux errno;
//! a machine that runs out of memory returns `ENOMEM` for that command, with its state
//! as it was, and never aborts.

use alloc::string::String;
use alloc::vec::Vec;
use gpc_core::{Error, Result};

/// A process id as the machine numbers them.
pub type Pid = u32;

/// The options of a `machine` command: each `None` where the command left it out, so
/// the machine keeps what it has (FORMAT.md's defaults, or what the host set).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MachineConfig<'a> {
    /// `cpus=N`: CPUs `0..N-1`.
    pub cpus: Option<u32>,
    /// `mems=M`: memory nodes `0..M-1`.
    pub mems: Option<u32>,
    /// `mem=BYTES`: physical memory.
    pub mem: Option<u64>,
    /// `swap=BYTES`: swap space.
    pub swap: Option<u64>,
    /// `v2=LIST`: the controllers the machine offers on the cgroup v2 hierarchy:
    /// `all`, `none`, or controller names separated by commas, as written (the machine
    /// checks it).
    pub v2: Option<&'a str>,
    /// `hugepages=SIZE:COUNT,...`: the huge page pools, as written (the machine checks
    /// it).
    pub hugepages: Option<&'a str>,
    /// `netdevs=NAME,...`: the network devices, as written (the machine checks it).
    pub netdevs: Option<&'a str>,
    /// `rdma=DEV,...`: the RDMA devices the host registers with the `rdma` controller
    /// (`rdmacg_register_device`), in that order, as written (the machine checks it).
    pub rdma: Option<&'a str>,
    /// `misc=RES:N,...`: the capacities of the `misc` controller's resources
    /// (`misc_cg_set_capacity`; `sev`, `sev_es`, `tdx`), as written.
    pub misc: Option<&'a str>,
    /// `disks=LIST`: the block devices, `MAJ:MIN[@BPS[/IOPS]]` separated by commas, as
    /// written (the machine checks it).
    pub disks: Option<&'a str>,
}

/// A command on a host resource a controller accounts or a v2 attachment (the
/// `rdma`, `misc` and `devprog` commands; doc/script-language.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostCommand<'a> {
    /// `rdma charge|uncharge TASK DEV RES [N]`: the task's RDMA group is charged N (1 if
    /// left out) of `hca_handle` or `hca_object` on device DEV (`rdmacg_try_charge`), or
    /// gives back that much of what it was charged.
    Rdma {
        /// The task.
        task: Pid,
        /// The device, as registered.
        dev: &'a str,
        /// `hca_handle` or `hca_object`.
        res: &'a str,
        /// How many.
        n: u64,
        /// Charge (`true`) or give back.
        charge: bool,
    },
    /// `misc charge|uncharge TASK RES N`: the task's misc group is charged N of `sev`,
    /// `sev_es` or `tdx` (`misc_cg_try_charge`), or gives it back.
    Misc {
        /// The task.
        task: Pid,
        /// The resource.
        res: &'a str,
        /// How much.
        n: u64,
        /// Charge (`true`) or give back.
        charge: bool,
    },
    /// `devprog attach PATH [multi|override] RULE...`: attach a rule-list device
    /// program to the v2 group at PATH (`BPF_PROG_ATTACH` of a
    /// `BPF_PROG_TYPE_CGROUP_DEVICE` program; `flags` is `BPF_F_*`).
    DevprogAttach {
        /// The group's directory.
        path: &'a str,
        /// `BPF_F_ALLOW_OVERRIDE` (1) or `BPF_F_ALLOW_MULTI` (2) or none.
        flags: u32,
        /// The rules, `allow|deny TYPE MAJOR:MINOR ACCESS`, in order.
        rules: &'a [&'a str],
    },
    /// `devprog detach PATH [ID]`: detach program ID (the one program when left out).
    DevprogDetach {
        /// The group's directory.
        path: &'a str,
        /// The program's id (`devprog list` shows them).
        id: Option<u32>,
    },
    /// `devprog list PATH`: the group's programs, one line `ID FLAGS` each (FLAGS
    /// `multi`, `override` or `none`), in attach order.
    DevprogList {
        /// The group's directory.
        path: &'a str,
    },
}

/// The machine a `.cgsh` script runs against.
pub trait Machine {
    /// `machine [cpus=N] [mems=M] [mem=BYTES] [swap=BYTES] [v2=LIST]`: reconfigure the
    /// (still untouched) machine; what `cfg` leaves out stays as it is. Valid results:
    /// `Ok`, `EINVAL` for a count of 0 or above the machine's limit, for a size or a v2
    /// list the machine cannot have, and for a machine already used; `ENOMEM`.
    fn configure(&mut self, cfg: &MachineConfig<'_>) -> Result;

    /// Run the following commands as `uid` (gid = uid, no capabilities), or as root
    /// with all capabilities for `None`.
    fn set_user(&mut self, uid: Option<u32>);

    /// `mount -t FSTYPE -o OPTIONS SOURCE DIR`. `options` is the raw option string (may
    /// be empty). Valid results: `Ok`, and Linux's mount errno (`EBUSY`, `EINVAL`,
    /// `ENOENT`, `ENODEV` for an unknown fstype, `EPERM` for a non-root caller, ...).
    ///
    /// The command is `mkdir -p DIR; mount ... DIR` as the script runner does it: a
    /// missing DIR is made first, by the runner (root, whatever `as UID` says; inside a
    /// cgroup mount that makes groups), with `mkdir -p`'s errors (`EEXIST` for a file in
    /// the way, `ENOTDIR`, ...), and it stays when the mount then fails. Then the mount
    /// itself, with the command's credentials. DIR may be any directory, a group
    /// directory of a mounted hierarchy too; mounting where the same hierarchy's root is
    /// already what DIR shows is `EBUSY`.
    fn mount(&mut self, fstype: &str, options: &str, source: &str, dir: &str) -> Result;

    /// `umount DIR`. Valid results: `Ok`, `EINVAL` (not a mount point), `ENOENT`,
    /// `EBUSY` (something is mounted on a directory inside it), `EPERM`.
    fn umount(&mut self, dir: &str) -> Result;

    /// `mkdir [-p] PATH`. Valid results: `Ok`, `EEXIST`, `ENOENT`, `ENOTDIR`, `EACCES`,
    /// `EPERM`, `ENAMETOOLONG`, `EINVAL`, `EAGAIN`, `ENOMEM`.
    fn mkdir(&mut self, path: &str, parents: bool) -> Result;

    /// `rmdir PATH`. Valid results: `Ok`, `EBUSY`, `ENOENT`, `ENOTDIR`, `EINVAL`, `EACCES`.
    fn rmdir(&mut self, path: &str) -> Result;

    /// One `write(2)` of `data` to the file at `path` (opened for writing first: mode and
    /// ownership are checked then). Valid results: `Ok` or the errno of the open or write.
    fn write(&mut self, path: &str, data: &[u8]) -> Result;

    /// The whole contents of the file at `path`, as `cat` would print them.
    fn read(&mut self, path: &str) -> Result<Vec<u8>>;

    /// The entries of the directory at `path` (any order: the interpreter sorts them).
    fn list(&mut self, path: &str) -> Result<Vec<String>>;

    /// `chown UID[:GID] PATH`, as chown(2): an id of 4294967295 (`(uid_t)-1`) and a
    /// missing GID leave that id unchanged (and unchecked).
    fn chown(&mut self, uid: u32, gid: Option<u32>, path: &str) -> Result;

    /// `spawn`: a new process, child of init. Returns its pid.
    fn spawn(&mut self) -> Result<Pid>;

    /// `fork PARENT`: the task `parent` forks a new process. Returns the child's pid.
    fn fork(&mut self, parent: Pid) -> Result<Pid>;

    /// `thread PARENT`: a new thread in `parent`'s thread group. Returns its thread id.
    fn thread(&mut self, parent: Pid) -> Result<Pid>;

    /// `exit TASK`: the task exits and is reaped (the whole thread group for a leader).
    fn exit(&mut self, task: Pid) -> Result;

    /// `run MS`: advance the simulated clock by MS milliseconds. A length that is no
    /// `u64` of nanoseconds (MS above 18,446,744,073,709) is `EINVAL`; one that would
    /// take the clock (nanoseconds since boot, a `u64`) past its end is `EOVERFLOW`.
    ///
    /// The work of one `run` is bounded (the simulator's `sched::WORK_BUDGET`, one to three
    /// seconds of CPU time): a run whose exact simulation needs more, such as one over
    /// 10^9 ms with CPU bandwidth periods that bind and never repeat together (1.001,
    /// 1.003 and 1.007 ms), is `E2BIG` ("argument list too long"); the same time split into
    /// shorter runs works. Steady states, and periods whose quota cannot bind, cost the
    /// same however long the run, so most long runs are never refused.
    ///
    /// Every error leaves the clock and everything else as it was.
    fn run(&mut self, ms: u64) -> Result;

    /// A command starts: the work its `run`s may do together starts anew. A command that
    /// advances time in steps (`sample`, `top`) shares one `run`'s bound among all its
    /// steps, so that its cost is bounded by one command's, not by its number of steps
    /// times a run's. The default does nothing (a machine whose `run` costs nothing to
    /// bound).
    fn begin_command(&mut self) {}

    /// `busy TASK` (`true`) / `idle TASK` (`false`).
    fn set_busy(&mut self, task: Pid, busy: bool) -> Result;

    /// `alloc TASK BYTES` (`charge = true`) / `free TASK BYTES` (`false`).
    fn memory(&mut self, task: Pid, bytes: u64, charge: bool) -> Result;

    /// `readfile TASK FILE BYTES`: the task reads `bytes` of the file named `file` (any
    /// name; not a path of the machine's filesystem) through the page cache. The memory
    /// behaviour is the machine's (pages not yet cached are charged to the task's memory
    /// group; cached pages read again become active). Valid results: `Ok`, `ESRCH`,
    /// `ENOMEM` (the charge could not be made room for). The default (a machine without
    /// a page cache): `EOPNOTSUPP`.
    fn read_file(&mut self, task: Pid, file: &str, bytes: u64) -> Result {
        let _ = (task, file, bytes);
        Err(Error::EOPNOTSUPP)
    }

    /// `writefile TASK FILE BYTES`: the task writes `bytes` of the file named `file`;
    /// the pages written are dirty until written back. Valid results and default as for
    /// [`Machine::read_file`].
    fn write_file(&mut self, task: Pid, file: &str, bytes: u64) -> Result {
        let _ = (task, file, bytes);
        Err(Error::EOPNOTSUPP)
    }

    /// `io TASK MAJ:MIN read|write BYTES`: the task issues `bytes` of I/O to the block
    /// device and waits (state `D`) until `run` has completed it at the rate the device
    /// and the task's io group allow. Valid results: `Ok`, `ESRCH`, `ENXIO` (no such
    /// disk), `EPERM` (the devices controller denies it), `EBUSY` (the task already
    /// waits for I/O), `ENOMEM`. The default (a machine without block devices): `ENXIO`.
    fn block_io(&mut self, task: Pid, major: u32, minor: u32, write: bool, bytes: u64) -> Result {
        let _ = (task, major, minor, write, bytes);
        Err(Error::ENXIO)
    }

    /// `open TASK TYPE MAJOR:MINOR ACCESS`; `dev_type` is `b'c'` or `b'b'`, `major` and
    /// `minor` are numbers, `access` is a non-empty subset of `"rwm"`.
    fn open_device(
        &mut self,
        task: Pid,
        dev_type: u8,
        major: u32,
        minor: u32,
        access: &str,
    ) -> Result;

    /// A [`HostCommand`]: `rdma`, `misc`, `devprog`. Returns what the command prints
    /// (only `devprog list` prints). Valid results: `Ok`, and the errno of the Linux call
    /// each names (`EAGAIN` for an `rdma` charge over a limit, `EBUSY` for a `misc` one,
    /// `EINVAL` for an unknown resource or more given back than held, `ENODEV` for an
    /// unregistered RDMA device, the attach errnos of kernel/bpf/cgroup.c), `ESRCH`,
    /// `ENOMEM`. The default (a machine without these): `EOPNOTSUPP`.
    fn host_command(&mut self, cmd: &HostCommand<'_>) -> Result<Vec<u8>> {
        let _ = cmd;
        Err(Error::EOPNOTSUPP)
    }

    /// `unshare TASK`.
    fn unshare(&mut self, task: Pid) -> Result;

    /// `hugealloc TASK SIZE COUNT` (`alloc = true`) / `hugefree TASK SIZE COUNT`: the
    /// task's process maps (`mmap(MAP_HUGETLB)` and `MADV_POPULATE_WRITE`) or unmaps
    /// `count` huge pages of `size` (`"2MB"`, `"1GB"`), charged to its hugetlb group.
    /// Valid results: `Ok`, `ESRCH`, `EINVAL` (an unknown size, a count of 0, freeing
    /// more than the process maps), `ENOMEM` (a reservation refused: the hugetlb
    /// `rsvd` limit, or the pool has too few free pages), `EFAULT` (a fault refused by
    /// the hugetlb limit: nothing stays mapped). The default (a machine without huge
    /// pages): `EOPNOTSUPP`.
    fn huge_pages(&mut self, task: Pid, size: &str, count: u64, alloc: bool) -> Result {
        let _ = (task, size, count, alloc);
        Err(Error::EOPNOTSUPP)
    }

    /// `netprio TASK`: one `DEV PRIO` line per network device, each ending in `\n`: the
    /// priority the task's packets get on that device (its `net_prio` group's
    /// `ifpriomap`). Valid results: `Ok`, `ESRCH`. The default (a machine without
    /// network devices): `EOPNOTSUPP`.
    fn netprio(&mut self, task: Pid) -> Result<Vec<u8>> {
        let _ = task;
        Err(Error::EOPNOTSUPP)
    }

    /// `perf PATH`: the `task-clock` count of a `perf_event` cgroup event of the group
    /// at `path` (`perf stat -e task-clock -G`), as one line `task-clock NS\n`. Valid
    /// results: `Ok`, the path's errors, `EBADF` (not a cgroup directory), `ENOENT`
    /// (a hierarchy without `perf_event`). The default: `EOPNOTSUPP`.
    fn perf(&mut self, path: &str) -> Result<Vec<u8>> {
        let _ = path;
        Err(Error::EOPNOTSUPP)
    }

    /// `unshare -C TASK`: the task (that thread) unshares its cgroup namespace; its
    /// groups now, in every hierarchy, are the new namespace's root. Valid results: `Ok`,
    /// `ESRCH`, `EPERM` (no `CAP_SYS_ADMIN`: under `as`), `ENOMEM`. The default (a machine
    /// without namespaces): `EOPNOTSUPP`.
    fn unshare_cgroup(&mut self, task: Pid) -> Result {
        let _ = task;
        Err(Error::EOPNOTSUPP)
    }

    /// `clone PARENT VAR DIR`: clone3 with `CLONE_INTO_CGROUP`: `parent` (that thread)
    /// makes a new process that starts in the v2 group at `dir`. Returns its pid. Valid
    /// results: `Ok`, `ESRCH` (no such parent), `ENOENT`/`ENOTDIR`/`EACCES` (opening
    /// `dir` `O_PATH|O_DIRECTORY`), `EBADF` (no v2 group there), and the move's errors
    /// (`EACCES`, `EBUSY`, `EOPNOTSUPP`, `ENOENT` with nsdelegate), `EAGAIN`, `ENOMEM`.
    /// The default (a machine without cgroup v2): `EOPNOTSUPP`.
    fn clone_into(&mut self, parent: Pid, dir: &str) -> Result<Pid> {
        let _ = (parent, dir);
        Err(Error::EOPNOTSUPP)
    }

    /// `in VAR COMMAND`: run the following commands (`cat`, `mount`) as task `task`
    /// (that thread, in its namespaces) does, until called with `None`. Valid results:
    /// `Ok`, `ESRCH` for a task that does not exist. The default (a machine whose
    /// commands run in no task): `EOPNOTSUPP` for a task, `Ok` for `None`.
    fn set_task(&mut self, task: Option<Pid>) -> Result {
        match task {
            Some(_) => Err(Error::EOPNOTSUPP),
            None => Ok(()),
        }
    }

    /// `cd PATH`: whether the caller may make `path` its working directory, as chdir(2)
    /// decides: `Ok`, `ENOENT`, `ENOTDIR` (a file, or a file on the way), `EACCES` (no
    /// search permission on the directory or on the way), `ENAMETOOLONG`.
    ///
    /// The default asks [`Machine::is_dir`] and so cannot tell `EACCES`; a machine with
    /// permissions overrides it.
    fn chdir(&mut self, path: &str) -> Result {
        if self.is_dir(path)? {
            Ok(())
        } else {
            Err(gpc_core::Error::ENOTDIR)
        }
    }

    /// Whether `path` is a directory (`Ok(false)`: a file), as stat(2) sees it: only
    /// search permission on the way is needed. `ENOENT` for nothing there. Pathname
    /// expansion, `tree` and `top` use it to tell groups from control files.
    ///
    /// The default lists the path (so it needs read permission); a machine that can
    /// stat overrides it.
    fn is_dir(&mut self, path: &str) -> Result<bool> {
        match self.list(path) {
            Ok(_) => Ok(true),
            Err(gpc_core::Error::ENOTDIR) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The directories where a cgroup hierarchy is mounted and visible (not covered by a
    /// later mount), oldest mount first: what `tree` and `top` show without a path. The
    /// default knows none.
    fn cgroup_mounts(&mut self) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    /// `ps`: the lines to print, each ending in `\n`.
    fn ps(&mut self) -> Result<Vec<u8>>;

    /// `releases`: the paths the release agent was called with since the last call, in
    /// order; the machine forgets them. `ENOMEM` (no memory for the list) forgets
    /// nothing: the next call returns them.
    fn take_releases(&mut self) -> Result<Vec<String>>;

    /// `watch PATH`: watch the file for modification (inotify `IN_MODIFY`). Valid
    /// results: `Ok`, `ENOENT`, `EACCES` (no read permission), `EISDIR`, `ENOMEM`. The
    /// default (a machine with no notification): `EOPNOTSUPP`.
    fn watch(&mut self, path: &str) -> Result {
        let _ = path;
        Err(Error::EOPNOTSUPP)
    }

    /// `events`: the watched paths notified since the last call, in the order FORMAT.md
    /// gives (each command's paths once each, bytewise; a path equal to the last one not
    /// yet taken is not queued again); the machine forgets them. The default: none.
    fn take_events(&mut self) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
}
