//! The exports: gpc's C ABI (`include/gpc.h`, "Exported by gpc").
//!
//! Conventions (Linux's):
//! - failure is a negative errno (`-ENOMEM`, `-EBUSY`, ...); `gpc_init` returns an
//!   `ERR_PTR`-style pointer;
//! - strings in are NUL-terminated UTF-8, at most 4095 bytes (`-ENAMETOOLONG` past
//!   that, `-EINVAL` if not UTF-8 or null);
//! - output goes to a caller buffer `(buf, len)`: the call returns the number of bytes
//!   written; with `buf == NULL && len == 0` it returns the number it needs and writes
//!   nothing; if `len` is too small it returns `-EOVERFLOW` and writes nothing. Output
//!   is not NUL-terminated, except `gpc_list`'s names, each of which ends with a NUL
//!   (as `listxattr(2)`'s).
//! - a null `struct gpc *`, task or out-pointer is `-EINVAL`.
//!
//! No export can panic: every fallible step is a `Result`, indexing is checked, and
//! arithmetic is checked or wrapping (the crate denies the lints that would let one in).

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::cell::{Cell, UnsafeCell};
use core::ffi::{c_char, c_int, c_long, c_void};
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicBool, Ordering};

use gpc_core::host::alloc::{try_box, try_reserve, Gfp};
use gpc_core::host::lock::Lock;
use gpc_core::host::rcu::RcuGuard;
use gpc_core::subsys::CssRef;
use gpc_core::{
    Entry, Error, Gpc, HierarchyId, PidsReader, TaskInfo, TaskRef, TaskSlot, MAX_HIERARCHIES,
};

use crate::abi::{
    GpcPidsReader, GpcRcuHead, GpcReleaseFn, GpcStat, GpcTask, GpcTaskSlot, GPC_LOCK_STORAGE_ALIGN,
    GPC_LOCK_STORAGE_SIZE, GPC_MAX_ERRNO, GPC_STAT_DIR, GPC_STAT_FILE, GPC_TASK_SLOT_ALIGN,
    GPC_TASK_SLOT_SIZE,
};
use crate::host::{self, KHost, KMutex};

type Result<T = (), E = Error> = core::result::Result<T, E>;

/// The longest string an export accepts, NUL excluded (Linux `PATH_MAX` - 1; mount
/// options are one page in Linux too).
pub const MAX_STRING: usize = 4095;

/// Mounted hierarchies by handle: the handle C sees is the hierarchy's `/proc` id
/// (`/proc/cgroups`' second column), which Linux allocates cyclically, so a handle used
/// after its hierarchy died finds nothing instead of a newer hierarchy.
type HierMap = [Option<(u32, HierarchyId)>; MAX_HIERARCHIES];

/// One gpc instance: the C `struct gpc`.
pub struct Instance {
    pub(crate) gpc: Gpc<KHost>,
    /// Handles of live hierarchies. Held across every operation on a hierarchy, so a
    /// final `gpc_umount` cannot free a hierarchy under a concurrent operation (gpc's
    /// own hierarchy lock serialises those operations anyway). Lock order: this, then
    /// gpc's locks.
    hiers: Lock<HierMap, KMutex>,
    /// The controllers the enforcement exports ask (`crate::enforce`).
    pub(crate) enforce: crate::enforce::EnforceIds,
    /// The open `gpc_pids_open` readers, which borrow `gpc`: dropping the instance
    /// detaches them first (see [`PidsFile`]).
    readers: Lock<Vec<ReaderPtr>, KMutex>,
    /// The v2 device programs (`crate::hostres`), keyed by container id.
    pub(crate) devprogs: Lock<gpc_subsystems::devprog::Attachments, KMutex>,
}

impl Drop for Instance {
    /// Detach every reader still open: it drops its borrow of `gpc` now, before `gpc`
    /// goes, and later reads answer `-ENODEV` (a C kernel that closes a file after
    /// `gpc_destroy` gets an error, not a use after free).
    fn drop(&mut self) {
        let mut readers = self.readers.lock();
        for r in readers.drain(..) {
            // SAFETY: a registered reader is alive until `gpc_pids_close` unregisters
            // it, which cannot run now (`gpc_destroy` excludes every other call on the
            // instance, its readers' included: rule X); nor can a read of it.
            let r = unsafe { r.0.as_ref() };
            r.owner.set(ptr::null());
            // SAFETY: as above: nothing else uses the reader's state now.
            drop(unsafe { (*r.reader.get()).take() });
        }
    }
}

// ---------------------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------------------

fn neg(e: Error) -> c_int {
    e.to_errno().wrapping_neg()
}

fn status(r: Result) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => neg(e),
    }
}

fn length(r: Result<usize>) -> c_long {
    match r.and_then(|n| c_long::try_from(n).map_err(|_| Error::EOVERFLOW)) {
        Ok(n) => n,
        Err(e) => c_long::from(neg(e)),
    }
}

fn is_err_ptr<T>(p: *const T) -> bool {
    (p as usize) > usize::MAX - GPC_MAX_ERRNO
}

fn err_ptr<T>(e: Error) -> *mut T {
    let errno = usize::try_from(e.to_errno()).unwrap_or(GPC_MAX_ERRNO);
    ptr::null_mut::<u8>().wrapping_sub(errno).cast()
}

/// # Safety
///
/// `g` is null, an error pointer, or a live instance from `gpc_init`.
pub(crate) unsafe fn instance<'a>(g: *const Instance) -> Result<&'a Instance> {
    if is_err_ptr(g) {
        return Err(Error::EINVAL);
    }
    // SAFETY: not an error pointer, so null or live (caller's contract).
    unsafe { g.as_ref() }.ok_or(Error::EINVAL)
}

/// A NUL-terminated UTF-8 string of at most [`MAX_STRING`] bytes.
///
/// # Safety
///
/// `s` is null or points to a NUL-terminated string (or at least [`MAX_STRING`] + 1
/// readable bytes) that stays valid and unchanged for `'a`.
pub(crate) unsafe fn c_str<'a>(s: *const c_char) -> Result<&'a str> {
    if s.is_null() {
        return Err(Error::EINVAL);
    }
    let s = s.cast::<u8>();
    let mut len = 0;
    loop {
        if len > MAX_STRING {
            return Err(Error::ENAMETOOLONG);
        }
        // SAFETY: every byte up to the NUL is readable (caller); we stop at the NUL.
        if unsafe { s.add(len).read() } == 0 {
            break;
        }
        len = len.checked_add(1).ok_or(Error::ENAMETOOLONG)?;
    }
    // SAFETY: the `len` bytes before the NUL were just read.
    let bytes = unsafe { core::slice::from_raw_parts(s, len) };
    core::str::from_utf8(bytes).map_err(|_| Error::EINVAL)
}

/// `(data, len)` as a slice (a null `data` is allowed with `len == 0`).
///
/// # Safety
///
/// `data` is null or points to `len` readable bytes valid for `'a`.
unsafe fn in_bytes<'a>(data: *const c_void, len: usize) -> Result<&'a [u8]> {
    if data.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(Error::EINVAL)
        };
    }
    if isize::try_from(len).is_err() {
        return Err(Error::EINVAL);
    }
    // SAFETY: `len` readable bytes (caller), at most isize::MAX.
    Ok(unsafe { core::slice::from_raw_parts(data.cast::<u8>(), len) })
}

/// A caller buffer.
pub(crate) struct OutBuf {
    buf: *mut u8,
    len: usize,
}

impl OutBuf {
    /// # Safety
    ///
    /// `buf` is null or points to `len` writable bytes.
    pub(crate) unsafe fn new(buf: *mut c_char, len: usize) -> Result<OutBuf> {
        if buf.is_null() && len != 0 {
            return Err(Error::EINVAL);
        }
        Ok(OutBuf {
            buf: buf.cast(),
            len,
        })
    }

