//! Subsystems: the plug-in interface, and the state each keeps per container.
//!
//! A subsystem (Linux `struct cgroup_subsys`) implements [`Subsystem`] in safe code: it
//! names a `State` type and gets callbacks with typed [`Css`] handles. gpc stores each
//! state inline behind a small header (Linux's `container_of` on `cgroup_subsys_state`),
//! so the task-to-state lookup is two dependent loads: task slot → css_group → header,
//! with the state right behind the header.
//!
//! gpc stays sound whatever a subsystem does (Asterinas' rule): callbacks get shared
//! references only, run with no gpc lock that they could misuse, and a subsystem that
//! refuses, panics-free misbehaves or returns nonsense can at worst make its own operation
//! fail.

use alloc::boxed::Box;
use core::any::TypeId;
use core::marker::PhantomData;
use core::ptr::NonNull;

use crate::error::{Error, Result};
use crate::files::{CfType, FileCtx, Out};
use crate::host::alloc::{try_box, Gfp};
use crate::host::rcu::RcuHead;
use crate::host::task::Pid;
use crate::primitive::{AtomicU64, AtomicUsize, Ordering};

/// The most subsystems one gpc instance can register (Linux has 14 in v6).
pub const MAX_SUBSYS: usize = 16;

/// A subsystem's index in registration order (Linux `ssid`).
pub type SubsysId = usize;

bitflags::bitflags! {
    /// Which task hooks a subsystem implements, so the fork and exit paths call only
    /// those that need it.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
    pub struct Hooks: u8 {
        /// `can_fork`, `cancel_fork` and `fork`.
        const FORK = 1 << 0;
        /// `exit`.
        const EXIT = 1 << 1;
    }
}

/// What a subsystem is told about a task in a fork or exit hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskInfo {
    /// Thread id (for a fork: the child's).
    pub pid: Pid,
    /// Thread-group id (for a fork: the child's).
    pub tgid: Pid,
    /// Whether this is a new thread in an existing thread group (fork hooks only).
    pub is_thread: bool,
}

