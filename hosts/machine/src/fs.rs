//! The simulated machine's file system: the small part of Linux's VFS that a cgroup v1
//! walkthrough touches.
//!
//! * A tree of plain directories rooted at `/` (made by `mkdir` outside any mount, or by
//!   `mount` for a missing mount point), mode 0755, owned by whoever made them.
//! * Mounts: any directory may carry a stack of cgroup mounts — a plain directory, or a
//!   group directory inside another mount (of another hierarchy or of the same one); the
//!   newest hides what is below it, `umount` drops it. A mount on a group directory sits
//!   on that directory as reached through one mount (Linux: a `(vfsmount, dentry)`
//!   pair), so other mounts of the same hierarchy still show the directory itself; but
//!   the directory can be removed through none of them while something is mounted on it
//!   (`EBUSY`, `vfs_rmdir`'s `is_local_mountpoint`), and a mount with mounts inside it
//!   cannot be unmounted (`EBUSY`, `propagate_mount_busy`). One hierarchy may be mounted
//!   at several places, but not twice on the same place: a mount whose target already
//!   shows the root of a mount of that hierarchy is `EBUSY` (`do_add_mount`: "Refuse the
//!   same filesystem on the same mount point"). The simulator does not mount on
//!   `/proc/PID` directories (`EOPNOTSUPP`).
//! * `/proc`, read-only: `/proc/cgroups`, `/proc/mounts`, `/proc/PID/cgroup` and
//!   `/proc/PID/mounts` for every task, `/proc/pressure/{cpu,io,memory}` (thread ids too; `ls /proc` lists processes only,
//!   as Linux does). Every task shares the one mount namespace, so every `mounts` file
//!   reads the same: `proc` first (there from boot), then the cgroup mounts in the
//!   order they were made (Linux lists a namespace's mounts by mount id). The plain
//!   tree `/` is not a file system of its own here and has no line. There is no
//!   `/proc/self`: a script's commands run in no task of the machine.
//! * Inside a mount, everything comes from gpc-core (`Gpc::stat`, `list`, `read`, ...);
//!   only ownership lives here: the hierarchy root is 0555 root:root (`kernfs_create_root`),
//!   a new group directory 0755 and its files (with core's modes) belong to the user who
//!   made it, and `chown` changes one entry (no recursion).
//!
//! Path rules (Linux `fs/namei.c`): the whole path must be shorter than `PATH_MAX` (4096
//! bytes, the NUL included) or `ENAMETOOLONG`; relative paths start at `/` (the
//! interpreter joins its `cd` directory in front of a relative path first); `.` and `..` are resolved while walking (`..` of a mount's root
//! leaves the mount, `..` of `/` is `/`); a missing component is `ENOENT`, a file used
//! as a directory `ENOTDIR`, a trailing `/` demands a directory. Plain directories limit a
//! name to `NAME_MAX` (255) as `simple_lookup` does; cgroupfs has no per-name limit
//! (kernfs checks none). Every directory walked through needs search (`x`) permission.
//!
//! Allocation is fallible everywhere (the hobby kernel's allocator returns null): every
//! change reserves what it needs first, so `ENOMEM` leaves the file system as it was. The
//! maps are hashbrown tables for that reason (`try_reserve(1)` before an insert makes the
//! insert allocation-free; `BTreeMap` has no such guarantee).
//!
//! Permissions are `generic_permission`: the owner's bits for the owner, the group's for
//! the group, the others' otherwise; `CAP_DAC_OVERRIDE` (root, not `as 0`) passes
//! everything but executing a file without any `x` bit.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write as _;
use hashbrown::HashMap;

use gpc_core::host::alloc::{try_push, try_string, Gfp};
use gpc_core::{Creds, Error, Gpc, HierarchyId, Host, Node, Pid, Result, TaskRef, TaskTable};

use crate::tasks::TaskList;

/// `PATH_MAX`: a path of this many bytes or more is `ENAMETOOLONG` (the count includes
/// the terminating NUL, so 4095 bytes is the longest path).
pub const PATH_MAX: usize = 4096;
/// `NAME_MAX`: the longest name a plain directory takes.
pub const NAME_MAX: usize = 255;

/// Read permission bit.
pub const MAY_READ: u16 = 4;
/// Write permission bit.
pub const MAY_WRITE: u16 = 2;
/// Search/execute permission bit.
pub const MAY_EXEC: u16 = 1;

/// Mode of a directory made by `mkdir` (0777 & ~umask 022).
pub const DIR_MODE: u16 = 0o755;
/// Mode of a hierarchy's root directory and of `/proc` directories.
pub const ROOT_DIR_MODE: u16 = 0o555;
/// Mode of `/proc` files.
pub const PROC_FILE_MODE: u16 = 0o444;

/// A plain directory's id.
pub type NodeId = u64;
/// A mount's id.
pub type MountId = u64;

/// The id of `/`.
pub const ROOT_NODE: NodeId = 0;

/// An owner: user and group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Owner {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

impl Owner {
    /// root:root.
    pub const ROOT: Owner = Owner { uid: 0, gid: 0 };

    /// The owner of what `creds` creates (fsuid, fsgid).
    pub fn of(creds: &Creds) -> Owner {
        Owner {
            uid: creds.euid,
            gid: creds.egid,
        }
    }
}

/// Linux `generic_permission` for `want` (a mask of [`MAY_READ`], [`MAY_WRITE`],
/// [`MAY_EXEC`]).
pub fn permitted(creds: &Creds, owner: Owner, mode: u16, want: u16, is_dir: bool) -> bool {
    let bits = if creds.euid == owner.uid {
        mode >> 6
    } else if creds.egid == owner.gid {
        mode >> 3
    } else {
        mode
    } & 7;
    if bits & want == want {
        return true;
    }
    if creds.cap_dac_override {
        // CAP_DAC_OVERRIDE: anything on a directory; on a file anything but executing
        // one that nobody may execute.
        return is_dir || want & MAY_EXEC == 0 || mode & 0o111 != 0;
    }
    false
}

/// `CAP_CHOWN`: the script's root has every capability, `as UID` none.
pub fn may_chown_any(creds: &Creds) -> bool {
    creds.cap_sys_admin && creds.cap_dac_override
}

/// The id that chown(2) takes as "leave it as it is": `(uid_t)-1`, `(gid_t)-1`.
pub const KEEP_ID: u32 = u32::MAX;

/// Linux `setattr_prepare` (fs/attr.c) with `chown_ok` and `chgrp_ok` for a caller
/// without `CAP_CHOWN`: the owner may only "change" the owner to itself and the group to
/// its own group or the current one. An id that does not change (`None`: chown(2) got
/// -1, so `chown_common` sets no `ATTR_UID` / `ATTR_GID`) is not checked at all.
pub fn chown_permitted(creds: &Creds, cur: Owner, uid: Option<u32>, gid: Option<u32>) -> bool {
    if may_chown_any(creds) {
        return true;
    }
    let owner = creds.euid == cur.uid;
    let uid_ok = match uid {
        None => true,
        Some(u) => owner && u == cur.uid,
    };
    let gid_ok = match gid {
        None => true,
        Some(g) => owner && (g == creds.egid || g == cur.gid),
    };
    uid_ok && gid_ok
}