    /// Room for `need` bytes? `Ok(false)` for a size query.
    fn check(&self, need: usize) -> Result<bool> {
        if self.buf.is_null() {
            return Ok(false);
        }
        if need > self.len {
            return Err(Error::EOVERFLOW);
        }
        Ok(true)
    }

    /// Copy `data` out; the length written (or needed, for a size query).
    pub(crate) fn put(&self, data: &[u8]) -> Result<usize> {
        if self.check(data.len())? {
            // SAFETY: `buf` has `len >= data.len()` writable bytes (`new`'s contract,
            // checked above); Rust's `data` cannot overlap the caller's buffer.
            unsafe { ptr::copy_nonoverlapping(data.as_ptr(), self.buf, data.len()) };
        }
        Ok(data.len())
    }

    /// Copy `names` out, each followed by a NUL.
    fn put_names<S: AsRef<str>>(&self, names: &[S]) -> Result<usize> {
        let need = names.iter().try_fold(0usize, |acc, n| {
            acc.checked_add(n.as_ref().len())
                .and_then(|a| a.checked_add(1))
                .ok_or(Error::EOVERFLOW)
        })?;
        if self.check(need)? {
            let mut at = 0usize;
            for n in names {
                let n = n.as_ref().as_bytes();
                // SAFETY: `at + n.len() + 1 <= need <= len` (summed above), so both
                // writes stay inside the caller's buffer.
                unsafe {
                    let dst = self.buf.add(at);
                    ptr::copy_nonoverlapping(n.as_ptr(), dst, n.len());
                    dst.add(n.len()).write(0);
                }
                at = at.wrapping_add(n.len()).wrapping_add(1);
            }
        }
        Ok(need)
    }
}

impl Instance {
    /// Run `f` with the hierarchy of `handle`, holding the handle map.
    pub(crate) fn with_hier<T>(
        &self,
        handle: c_int,
        f: impl FnOnce(HierarchyId) -> Result<T>,
    ) -> Result<T> {
        let map = self.hiers.lock();
        let h = lookup(&map, handle).ok_or(Error::ENOENT)?;
        f(h)
    }
}

fn lookup(map: &HierMap, handle: c_int) -> Option<HierarchyId> {
    let id = u32::try_from(handle).ok()?;
    map.iter()
        .flatten()
        .find(|(i, _)| *i == id)
        .map(|(_, h)| *h)
}

fn subsys_index(g: &Instance, ss: c_int) -> Option<usize> {
    let ss = usize::try_from(ss).ok()?;
    (ss < g.gpc.subsystems().len()).then_some(ss)
}

// ---------------------------------------------------------------------------------
// ABI, instances, task slots.
// ---------------------------------------------------------------------------------

/// Check that the header the kernel was compiled with matches this library: 0, or
/// `-EINVAL` if any size or alignment differs (`GPC_ABI_CHECK()` passes the header's).
#[no_mangle]
pub extern "C" fn gpc_abi_check(
    task_slot_size: usize,
    task_slot_align: usize,
    lock_storage_size: usize,
    lock_storage_align: usize,
) -> c_int {
    let ok = task_slot_size == GPC_TASK_SLOT_SIZE
        && task_slot_align == GPC_TASK_SLOT_ALIGN
        && lock_storage_size == GPC_LOCK_STORAGE_SIZE
        && lock_storage_align == GPC_LOCK_STORAGE_ALIGN;
    if ok {
        0
    } else {
        neg(Error::EINVAL)
    }
}

/// Make `slot` empty. The kernel calls it for every new task struct before
/// `gpc_init_task` or `gpc_fork` (Linux `cgroup_fork`: `dup_task_struct` copied the
/// parent's slot, which must not be kept). Returns 0, or `-EINVAL` for a null slot and,
/// in debug builds, for a slot still attached (by `gpc_init_task` or `gpc_fork`, not yet
/// `gpc_exit`ed), which is left as it is: emptying it would leak its reference.
///
/// The slot is overwritten, never unlinked: a copy made by `dup_task_struct` holds the
/// *parent's* list pointers (the parent's neighbours point at the parent's slot, not at
/// this one), so unlinking it would corrupt the parent's css_group list. Whether a slot
/// is such a copy or still attached itself cannot be told from its bytes, only from its
/// address (`slot_registry`, debug builds).
///
/// # Safety
///
/// `slot` is null or points to writable memory of a `struct gpc_task_slot` that no
/// other thread uses and that is not attached (in release builds; debug builds check).
#[no_mangle]
pub unsafe extern "C" fn gpc_task_slot_init(slot: *mut GpcTaskSlot) -> c_int {
    if slot.is_null() {
        return neg(Error::EINVAL);
    }
    #[cfg(debug_assertions)]
    if crate::slot_registry::contains(slot as usize) {
        return neg(Error::EINVAL);
    }
    // SAFETY: writable and unshared (caller); a `struct gpc_task_slot` is a `TaskSlot`
    // in size and alignment (asserted in `abi`). `write` drops nothing: the old bytes
    // (maybe the parent's list pointers) are neither read nor unlinked.
    unsafe { slot.cast::<TaskSlot>().write(TaskSlot::new()) };
    0
}

/// Debug builds: `slot` was attached (see `slot_registry`).
#[inline]
fn slot_attached(slot: &TaskSlot) {
    #[cfg(debug_assertions)]
    crate::slot_registry::insert(ptr::from_ref(slot) as usize);
    #[cfg(not(debug_assertions))]
    let _ = slot;
}

/// Debug builds: `slot` was detached.
#[inline]
fn slot_detached(slot: &TaskSlot) {
    #[cfg(debug_assertions)]
    crate::slot_registry::remove(ptr::from_ref(slot) as usize);
    #[cfg(not(debug_assertions))]
    let _ = slot;
}

fn init(host_ctx: *mut c_void) -> Result<Box<Instance>> {
    init_with(host_ctx, &gpc_subsystems::all())
}