/// A controller (Linux `struct cgroup_subsys`). Implement it in safe code.
///
/// Every callback but the file handlers has a default that does nothing, as Linux's
/// optional hooks do. Callbacks that run under gpc's hierarchy lock are marked so; they
/// must not call back into gpc.
pub trait Subsystem: Send + Sync + Sized + 'static {
    /// The per-container state (Linux: the struct embedding `cgroup_subsys_state`).
    /// Shared between threads: use atomics or a lock inside for what changes.
    type State: Send + Sync + 'static;

    /// The name on cgroup v2 (`cgroup.controllers`, `cgroup.subtree_control`, v2 file
    /// prefixes) and the name hosts look a controller up by (`"cpuset"`).
    const NAME: &'static str;

    /// The name on cgroup v1 (Linux `cgroup_subsys::legacy_name`): v1 mount options,
    /// v1 file prefixes, `/proc/cgroups`, the v1 lines of `/proc/PID/cgroup` and
    /// `/proc/mounts`. The same as [`Subsystem::NAME`] but for a controller renamed
    /// on v2 (`io` is `blkio` on v1).
    const LEGACY_NAME: &'static str = Self::NAME;

    /// Which task hooks to call.
    const HOOKS: Hooks = Hooks::empty();

    /// Whether moving a task between this subsystem's containers also needs the
    /// mover's right to change the task's scheduling (Linux: `cpuset_can_attach` calls
    /// `security_task_setscheduler` for every task it is asked about). gpc checks
    /// [`Creds::may_setscheduler`](crate::Creds::may_setscheduler) with the writer's
    /// credentials right after this subsystem's `can_attach` of each task, so that the
    /// subsystem's own refusals come first, and fails the move with `EPERM`. Moves a
    /// host makes itself (`Gpc::attach`, `Gpc::container_clone`) are the kernel's and
    /// are not checked.
    const ATTACH_NEEDS_SETSCHEDULER: bool = false;

    /// The controller keeps nothing per task: no fork or exit hook charges a task to a
    /// state, no `can_attach`/`attach` moves anything, the tasks' state is only where
    /// they point. Enabling or disabling it alone on v2 then re-points the affected
    /// css_groups in place, O(css_groups), instead of moving every task to new ones
    /// (`Gpc`'s `cgroup.subtree_control`). Ignored with [`Hooks::FORK`] or
    /// [`Hooks::EXIT`].
    const NO_TASK_STATE: bool = false;

    /// The control files (Linux `legacy_cftypes`), named without the prefix.
    fn files(&self) -> &'static [CfType<Self>];

    /// A new state for a container whose parent has `parent` (`None`: the root, made
    /// once at registration, before any mount). Under the hierarchy lock.
    ///
    /// # Errors
    ///
    /// Any errno fails the `mkdir` (typically `ENOMEM`).
    fn create(&self, parent: Option<Css<'_, Self>>) -> Result<Self::State>;

    /// [`Subsystem::create`] on a host with `nr_cpus` possible CPUs (the host's
    /// [`crate::host::cpu::Cpus::nr_cpus`]), which gpc calls: a subsystem with per-CPU
    /// state sizes it by the CPUs there are, as Linux's `alloc_percpu` does, instead of
    /// by the most a host may have. The default ignores the count.
    ///
    /// # Errors
    ///
    /// As for [`Subsystem::create`].
    fn create_on(&self, parent: Option<Css<'_, Self>>, nr_cpus: usize) -> Result<Self::State> {
        let _ = nr_cpus;
        self.create(parent)
    }

    /// The container was made with `cgroup.clone_children` set on its parent (cpuset
    /// copies the parent's masks). Under the hierarchy lock.
    fn post_clone(&self, _css: Css<'_, Self>) {}

    /// The container is being removed; `css` is freed after a grace period. Under the
    /// hierarchy lock.
    fn destroy(&self, _css: Css<'_, Self>) {}

    /// The root state is bound to a hierarchy (`mounted`) or returned to the dummy
    /// hierarchy. Under the hierarchy lock.
    fn bind(&self, _root: Css<'_, Self>, _mounted: bool) {}

    /// May `task` move from `from` to `to`? Under the hierarchy lock.
    ///
    /// # Errors
    ///
    /// The errno the write to `tasks`/`cgroup.procs` fails with.
    fn can_attach(&self, _task: &TaskInfo, _from: Css<'_, Self>, _to: Css<'_, Self>) -> Result {
        Ok(())
    }

    /// Whether moving a task from `from` to `to` needs the mover's right to change its
    /// scheduling: [`Subsystem::ATTACH_NEEDS_SETSCHEDULER`] unless overridden (Linux's
    /// `cpuset_can_attach` asks on v2 only when the effective masks differ). Under the
    /// hierarchy lock.
    fn attach_needs_setscheduler(&self, _from: Css<'_, Self>, _to: Css<'_, Self>) -> bool {
        Self::ATTACH_NEEDS_SETSCHEDULER
    }

    /// Undo a successful `can_attach` when another subsystem refused.
    fn cancel_attach(&self, _task: &TaskInfo, _from: Css<'_, Self>, _to: Css<'_, Self>) {}

    /// `task` moved from `from` to `to`. Under the hierarchy lock.
    fn attach(&self, _task: &TaskInfo, _from: Css<'_, Self>, _to: Css<'_, Self>) {}

    /// May a task fork into `css`? Only with [`Hooks::FORK`]. No gpc lock is held.
    ///
    /// # Errors
    ///
    /// The errno the fork fails with (pids: `EAGAIN`).
    fn can_fork(&self, _child: &TaskInfo, _css: Css<'_, Self>) -> Result {
        Ok(())
    }

    /// Undo a successful `can_fork` when the fork failed later.
    fn cancel_fork(&self, _child: &TaskInfo, _css: Css<'_, Self>) {}

    /// The child was made in `css`.
    fn fork(&self, _child: &TaskInfo, _css: Css<'_, Self>) {}

    /// The task exits from `css` (Linux `exit` and `release` together: after this the
    /// task holds nothing). Only with [`Hooks::EXIT`]. No gpc lock is held.
    fn exit(&self, _task: &TaskInfo, _css: Css<'_, Self>) {}

    /// Lines the unified hierarchy's core `cpu.stat` appends after its CPU times when
    /// the group has a state of this subsystem of its own (Linux `css_extra_stat_show`,
    /// called by `cgroup_extra_stat_show` for the `cpu` controller only; gpc calls it
    /// for the subsystem named `cpu`). Under the hierarchy lock. The default adds
    /// nothing.
    ///
    /// # Errors
    ///
    /// `ENOMEM` from `out`; the read fails with it.
    fn extra_stat_show(&self, _css: Css<'_, Self>, _out: &mut Out<'_>) -> Result {
        Ok(())
    }

    /// Lines of the unified hierarchy's core `cpu.stat.local` (Linux
    /// `css_local_stat_show`, by `cgroup_local_stat_show`), under the same rules as
    /// [`Subsystem::extra_stat_show`]. The default adds nothing.
    ///
    /// # Errors
    ///
    /// `ENOMEM` from `out`.
    fn local_stat_show(&self, _css: Css<'_, Self>, _out: &mut Out<'_>) -> Result {
        Ok(())
    }
}

/// The header in front of every subsystem state (Linux `cgroup_subsys_state`).
#[repr(C)]
/// The header of a subsystem state (opaque outside gpc-core).
pub struct CssHeader {
    pub(crate) ss: SubsysId,
    type_id: TypeId,
    /// The id of the container this state belongs to; for a root state, of the root of
    /// the hierarchy the subsystem is bound to, or 0 while unbound. An id, not a pointer:
    /// a counted handle ([`crate::CssHandle`]) may keep a state past its container's
    /// free, and must still answer without touching freed memory.
    pub(crate) container_id: AtomicU64,
    pub(crate) parent: Option<NonNull<CssHeader>>,
    /// References (Linux `css->refcnt`): one of the container's own, dropped when it is
    /// removed, one per child state (a state keeps its parent, as Linux's
    /// `css_release_work_fn` puts the parent), one per [`crate::CssHandle`]. At zero the
    /// state is freed after a grace period (lock-free readers found it through a
    /// css_group without a count). Root states keep theirs for the life of the `Gpc`.
    pub(crate) refs: AtomicUsize,
    pub(crate) rcu: RcuHead,
}

#[repr(C)]
struct CssNode<T> {
    header: CssHeader,
    state: T,
}

/// A subsystem state, untyped: what gpc's lookups hand out.
#[derive(Clone, Copy)]
pub struct CssRef<'a> {
    header: &'a CssHeader,
}

impl<'a> CssRef<'a> {
    /// # Safety
    ///
    /// `header` must point to a live header that stays alive for `'a`.
    pub(crate) unsafe fn from_raw(header: NonNull<CssHeader>) -> Self {
        // SAFETY: forwarded from the caller.
        let header = unsafe { &*header.as_ptr() };
        CssRef { header }
    }

    pub(crate) fn raw(self) -> NonNull<CssHeader> {
        NonNull::from(self.header)
    }

    /// The state's address, as an opaque handle for a C ABI (stable while the state
    /// lives).
    pub fn as_ptr(self) -> *const core::ffi::c_void {
        (self.header as *const CssHeader).cast()
    }

    /// The subsystem this state belongs to.
    pub fn subsys_id(self) -> SubsysId {
        self.header.ss
    }

    /// The state, if it is a `T` (the subsystem's `State`).
    pub fn state<T: 'static>(self) -> Option<&'a T> {
        if self.header.type_id != TypeId::of::<T>() {
            return None;
        }
        let node = (self.header as *const CssHeader).cast::<CssNode<T>>();
        // SAFETY: every header is the first field of a `#[repr(C)] CssNode<T>` made by
        // `new_css::<T>`, which recorded `TypeId::of::<T>()`; equal type ids mean this
        // node is a `CssNode<T>`, alive for `'a` by the constructor's contract.
        Some(unsafe { &(*node).state })
    }

    /// The parent container's state of the same subsystem (`None` for a root state).
    pub fn parent(self) -> Option<CssRef<'a>> {
        // SAFETY: a state's parent outlives it: a container is removed only without
        // children, and root states are never freed while gpc lives.
        self.header.parent.map(|p| unsafe { CssRef::from_raw(p) })
    }

    /// Whether this is the root state (of the hierarchy's root container).
    pub fn is_root(self) -> bool {
        self.header.parent.is_none()
    }

    /// Typed view, if the state is `S::State`.
    pub fn typed<S: Subsystem>(self) -> Option<Css<'a, S>> {
        self.state::<S::State>().map(|state| Css {
            raw: self,
            state,
            _ss: PhantomData,
        })
    }

    /// The id of the container this state belongs to (unique for the life of the `Gpc`;
    /// 0 for the root state of an unmounted subsystem).
    pub fn container_id(self) -> u64 {
        self.header.container_id.load(Ordering::Acquire)
    }

    /// Whether `self` and `other` are the same state object.
    pub fn same(self, other: CssRef<'_>) -> bool {
        core::ptr::eq(self.header, other.header)
    }
}

/// A subsystem's own state in a container, typed.
pub struct Css<'a, S: Subsystem> {
    raw: CssRef<'a>,
    state: &'a S::State,
    _ss: PhantomData<&'a S>,
}

impl<S: Subsystem> Clone for Css<'_, S> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<S: Subsystem> Copy for Css<'_, S> {}

impl<'a, S: Subsystem> Css<'a, S> {
    /// The state.
    pub fn state(self) -> &'a S::State {
        self.state
    }

    /// The parent container's state (`None` at the root).
    pub fn parent(self) -> Option<Css<'a, S>> {
        self.raw.parent().and_then(CssRef::typed::<S>)
    }

    /// This state and every ancestor's, nearest first (for hierarchical charges).
    pub fn ancestors_and_self(self) -> impl Iterator<Item = Css<'a, S>> + Clone {
        core::iter::successors(Some(self), |c| c.parent())
    }

    /// Whether this is the hierarchy's root state.
    pub fn is_root(self) -> bool {
        self.raw.is_root()
    }

    /// The id of the container this state belongs to (see [`CssRef::container_id`]).
    pub fn container_id(self) -> u64 {
        self.raw.container_id()
    }

    /// The untyped handle.
    pub fn untyped(self) -> CssRef<'a> {
        self.raw
    }

    /// Whether `self` and `other` are the same container's state.
    pub fn same(self, other: Css<'_, S>) -> bool {
        self.raw.same(other.raw)
    }
}