/// A path split into components.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitPath<'a> {
    /// The non-empty components, `.` and `..` included, in order.
    pub comps: Vec<&'a str>,
    /// The path ends in `/` (and is not just `/`).
    pub trailing_slash: bool,
}

/// Splits `path` (Linux `getname` + `link_path_walk` tokenising): `ENOENT` for an empty
/// path, `ENAMETOOLONG` for `PATH_MAX` bytes or more.
///
/// # Errors
///
/// Those, and `ENOMEM`.
pub fn split_path(path: &str) -> Result<SplitPath<'_>> {
    if path.is_empty() {
        return Err(Error::ENOENT);
    }
    if path.len() >= PATH_MAX {
        return Err(Error::ENAMETOOLONG);
    }
    let components = || path.split('/').filter(|c| !c.is_empty());
    let mut comps: Vec<&str> = Vec::new();
    comps.try_reserve_exact(components().count())?;
    comps.extend(components());
    let trailing_slash = path.ends_with('/') && !comps.is_empty();
    Ok(SplitPath {
        comps,
        trailing_slash,
    })
}

/// `/proc` entries that are files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcFile {
    /// `/proc/cgroups`.
    Cgroups,
    /// `/proc/PID/cgroup`.
    PidCgroup(Pid),
    /// `/proc/mounts` and `/proc/PID/mounts` (one mount namespace: the same file).
    Mounts,
    /// `/proc/meminfo`.
    Meminfo,
    /// `/proc/sys/vm/drop_caches`.
    DropCaches,
    /// `/proc/pressure/{io,memory,cpu}` (Linux `psi_proc_init`: mode 0666, writing
    /// needs `CAP_SYS_RESOURCE` at open).
    Pressure(gpc_core::psi::PsiRes),
}

/// A directory of procfs below `/proc` that is not a process's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcDir {
    /// `/proc/sys`.
    Sys,
    /// `/proc/sys/vm`.
    SysVm,
    /// `/proc/pressure`.
    Pressure,
}

/// Where a path leads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Loc {
    /// A plain directory (not hidden by a mount).
    Plain(NodeId),
    /// A directory or file inside a cgroup mount.
    Cg {
        /// The mount it was reached through.
        mount: MountId,
        /// Its hierarchy.
        hier: HierarchyId,
        /// The path inside the hierarchy: `/` for the root, `/a/b`.
        path: String,
        /// The container id of the directory, or of the directory holding the file.
        dir_id: u64,
        /// For a control file, its node: reads and writes go to it without gpc walking
        /// the path again.
        file: Option<Node>,
    },
    /// `/proc`.
    ProcRoot,
    /// `/proc/PID`.
    ProcPid(Pid),
    /// `/proc/sys`, `/proc/sys/vm`.
    ProcSub(ProcDir),
    /// A `/proc` file.
    Proc(ProcFile),
}

impl Loc {
    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        match self {
            Loc::Plain(_) | Loc::ProcRoot | Loc::ProcPid(_) | Loc::ProcSub(_) => true,
            Loc::Cg { file, .. } => file.is_none(),
            Loc::Proc(_) => false,
        }
    }
}

/// What `node`, reached through `mount` at `path`, is as a [`Loc`].
fn cg_node_loc(mount: MountId, path: String, node: Node) -> Loc {
    Loc::Cg {
        mount,
        hier: node.hierarchy(),
        path,
        dir_id: node.container_id(),
        file: (!node.is_dir()).then_some(node),
    }
}

/// A plain directory.
#[derive(Clone, Debug)]
struct PlainDir {
    parent: NodeId,
    /// Its name in the parent (`""` for `/`), so that `rmdir` unlinks it by name.
    name: String,
    /// By name, hashed: a lookup or an unlink costs the same among 10 or 100,000
    /// siblings (Linux's dcache is a hash table too).
    children: HashMap<String, NodeId>,
    owner: Owner,
    mode: u16,
    /// Mounts on this directory, oldest first; the last one is visible.
    mounts: Vec<MountId>,
    /// This is `/proc`.
    proc_root: bool,
}

impl PlainDir {
    fn new(parent: NodeId, name: String, owner: Owner) -> Self {
        PlainDir {
            parent,
            name,
            children: HashMap::new(),
            owner,
            mode: DIR_MODE,
            mounts: Vec::new(),
            proc_root: false,
        }
    }
}

/// The directory a mount covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum MountPoint {
    /// A plain directory.
    Plain(NodeId),
    /// A group directory: container `dir`, as reached through mount `parent` (never the
    /// root of `parent`: a mount on a mount's root goes on that mount's own point).
    Group {
        /// The container id of the directory.
        dir: u64,
        /// The mount it was reached through.
        parent: MountId,
    },
}

/// A mount of a hierarchy on a directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mount {
    /// The hierarchy.
    pub hier: HierarchyId,
    /// The directory it is mounted on.
    pub mountpoint: MountPoint,
    /// The container id of the mount's root when that is not the hierarchy's root: a
    /// cgroup2 mount made inside a cgroup namespace shows the namespace's root group
    /// (Linux `cgroup_do_get_tree`: the mount's root dentry is that group's directory).
    pub root: Option<u64>,
}

/// The mounts on one group directory (a [`MountPoint::Group`]).
#[derive(Clone, Debug)]
struct GroupPoint {
    /// The hierarchy of the parent mount, and the directory's path in it (for `..`).
    hier: HierarchyId,
    path: String,
    /// Oldest first; the last one is visible.
    mounts: Vec<MountId>,
}

/// A group directory's first mount record, with room for the mount.
fn new_group_point(hier: HierarchyId, path: &str) -> Result<GroupPoint> {
    let mut mounts = Vec::new();
    mounts.try_reserve_exact(1)?;
    Ok(GroupPoint {
        hier,
        path: try_string(path, Gfp::KERNEL)?,
        mounts,
    })
}

/// What [`Vfs::prepare_mount`] set aside for one mount.
#[derive(Debug, Default)]
pub struct MountRoom {
    /// The record of a group directory that has no mount on it yet.
    group_point: Option<GroupPoint>,
}

/// Ownership inside cgroup mounts, per container id.
#[derive(Clone, Debug)]
struct CgOwners {
    /// The directory's owner.
    dir: Owner,
    /// Who made the container: the default owner of its files.
    creator: Owner,
    /// Files whose owner was changed.
    files: HashMap<String, Owner>,
}