fn init_with(
    host_ctx: *mut c_void,
    subs: &[&'static dyn gpc_core::DynSubsystem],
) -> Result<Box<Instance>> {
    // Every allocation from here on passes its flags through the task's scope word.
    gpc_core::host::alloc::set_scope_hooks(&crate::kalloc::SCOPE_HOOKS);
    let gpc = Gpc::new(KHost::new(host_ctx), subs)?;
    let enforce = crate::enforce::EnforceIds::of(&gpc);
    // If boxing fails, `gpc` is dropped here and frees what it made.
    try_box(
        Instance {
            gpc,
            hiers: gpc_core::new_lock!([None; MAX_HIERARCHIES], c"gpc_shim_hiers")?,
            enforce,
            readers: gpc_core::new_lock!(Vec::new(), c"gpc_shim_readers")?,
            devprogs: gpc_core::new_lock!(
                gpc_subsystems::devprog::Attachments::new(),
                c"gpc_shim_devprogs"
            )?,
        },
        Gfp::KERNEL,
    )
}

/// A new gpc instance with every compiled-in controller (cpuset, cpu, cpuacct, memory,
/// devices, freezer, net_cls, perf_event, net_prio, hugetlb, pids, rdma, misc, ns, debug:
/// the subsystem ids are in this order).
/// `host_ctx` is handed back to `gpc_release_notify`. Returns the instance, or an error
/// pointer (`GPC_IS_ERR`/`GPC_PTR_ERR`): `-ENOMEM`.
///
/// # Safety
///
/// None beyond the import contracts; `host_ctx` is opaque to gpc.
#[no_mangle]
pub unsafe extern "C" fn gpc_init(host_ctx: *mut c_void) -> *mut Instance {
    match init(host_ctx) {
        Ok(b) => Box::into_raw(b),
        Err(e) => err_ptr(e),
    }
}

/// [`gpc_init`] with the kernel's own list of `subsystems` (their ids are their places in
/// it), for a Rust kernel that links this crate: a subsystem of any crate (any
/// `gpc_core::Subsystem`) runs behind the same C ABI as the compiled-in ones. The
/// enforcement entry points find gpc-subsystems' controllers in the list by name; the
/// others are reached through their files and hooks. Not exported to C (a C kernel
/// cannot name a Rust subsystem): C uses `gpc_init`.
///
/// # Safety
///
/// As for [`gpc_init`].
pub unsafe fn gpc_init_with_subsystems(
    host_ctx: *mut c_void,
    subsystems: &[&'static dyn gpc_core::DynSubsystem],
) -> *mut Instance {
    match init_with(host_ctx, subsystems) {
        Ok(b) => Box::into_raw(b),
        Err(e) => err_ptr(e),
    }
}

/// Destroy an instance: hierarchies, containers, css_groups and states are freed (after
/// a `gpc_synchronize_rcu`). Every task must have exited (`gpc_exit`) first: a slot
/// still attached would dangle. Null and error pointers are ignored.
///
/// # Safety
///
/// `g` is null, an error pointer, or a live instance that no other thread uses now or
/// later.
#[no_mangle]
pub unsafe extern "C" fn gpc_destroy(g: *mut Instance) {
    if g.is_null() || is_err_ptr(g) {
        return;
    }
    // SAFETY: made by `Box::into_raw` in `gpc_init`, and no longer used (caller).
    drop(unsafe { Box::from_raw(g) });
}

/// The number of subsystems (ids are `0..count`), or `-EINVAL`.
///
/// # Safety
///
/// `g` is null, an error pointer, or a live instance.
#[no_mangle]
pub unsafe extern "C" fn gpc_subsys_count(g: *const Instance) -> c_int {
    // SAFETY: forwarded.
    match unsafe { instance(g) } {
        Ok(g) => c_int::try_from(g.gpc.subsystems().len()).unwrap_or(c_int::MAX),
        Err(e) => neg(e),
    }
}

/// The id of the subsystem called `name`, or `-ENOENT`/`-EINVAL`.
///
/// # Safety
///
/// `g` as for `gpc_subsys_count`; `name` null or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn gpc_subsys_id(g: *const Instance, name: *const c_char) -> c_int {
    let r = (|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        // SAFETY: forwarded.
        let name = unsafe { c_str(name) }?;
        let id = g.gpc.subsys_id(name).ok_or(Error::ENOENT)?;
        c_int::try_from(id).map_err(|_| Error::ENOENT)
    })();
    r.unwrap_or_else(neg)
}

// ---------------------------------------------------------------------------------
// Task hooks and the lookup.
// ---------------------------------------------------------------------------------

/// Put the first task (init) in the root of every hierarchy: 0, `-EBUSY` if its slot is
/// already attached, `-EINVAL`.
///
/// # Safety
///
/// `g` as for `gpc_subsys_count`; `task` null or a live task whose slot was
/// initialised.
#[no_mangle]
pub unsafe extern "C" fn gpc_init_task(g: *const Instance, task: *mut GpcTask) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        // SAFETY: forwarded.
        let t = unsafe { host::task_ref(task) }.ok_or(Error::EINVAL)?;
        // SAFETY: a live task's slot (the caller's contract), which the ABI keeps in
        // place while attached.
        let slot = unsafe { host::pinned_slot(t.slot) };
        g.gpc.init_task(slot, &task_info(&t))?;
        slot_attached(t.slot);
        Ok(())
    })())
}

/// The ids gpc records for a task it links (a thread when it does not lead its group).
fn task_info(t: &TaskRef<'_>) -> TaskInfo {
    TaskInfo {
        pid: t.pid,
        tgid: t.tgid,
        is_thread: t.pid != t.tgid,
    }
}

/// The fork hook (Linux `cgroup_can_fork` + `cgroup_post_fork` in one): `child` joins
/// `parent`'s css_group. Takes no lock. Returns 0, a controller's refusal (pids:
/// `-EAGAIN`), `-ESRCH` if `parent` exited, `-EINTR` if a `cgroup.kill` killed it
/// (`gpc_fatal_signal_pending`), `-EBUSY` if `child`'s slot is attached,
/// `-EINVAL` (null arguments, or `parent` belongs to another instance). On error nothing
/// changed. If the fork fails later in the kernel, undo it
/// with `gpc_exit(child)` (Linux `cgroup_cancel_fork`).
///
/// # Safety
///
/// `g` as for `gpc_subsys_count`; `parent` a live task; `child` a task not yet visible
/// to any task walk, whose slot was initialised and whose pid and tgid are set.
#[no_mangle]
pub unsafe extern "C" fn gpc_fork(
    g: *const Instance,
    parent: *mut GpcTask,
    child: *mut GpcTask,
) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        // SAFETY: forwarded.
        let pslot = unsafe { host::task_slot(parent) }.ok_or(Error::EINVAL)?;
        // SAFETY: forwarded.
        let child_ref = unsafe { host::task_ref(child) }.ok_or(Error::EINVAL)?;
        // SAFETY: a live task's slot (the caller's contract), which the ABI keeps in
        // place while attached.
        let child_slot = unsafe { host::pinned_slot(child_ref.slot) };
        g.gpc.fork(pslot, child_slot, &task_info(&child_ref))?;
        slot_attached(child_ref.slot);
        Ok(())
    })())
}

/// The exit hook (Linux `cgroup_exit` + `cgroup_release` + `cgroup_free`): the task
/// leaves its css_group. Takes no lock unless it was its css_group's last task. Returns
/// 0 (also for a task that never forked or already exited), or `-EINVAL` for null
/// arguments or a task of another instance, which is left as it is.
///
/// # Safety
///
/// `g` as for `gpc_subsys_count`; `task` null or a live task.
#[no_mangle]
pub unsafe extern "C" fn gpc_exit(g: *const Instance, task: *mut GpcTask) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        // SAFETY: forwarded.
        let t = unsafe { host::task_ref(task) }.ok_or(Error::EINVAL)?;
        g.gpc.try_exit(t.slot, &task_info(&t))?;
        slot_detached(t.slot);
        Ok(())
    })())
}

/// The attach hook (Linux `cgroup_attach_task` → `cgroup_migrate`): move `task` into
/// container `path` of hierarchy `hier`, without the permission check of a `tasks`
/// write. 0 or `-ENOENT`, `-ENOTDIR`, `-ENOMEM`, a controller's refusal, `-EINVAL`
/// (also for a task of another instance).
///
/// # Safety
///
/// `g` as for `gpc_subsys_count`; `path` a NUL-terminated string; `task` a live task
/// the kernel keeps alive during the call.
#[no_mangle]
pub unsafe extern "C" fn gpc_attach(
    g: *const Instance,
    hier: c_int,
    path: *const c_char,
    task: *mut GpcTask,
) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        // SAFETY: forwarded.
        let path = unsafe { c_str(path) }?;
        // SAFETY: forwarded.
        let t = unsafe { host::task_ref(task) }.ok_or(Error::EINVAL)?;
        g.with_hier(hier, |h| g.gpc.attach(h, path, &t))
    })())
}