impl<S: Subsystem> core::ops::Deref for Css<'_, S> {
    type Target = S::State;
    fn deref(&self) -> &S::State {
        self.state
    }
}

/// Allocate a header+state node for subsystem `ss`. The node is freed by `free_css::<T>`
/// through its RCU head.
fn new_css<T: Send + Sync + 'static>(
    ss: SubsysId,
    state: T,
    container_id: u64,
    parent: Option<CssRef<'_>>,
) -> Result<NonNull<CssHeader>> {
    let node = try_box(
        CssNode {
            header: CssHeader {
                ss,
                type_id: TypeId::of::<T>(),
                container_id: AtomicU64::new(container_id),
                parent: parent.map(CssRef::raw),
                refs: AtomicUsize::new(1),
                rcu: RcuHead::new(free_css::<T>),
            },
            state,
        },
        Gfp::KERNEL,
    )?;
    if let Some(p) = parent {
        // The child's reference on its parent; the caller's borrow keeps the parent
        // alive now, so a plain increment (Linux `css_get`).
        p.header.refs.fetch_add(1, Ordering::Relaxed);
    }
    Ok(NonNull::from(Box::leak(node)).cast::<CssHeader>())
}

/// RCU callback freeing a `CssNode<T>`.
///
/// # Safety
///
/// `head` must be the `rcu` field of the header of a `CssNode<T>` made by `new_css::<T>`,
/// passed here once after a grace period.
unsafe fn free_css<T>(head: NonNull<RcuHead>) {
    let offset = core::mem::offset_of!(CssHeader, rcu);
    // SAFETY: `head` is the `rcu` field of a header (caller's contract), so stepping back
    // by its offset gives the header, which is the first field of the `repr(C)` node.
    let node = unsafe { head.as_ptr().cast::<u8>().sub(offset) }.cast::<CssNode<T>>();
    // SAFETY: the node was made by `Box` in `new_css::<T>` and is freed only here.
    drop(unsafe { Box::from_raw(node) });
}