/// The machine's tasks as gpc's callers name them, with the VFS's answer to the v2
/// delegation question: may the writer write a group's `cgroup.procs` (its owner, after
/// any `chown`, and mode 0644).
pub struct VfsTasks<'a> {
    /// The task table.
    pub tasks: &'a TaskList,
    /// Ownership of the groups' files.
    pub vfs: &'a Vfs,
    /// The machine's pages, for writes that reclaim.
    pub pages: Option<&'a dyn gpc_core::host::reclaim::PageReclaim>,
    /// The machine's network devices (`net_prio.ifpriomap`).
    pub netdevs: Option<&'a dyn gpc_core::NetDevices>,
}

impl TaskTable for VfsTasks<'_> {
    fn with_task(&self, pid: Pid, f: &mut dyn FnMut(&TaskRef<'_>)) -> bool {
        self.tasks.with_task(pid, f)
    }

    fn with_thread_group(
        &self,
        tgid: Pid,
        f: &mut dyn FnMut(&mut dyn Iterator<Item = TaskRef<'_>>),
    ) -> bool {
        self.tasks.with_thread_group(tgid, f)
    }

    fn may_write_procs(&self, creds: &Creds, container: u64) -> bool {
        self.vfs.may_write_procs(creds, container)
    }

    fn page_reclaim(&self) -> Option<&dyn gpc_core::host::reclaim::PageReclaim> {
        self.pages
    }

    fn net_devices(&self) -> Option<&dyn gpc_core::NetDevices> {
        self.netdevs
    }
}

impl Vfs {
    /// Whether `creds` may write the `cgroup.procs` of the group with id `container`
    /// (its owner, after any `chown`, and mode 0644).
    pub fn may_write_procs(&self, creds: &Creds, container: u64) -> bool {
        let owner = self.owners.get(&container).map_or(Owner::ROOT, |o| {
            o.files.get("cgroup.procs").copied().unwrap_or(o.creator)
        });
        permitted(creds, owner, 0o644, MAY_WRITE, false)
    }
}

/// The VFS's answer to the v2 delegation question alone, for a caller that moves no
/// existing task (clone3 into a group): [`VfsTasks`] without the task table, which the
/// fork itself is changing.
pub struct VfsPerms<'a> {
    /// Ownership of the groups' files.
    pub vfs: &'a Vfs,
}

impl TaskTable for VfsPerms<'_> {
    fn with_task(&self, _pid: Pid, _f: &mut dyn FnMut(&TaskRef<'_>)) -> bool {
        false
    }

    fn with_thread_group(
        &self,
        _tgid: Pid,
        _f: &mut dyn FnMut(&mut dyn Iterator<Item = TaskRef<'_>>),
    ) -> bool {
        false
    }

    fn may_write_procs(&self, creds: &Creds, container: u64) -> bool {
        self.vfs.may_write_procs(creds, container)
    }
}

/// Everything a gpc walk needs besides the VFS itself.
pub struct Env<'a, H: Host> {
    /// The cgroup core.
    pub gpc: &'a Gpc<H>,
    /// The tasks (for `/proc`).
    pub tasks: &'a TaskList,
    /// The task the command runs as (`in VAR`), whose `/proc/self` and
    /// `/proc/thread-self` these are; `None`: the script, which is no task (no such
    /// entries).
    pub current: Option<Pid>,
}

/// The file system state that is not gpc's.
#[derive(Clone, Debug)]
pub struct Vfs {
    /// Hashed by id: finding a directory costs the same however many there are.
    nodes: HashMap<NodeId, PlainDir>,
    next_node: NodeId,
    mounts: HashMap<MountId, Mount>,
    next_mount: MountId,
    /// Mounts on group directories, by (container id, parent mount).
    group_points: HashMap<(u64, MountId), GroupPoint>,
    /// How many entries of `group_points` each container has: `rmdir`'s question "is it
    /// covered through any mount" in O(1).
    covered: HashMap<u64, usize>,
    /// How many entries of `group_points` lie inside each mount: `umount`'s question "are
    /// there mounts inside it" in O(1).
    submounts: HashMap<MountId, usize>,
    owners: HashMap<u64, CgOwners>,
    /// The SOURCE each mount was made with (`/proc/mounts`' first field).
    sources: HashMap<MountId, String>,
}

impl Vfs {
    /// `/` with `/proc` in it.
    ///
    /// # Errors
    ///
    /// `ENOMEM`.
    pub fn new() -> Result<Self> {
        let mut root = PlainDir::new(ROOT_NODE, String::new(), Owner::ROOT);
        root.children.try_reserve(1)?;
        root.children.insert(try_string("proc", Gfp::KERNEL)?, 1);
        let mut proc_dir = PlainDir::new(ROOT_NODE, try_string("proc", Gfp::KERNEL)?, Owner::ROOT);
        proc_dir.mode = ROOT_DIR_MODE;
        proc_dir.proc_root = true;
        let mut nodes = HashMap::new();
        nodes.try_reserve(2)?;
        nodes.insert(ROOT_NODE, root);
        nodes.insert(1, proc_dir);
        Ok(Vfs {
            nodes,
            next_node: 2,
            mounts: HashMap::new(),
            next_mount: 1,
            group_points: HashMap::new(),
            covered: HashMap::new(),
            submounts: HashMap::new(),
            owners: HashMap::new(),
            sources: HashMap::new(),
        })
    }

    fn node(&self, id: NodeId) -> Result<&PlainDir> {
        self.nodes.get(&id).ok_or(Error::ENOENT)
    }

    /// The mount `id`.
    pub fn mount_info(&self, id: MountId) -> Option<Mount> {
        self.mounts.get(&id).copied()
    }