/// The lock-free lookup (Linux `task_css(task, ssid)`): the state of subsystem `ss` for
/// `task`, or null (no such subsystem, task not attached). Two dependent loads, no lock,
/// no atomic read-modify-write, and no read-side section of its own: it runs in the
/// caller's. The pointer is an opaque identity of the container's
/// state (equal for tasks in the same container of `ss`'s hierarchy), valid until the
/// caller's `gpc_rcu_read_lock` section ends: the caller must be inside one. A task of
/// another instance is not checked for (it would cost the lookup a cache line): the
/// result is then a state of that instance; debug builds return null.
///
/// # Safety
///
/// `g` as for `gpc_subsys_count`; `task` null or a live task; the caller is inside a
/// `gpc_rcu_read_lock` section.
#[no_mangle]
pub unsafe extern "C" fn gpc_task_css(
    g: *const Instance,
    task: *mut GpcTask,
    ss: c_int,
) -> *const c_void {
    // SAFETY: forwarded.
    let Ok(g) = (unsafe { instance(g) }) else {
        return ptr::null();
    };
    let Some(ss) = subsys_index(g, ss) else {
        return ptr::null();
    };
    // SAFETY: forwarded.
    let Some(slot) = (unsafe { host::task_slot(task) }) else {
        return ptr::null();
    };
    // SAFETY: the caller is inside a gpc_rcu_read_lock() section for the whole call
    // (the function's contract), and the guard does not outlive it.
    let guard = unsafe { RcuGuard::assume_held(g.gpc.host()) };
    if cfg!(debug_assertions) && !g.gpc.owns_task(&guard, slot) {
        return ptr::null();
    }
    g.gpc
        .task_css(&guard, slot, ss)
        .map_or(ptr::null(), CssRef::as_ptr)
}

/// Run the callback of an RCU head after its grace period (the kernel calls it for each
/// head queued by `gpc_call_rcu`, from a context where freeing memory is allowed).
///
/// # Safety
///
/// `head` was passed to `gpc_call_rcu`, a grace period has elapsed since, and this is
/// the only call for it.
#[no_mangle]
pub unsafe extern "C" fn gpc_rcu_invoke(head: *mut GpcRcuHead) {
    // SAFETY: forwarded.
    unsafe { host::rcu_invoke(head) }
}

// ---------------------------------------------------------------------------------
// Hierarchies and containers.
// ---------------------------------------------------------------------------------

/// Mount a v1 hierarchy with `options` (`"cpu,cpuacct"`, `"none,name=x"`,
/// `"release_agent=/sbin/x,pids"`; null or `""` binds every unbound controller) as
/// `caller` (null: the kernel itself). Returns the hierarchy's handle (its id in
/// `/proc/cgroups`, > 0; mounting an existing hierarchy again returns the same handle
/// and counts one more mount), or `-EPERM`, `-EBUSY`, `-EINVAL`, `-ENOSPC`, `-ENOMEM`.
///
/// # Safety
///
/// `g` as for `gpc_subsys_count`; `options` null or a NUL-terminated string; `caller`
/// null or a live task.
#[no_mangle]
pub unsafe extern "C" fn gpc_mount(
    g: *const Instance,
    options: *const c_char,
    caller: *mut GpcTask,
) -> c_int {
    // SAFETY: forwarded.
    unsafe {
        mount_as(g, options, caller, |g, options, caller| {
            g.gpc.mount(options, caller)
        })
    }
}

/// Mount with `mount` (v1 or v2) and register the handle: the hierarchy's `/proc` id.
///
/// # Safety
///
/// As for `gpc_mount`.
unsafe fn mount_as(
    g: *const Instance,
    options: *const c_char,
    caller: *mut GpcTask,
    mount: impl FnOnce(&Instance, &str, &gpc_core::Caller<'_>) -> Result<HierarchyId>,
) -> c_int {
    let r = (|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        let options = if options.is_null() {
            ""
        } else {
            // SAFETY: forwarded.
            unsafe { c_str(options) }?
        };
        let tasks = host::KTasks::new(g.gpc.host());
        // SAFETY: forwarded.
        let caller = unsafe { host::caller(&tasks, caller) };
        let mut map = g.hiers.lock();
        let h = mount(g, options, &caller)?;
        let undo = |e: Error| {
            // Cannot fail: the mount just made counts one.
            let _ = g.gpc.umount(h);
            e
        };
        let id = g
            .gpc
            .hierarchy_proc_id(h)
            .ok_or(Error::EINVAL)
            .map_err(undo)?;
        let handle = c_int::try_from(id).map_err(|_| undo(Error::ENOSPC))?;
        if let Some(e) = map.iter_mut().flatten().find(|(_, x)| *x == h) {
            e.0 = id;
        } else {
            let free = map
                .iter_mut()
                .find(|e| e.is_none())
                .ok_or(Error::ENOSPC)
                .map_err(undo)?;
            *free = Some((id, h));
        }
        Ok(handle)
    })();
    r.unwrap_or_else(neg)
}

/// Drop one mount of `hier` (Linux `cgroup_kill_sb`); the last destroys the hierarchy
/// unless it has child containers, and its handle then becomes invalid. 0 or `-EINVAL`.
///
/// # Safety
///
/// `g` as for `gpc_subsys_count`.
#[no_mangle]
pub unsafe extern "C" fn gpc_umount(g: *const Instance, hier: c_int) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        let mut map = g.hiers.lock();
        let h = lookup(&map, hier).ok_or(Error::EINVAL)?;
        g.gpc.umount(h)?;
        if !g.gpc.hierarchy_exists(h) {
            for e in map.iter_mut() {
                if e.is_some_and(|(_, x)| x == h) {
                    *e = None;
                }
            }
        }
        Ok(())
    })())
}

/// Make container `path` in `hier` (Linux `cgroup_mkdir`): 0 or `-ENOENT`, `-ENOTDIR`,
/// `-EEXIST`, `-EINVAL`, `-EAGAIN`, `-ENOMEM`.
///
/// # Safety
///
/// `g` as for `gpc_subsys_count`; `path` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn gpc_mkdir(g: *const Instance, hier: c_int, path: *const c_char) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        // SAFETY: forwarded.
        let path = unsafe { c_str(path) }?;
        g.with_hier(hier, |h| g.gpc.mkdir(h, path))
    })())
}

/// Remove container `path` (Linux `cgroup_rmdir`): 0 or `-EBUSY`, `-ENOENT`,
/// `-ENOTDIR`.
///
/// # Safety
///
/// As for `gpc_mkdir`.
#[no_mangle]
pub unsafe extern "C" fn gpc_rmdir(g: *const Instance, hier: c_int, path: *const c_char) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        // SAFETY: forwarded.
        let path = unsafe { c_str(path) }?;
        g.with_hier(hier, |h| {
            let id = match g.gpc.stat(h, path) {
                Ok(Entry::Dir { id }) => Some(id),
                _ => None,
            };
            g.gpc.rmdir(h, path)?;
            // cgroup_bpf_release: the group's device programs go with it.
            if let Some(id) = id {
                g.devprogs.lock().forget(id);
            }
            Ok(())
        })
    })())
}

/// What `path` names: 0 with `*st` filled, or `-ENOENT`, `-ENOTDIR`, `-EINVAL`.
///
/// # Safety
///
/// As for `gpc_mkdir`; `st` null or writable.
#[no_mangle]
pub unsafe extern "C" fn gpc_stat(
    g: *const Instance,
    hier: c_int,
    path: *const c_char,
    st: *mut GpcStat,
) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        // SAFETY: forwarded.
        let path = unsafe { c_str(path) }?;
        if st.is_null() {
            return Err(Error::EINVAL);
        }
        let e = g.with_hier(hier, |h| g.gpc.stat(h, path))?;
        let out = match e {
            Entry::Dir { id } => GpcStat {
                kind: GPC_STAT_DIR,
                mode: 0,
                id,
            },
            Entry::File { mode } => GpcStat {
                kind: GPC_STAT_FILE,
                mode: mode.into(),
                id: 0,
            },
        };
        // SAFETY: non-null and writable (caller).
        unsafe { st.write(out) };
        Ok(())
    })())
}