/// Free a css node immediately (never published to readers).
///
/// # Safety
///
/// `css` must have been made by `new_css` and never been visible to a lock-free reader.
pub(crate) unsafe fn free_css_now(css: NonNull<CssHeader>) {
    // SAFETY: `css` is alive (caller's contract).
    if let Some(parent) = unsafe { css.as_ref() }.parent {
        // Its reference on the parent. Never the parent's last here: a parent freed
        // without a grace period is torn down by its owner, which does not count.
        // SAFETY: a parent outlives its children.
        unsafe { parent.as_ref() }
            .refs
            .fetch_sub(1, Ordering::Relaxed);
    }
    // SAFETY: `css` is alive (caller's contract), so its rcu head is too.
    let head = unsafe { NonNull::from(&(*css.as_ptr()).rcu) };
    // SAFETY: no reader can hold the node, so no grace period is needed.
    unsafe { RcuHead::invoke(head) }
}

/// The object-safe face of a [`Subsystem`], which gpc stores. Implemented for every
/// `Subsystem`; not meant to be implemented by hand.
pub trait DynSubsystem: Send + Sync {
    /// [`Subsystem::NAME`].
    fn name(&self) -> &'static str;
    /// [`Subsystem::LEGACY_NAME`].
    fn legacy_name(&self) -> &'static str;
    /// [`Subsystem::HOOKS`].
    fn hooks(&self) -> Hooks;
    /// [`Subsystem::attach_needs_setscheduler`] for a move from `from` to `to`.
    fn attach_needs_setscheduler(&self, from: CssRef<'_>, to: CssRef<'_>) -> bool;
    /// [`Subsystem::NO_TASK_STATE`], false when it has fork or exit hooks.
    fn no_task_state(&self) -> bool;
    /// The number of control files.
    fn file_count(&self) -> usize;
    /// Name, flags, readable, writable, mode of file `idx`.
    fn file_info(&self, idx: usize) -> Option<crate::files::FileInfo>;
    #[doc(hidden)]
    fn create_css(
        &self,
        ss: SubsysId,
        parent: Option<CssRef<'_>>,
        container_id: u64,
        nr_cpus: usize,
    ) -> Result<NonNull<CssHeader>>;
    #[doc(hidden)]
    fn post_clone(&self, css: CssRef<'_>);
    #[doc(hidden)]
    fn destroy(&self, css: CssRef<'_>);
    #[doc(hidden)]
    fn bind(&self, css: CssRef<'_>, mounted: bool);
    #[doc(hidden)]
    fn can_attach(&self, task: &TaskInfo, from: CssRef<'_>, to: CssRef<'_>) -> Result;
    #[doc(hidden)]
    fn cancel_attach(&self, task: &TaskInfo, from: CssRef<'_>, to: CssRef<'_>);
    #[doc(hidden)]
    fn attach(&self, task: &TaskInfo, from: CssRef<'_>, to: CssRef<'_>);
    #[doc(hidden)]
    fn can_fork(&self, child: &TaskInfo, css: CssRef<'_>) -> Result;
    #[doc(hidden)]
    fn cancel_fork(&self, child: &TaskInfo, css: CssRef<'_>);
    #[doc(hidden)]
    fn fork(&self, child: &TaskInfo, css: CssRef<'_>);
    #[doc(hidden)]
    fn exit(&self, task: &TaskInfo, css: CssRef<'_>);
    #[doc(hidden)]
    fn read_file(
        &self,
        idx: usize,
        ctx: &FileCtx<'_>,
        css: CssRef<'_>,
        out: &mut Out<'_>,
    ) -> Result;
    #[doc(hidden)]
    fn write_file(&self, idx: usize, ctx: &FileCtx<'_>, css: CssRef<'_>, data: &[u8]) -> Result;
    #[doc(hidden)]
    fn extra_stat_show(&self, css: CssRef<'_>, out: &mut Out<'_>) -> Result;
    #[doc(hidden)]
    fn local_stat_show(&self, css: CssRef<'_>, out: &mut Out<'_>) -> Result;
}

/// Two `CssRef`s typed as `S`, or `None` if either is another subsystem's (a core bug;
/// the hook is then skipped rather than trusted).
fn typed2<'a, 'b, S: Subsystem>(a: CssRef<'a>, b: CssRef<'b>) -> Option<(Css<'a, S>, Css<'b, S>)> {
    Some((a.typed::<S>()?, b.typed::<S>()?))
}

impl<S: Subsystem> DynSubsystem for S {
    fn name(&self) -> &'static str {
        S::NAME
    }
    fn legacy_name(&self) -> &'static str {
        S::LEGACY_NAME
    }
    fn hooks(&self) -> Hooks {
        S::HOOKS
    }
    fn attach_needs_setscheduler(&self, from: CssRef<'_>, to: CssRef<'_>) -> bool {
        match typed2::<S>(from, to) {
            Some((f, t)) => Subsystem::attach_needs_setscheduler(self, f, t),
            None => S::ATTACH_NEEDS_SETSCHEDULER,
        }
    }
    fn no_task_state(&self) -> bool {
        S::NO_TASK_STATE && !S::HOOKS.intersects(Hooks::FORK.union(Hooks::EXIT))
    }
    fn file_count(&self) -> usize {
        self.files().len()
    }
    fn file_info(&self, idx: usize) -> Option<crate::files::FileInfo> {
        self.files().get(idx).map(CfType::info)
    }
    fn create_css(
        &self,
        ss: SubsysId,
        parent: Option<CssRef<'_>>,
        container_id: u64,
        nr_cpus: usize,
    ) -> Result<NonNull<CssHeader>> {
        let typed_parent = match parent {
            Some(p) => Some(p.typed::<S>().ok_or(Error::EINVAL)?),
            None => None,
        };
        let state = self.create_on(typed_parent, nr_cpus)?;
        new_css(ss, state, container_id, parent)
    }
    fn post_clone(&self, css: CssRef<'_>) {
        if let Some(c) = css.typed::<S>() {
            Subsystem::post_clone(self, c);
        }
    }
    fn destroy(&self, css: CssRef<'_>) {
        if let Some(c) = css.typed::<S>() {
            Subsystem::destroy(self, c);
        }
    }
    fn bind(&self, css: CssRef<'_>, mounted: bool) {
        if let Some(c) = css.typed::<S>() {
            Subsystem::bind(self, c, mounted);
        }
    }
    fn can_attach(&self, task: &TaskInfo, from: CssRef<'_>, to: CssRef<'_>) -> Result {
        let (f, t) = typed2::<S>(from, to).ok_or(Error::EINVAL)?;
        Subsystem::can_attach(self, task, f, t)
    }
    fn cancel_attach(&self, task: &TaskInfo, from: CssRef<'_>, to: CssRef<'_>) {
        if let Some((f, t)) = typed2::<S>(from, to) {
            Subsystem::cancel_attach(self, task, f, t);
        }
    }
    fn attach(&self, task: &TaskInfo, from: CssRef<'_>, to: CssRef<'_>) {
        if let Some((f, t)) = typed2::<S>(from, to) {
            Subsystem::attach(self, task, f, t);
        }
    }
    fn can_fork(&self, child: &TaskInfo, css: CssRef<'_>) -> Result {
        Subsystem::can_fork(self, child, css.typed::<S>().ok_or(Error::EINVAL)?)
    }
    fn cancel_fork(&self, child: &TaskInfo, css: CssRef<'_>) {
        if let Some(c) = css.typed::<S>() {
            Subsystem::cancel_fork(self, child, c);
        }
    }
    fn fork(&self, child: &TaskInfo, css: CssRef<'_>) {
        if let Some(c) = css.typed::<S>() {
            Subsystem::fork(self, child, c);
        }
    }
    fn exit(&self, task: &TaskInfo, css: CssRef<'_>) {
        if let Some(c) = css.typed::<S>() {
            Subsystem::exit(self, task, c);
        }
    }
    fn read_file(
        &self,
        idx: usize,
        ctx: &FileCtx<'_>,
        css: CssRef<'_>,
        out: &mut Out<'_>,
    ) -> Result {
        let file = self.files().get(idx).ok_or(Error::ENOENT)?;
        let read = file.read.ok_or(Error::EINVAL)?;
        let css = css.typed::<S>().ok_or(Error::EINVAL)?;
        read(self, &ctx.typed(css), out)
    }
    fn write_file(&self, idx: usize, ctx: &FileCtx<'_>, css: CssRef<'_>, data: &[u8]) -> Result {
        let file = self.files().get(idx).ok_or(Error::ENOENT)?;
        let write = file.write.ok_or(Error::EINVAL)?;
        let css = css.typed::<S>().ok_or(Error::EINVAL)?;
        write(self, &ctx.typed(css), data)
    }
    fn extra_stat_show(&self, css: CssRef<'_>, out: &mut Out<'_>) -> Result {
        match css.typed::<S>() {
            Some(c) => Subsystem::extra_stat_show(self, c, out),
            None => Ok(()),
        }
    }
    fn local_stat_show(&self, css: CssRef<'_>, out: &mut Out<'_>) -> Result {
        match css.typed::<S>() {
            Some(c) => Subsystem::local_stat_show(self, c, out),
            None => Ok(()),
        }
    }
}

/// Make the root state of subsystem `ss`, before anything is mounted.
pub(crate) fn create_root_css(
    ss: SubsysId,
    sub: &dyn DynSubsystem,
    nr_cpus: usize,
) -> Result<NonNull<CssHeader>> {
    sub.create_css(ss, None, 0, nr_cpus)
}

/// The container a root state belongs to while bound to a hierarchy whose root has id
/// `container_id` (0: unbound).
pub(crate) fn set_css_container(css: NonNull<CssHeader>, container_id: u64) {
    // SAFETY: css nodes are alive while gpc holds them (root states for gpc's lifetime).
    unsafe { css.as_ref() }
        .container_id
        .store(container_id, Ordering::Release);
}