    /// Every mount, in no particular order (a mount's id tells its age: ids grow).
    pub fn mounts(&self) -> impl Iterator<Item = (MountId, Mount)> + '_ {
        self.mounts.iter().map(|(k, v)| (*k, *v))
    }

    /// Makes room to remember one more mount's SOURCE ([`Vfs::set_source`]).
    ///
    /// # Errors
    ///
    /// `ENOMEM`, changing nothing but capacity.
    pub fn reserve_source(&mut self) -> Result {
        self.sources.try_reserve(1)?;
        Ok(())
    }

    /// Remembers the SOURCE of mount `id`, in the room [`Vfs::reserve_source`] made.
    pub fn set_source(&mut self, id: MountId, source: String) {
        self.sources.insert(id, source);
    }

    /// The SOURCE mount `id` was made with.
    pub fn source(&self, id: MountId) -> &str {
        self.sources.get(&id).map_or("none", String::as_str)
    }

    /// The path of the directory mount `id` is mounted on, as text (`/cg`, `/cg/a/b` for
    /// a mount on a group directory). It says nothing of whether the mount is visible
    /// there: resolving the path tells (the shell's `tree` and `top` need only visible
    /// ones).
    ///
    /// # Errors
    ///
    /// `ENOENT` for a mount that is gone, `ENOMEM`.
    pub fn mount_dir_path(&self, id: MountId) -> Result<String> {
        // The pieces from the innermost out: group paths of the mounts on the way, then
        // the plain directories.
        let mut pieces: Vec<&str> = Vec::new();
        let mut cur = id;
        // A mount's parent is older than it, so the chain ends; the bound is a guard.
        for _ in 0..=self.mounts.len() {
            let mount = self.mounts.get(&cur).ok_or(Error::ENOENT)?;
            match mount.mountpoint {
                MountPoint::Plain(mut n) => {
                    for _ in 0..=self.nodes.len() {
                        if n == ROOT_NODE {
                            break;
                        }
                        let node = self.node(n)?;
                        try_push(&mut pieces, node.name.as_str(), Gfp::KERNEL)?;
                        n = node.parent;
                    }
                    let mut path = String::new();
                    for piece in pieces.iter().rev() {
                        let piece = piece.trim_start_matches('/');
                        if piece.is_empty() {
                            continue;
                        }
                        path.try_reserve(piece.len() + 1)?;
                        path.push('/');
                        path.push_str(piece);
                    }
                    if path.is_empty() {
                        path.try_reserve(1)?;
                        path.push('/');
                    }
                    return Ok(path);
                }
                MountPoint::Group { dir, parent } => {
                    let point = self.group_points.get(&(dir, parent)).ok_or(Error::ENOENT)?;
                    try_push(&mut pieces, point.path.as_str(), Gfp::KERNEL)?;
                    cur = parent;
                }
            }
        }
        Err(Error::ENOENT)
    }

    /// Enter what is mounted on `loc`, if anything.
    pub fn follow<H: Host>(&self, env: &Env<'_, H>, loc: Loc) -> Result<Loc> {
        let top = match &loc {
            Loc::Plain(n) => {
                let node = self.node(*n)?;
                match node.mounts.last() {
                    Some(&m) => m,
                    None if node.proc_root => return Ok(Loc::ProcRoot),
                    None => return Ok(loc),
                }
            }
            Loc::Cg {
                mount,
                dir_id,
                file: None,
                ..
            } => match self
                .group_points
                .get(&(*dir_id, *mount))
                .and_then(|p| p.mounts.last())
            {
                Some(&m) => m,
                None => return Ok(loc),
            },
            _ => return Ok(loc),
        };
        self.mount_root(env, top)
    }

    /// The root directory of mount `m`.
    fn mount_root<H: Host>(&self, env: &Env<'_, H>, m: MountId) -> Result<Loc> {
        let mount = self.mounts.get(&m).ok_or(Error::ENOENT)?;
        let node = match mount.root {
            Some(id) => Node::directory(mount.hier, id),
            None => env.gpc.root(mount.hier)?,
        };
        Ok(cg_node_loc(m, try_string("/", Gfp::KERNEL)?, node))
    }

    /// The entry `name` of directory `dir`, without entering a mount on it.
    pub fn lookup<H: Host>(&self, env: &Env<'_, H>, dir: &Loc, name: &str) -> Result<Loc> {
        match dir {
            Loc::Plain(n) => {
                if name.len() > NAME_MAX {
                    return Err(Error::ENAMETOOLONG);
                }
                self.node(*n)?
                    .children
                    .get(name)
                    .map(|&c| Loc::Plain(c))
                    .ok_or(Error::ENOENT)
            }
            Loc::Cg {
                mount,
                hier,
                path,
                dir_id,
                file: None,
            } => {
                // From the directory's node, not from the root along the path: a walk
                // costs O(components), not O(components²).
                let node = env.gpc.lookup_in(&Node::directory(*hier, *dir_id), name)?;
                let p = push_name(try_string(path, Gfp::KERNEL)?, name)?;
                Ok(cg_node_loc(*mount, p, node))
            }
            Loc::ProcRoot => {
                if name == "cgroups" {
                    return Ok(Loc::Proc(ProcFile::Cgroups));
                }
                if name == "mounts" {
                    return Ok(Loc::Proc(ProcFile::Mounts));
                }
                if name == "meminfo" {
                    return Ok(Loc::Proc(ProcFile::Meminfo));
                }
                if name == "sys" {
                    return Ok(Loc::ProcSub(ProcDir::Sys));
                }
                if name == "pressure" {
                    return Ok(Loc::ProcSub(ProcDir::Pressure));
                }
                // Linux proc_self_get_link / proc_thread_self_get_link: the reader's
                // process, or its thread (whose `cgroup` file reads the same as through
                // `/proc/TGID/task/TID`); the script itself is no task.
                if name == "self" || name == "thread-self" {
                    let t = env.current.and_then(|p| env.tasks.get(p));
                    let t = t.ok_or(Error::ENOENT)?;
                    let pid = if name == "self" { t.tgid } else { t.pid };
                    return Ok(Loc::ProcPid(pid));
                }
                let pid = parse_pid(name).ok_or(Error::ENOENT)?;
                env.tasks
                    .get(pid)
                    .map(|_| Loc::ProcPid(pid))
                    .ok_or(Error::ENOENT)
            }
            Loc::ProcPid(pid) => match name {
                "cgroup" if env.tasks.get(*pid).is_some() => {
                    Ok(Loc::Proc(ProcFile::PidCgroup(*pid)))
                }
                "mounts" if env.tasks.get(*pid).is_some() => Ok(Loc::Proc(ProcFile::Mounts)),
                _ => Err(Error::ENOENT),
            },
            Loc::ProcSub(ProcDir::Sys) if name == "vm" => Ok(Loc::ProcSub(ProcDir::SysVm)),
            Loc::ProcSub(ProcDir::SysVm) if name == "drop_caches" => {
                Ok(Loc::Proc(ProcFile::DropCaches))
            }
            Loc::ProcSub(ProcDir::Pressure) => {
                use gpc_core::psi::PsiRes;
                let res = match name {
                    "io" => PsiRes::Io,
                    "memory" => PsiRes::Memory,
                    "cpu" => PsiRes::Cpu,
                    _ => return Err(Error::ENOENT),
                };
                Ok(Loc::Proc(ProcFile::Pressure(res)))
            }
            Loc::ProcSub(_) => Err(Error::ENOENT),
            Loc::Cg { .. } | Loc::Proc(_) => Err(Error::ENOTDIR),
        }
    }

    /// [`Vfs::lookup`] that takes `dir` and reuses its path for the entry's, so that a
    /// walk down N levels of a hierarchy copies no path per level (O(N), not O(N²));
    /// `Ok(Err(dir))` gives `dir` back when `name` does not exist (`ENOENT`).
    pub fn lookup_in<H: Host>(
        &self,
        env: &Env<'_, H>,
        dir: Loc,
        name: &str,
    ) -> Result<core::result::Result<Loc, Loc>> {
        let Loc::Cg {
            mount,
            hier,
            path,
            dir_id,
            file: None,
        } = dir
        else {
            return match self.lookup(env, &dir, name) {
                Ok(next) => Ok(Ok(next)),
                Err(Error::ENOENT) => Ok(Err(dir)),
                Err(e) => Err(e),
            };
        };
        let node = match env.gpc.lookup_in(&Node::directory(hier, dir_id), name) {
            Ok(node) => node,
            Err(Error::ENOENT) => {
                return Ok(Err(Loc::Cg {
                    mount,
                    hier,
                    path,
                    dir_id,
                    file: None,
                }))
            }
            Err(e) => return Err(e),
        };
        Ok(Ok(cg_node_loc(mount, push_name(path, name)?, node)))
    }

    /// `..` of directory `dir` (entering what is mounted there).
    pub fn dotdot<H: Host>(&self, env: &Env<'_, H>, dir: &Loc) -> Result<Loc> {
        let plain_parent = |n: NodeId| -> Result<Loc> { Ok(Loc::Plain(self.node(n)?.parent)) };
        let up = match dir {
            Loc::Plain(n) => plain_parent(*n)?,
            Loc::Cg {
                mount,
                hier,
                path,
                dir_id,
                ..
            } => {
                // Linux follow_dotdot: from a mount's root, first up to the directory it
                // covers, then to that directory's parent, then down whatever is mounted
                // there.
                let (mount, hier, path, dir_id) = if path == "/" {
                    let m = self.mounts.get(mount).ok_or(Error::ENOENT)?;
                    match m.mountpoint {
                        MountPoint::Plain(n) => return self.follow(env, plain_parent(n)?),
                        MountPoint::Group { dir, parent } => {
                            let p = self.group_points.get(&(dir, parent)).ok_or(Error::ENOENT)?;
                            (parent, p.hier, p.path.as_str(), dir)
                        }
                    }
                } else {
                    (*mount, *hier, path.as_str(), *dir_id)
                };
                let trimmed = path.trim_end_matches('/');
                let parent = match trimmed.rfind('/') {
                    Some(0) | None => try_string("/", Gfp::KERNEL)?,
                    Some(i) => try_string(trimmed.get(..i).unwrap_or("/"), Gfp::KERNEL)?,
                };
                // The parent's node from the directory's, in O(1): no walk from the root.
                let node = env.gpc.parent(&Node::directory(hier, dir_id))?;
                cg_node_loc(mount, parent, node)
            }
            Loc::ProcRoot => plain_parent(self.proc_node())?,
            Loc::ProcPid(_) | Loc::ProcSub(ProcDir::Sys | ProcDir::Pressure) => Loc::ProcRoot,
            Loc::ProcSub(ProcDir::SysVm) => Loc::ProcSub(ProcDir::Sys),
            Loc::Proc(_) => return Err(Error::ENOTDIR),
        };
        self.follow(env, up)
    }

    fn proc_node(&self) -> NodeId {
        self.nodes
            .iter()
            .find(|(_, n)| n.proc_root)
            .map_or(1, |(id, _)| *id)
    }

    /// Owner and mode of `loc`.
    pub fn attrs<H: Host>(&self, env: &Env<'_, H>, loc: &Loc) -> (Owner, u16) {
        match loc {
            Loc::Plain(n) => self
                .nodes
                .get(n)
                .map_or((Owner::ROOT, DIR_MODE), |d| (d.owner, d.mode)),
            Loc::Cg {
                mount,
                path,
                dir_id,
                file,
                ..
            } => {
                let o = self.owners.get(dir_id);
                match file {
                    None => {
                        // A mount's root is the hierarchy's root (kernfs root, 0555)
                        // unless a namespace's mount put a group there.
                        let hier_root = path == "/"
                            && self.mounts.get(mount).map_or(true, |m| m.root.is_none());
                        let mode = if hier_root { ROOT_DIR_MODE } else { DIR_MODE };
                        (o.map_or(Owner::ROOT, |o| o.dir), mode)
                    }
                    Some(node) => {
                        let name = path.rsplit('/').next().unwrap_or("");
                        let owner = o.map_or(Owner::ROOT, |o| {
                            o.files.get(name).copied().unwrap_or(o.creator)
                        });
                        (owner, node.mode().unwrap_or(0))
                    }
                }
            }
            Loc::ProcRoot => (Owner::ROOT, ROOT_DIR_MODE),
            Loc::ProcPid(p) => (task_owner(env, *p), ROOT_DIR_MODE),
            Loc::Proc(ProcFile::Cgroups) => (Owner::ROOT, PROC_FILE_MODE),
            Loc::Proc(ProcFile::PidCgroup(p)) => (task_owner(env, *p), PROC_FILE_MODE),
            Loc::Proc(ProcFile::Mounts) => (Owner::ROOT, PROC_FILE_MODE),
            Loc::ProcSub(_) => (Owner::ROOT, ROOT_DIR_MODE),
            Loc::Proc(ProcFile::Meminfo) => (Owner::ROOT, PROC_FILE_MODE),
            // Linux `vm_table`: `.mode = 0200`.
            Loc::Proc(ProcFile::DropCaches) => (Owner::ROOT, 0o200),
            Loc::Proc(ProcFile::Pressure(_)) => (Owner::ROOT, 0o666),
        }
    }

    /// `EACCES` unless `creds` may `want` on `loc`.
    pub fn check<H: Host>(&self, env: &Env<'_, H>, creds: &Creds, loc: &Loc, want: u16) -> Result {
        let (owner, mode) = self.attrs(env, loc);
        if permitted(creds, owner, mode, want, loc.is_dir()) {
            Ok(())
        } else {
            Err(Error::EACCES)
        }
    }

    /// Walks `comps` from `/`, entering mounts, checking search permission on every
    /// directory passed through.
    pub fn walk<H: Host>(&self, env: &Env<'_, H>, creds: &Creds, comps: &[&str]) -> Result<Loc> {
        let mut cur = self.follow(env, Loc::Plain(ROOT_NODE))?;
        for comp in comps {
            if !cur.is_dir() {
                return Err(Error::ENOTDIR);
            }
            self.check(env, creds, &cur, MAY_EXEC)?;
            cur = match *comp {
                "." => cur,
                ".." => self.dotdot(env, &cur)?,
                name => {
                    let next = self.lookup(env, &cur, name)?;
                    self.follow(env, next)?
                }
            };
        }
        Ok(cur)
    }

    /// Resolves a whole path: the target, which must be a directory if the path ends in
    /// `/` (`ENOTDIR`).
    pub fn resolve<H: Host>(&self, env: &Env<'_, H>, creds: &Creds, path: &str) -> Result<Loc> {
        let sp = split_path(path)?;
        let loc = self.walk(env, creds, &sp.comps)?;
        if sp.trailing_slash && !loc.is_dir() {
            return Err(Error::ENOTDIR);
        }
        Ok(loc)
    }

    /// Resolves everything but the last component: the parent directory (searchable),
    /// and the last name (`None` for `/`).
    pub fn resolve_parent<'p, H: Host>(
        &self,
        env: &Env<'_, H>,
        creds: &Creds,
        sp: &SplitPath<'p>,
    ) -> Result<(Loc, Option<&'p str>)> {
        let Some((last, parent)) = sp.comps.split_last() else {
            return Ok((self.follow(env, Loc::Plain(ROOT_NODE))?, None));
        };
        let dir = self.walk(env, creds, parent)?;
        if !dir.is_dir() {
            return Err(Error::ENOTDIR);
        }
        self.check(env, creds, &dir, MAY_EXEC)?;
        Ok((dir, Some(last)))
    }

    /// The entries of directory `loc` (unsorted).
    ///
    /// # Errors
    ///
    /// `ENOTDIR` for a file, `ENOMEM`.
    pub fn list<H: Host>(&self, env: &Env<'_, H>, loc: &Loc) -> Result<Vec<String>> {
        let mut names: Vec<String> = Vec::new();
        match loc {
            Loc::Plain(n) => {
                let children = &self.node(*n)?.children;
                names.try_reserve_exact(children.len())?;
                for name in children.keys() {
                    names.push(try_string(name, Gfp::KERNEL)?);
                }
            }
            Loc::Cg {
                hier,
                dir_id,
                file: None,
                ..
            } => return env.gpc.list_node(&Node::directory(*hier, *dir_id)),
            Loc::ProcRoot => {
                try_push(&mut names, try_string("cgroups", Gfp::KERNEL)?, Gfp::KERNEL)?;
                try_push(&mut names, try_string("meminfo", Gfp::KERNEL)?, Gfp::KERNEL)?;
                try_push(&mut names, try_string("mounts", Gfp::KERNEL)?, Gfp::KERNEL)?;
                try_push(
                    &mut names,
                    try_string("pressure", Gfp::KERNEL)?,
                    Gfp::KERNEL,
                )?;
                try_push(&mut names, try_string("sys", Gfp::KERNEL)?, Gfp::KERNEL)?;
                for t in env.tasks.iter().filter(|t| t.pid == t.tgid) {
                    try_push(&mut names, pid_name(t.pid)?, Gfp::KERNEL)?;
                }
            }
            Loc::ProcPid(_) => {
                try_push(&mut names, try_string("cgroup", Gfp::KERNEL)?, Gfp::KERNEL)?;
                try_push(&mut names, try_string("mounts", Gfp::KERNEL)?, Gfp::KERNEL)?;
            }
            Loc::ProcSub(ProcDir::Sys) => {
                try_push(&mut names, try_string("vm", Gfp::KERNEL)?, Gfp::KERNEL)?;
            }
            Loc::ProcSub(ProcDir::SysVm) => {
                try_push(
                    &mut names,
                    try_string("drop_caches", Gfp::KERNEL)?,
                    Gfp::KERNEL,
                )?;
            }
            Loc::ProcSub(ProcDir::Pressure) => {
                for n in ["cpu", "io", "memory"] {
                    try_push(&mut names, try_string(n, Gfp::KERNEL)?, Gfp::KERNEL)?;
                }
            }
            Loc::Cg { .. } | Loc::Proc(_) => return Err(Error::ENOTDIR),
        }
        Ok(names)
    }

    /// A new plain directory `name` in plain directory `parent`.
    pub fn add_plain(&mut self, parent: NodeId, name: &str, owner: Owner) -> Result<NodeId> {
        if name.len() > NAME_MAX {
            return Err(Error::ENAMETOOLONG);
        }
        // Everything the new directory needs first: ENOMEM changes nothing.
        let (entry, own_name) = (
            try_string(name, Gfp::KERNEL)?,
            try_string(name, Gfp::KERNEL)?,
        );
        self.nodes.try_reserve(1)?;
        let p = self.nodes.get_mut(&parent).ok_or(Error::ENOENT)?;
        p.children.try_reserve(1)?;
        let id = self.next_node;
        self.next_node += 1;
        p.children.insert(entry, id);
        self.nodes
            .insert(id, PlainDir::new(parent, own_name, owner));
        Ok(id)
    }

    /// Removes plain directory `id` (Linux `vfs_rmdir` on a simple directory): `EBUSY`
    /// for a mount point (or `/proc`, or `/`), `ENOTEMPTY` with entries. O(log siblings):
    /// the parent's entry is found by name (Linux `d_delete` drops the dentry itself).
    pub fn remove_plain(&mut self, id: NodeId) -> Result {
        let node = self.node(id)?;
        if id == ROOT_NODE || !node.mounts.is_empty() || node.proc_root {
            return Err(Error::EBUSY);
        }
        if !node.children.is_empty() {
            return Err(Error::ENOTEMPTY);
        }
        let parent = node.parent;
        let Some(node) = self.nodes.remove(&id) else {
            return Err(Error::ENOENT);
        };
        if let Some(p) = self.nodes.get_mut(&parent) {
            if p.children.get(&node.name) == Some(&id) {
                p.children.remove(&node.name);
            }
        }
        Ok(())
    }

    /// The directory a mount on `loc` (a resolved path, mounts followed) goes on: `loc`
    /// itself, or, when `loc` is the root of a mount or `/proc`, the directory that one
    /// covers (the new mount stacks on top). `ENOTDIR` for a file (Linux `graft_tree`),
    /// `EOPNOTSUPP` for a `/proc/PID` directory.
    pub fn mount_target(&self, loc: &Loc) -> Result<MountPoint> {
        match loc {
            Loc::Plain(n) => Ok(MountPoint::Plain(*n)),
            Loc::Cg {
                mount,
                path,
                dir_id,
                file: None,
                ..
            } => {
                if path == "/" {
                    self.mounts
                        .get(mount)
                        .map(|m| m.mountpoint)
                        .ok_or(Error::ENOENT)
                } else {
                    Ok(MountPoint::Group {
                        dir: *dir_id,
                        parent: *mount,
                    })
                }
            }
            Loc::ProcRoot => Ok(MountPoint::Plain(self.proc_node())),
            Loc::ProcPid(_) | Loc::ProcSub(_) => Err(Error::EOPNOTSUPP),
            Loc::Cg { .. } | Loc::Proc(_) => Err(Error::ENOTDIR),
        }
    }

    /// Makes room for a mount on `at` (a resolved path, mounts followed), before the
    /// hierarchy is mounted: a mount gpc made cannot always be taken back as if it never
    /// was (a new hierarchy takes the next hierarchy id, as Linux's cyclic idr does).
    /// A place no mount can go gets no room: [`Vfs::add_mount`] says why, after the
    /// hierarchy's own errors, in Linux's order.
    ///
    /// # Errors
    ///
    /// `ENOMEM`, changing nothing but capacity.
    pub fn prepare_mount(&mut self, at: &Loc) -> Result<MountRoom> {
        let mut room = MountRoom::default();
        let Ok(point) = self.mount_target(at) else {
            return Ok(room);
        };
        self.mounts.try_reserve(1)?;
        match point {
            MountPoint::Plain(n) => {
                if let Some(node) = self.nodes.get_mut(&n) {
                    node.mounts.try_reserve(1)?;
                }
            }
            MountPoint::Group { dir, parent } => match self.group_points.get_mut(&(dir, parent)) {
                Some(p) => p.mounts.try_reserve(1)?,
                None => {
                    if let Loc::Cg {
                        hier: parent_hier,
                        path,
                        ..
                    } = at
                    {
                        room.group_point = Some(new_group_point(*parent_hier, path)?);
                    }
                    self.group_points.try_reserve(1)?;
                    self.covered.try_reserve(1)?;
                    self.submounts.try_reserve(1)?;
                }
            },
        }
        Ok(room)
    }

    /// Mounts `hier` on the directory `at` (a resolved path, mounts followed: the new
    /// mount goes on top of what is visible there), rooted at container `root` (`None`:
    /// the hierarchy's root), in the room [`Vfs::prepare_mount`]
    /// made for it: then nothing is allocated.
    ///
    /// # Errors
    ///
    /// `EBUSY` if `at` is the root of a mount of `hier` (Linux fs/namespace.c
    /// `do_add_mount`: the same superblock on the same mount point), then the errors of
    /// [`Vfs::mount_target`]; `ENOMEM` without the room, changing nothing.
    pub fn add_mount(
        &mut self,
        at: &Loc,
        hier: HierarchyId,
        root: Option<u64>,
        room: MountRoom,
    ) -> Result<MountId> {
        if let Loc::Cg {
            mount,
            path,
            file: None,
            ..
        } = at
        {
            if path == "/" && self.mounts.get(mount).is_some_and(|m| m.hier == hier) {
                return Err(Error::EBUSY);
            }
        }
        let point = self.mount_target(at)?;
        // Every reservation before the first change: ENOMEM leaves no trace.
        self.mounts.try_reserve(1)?;
        let id = self.next_mount;
        match point {
            MountPoint::Plain(n) => {
                let node = self.nodes.get_mut(&n).ok_or(Error::ENOENT)?;
                try_push(&mut node.mounts, id, Gfp::KERNEL)?;
            }
            MountPoint::Group { dir, parent } => {
                let Loc::Cg {
                    hier: parent_hier,
                    path,
                    ..
                } = at
                else {
                    return Err(Error::EINVAL);
                };
                match self.group_points.get_mut(&(dir, parent)) {
                    Some(p) => try_push(&mut p.mounts, id, Gfp::KERNEL)?,
                    None => {
                        let mut point = match room.group_point {
                            Some(point) => point,
                            None => new_group_point(*parent_hier, path)?,
                        };
                        try_push(&mut point.mounts, id, Gfp::KERNEL)?;
                        self.group_points.try_reserve(1)?;
                        self.covered.try_reserve(1)?;
                        self.submounts.try_reserve(1)?;
                        self.group_points.insert((dir, parent), point);
                        *self.covered.entry(dir).or_insert(0) += 1;
                        *self.submounts.entry(parent).or_insert(0) += 1;
                    }
                }
            }
        }
        self.next_mount += 1;
        self.mounts.insert(
            id,
            Mount {
                hier,
                mountpoint: point,
                root,
            },
        );
        Ok(id)
    }

    /// Whether mount `id` has mounts on directories inside it (then it cannot be
    /// unmounted: `EBUSY`).
    pub fn has_submounts(&self, id: MountId) -> bool {
        self.submounts.contains_key(&id)
    }

    /// Whether something is mounted on directory `loc` (as found by [`Vfs::lookup`],
    /// not entered), through any mount of its hierarchy: such a directory cannot be
    /// removed (Linux `vfs_rmdir`: `is_local_mountpoint`, `EBUSY`).
    pub fn is_mount_point(&self, loc: &Loc) -> bool {
        match loc {
            Loc::Plain(n) => self.nodes.get(n).is_some_and(|d| !d.mounts.is_empty()),
            Loc::Cg {
                dir_id, file: None, ..
            } => self.covered.contains_key(dir_id),
            _ => false,
        }
    }

    /// Drops mount `id`.
    pub fn remove_mount(&mut self, id: MountId) {
        self.sources.remove(&id);
        let Some(m) = self.mounts.remove(&id) else {
            return;
        };
        match m.mountpoint {
            MountPoint::Plain(n) => {
                if let Some(n) = self.nodes.get_mut(&n) {
                    n.mounts.retain(|x| *x != id);
                }
            }
            MountPoint::Group { dir, parent } => {
                if let Some(p) = self.group_points.get_mut(&(dir, parent)) {
                    p.mounts.retain(|x| *x != id);
                    if p.mounts.is_empty() {
                        self.group_points.remove(&(dir, parent));
                        forget_one(&mut self.covered, dir);
                        forget_one(&mut self.submounts, parent);
                    }
                }
            }
        }
    }

    /// Makes room for one more container's owners, so that the
    /// [`Vfs::set_container_creator`] that follows cannot fail: a caller reserves before
    /// it makes the container, which it could not take back without side effects.
    ///
    /// # Errors
    ///
    /// `ENOMEM`.
    pub fn reserve_container(&mut self) -> Result {
        self.owners.try_reserve(1)?;
        Ok(())
    }

    /// Records the owner of a new container (its directory and files). Allocates nothing
    /// after [`Vfs::reserve_container`]; without that room (never, for a caller that
    /// reserved), the container is left root's rather than aborting.
    pub fn set_container_creator(&mut self, id: u64, owner: Owner) {
        if self.owners.try_reserve(1).is_err() {
            return;
        }
        self.owners.insert(
            id,
            CgOwners {
                dir: owner,
                creator: owner,
                files: HashMap::new(),
            },
        );
    }

    /// Forgets a removed container.
    pub fn forget_container(&mut self, id: u64) {
        self.owners.remove(&id);
    }

    /// Changes the owner of `loc` (`EPERM` where the simulator keeps no owner: `/proc`;
    /// `ENOMEM`, changing nothing).
    pub fn set_owner(&mut self, loc: &Loc, owner: Owner) -> Result {
        match loc {
            Loc::Plain(n) => {
                let node = self.nodes.get_mut(n).ok_or(Error::ENOENT)?;
                node.owner = owner;
                Ok(())
            }
            Loc::Cg {
                path, dir_id, file, ..
            } => {
                let name = path.rsplit('/').next().unwrap_or("");
                // The memory a new entry (the container's, the file's) needs first:
                // ENOMEM changes nothing.
                let (has_entry, has_file) = self
                    .owners
                    .get(dir_id)
                    .map_or((false, false), |o| (true, o.files.contains_key(name)));
                if !has_entry {
                    self.owners.try_reserve(1)?;
                }
                let mut files = HashMap::new();
                let new_file = match file {
                    Some(_) if !has_file => {
                        let name = try_string(name, Gfp::KERNEL)?;
                        match self.owners.get_mut(dir_id) {
                            Some(o) => o.files.try_reserve(1)?,
                            None => files.try_reserve(1)?,
                        }
                        Some(name)
                    }
                    _ => None,
                };
                let entry = self.owners.entry(*dir_id).or_insert(CgOwners {
                    dir: Owner::ROOT,
                    creator: Owner::ROOT,
                    files,
                });
                match (file, new_file) {
                    (None, _) => entry.dir = owner,
                    (Some(_), Some(name)) => {
                        entry.files.insert(name, owner);
                    }
                    (Some(_), None) => {
                        if let Some(o) = entry.files.get_mut(name) {
                            *o = owner;
                        }
                    }
                }
                Ok(())
            }
            Loc::ProcRoot | Loc::ProcPid(_) | Loc::ProcSub(_) | Loc::Proc(_) => Err(Error::EPERM),
        }
    }
}