/// List directory `path` (child containers, then control files) into `buf`, each name
/// followed by a NUL (as `listxattr(2)`). Returns the bytes written (or needed, for
/// `buf == NULL, len == 0`), or `-EOVERFLOW`, `-ENOENT`, `-ENOTDIR`, `-ENOMEM`.
///
/// # Safety
///
/// As for `gpc_mkdir`; `buf` null or `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn gpc_list(
    g: *const Instance,
    hier: c_int,
    path: *const c_char,
    buf: *mut c_char,
    len: usize,
) -> c_long {
    length((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        // SAFETY: forwarded.
        let path = unsafe { c_str(path) }?;
        // SAFETY: forwarded.
        let out = unsafe { OutBuf::new(buf, len) }?;
        let names = g.with_hier(hier, |h| g.gpc.list(h, path))?;
        out.put_names(&names)
    })())
}

/// Read control file `path` as `caller` (null: the kernel) into `buf`: the whole file,
/// as one `seq_file` show. Returns the bytes written (or needed), or `-EOVERFLOW`,
/// `-ENOENT`, `-ENOTDIR`, `-EISDIR`, `-EINVAL`, `-ENOMEM`, or the handler's errno.
///
/// # Safety
///
/// As for `gpc_list`; `caller` null or a live task.
#[no_mangle]
pub unsafe extern "C" fn gpc_read(
    g: *const Instance,
    hier: c_int,
    path: *const c_char,
    caller: *mut GpcTask,
    buf: *mut c_char,
    len: usize,
) -> c_long {
    length((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        // SAFETY: forwarded.
        let path = unsafe { c_str(path) }?;
        // SAFETY: forwarded.
        let out = unsafe { OutBuf::new(buf, len) }?;
        let tasks = host::KTasks::new(g.gpc.host());
        // SAFETY: forwarded.
        let caller = unsafe { host::caller(&tasks, caller) };
        let mut data = Vec::new();
        g.with_hier(hier, |h| g.gpc.read(h, path, &caller, &mut data))?;
        out.put(&data)
    })())
}

/// Write `len` bytes of `data` to control file `path` as `caller` (null: the kernel),
/// as one `write(2)`. Returns 0, or `-ENOENT`, `-EISDIR`, `-EINVAL`, `-E2BIG`, `-ESRCH`,
/// `-EACCES`, `-EPERM`, `-ENOMEM`, ... (the handler's errno).
///
/// # Safety
///
/// As for `gpc_read`; `data` null (with `len == 0`) or `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn gpc_write(
    g: *const Instance,
    hier: c_int,
    path: *const c_char,
    caller: *mut GpcTask,
    data: *const c_char,
    len: usize,
) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        // SAFETY: forwarded.
        let path = unsafe { c_str(path) }?;
        // SAFETY: forwarded.
        let data = unsafe { in_bytes(data.cast(), len) }?;
        let tasks = host::KTasks::new(g.gpc.host());
        // SAFETY: forwarded.
        let caller = unsafe { host::caller(&tasks, caller) };
        let r = g.with_hier(hier, |h| g.gpc.write(h, path, data, &caller));
        crate::mem::oom_after_write(g, &tasks);
        r
    })())
}

// ---------------------------------------------------------------------------------
// Streaming reads of tasks and cgroup.procs.
// ---------------------------------------------------------------------------------

/// `struct gpc_pids_reader`: an open `tasks` or `cgroup.procs` file read in pieces (a
/// seq_file's private data), from `gpc_pids_open` until `gpc_pids_close`.
///
/// The core reader borrows the instance's `Gpc`, which C cannot express: the instance
/// keeps every open reader on its `readers` list, and dropping the instance detaches
/// them (drops the core reader, nulls `owner`) before `gpc` goes. So the borrow, written
/// `'static` here, never outlives the instance, and a reader used after `gpc_destroy`
/// answers `-ENODEV` instead of reading freed memory.
pub struct PidsFile {
    /// The instance, or null once it was destroyed. Written only by the instance's drop
    /// (with no other call running, rule X) and read by this reader's calls.
    owner: Cell<*const Instance>,
    /// Set while a call uses the reader: a second concurrent call is `-EBUSY`, not a
    /// data race (a kernel serialises a file's reads, as seq_file's mutex does).
    busy: AtomicBool,
    /// `None` once detached.
    reader: UnsafeCell<Option<PidsReader<'static, KHost>>>,
}

/// A registered reader, on the instance's list.
struct ReaderPtr(NonNull<PidsFile>);

// SAFETY: the pointer is only followed under the instance's `readers` lock, by the
// instance's drop, which no call on the reader can race (rule X); the reader it names
// has no thread affinity (its core reader holds a `&Gpc`, a `Vec` and a `Node`).
unsafe impl Send for ReaderPtr {}

/// Claims a reader for one call; releases it when dropped.
struct Claim<'a>(&'a PidsFile);

impl<'a> Claim<'a> {
    /// # Safety
    ///
    /// `r` is null or a reader from `gpc_pids_open` not yet closed.
    unsafe fn of(r: *mut GpcPidsReader) -> Result<Claim<'a>> {
        // SAFETY: null or live (caller).
        let r = unsafe { r.as_ref() }.ok_or(Error::EINVAL)?;
        r.busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .map_err(|_| Error::EBUSY)?;
        Ok(Claim(r))
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.0.busy.store(false, Ordering::Release);
    }
}

/// Open `tasks` or `cgroup.procs` file `path` of hierarchy `hier` for reading in pieces
/// (Linux's seq_file over the pidlist): the sorted listing `gpc_read` gives in one go,
/// with at most `gpc_core::PIDS_PER_PASS` pids held between reads and no lock. Returns
/// the reader, or an error pointer: `-ENOENT`, `-ENOTDIR`, `-EISDIR`, `-EINVAL` (another
/// file, rules G and S), `-ENAMETOOLONG`, `-ENOMEM`.
///
/// # Safety
///
/// `g` as for `gpc_subsys_count`; `path` a NUL-terminated string. The reader must be
/// closed with `gpc_pids_close`; it must not be used concurrently with `gpc_destroy`
/// of its instance (after it, reads are `-ENODEV`).
#[no_mangle]
pub unsafe extern "C" fn gpc_pids_open(
    g: *const Instance,
    hier: c_int,
    path: *const c_char,
) -> *mut GpcPidsReader {
    let r = (|| {
        // The borrow is 'static for the core reader: the instance detaches its readers
        // before it is freed (`Instance::drop`), so it is never used past the instance.
        // SAFETY: forwarded.
        let g: &'static Instance = unsafe { instance(g) }?;
        // SAFETY: forwarded.
        let path = unsafe { c_str(path) }?;
        let mut readers = g.readers.lock();
        try_reserve(&mut readers, 1, Gfp::KERNEL)?;
        let reader = g.with_hier(hier, |h| {
            let node = g.gpc.lookup(h, path)?;
            g.gpc.pids_reader(&node)
        })?;
        let file = try_box(
            PidsFile {
                owner: Cell::new(ptr::from_ref(g)),
                busy: AtomicBool::new(false),
                reader: UnsafeCell::new(Some(reader)),
            },
            Gfp::KERNEL,
        )?;
        let file = NonNull::from(Box::leak(file));
        readers.push(ReaderPtr(file));
        Ok(file.as_ptr())
    })();
    r.unwrap_or_else(err_ptr)
}

/// Copy the next bytes of `reader`'s listing into `buf` (at most `len`). Returns the
/// bytes copied, 0 at the end (or for `len == 0`), or `-ENODEV` (the container was
/// removed, or the instance destroyed, since the open), `-ENOMEM`, `-EBUSY` (another
/// call is using the reader), `-EINVAL` (null reader, null `buf` with `len != 0`).
///
/// # Safety
///
/// `reader` null or from `gpc_pids_open` and not closed; `buf` null or `len` writable
/// bytes; not concurrent with `gpc_destroy` of the reader's instance.
#[no_mangle]
pub unsafe extern "C" fn gpc_pids_read(
    reader: *mut GpcPidsReader,
    buf: *mut c_char,
    len: usize,
) -> c_long {
    length((|| {
        // SAFETY: forwarded.
        let claim = unsafe { Claim::of(reader) }?;
        if buf.is_null() && len != 0 || isize::try_from(len).is_err() {
            return Err(Error::EINVAL);
        }
        if len == 0 {
            return Ok(0);
        }
        // SAFETY: claimed: no other call uses the state; the instance's drop does not
        // run meanwhile (rule X).
        let state = unsafe { &mut *claim.0.reader.get() };
        let r = state.as_mut().ok_or(Error::ENODEV)?;
        // SAFETY: `len` writable bytes (caller), at most isize::MAX, not aliased by
        // anything of gpc.
        let out = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), len) };
        r.read(out)
    })())
}

/// Close `reader` (also after its instance was destroyed). Returns 0, `-EBUSY` if a
/// `gpc_pids_read` of it is running (it stays open), or `-EINVAL` for null.
///
/// # Safety
///
/// `reader` null or from `gpc_pids_open` and not closed; not used again after a 0;
/// not concurrent with `gpc_destroy` of its instance.
#[no_mangle]
pub unsafe extern "C" fn gpc_pids_close(reader: *mut GpcPidsReader) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let claim = unsafe { Claim::of(reader) }?;
        let owner = claim.0.owner.get();
        // SAFETY: non-null owners are alive: the instance's drop nulls them first, and
        // does not run concurrently (rule X).
        if let Some(g) = unsafe { owner.as_ref() } {
            let mut readers = g.readers.lock();
            if let Some(at) = readers.iter().position(|p| ptr::eq(p.0.as_ptr(), reader)) {
                readers.swap_remove(at);
            }
        }
        drop(claim);
        // SAFETY: made by `Box` in `gpc_pids_open`, off the instance's list now, and
        // the caller uses it no more.
        drop(unsafe { Box::from_raw(reader) });
        Ok(())
    })())
}

// ---------------------------------------------------------------------------------
// /proc and release notifications.
// ---------------------------------------------------------------------------------

/// `/proc/PID/cgroup` of `task` into `buf` (Linux `proc_cgroup_show`). Returns the
/// bytes written (or needed), or `-EOVERFLOW`, `-ESRCH`, `-ENOMEM`, `-EINVAL` (also for
/// a task of another instance).
///
/// # Safety
///
/// `g` as for `gpc_subsys_count`; `task` a live task; `buf` null or `len` writable
/// bytes.
#[no_mangle]
pub unsafe extern "C" fn gpc_proc_pid_cgroup(
    g: *const Instance,
    task: *mut GpcTask,
    buf: *mut c_char,
    len: usize,
) -> c_long {
    length((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        // SAFETY: forwarded.
        let slot = unsafe { host::task_slot(task) }.ok_or(Error::EINVAL)?;
        // SAFETY: forwarded.
        let out = unsafe { OutBuf::new(buf, len) }?;
        // Room up front, in process context (Linux proc_cgroup_show: kmalloc(PATH_MAX,
        // GFP_KERNEL) before its locks): gpc writes under an RCU read-side section,
        // where the buffer could only grow with GPC_GFP_ATOMIC.
        let mut data = Vec::new();
        try_reserve(&mut data, len.min(gpc_core::options::PATH_MAX), Gfp::KERNEL)?;
        g.gpc.proc_pid_cgroup(slot, &mut data)?;
        out.put(&data)
    })())
}

/// `/proc/cgroups` into `buf` (Linux `proc_cgroupstats_show`). Returns the bytes
/// written (or needed), or `-EOVERFLOW`, `-ENOMEM`, `-EINVAL`.
///
/// # Safety
///
/// `g` as for `gpc_subsys_count`; `buf` null or `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn gpc_proc_cgroups(
    g: *const Instance,
    buf: *mut c_char,
    len: usize,
) -> c_long {
    length((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        // SAFETY: forwarded.
        let out = unsafe { OutBuf::new(buf, len) }?;
        let mut data = Vec::new();
        g.gpc.proc_cgroups(&mut data)?;
        out.put(&data)
    })())
}

/// Take the queued release notifications, oldest first, calling `f(ctx, agent,
/// agent_len, path, path_len)` for each whose hierarchy has a `release_agent` (the
/// strings are not NUL-terminated and valid only during the call). `f` runs under
/// gpc's hierarchy lock: it must not call gpc; it queues the agent's run (Linux
/// `call_usermodehelper`). Returns the number reported, or `-ENOMEM` (that entry and
/// the rest stay queued), `-EINVAL`.
///
/// # Safety
///
/// `g` as for `gpc_subsys_count`; `f` null or a function with `gpc_release_fn`'s
/// signature.
#[no_mangle]
pub unsafe extern "C" fn gpc_drain_releases(
    g: *const Instance,
    f: Option<GpcReleaseFn>,
    ctx: *mut c_void,
) -> c_int {
    let r = (|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        let f = f.ok_or(Error::EINVAL)?;
        let mut n: c_int = 0;
        g.gpc.drain_releases(&mut |r| {
            n = n.saturating_add(1);
            // SAFETY: the kernel's callback with its own context; the strings live
            // until it returns.
            unsafe {
                f(
                    ctx,
                    r.agent.as_ptr().cast(),
                    r.agent.len(),
                    r.path.as_ptr().cast(),
                    r.path.len(),
                )
            };
            Ok(())
        })?;
        Ok(n)
    })();
    r.unwrap_or_else(neg)
}

// ---------------------------------------------------------------------------------
// cgroup v2: the unified hierarchy, job control, notifications, clone3 into a group,
// cgroup namespaces.
// ---------------------------------------------------------------------------------

/// Mount the unified (v2) hierarchy with `options` (`"nsdelegate"`, ...; null or `""`
/// for none) as `caller` (null: the kernel). There is one: the first mount makes it,
/// later mounts count one more and set its options (Linux `cgroup_get_tree`,
/// `apply_cgroup_root_flags`). Returns its handle, its id in `/proc/cgroups`: 0, as
/// Linux's default root (so it never collides with a v1 handle, which is > 0), or
/// `-EPERM`, `-EINVAL`, `-ENOSPC`, `-ENOMEM`.
///
/// # Safety
///
/// As for `gpc_mount`.
#[no_mangle]
pub unsafe extern "C" fn gpc_mount_v2(
    g: *const Instance,
    options: *const c_char,
    caller: *mut GpcTask,
) -> c_int {
    // SAFETY: forwarded.
    unsafe {
        mount_as(g, options, caller, |g, options, caller| {
            g.gpc.mount_v2(options, caller)
        })
    }
}

/// The handle of the unified hierarchy (0), or `-ENOENT` before its first
/// `gpc_mount_v2`, `-EINVAL` (rule G). A handle `h` is the unified hierarchy's iff
/// `gpc_unified_hierarchy(g) == h`.
///
/// # Safety
///
/// `g` as for `gpc_subsys_count`.
#[no_mangle]
pub unsafe extern "C" fn gpc_unified_hierarchy(g: *const Instance) -> c_int {
    let r = (|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        let map = g.hiers.lock();
        let h = g.gpc.unified_hierarchy().ok_or(Error::ENOENT)?;
        let (id, _) = map
            .iter()
            .flatten()
            .find(|(_, x)| *x == h)
            .ok_or(Error::ENOENT)?;
        c_int::try_from(*id).map_err(|_| Error::ENOENT)
    })();
    r.unwrap_or_else(neg)
}