/// `path` (a directory inside a hierarchy) with `/name` appended, in place.
///
/// # Errors
///
/// `ENOMEM`.
pub fn push_name(mut path: String, name: &str) -> Result<String> {
    path.try_reserve(name.len() + 1)
        .map_err(|_| Error::ENOMEM)?;
    if !path.ends_with('/') {
        path.push('/');
    }
    path.push_str(name);
    Ok(path)
}

/// A `/proc` directory's name for `pid`.
///
/// # Errors
///
/// `ENOMEM`.
pub fn pid_name(pid: Pid) -> Result<String> {
    let mut name = String::new();
    // A `u32` has at most 10 digits: the write below never grows the string.
    name.try_reserve_exact(10)?;
    write!(name, "{pid}").map_err(|_| Error::ENOMEM)?;
    Ok(name)
}

/// One use of `key` in a count map fewer (the entry goes at zero). Never allocates.
fn forget_one<K: core::hash::Hash + Eq>(counts: &mut HashMap<K, usize>, key: K) {
    if let Some(n) = counts.get_mut(&key) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            counts.remove(&key);
        }
    }
}

/// The owner of a task's `/proc` entries.
fn task_owner<H: Host>(env: &Env<'_, H>, pid: Pid) -> Owner {
    env.tasks
        .get(pid)
        .map_or(Owner::ROOT, |t| Owner::of(&t.creds))
}

/// A `/proc` pid name (Linux `name_to_int`: decimal digits, no leading zero).
pub fn parse_pid(name: &str) -> Option<Pid> {
    if name.is_empty()
        || (name.len() > 1 && name.starts_with('0'))
        || !name.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    name.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    #[test]
    fn split_rules() {
        assert_eq!(split_path(""), Err(Error::ENOENT));
        let sp = split_path("/").ok();
        assert_eq!(sp.as_ref().map(|s| s.comps.len()), Some(0));
        assert_eq!(sp.map(|s| s.trailing_slash), Some(false));
        let sp = split_path("//cg/./a//b/").ok();
        assert_eq!(
            sp.as_ref().map(|s| s.comps.clone()),
            Some(vec!["cg", ".", "a", "b"])
        );
        assert_eq!(sp.map(|s| s.trailing_slash), Some(true));
        let long = "/".to_string() + &"a".repeat(PATH_MAX - 2);
        assert_eq!(long.len(), PATH_MAX - 1);
        assert!(split_path(&long).is_ok());
        let longer = long + "a";
        assert_eq!(split_path(&longer).err(), Some(Error::ENAMETOOLONG));
    }

    #[test]
    fn permission_bits() {
        let alice = Creds::user(1000, 1000);
        let root0 = Creds::user(0, 0);
        let mine = Owner {
            uid: 1000,
            gid: 1000,
        };
        assert!(permitted(&alice, mine, 0o644, MAY_WRITE, false));
        assert!(!permitted(&alice, Owner::ROOT, 0o644, MAY_WRITE, false));
        assert!(permitted(&alice, Owner::ROOT, 0o644, MAY_READ, false));
        assert!(!permitted(&alice, mine, 0o200, MAY_READ, false));
        assert!(permitted(&Creds::ROOT, mine, 0o200, MAY_READ, false));
        assert!(permitted(
            &Creds::ROOT,
            Owner::ROOT,
            0o555,
            MAY_WRITE | MAY_EXEC,
            true
        ));
        // uid 0 without capabilities gets the owner bits only.
        assert!(!permitted(
            &root0,
            Owner::ROOT,
            0o555,
            MAY_WRITE | MAY_EXEC,
            true
        ));
        assert!(permitted(
            &root0,
            Owner::ROOT,
            0o755,
            MAY_WRITE | MAY_EXEC,
            true
        ));
        // Group bits apply to the group.
        assert!(permitted(
            &alice,
            Owner { uid: 0, gid: 1000 },
            0o070,
            MAY_WRITE,
            false
        ));
        assert!(!permitted(
            &alice,
            Owner {
                uid: 1000,
                gid: 1000
            },
            0o070,
            MAY_WRITE,
            false
        ));
        // Root cannot execute a file nobody may execute.
        assert!(!permitted(
            &Creds::ROOT,
            Owner::ROOT,
            0o644,
            MAY_EXEC,
            false
        ));
    }

    #[test]
    fn chown_rules() {
        let alice = Creds::user(1000, 1000);
        let mine = Owner {
            uid: 1000,
            gid: 1000,
        };
        assert!(chown_permitted(&Creds::ROOT, Owner::ROOT, Some(5), Some(5)));
        assert!(!chown_permitted(&alice, mine, Some(1001), None));
        assert!(chown_permitted(&alice, mine, Some(1000), None));
        assert!(chown_permitted(&alice, mine, Some(1000), Some(1000)));
        assert!(!chown_permitted(&alice, mine, Some(1000), Some(7)));
        assert!(!chown_permitted(&alice, Owner::ROOT, Some(0), None));
        assert!(!chown_permitted(
            &Creds::user(0, 0),
            Owner::ROOT,
            Some(5),
            None
        ));
        // Linux fs/attr.c setattr_prepare: an id chown(2) leaves alone (-1) is not
        // checked, so anyone may "chown -1:-1", and the owner may change only the group.
        assert!(chown_permitted(&alice, Owner::ROOT, None, None));
        assert!(chown_permitted(&alice, mine, None, Some(1000)));
        assert!(!chown_permitted(&alice, mine, None, Some(7)));
        assert!(!chown_permitted(&alice, Owner::ROOT, None, Some(1000)));
    }

    #[test]
    fn proc_pid_names() {
        assert_eq!(parse_pid("1"), Some(1));
        assert_eq!(parse_pid("0"), Some(0));
        assert_eq!(parse_pid("01"), None);
        assert_eq!(parse_pid("+1"), None);
        assert_eq!(parse_pid(""), None);
        assert_eq!(parse_pid("99999999999"), None);
    }
}