/// `task`'s slot if the task is attached to `g`: `-EINVAL` for a null task or (when
/// `check_owner`) one of another instance, `-ESRCH` for one not attached. The host's
/// job-control methods then get only attached slots (`host::slot_task`).
///
/// # Safety
///
/// `task` null or a live task whose slot was initialised and that stays attached or
/// detached for `'a` (its own hooks are serialised with the caller's call, rule X).
pub(crate) unsafe fn attached<'a>(
    g: &Instance,
    task: *mut GpcTask,
    check_owner: bool,
) -> Result<&'a TaskSlot> {
    // SAFETY: forwarded.
    let slot = unsafe { host::task_slot(task) }.ok_or(Error::EINVAL)?;
    if !slot.is_attached() {
        return Err(Error::ESRCH);
    }
    if check_owner && !g.gpc.owns_task(&g.gpc.rcu_read_lock(), slot) {
        return Err(Error::EINVAL);
    }
    Ok(slot)
}

/// `task` (the kernel's `current`) stopped for a freeze (Linux `cgroup_enter_frozen`,
/// from `do_freezer_trap`): its v2 group counts it, and becomes frozen (`cgroup.events`
/// `frozen 1`) when every task of it stopped. Nothing for a task already stopped
/// (`gpc_task_frozen`). May sleep. 0, `-ESRCH` (not attached), `-EINVAL`.
///
/// # Safety
///
/// `g` as for `gpc_subsys_count`; `task` null or a live task, whose own hooks do not run
/// meanwhile.
#[no_mangle]
pub unsafe extern "C" fn gpc_enter_frozen(g: *const Instance, task: *mut GpcTask) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        // SAFETY: forwarded.
        let slot = unsafe { attached(g, task, true) }?;
        g.gpc.enter_frozen(slot);
        Ok(())
    })())
}

/// `task` runs again after a freeze stop (Linux `cgroup_leave_frozen`): if its group is
/// no longer freezing, or `always` (it was killed and exits), it stops counting as
/// stopped; a task of a group still freezing that only woke is asked to stop again
/// (`gpc_freeze_task`). Nothing for a task not stopped. May sleep. 0, `-ESRCH`,
/// `-EINVAL`.
///
/// # Safety
///
/// As for `gpc_enter_frozen`.
#[no_mangle]
pub unsafe extern "C" fn gpc_leave_frozen(
    g: *const Instance,
    task: *mut GpcTask,
    always: bool,
) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        // SAFETY: forwarded.
        let slot = unsafe { attached(g, task, true) }?;
        g.gpc.leave_frozen(slot, always);
        Ok(())
    })())
}

/// Should `task` stop for a freeze (Linux `cgroup_task_freeze`: its v2 group is
/// freezing)? Lock-free, any context (the signal path asks it). 1, 0, `-ESRCH` (not
/// attached), `-EINVAL` (rules G, T; in debug builds a task of another instance).
///
/// # Safety
///
/// As for `gpc_enter_frozen`.
#[no_mangle]
pub unsafe extern "C" fn gpc_cgroup_task_freeze(g: *const Instance, task: *mut GpcTask) -> c_int {
    let r = (|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        // The owner check costs a cache line: debug builds only, as `gpc_task_css`.
        // SAFETY: forwarded.
        let slot = unsafe { attached(g, task, cfg!(debug_assertions)) }?;
        Ok(c_int::from(g.gpc.cgroup_task_freeze(slot)))
    })();
    r.unwrap_or_else(neg)
}

/// Charge `ns` nanoseconds `task` ran to its v2 group (Linux `cgroup_account_cputime`,
/// read back in `cpu.stat`'s `usage_usec`). Lock-free, any context (the scheduler's
/// tick); nothing before the first `gpc_mount_v2`. 0, `-ESRCH`, `-EINVAL` (as
/// `gpc_cgroup_task_freeze`).
///
/// # Safety
///
/// As for `gpc_enter_frozen`.
#[no_mangle]
pub unsafe extern "C" fn gpc_account_cputime(
    g: *const Instance,
    task: *mut GpcTask,
    ns: u64,
) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        // SAFETY: forwarded.
        let slot = unsafe { attached(g, task, cfg!(debug_assertions)) }?;
        g.gpc.account_cputime(slot, ns);
        Ok(())
    })())
}

/// The longest file name a notification carries, NUL excluded (Linux `NAME_MAX`).
const NAME_MAX: usize = 255;

/// Take the queued change notifications (Linux `kernfs_notify_workfn`), calling
/// `f(ctx, hier, id, file)` once per changed file: the hierarchy's handle, the
/// container's id (`gpc_stat`'s `id`) and the file's name, NUL-terminated, valid during
/// the call. gpc holds no lock while `f` runs: it may call gpc (read the file, wake its
/// pollers). May sleep. Returns how many were reported, or `-EINVAL` (rule G, null
/// `f`).
///
/// # Safety
///
/// `g` as for `gpc_subsys_count`; `f` null or a function with `gpc_notify_fn`'s
/// signature.
#[no_mangle]
pub unsafe extern "C" fn gpc_drain_notifications(
    g: *const Instance,
    f: Option<crate::abi::GpcNotifyFn>,
    ctx: *mut c_void,
) -> c_int {
    let r = (|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        let f = f.ok_or(Error::EINVAL)?;
        let mut n: c_int = 0;
        g.gpc.drain_notifications(&mut |h, id, file| {
            // The handle map's lock is dropped before `f`, which may call gpc.
            let handle = {
                let map = g.hiers.lock();
                map.iter().flatten().find(|(_, x)| *x == h).map(|(i, _)| *i)
            };
            let Some(handle) = handle.and_then(|i| c_int::try_from(i).ok()) else {
                // A hierarchy the kernel never got a handle for: nobody to tell.
                return;
            };
            // Room for the name and its NUL (gpc's names are short constants).
            let mut name = [0u8; NAME_MAX + 1];
            let Some(dst) = name
                .get_mut(..file.len())
                .filter(|_| file.len() <= NAME_MAX)
            else {
                return;
            };
            dst.copy_from_slice(file.as_bytes());
            n = n.saturating_add(1);
            // SAFETY: the kernel's callback with its own context; `name` is
            // NUL-terminated (zeroed past the copy) and lives until it returns.
            unsafe { f(ctx, handle, id, name.as_ptr().cast()) };
        });
        Ok(n)
    })();
    r.unwrap_or_else(neg)
}

/// `struct gpc_cgroup_ns`: a cgroup namespace (`gpc_cgroup_ns_new`) and the instance
/// that made it. Core's namespace holds container ids, which only mean something to
/// their instance: another instance's is refused (`-EINVAL`).
pub struct NsHandle {
    /// The address of the instance that made it (compared, never followed).
    owner: usize,
    ns: gpc_core::CgroupNs,
}

/// The namespace behind `ns` (null: the initial one), checked to be `g`'s.
///
/// # Safety
///
/// `ns` null or from `gpc_cgroup_ns_new`, not freed.
unsafe fn namespace<'a>(
    g: &Instance,
    ns: *const NsHandle,
) -> Result<Option<&'a gpc_core::CgroupNs>> {
    // SAFETY: null or live (caller).
    let Some(h) = (unsafe { ns.as_ref() }) else {
        return Ok(None);
    };
    if h.owner != ptr::from_ref(g) as usize {
        return Err(Error::EINVAL);
    }
    Ok(Some(&h.ns))
}

/// A new cgroup namespace rooted at `task`'s groups now, in every hierarchy (Linux
/// `copy_cgroup_ns` for `unshare(CLONE_NEWCGROUP)`; the kernel checks `CAP_SYS_ADMIN`
/// first, as Linux does). It holds nothing of gpc's: the kernel owns it, shares it
/// between the tasks that inherit it (Linux `nsproxy`, with the kernel's own count) and
/// frees it with `gpc_cgroup_ns_free`, also after `gpc_destroy`. May sleep. Returns it,
/// or an error pointer: `-ESRCH` (task not attached), `-EINVAL` (rules G, T; a task of
/// another instance), `-ENOMEM`.
///
/// # Safety
///
/// `g` as for `gpc_subsys_count`; `task` null or a live task.
#[no_mangle]
pub unsafe extern "C" fn gpc_cgroup_ns_new(
    g: *const Instance,
    task: *mut GpcTask,
) -> *mut NsHandle {
    let r = (|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        // SAFETY: forwarded.
        let slot = unsafe { host::task_slot(task) }.ok_or(Error::EINVAL)?;
        let ns = g.gpc.cgroup_ns_of(slot)?;
        let b = try_box(
            NsHandle {
                owner: ptr::from_ref(g) as usize,
                ns,
            },
            Gfp::KERNEL,
        )?;
        Ok(Box::into_raw(b))
    })();
    r.unwrap_or_else(err_ptr)
}

/// Free a namespace from `gpc_cgroup_ns_new`. Null and error pointers are ignored.
///
/// # Safety
///
/// `ns` null, an error pointer, or a namespace from `gpc_cgroup_ns_new` not freed and
/// not in use by another call.
#[no_mangle]
pub unsafe extern "C" fn gpc_cgroup_ns_free(ns: *mut NsHandle) {
    if ns.is_null() || is_err_ptr(ns) {
        return;
    }
    // SAFETY: made by `Box::into_raw` in `gpc_cgroup_ns_new`, and used no more (caller).
    drop(unsafe { Box::from_raw(ns) });
}

/// `/proc/PID/cgroup` of `task` as a reader in namespace `ns` (null: the initial one)
/// sees it (Linux `proc_cgroup_show` with the reader's namespace): paths relative to the
/// namespace's root, `/..` for each level above it. As `gpc_proc_pid_cgroup`, and
/// `-EINVAL` for a namespace of another instance.
///
/// # Safety
///
/// As for `gpc_proc_pid_cgroup`; `ns` null or a namespace not freed.
#[no_mangle]
pub unsafe extern "C" fn gpc_proc_pid_cgroup_ns(
    g: *const Instance,
    task: *mut GpcTask,
    ns: *const NsHandle,
    buf: *mut c_char,
    len: usize,
) -> c_long {
    length((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        // SAFETY: forwarded.
        let ns = unsafe { namespace(g, ns) }?;
        // SAFETY: forwarded.
        let slot = unsafe { host::task_slot(task) }.ok_or(Error::EINVAL)?;
        // SAFETY: forwarded.
        let out = unsafe { OutBuf::new(buf, len) }?;
        // Room up front, in process context, as in `gpc_proc_pid_cgroup`.
        let mut data = Vec::new();
        try_reserve(&mut data, len.min(gpc_core::options::PATH_MAX), Gfp::KERNEL)?;
        g.gpc.proc_pid_cgroup_ns(slot, ns, &mut data)?;
        out.put(&data)
    })())
}

/// `gpc_write` by a caller in cgroup namespace `ns` (null: the initial one, exactly
/// `gpc_write`): with `nsdelegate`, the namespace root's `cgroup.procs`-style barrier
/// files refuse the write (`-EPERM`) and a move must start and end inside it
/// (`-ENOENT`) (Linux `cgroup_file_write` and `cgroup_attach_permissions` with the
/// opener's namespace). Results as `gpc_write`, and `-EINVAL` for a namespace of
/// another instance.
///
/// # Safety
///
/// As for `gpc_write`; `ns` null or a namespace not freed.
#[no_mangle]
pub unsafe extern "C" fn gpc_write_ns(
    g: *const Instance,
    hier: c_int,
    path: *const c_char,
    caller: *mut GpcTask,
    ns: *const NsHandle,
    data: *const c_char,
    len: usize,
) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        // SAFETY: forwarded.
        let ns = unsafe { namespace(g, ns) }?;
        // SAFETY: forwarded.
        let path = unsafe { c_str(path) }?;
        // SAFETY: forwarded.
        let data = unsafe { in_bytes(data.cast(), len) }?;
        let tasks = host::KTasks::new(g.gpc.host());
        // SAFETY: forwarded.
        let caller = unsafe { host::caller(&tasks, caller) };
        let r = g.with_hier(hier, |h| {
            let node = g.gpc.lookup(h, path)?;
            g.gpc.write_node_ns(&node, data, &caller, ns)
        });
        crate::mem::oom_after_write(g, &tasks);
        r
    })())
}

/// clone3(`CLONE_INTO_CGROUP`): `child` forks from `parent` (the kernel's `current`)
/// straight into group `path` of the unified hierarchy `hier` (Linux
/// `cgroup_css_set_fork`, `cgroup_can_fork`, `cgroup_post_fork`); its v1 groups are the
/// parent's. Checked as a `cgroup.procs` write by `parent` from namespace `ns` (null:
/// the initial one): `parent`'s creds may write the `cgroup.procs` of the destination
/// and of the common ancestor (`gpc_may_write_procs`), nsdelegate's namespace bounds,
/// no controllers enabled below the destination; a thread (`child`'s pid differs from
/// its tgid, `CLONE_THREAD`) stays in its domain. Unlike `gpc_fork` it takes the
/// hierarchy mutex: may sleep. Undo a success that fails later in the kernel with
/// `gpc_exit(child)`.
///
/// Results: 0; `-EBADF` (`hier` is not the unified hierarchy, or `path` is a file);
/// `-ENOENT` (no such group or handle, or outside `ns` with nsdelegate); `-ENODEV` (a
/// group being removed); `-EACCES`; `-EBUSY` (controllers enabled below the
/// destination, or `child`'s slot is attached); `-EOPNOTSUPP` (a thread leaving its
/// domain); a controller's refusal (pids: `-EAGAIN`); `-ESRCH` (parent not attached);
/// `-EINVAL` (rules G, T, S; a parent or `ns` of another instance); `-ENOMEM`. Nothing
/// changes on error.
///
/// # Safety
///
/// As for `gpc_fork`; `path` a NUL-terminated string; `ns` null or a namespace not
/// freed.
#[no_mangle]
pub unsafe extern "C" fn gpc_fork_into(
    g: *const Instance,
    parent: *mut GpcTask,
    child: *mut GpcTask,
    hier: c_int,
    path: *const c_char,
    ns: *const NsHandle,
) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        // SAFETY: forwarded.
        let ns = unsafe { namespace(g, ns) }?;
        // SAFETY: forwarded.
        let path = unsafe { c_str(path) }?;
        // SAFETY: forwarded.
        let pslot = unsafe { host::task_slot(parent) }.ok_or(Error::EINVAL)?;
        // SAFETY: forwarded.
        let child_ref = unsafe { host::task_ref(child) }.ok_or(Error::EINVAL)?;
        // SAFETY: a live task's slot (the caller's contract), which the ABI keeps in
        // place while attached.
        let child_slot = unsafe { host::pinned_slot(child_ref.slot) };
        // clone3 runs as the parent: cgroup_may_write() checks current's creds.
        let tasks = host::KTasks::new(g.gpc.host());
        // SAFETY: forwarded (`parent` is live).
        let caller = unsafe { host::caller(&tasks, parent) };
        let info = task_info(&child_ref);
        g.with_hier(hier, |h| {
            let dst = g.gpc.lookup(h, path)?;
            g.gpc
                .fork_into(pslot, child_slot, &info, &dst, &caller, ns, info.is_thread)
        })?;
        slot_attached(child_ref.slot);
        Ok(())
    })())
}
