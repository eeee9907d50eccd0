//! The `devices` controller: which device nodes (block/character, major:minor) the tasks
//! of a container may read, write or `mknod`.
//!
//! Follows `security/device_cgroup.c` (torvalds/linux) as of Linux 6.18: the exception
//! lists (`dev_exception_add`, `dev_exception_rm`, `dev_exceptions_copy`), the default
//! behaviour (`enum devcg_behavior`), `devcgroup_update_access`, `devcgroup_seq_show`,
//! `match_exception`, `match_exception_partial`, `verify_new_ex`, `parent_has_perm`,
//! `parent_allows_removal`, `may_allow_all`, `revalidate_active_exceptions`,
//! `propagate_exception` and `devcgroup_legacy_check_permission`. Rules are parsed by
//! [`parse_dev_rule`] and printed by [`DevRule`]'s `Display` (gpc-core's ports of the
//! parsing in `devcgroup_update_access` and of `devcgroup_seq_show`).
//!
//! # Files (no `CFTYPE_*` flag: all exist in the root too)
//!
//! | file | mode | read | write |
//! |---|---|---|---|
//! | `devices.allow` | 0200 | `EINVAL` (no read handler) | `devcgroup_update_access(DEVCG_ALLOW, strstrip(buf))` |
//! | `devices.deny` | 0200 | `EINVAL` | `devcgroup_update_access(DEVCG_DENY, ...)` |
//! | `devices.list` | 0444 | `a *:* rwm` when the default is allow, otherwise the exceptions in insertion order, one `"%c %s:%s %s\n"` each | `EINVAL` (no write handler) |
//!
//! # The model
//!
//! A group has a default behaviour, allow or deny, and a list of exceptions to it. The
//! root starts as allow with no exceptions; a new group copies its parent's behaviour and
//! list (`devcgroup_online`). `devices.list` is a whitelist: for an allow group it prints
//! `a *:* rwm` (its exceptions, which are denials, are not shown), for a deny group its
//! exceptions.
//!
//! # Writes (`devcgroup_update_access`), checked in this order
//!
//! 1. The writer needs `CAP_SYS_ADMIN` (`capable()`), else `EPERM`.
//! 2. The rule is parsed; a malformed rule is `EINVAL`.
//! 3. `a` (anything after it ignored) switches the default and empties the list, and is
//!    refused with `EINVAL` while the group has children (`css_has_online_children`).
//!    `allow` of `a` needs a parent whose default is allow (`may_allow_all`, else
//!    `EPERM`) and then copies the parent's exceptions; `deny` of `a` always works.
//! 4. `allow` of a rule: in an allow group it **removes** access bits from a matching
//!    exception (`dev_exception_rm`, silently nothing if none matches), unless the parent
//!    has an exception overlapping it (`parent_allows_removal`, `EPERM`); in a deny group
//!    it adds an exception, merging access bits into an identical type/major/minor entry,
//!    if the parent grants it (`parent_has_perm` → `verify_new_ex`, else `EPERM`: a child
//!    never gets more than its parent). Neither propagates.
//! 5. `deny` of a rule: in a deny group it removes access bits from the matching
//!    exception (an entry left with none disappears); in an allow group it adds an
//!    exception. Then the restriction **propagates** to every descendant, parents before
//!    children (`propagate_exception`): where both the group and the descendant are allow
//!    it is added there, otherwise removed there; then each descendant drops every
//!    exception its parent no longer permits (`revalidate_active_exceptions`).
//!
//! All of it is all or nothing in gpc: every allocation is made before anything changes,
//! and `ENOMEM` leaves every list as it was. (Linux can fail half-way through a
//! propagation and leave the descendants it already changed.)
//!
//! # The effect
//!
//! The host's `open`/`mknod` of a device node calls [`may_access`]
//! (`devcgroup_check_permission` → `devcgroup_legacy_check_permission`): in an allow
//! group the access must not overlap any exception even partially
//! (`match_exception_partial`); in a deny group one exception must cover it entirely
//! (`match_exception`). Only the task's own group is consulted: propagation keeps every
//! group within its ancestors. A `false` is Linux's `EPERM`.
//!
//! # Locking
//!
//! Each group keeps its behaviour and list in its own state under a small spin lock of
//! its own (Linux: `devcgroup_mutex` for writers, RCU for readers). Writers also run
//! under the hierarchy lock, which serialises them and keeps the tree still while a
//! propagation walks it ([`FileCtxOf::descendants`], parents before children). A writer
//! holds at most two group locks at once, a parent's then its child's; [`may_access`]
//! takes only its group's, so it never waits for anything but that group's own update.
//! As in Linux, a propagation changes the descendants one at a time: a concurrent
//! [`may_access`] sees each group either before or after its own step.

use alloc::vec::Vec;

use crate::parse::{parse_dev_rule, DevAccess, DevRule, DevType};
use gpc_core::host::alloc::{try_reserve, try_reserve_exact, Gfp};
use gpc_core::host::lock::SpinLock;

/// `lock_nested` subclass of a child's group lock taken under its parent's (Linux
/// `SINGLE_DEPTH_NESTING`).
const CHILD: u32 = 1;
use gpc_core::{CfType, Css, Error, FileCtxOf, Out, Result, Subsystem};

/// The `devices` controller (Linux `devices_cgrp_subsys`).
pub struct Devices;

/// `enum devcg_behavior` (`DEVCG_DEFAULT_NONE` is an offline group, which gpc never
/// walks: a removed container is no longer among its parent's descendants).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Behavior {
    /// `DEVCG_DEFAULT_ALLOW`.
    Allow,
    /// `DEVCG_DEFAULT_DENY`.
    Deny,
}

/// A group's rules (`struct dev_cgroup`).
struct DevGroup {
    behavior: Behavior,
    /// `exceptions`, in insertion order; `kind` is never [`DevType::All`].
    exceptions: Vec<DevRule>,
}

/// Per-container state: the group's rules, under their own lock (see the module doc).
pub struct State {
    group: SpinLock<DevGroup>,
}

/// The type test of both matchers: `(type & DEV_BLOCK) && !(ex->type & DEV_BLOCK)`, and
/// the same for `DEV_CHAR`.
fn type_matches(kind: DevType, ex: &DevRule) -> bool {
    let (t, e) = (kind.bits(), ex.kind.bits());
    let (block, chr) = (DevType::Block.bits(), DevType::Char.bits());
    !((t & block != 0 && e & block == 0) || (t & chr != 0 && e & chr == 0))
}

/// `match_exception`: an exception contains the whole request (a `*` in the request is
/// only matched by a `*` in the exception).
fn match_exception(
    list: &[DevRule],
    kind: DevType,
    major: Option<u32>,
    minor: Option<u32>,
    access: DevAccess,
) -> bool {
    list.iter().any(|ex| {
        type_matches(kind, ex)
            && (ex.major.is_none() || ex.major == major)
            && (ex.minor.is_none() || ex.minor == minor)
            // "provided access cannot have more than the exception rule"
            && ex.access.contains(access)
    })
}

/// `match_exception_partial`: an exception overlaps the request in any device and any
/// access bit.
fn match_exception_partial(
    list: &[DevRule],
    kind: DevType,
    major: Option<u32>,
    minor: Option<u32>,
    access: DevAccess,
) -> bool {
    let overlaps = |a: Option<u32>, b: Option<u32>| match (a, b) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    };
    list.iter().any(|ex| {
        type_matches(kind, ex)
            && overlaps(ex.major, major)
            && overlaps(ex.minor, minor)
            && !(access & ex.access).is_empty()
    })
}

/// `verify_new_ex`: may a child whose behaviour is `behavior` hold exception `ex`, given
/// its parent `parent`?
fn verify_new_ex(parent: &DevGroup, ex: &DevRule, behavior: Behavior) -> bool {
    match (parent.behavior, behavior) {
        // "new exception in the child doesn't matter, only adding extra restrictions"
        (Behavior::Allow, Behavior::Allow) => true,
        // "new exception in the child will add more devices that can be acessed, so it
        // can't match any of parent's exceptions, even slightly"
        (Behavior::Allow, Behavior::Deny) => {
            !match_exception_partial(&parent.exceptions, ex.kind, ex.major, ex.minor, ex.access)
        }
        // "the new exception will add access to more devices and must be contained
        // completely in an parent's exception to be allowed"
        (Behavior::Deny, _) => {
            match_exception(&parent.exceptions, ex.kind, ex.major, ex.minor, ex.access)
        }
    }
}

/// `parent_has_perm`: may `css`, whose behaviour is `behavior`, hold `ex`?
fn parent_has_perm(css: Css<'_, Devices>, behavior: Behavior, ex: &DevRule) -> bool {
    match css.parent() {
        None => true,
        Some(parent) => verify_new_ex(&parent.state().group.lock(), ex, behavior),
    }
}

/// `parent_allows_removal`: removing an exception from an allow group gives access back,
/// which must not overlap anything the parent denies.
fn parent_allows_removal(css: Css<'_, Devices>, behavior: Behavior, ex: &DevRule) -> bool {
    let Some(parent) = css.parent() else {
        return true;
    };
    // "It's always allowed to remove access to devices"
    if behavior == Behavior::Deny {
        return true;
    }
    let parent = parent.state().group.lock();
    !match_exception_partial(&parent.exceptions, ex.kind, ex.major, ex.minor, ex.access)
}

/// Whether two rules name the same devices (the key of `dev_exception_add`/`_rm`).
fn same_devices(a: &DevRule, b: &DevRule) -> bool {
    a.kind == b.kind && a.major == b.major && a.minor == b.minor
}

/// `dev_exception_add` after its allocation: merge the access bits into the entries for
/// the same devices, or append. The caller reserved room for one more entry
/// ([`reserve_add`]), so this never allocates.
fn exception_add(list: &mut Vec<DevRule>, ex: &DevRule) {
    let mut found = false;
    for walk in list.iter_mut().filter(|w| same_devices(w, ex)) {
        walk.access |= ex.access;
        found = true;
    }
    if !found {
        list.push(*ex);
    }
}

/// `dev_exception_rm`: clear the access bits; an entry left with none goes away.
fn exception_rm(list: &mut Vec<DevRule>, ex: &DevRule) {
    list.retain_mut(|walk| {
        if !same_devices(walk, ex) {
            return true;
        }
        walk.access = walk.access.difference(ex.access);
        !walk.access.is_empty()
    });
}

/// `revalidate_active_exceptions`: drop the exceptions of `group` its parent no longer
/// permits.
fn revalidate(parent: &DevGroup, group: &mut DevGroup) {
    let behavior = group.behavior;
    group
        .exceptions
        .retain(|ex| verify_new_ex(parent, ex, behavior));
}

/// Reserve room for `ex` in `list` if adding it would append.
fn reserve_add(list: &mut Vec<DevRule>, ex: &DevRule) -> Result {
    if !list.iter().any(|w| same_devices(w, ex)) {
        // Under the group's spinning lock.
        try_reserve(list, 1, Gfp::ATOMIC)?;
    }
    Ok(())
}

/// The `deny` of a device rule, with `propagate_exception`: every allocation first, then
/// the changes, which cannot fail. The hierarchy lock keeps every list but the ones this
/// changes still between the two passes.
fn deny_rule(ctx: &FileCtxOf<'_, Devices>, ex: &DevRule) -> Result {
    let me = &ctx.css().state().group;
    let behavior = me.lock().behavior;
    // Room first: in the group itself (allow: add) and in every allow descendant of an
    // allow group (they get the exception added too).
    if behavior == Behavior::Allow {
        // Allocation context: atomic (under a group's spinning lock; Linux allocates these
        // with GFP_KERNEL under devcgroup_mutex, gpc's group lock spins).
        reserve_add(&mut me.lock().exceptions, ex)?;
        for d in ctx.descendants() {
            let mut g = d.state().group.lock();
            if g.behavior == Behavior::Allow {
                // Allocation context: atomic (under a group's spinning lock; Linux allocates these
                // with GFP_KERNEL under devcgroup_mutex, gpc's group lock spins).
                reserve_add(&mut g.exceptions, ex)?;
            }
        }
    }
    {
        let mut g = me.lock();
        match behavior {
            Behavior::Deny => exception_rm(&mut g.exceptions, ex),
            Behavior::Allow => exception_add(&mut g.exceptions, ex),
        }
    }
    // "we only propagate new restrictions"; parents before children, so each
    // descendant is revalidated against its parent's new list.
    for d in ctx.descendants() {
        // A descendant always has a parent, distinct from it: lock it first.
        let parent = d.parent().map(|p| p.state().group.lock());
        let mut g = d.state().group.lock_nested(CHILD);
        // "in case both root's behavior and devcg is allow, a new restriction means
        // adding to the exception list"; in the other cases it is removed.
        if behavior == Behavior::Allow && g.behavior == Behavior::Allow {
            exception_add(&mut g.exceptions, ex);
        } else {
            exception_rm(&mut g.exceptions, ex);
        }
        if let Some(parent) = &parent {
            revalidate(parent, &mut g);
        }
    }
    Ok(())
}

/// The `allow` of a device rule (no propagation).
fn allow_rule(css: Css<'_, Devices>, ex: &DevRule) -> Result {
    let me = &css.state().group;
    let behavior = me.lock().behavior;
    match behavior {
        Behavior::Allow => {
            // "Check if the parent allows removing it first"
            if !parent_allows_removal(css, behavior, ex) {
                return Err(Error::EPERM);
            }
            exception_rm(&mut me.lock().exceptions, ex);
        }
        Behavior::Deny => {
            if !parent_has_perm(css, behavior, ex) {
                return Err(Error::EPERM);
            }
            let mut g = me.lock();
            // Allocation context: atomic (under a group's spinning lock; Linux allocates these
            // with GFP_KERNEL under devcgroup_mutex, gpc's group lock spins).
            reserve_add(&mut g.exceptions, ex)?;
            exception_add(&mut g.exceptions, ex);
        }
    }
    Ok(())
}

/// A copy of `list`, or `ENOMEM` (made under the parent group's spinning lock).
fn try_copy(list: &[DevRule]) -> Result<Vec<DevRule>> {
    let mut v = Vec::new();
    try_reserve_exact(&mut v, list.len(), Gfp::ATOMIC)?;
    v.extend_from_slice(list);
    Ok(v)
}

/// Which file was written (`DEVCG_ALLOW` / `DEVCG_DENY`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FileType {
    Allow,
    Deny,
}

/// `devcgroup_access_write` → `devcgroup_update_access`.
fn update_access(ctx: &FileCtxOf<'_, Devices>, filetype: FileType, buf: &[u8]) -> Result {
    if !ctx.caller().creds.cap_sys_admin {
        return Err(Error::EPERM);
    }
    let ex = parse_dev_rule(buf)?;
    let css = ctx.css();
    if ex.kind == DevType::All {
        if ctx.children().next().is_some() {
            return Err(Error::EINVAL);
        }
        let (behavior, list) = match filetype {
            FileType::Allow => match ctx.parent() {
                None => (Behavior::Allow, Vec::new()),
                Some(p) => {
                    let p = p.state().group.lock();
                    // may_allow_all
                    if p.behavior != Behavior::Allow {
                        return Err(Error::EPERM);
                    }
                    // Allocation context: atomic (under a group's spinning lock; Linux allocates these
                    // with GFP_KERNEL under devcgroup_mutex, gpc's group lock spins).
                    (Behavior::Allow, try_copy(&p.exceptions)?)
                }
            },
            FileType::Deny => (Behavior::Deny, Vec::new()),
        };
        let old = {
            let mut g = css.state().group.lock();
            g.behavior = behavior;
            core::mem::replace(&mut g.exceptions, list)
        };
        // Freed outside the lock.
        drop(old);
        return Ok(());
    }
    match filetype {
        FileType::Allow => allow_rule(css, &ex),
        FileType::Deny => deny_rule(ctx, &ex),
    }
}

fn write_allow(_: &Devices, ctx: &FileCtxOf<'_, Devices>, buf: &[u8]) -> Result {
    update_access(ctx, FileType::Allow, buf)
}

fn write_deny(_: &Devices, ctx: &FileCtxOf<'_, Devices>, buf: &[u8]) -> Result {
    update_access(ctx, FileType::Deny, buf)
}

/// `devcgroup_seq_show`.
fn read_list(_: &Devices, ctx: &FileCtxOf<'_, Devices>, out: &mut Out<'_>) -> Result {
    let g = ctx.css().state().group.lock();
    // Written under the group's spinning lock: the buffer grows atomically.
    let out = &mut out.nosleep();
    // "Only show the "all devices" when the default policy is to allow; list the
    // exceptions in case the default policy is to deny."
    if g.behavior == Behavior::Allow {
        return writeln!(out, "{}", DevRule::ALL);
    }
    for ex in &g.exceptions {
        writeln!(out, "{ex}")?;
    }
    Ok(())
}

/// May a task of `css` access device `kind` `major:minor` with `access`?
/// (`devcgroup_legacy_check_permission`; `false` is Linux's `EPERM`.) Takes only the
/// group's own lock.
///
/// `u32::MAX` as a number is Linux's `~0`, which the matchers treat as "all"; a `kind` of
/// [`DevType::All`] matches exceptions of either type. Neither occurs for a real device.
pub fn may_access(
    css: Css<'_, Devices>,
    kind: DevType,
    major: u32,
    minor: u32,
    access: DevAccess,
) -> bool {
    let wild = |n: u32| (n != u32::MAX).then_some(n);
    let (major, minor) = (wild(major), wild(minor));
    let g = css.state().group.lock();
    match g.behavior {
        // "Can't match any of the exceptions, even partially"
        Behavior::Allow => !match_exception_partial(&g.exceptions, kind, major, minor, access),
        // "Need to match completely one exception to be allowed"
        Behavior::Deny => match_exception(&g.exceptions, kind, major, minor, access),
    }
}

/// The files, in Linux's order (`dev_cgroup_files[]`).
static FILES: [CfType<Devices>; 3] = [
    CfType::wo("allow", write_allow),
    CfType::wo("deny", write_deny),
    CfType::ro("list", read_list),
];

impl Subsystem for Devices {
    type State = State;
    const NAME: &'static str = "devices";

    fn files(&self) -> &'static [CfType<Self>] {
        &FILES
    }

    /// `devcgroup_css_alloc` + `devcgroup_online`: the root allows everything; a child
    /// copies its parent's behaviour and exceptions. (`devcgroup_offline` and
    /// `devcgroup_css_free` are the state's drop.)
    fn create(&self, parent: Option<Css<'_, Self>>) -> Result<State> {
        let group = match parent {
            None => DevGroup {
                behavior: Behavior::Allow,
                exceptions: Vec::new(),
            },
            Some(parent) => {
                let p = parent.state().group.lock();
                DevGroup {
                    behavior: p.behavior,
                    // Allocation context: atomic (under a group's spinning lock; Linux allocates these
                    // with GFP_KERNEL under devcgroup_mutex, gpc's group lock spins).
                    exceptions: try_copy(&p.exceptions)?,
                }
            }
        };
        Ok(State {
            group: gpc_core::new_spinlock!(group, c"devices_group")?,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test
mod tests {
    extern crate std;

    use std::string::String;
    use std::vec::Vec;

    use gpc_core::testing::OneHierarchy;
    use gpc_core::Creds;

    use super::*;

    gpc_core::one_hierarchy_harness!(World);

    const R: DevAccess = DevAccess::READ;
    const W: DevAccess = DevAccess::WRITE;
    const M: DevAccess = DevAccess::MKNOD;

    impl World {
        fn new() -> World {
            World(OneHierarchy::new(&[&Devices], "devices", 2, 1).unwrap())
        }

        fn list(&self, dir: &str) -> String {
            self.read(&std::format!("{dir}devices.list")).unwrap()
        }

        fn may(
            &self,
            path: &str,
            kind: DevType,
            major: u32,
            minor: u32,
            access: DevAccess,
        ) -> bool {
            let ss = self.gpc.subsys_id("devices").unwrap();
            self.gpc
                .with_container_css(self.h, path, ss, |c| {
                    may_access(c.typed::<Devices>().unwrap(), kind, major, minor, access)
                })
                .unwrap()
        }
    }

    /// shared/sim-scripts/cases/devices_basic.cgsh, recorded on Linux 6.18.
    #[test]
    fn transcript_devices_basic() {
        let w = World::new();
        assert_eq!(
            w.ls(""),
            [
                "cgroup.clone_children",
                "cgroup.procs",
                "cgroup.sane_behavior",
                "devices.allow",
                "devices.deny",
                "devices.list",
                "notify_on_release",
                "release_agent",
                "tasks"
            ]
        );
        assert_eq!(w.list(""), "a *:* rwm\n");
        w.gpc.mkdir(w.h, "a").unwrap();
        assert_eq!(
            w.ls("a"),
            [
                "cgroup.clone_children",
                "cgroup.procs",
                "devices.allow",
                "devices.deny",
                "devices.list",
                "notify_on_release",
                "tasks"
            ]
        );
        assert_eq!(w.list("a/"), "a *:* rwm\n");
        w.write("a/devices.deny", b"a\n").unwrap();
        assert_eq!(w.list("a/"), "");
        w.write("a/devices.allow", b"c 1:3 r\n").unwrap();
        w.write("a/devices.allow", b"c 1:5 rw\n").unwrap();
        w.write("a/devices.allow", b"b 8:* m\n").unwrap();
        w.write("a/devices.allow", b"c *:* w\n").unwrap();
        assert_eq!(w.list("a/"), "c 1:3 r\nc 1:5 rw\nb 8:* m\nc *:* w\n");
        w.write("a/devices.allow", b"c 1:3 w\n").unwrap();
        assert_eq!(w.list("a/"), "c 1:3 rw\nc 1:5 rw\nb 8:* m\nc *:* w\n");
        w.write("a/devices.deny", b"c 1:3 r\n").unwrap();
        assert_eq!(w.list("a/"), "c 1:3 w\nc 1:5 rw\nb 8:* m\nc *:* w\n");
        w.write("a/devices.deny", b"c 1:5 rw\n").unwrap();
        assert_eq!(w.list("a/"), "c 1:3 w\nb 8:* m\nc *:* w\n");
        w.write("a/devices.allow", b"a\n").unwrap();
        assert_eq!(w.list("a/"), "a *:* rwm\n");
        assert_eq!(w.read("a/devices.allow"), Err(Error::EINVAL));
        assert_eq!(w.read("a/devices.deny"), Err(Error::EINVAL));
        assert_eq!(w.write("a/devices.list", b"c 1:3 r\n"), Err(Error::EINVAL));
    }

    #[test]
    fn files_and_modes() {
        let modes: Vec<u16> = FILES
            .iter()
            .map(|f| gpc_core::files::file_mode(f.read.is_some(), f.write.is_some()))
            .collect();
        assert_eq!(modes, [0o200, 0o200, 0o444]);
    }

    #[test]
    fn needs_cap_sys_admin() {
        let w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        let user = w.tasks.caller(Creds::user(1000, 1000), Some(1));
        for f in ["a/devices.allow", "a/devices.deny", "devices.deny"] {
            assert_eq!(w.gpc.write(w.h, f, b"c 1:3 r", &user), Err(Error::EPERM));
            // The capability is checked before the rule is parsed.
            assert_eq!(w.gpc.write(w.h, f, b"garbage", &user), Err(Error::EPERM));
        }
        let mut buf = Vec::new();
        assert_eq!(w.gpc.read(w.h, "a/devices.list", &user, &mut buf), Ok(()));
        assert_eq!(buf, b"a *:* rwm\n");
    }

    #[test]
    fn malformed_rules() {
        let w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        for bad in [
            &b"\n"[..],
            b" ",
            b"x 1:3 r",
            b"c1:3 r",
            b"c 1:3",
            b"c 1:3 ",
            b"c 1:3 x",
            b"c 1:3 rwx\n",
            b"c -1:3 r",
            b"c 4294967296:3 r",
            b"c 99999999999999999999:3 r",
            b"c 1:3  r",
            b"c :3 r",
            b"c 1 3 r",
        ] {
            assert_eq!(
                w.write("a/devices.allow", bad),
                Err(Error::EINVAL),
                "{bad:?}"
            );
            assert_eq!(
                w.write("a/devices.deny", bad),
                Err(Error::EINVAL),
                "{bad:?}"
            );
        }
        assert_eq!(w.list("a/"), "a *:* rwm\n");
        // Accepted oddities: anything after 'a', a fourth access letter, leading blanks,
        // 4294967295 as '*', bytes after a NUL.
        w.write("a/devices.deny", b"  c 4294967295:1 rwmx\0zz")
            .unwrap();
        w.write("a/devices.deny", b"abc").unwrap();
        assert_eq!(w.list("a/"), "");
        w.write("a/devices.allow", b"c 1:3 rrr").unwrap();
        assert_eq!(w.list("a/"), "c 1:3 r\n");
    }

    #[test]
    fn may_access_semantics() {
        let w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        // Allow by default.
        assert!(w.may("a", DevType::Char, 1, 3, R | W | M));
        // An allow group with exceptions: any overlap denies.
        w.write("a/devices.deny", b"c 1:* w").unwrap();
        assert_eq!(w.list("a/"), "a *:* rwm\n");
        assert!(!w.may("a", DevType::Char, 1, 3, W));
        assert!(!w.may("a", DevType::Char, 1, 3, R | W));
        assert!(w.may("a", DevType::Char, 1, 3, R));
        assert!(w.may("a", DevType::Block, 1, 3, W));
        assert!(w.may("a", DevType::Char, 2, 3, W));
        // A deny group: one exception must cover all of it.
        w.write("a/devices.deny", b"a").unwrap();
        assert!(!w.may("a", DevType::Char, 1, 3, R));
        w.write("a/devices.allow", b"c 1:3 rw").unwrap();
        w.write("a/devices.allow", b"c *:5 m").unwrap();
        assert!(w.may("a", DevType::Char, 1, 3, R));
        assert!(w.may("a", DevType::Char, 1, 3, R | W));
        assert!(!w.may("a", DevType::Char, 1, 3, R | M));
        assert!(w.may("a", DevType::Char, 77, 5, M));
        assert!(!w.may("a", DevType::Block, 77, 5, M));
        assert!(!w.may("a", DevType::Char, 1, 4, R));
        // The root is untouched.
        assert!(w.may("", DevType::Block, 8, 0, R | W | M));
    }

    #[test]
    fn child_cannot_gain_what_parent_lacks() {
        let w = World::new();
        w.gpc.mkdir(w.h, "p").unwrap();
        w.write("p/devices.deny", b"a").unwrap();
        w.write("p/devices.allow", b"c 1:3 rw").unwrap();
        w.write("p/devices.allow", b"b 8:* r").unwrap();
        w.gpc.mkdir(w.h, "p/c").unwrap();
        // The child copied the parent.
        assert_eq!(w.list("p/c/"), "c 1:3 rw\nb 8:* r\n");
        // Allow-all needs an allow parent.
        assert_eq!(w.write("p/c/devices.allow", b"a"), Err(Error::EPERM));
        // More than the parent has: EPERM.
        assert_eq!(w.write("p/c/devices.allow", b"c 1:3 m"), Err(Error::EPERM));
        assert_eq!(w.write("p/c/devices.allow", b"c 1:4 r"), Err(Error::EPERM));
        assert_eq!(w.write("p/c/devices.allow", b"b *:* r"), Err(Error::EPERM));
        // Within the parent: fine.
        w.write("p/c/devices.deny", b"c 1:3 w").unwrap();
        assert_eq!(w.list("p/c/"), "c 1:3 r\nb 8:* r\n");
        w.write("p/c/devices.allow", b"c 1:3 w").unwrap();
        w.write("p/c/devices.allow", b"b 8:1 r").unwrap();
        assert_eq!(w.list("p/c/"), "c 1:3 rw\nb 8:* r\nb 8:1 r\n");
        // 'a' is refused while there are children.
        assert_eq!(w.write("p/devices.allow", b"a"), Err(Error::EINVAL));
        assert_eq!(w.write("p/devices.deny", b"a"), Err(Error::EINVAL));
        // Allow-group child of an allow parent that denies something: removing that
        // exception in the child would grant more than the parent.
        w.gpc.mkdir(w.h, "q").unwrap();
        w.write("q/devices.deny", b"c 1:3 w").unwrap();
        w.gpc.mkdir(w.h, "q/c").unwrap();
        assert_eq!(w.write("q/c/devices.allow", b"c 1:3 w"), Err(Error::EPERM));
        assert_eq!(w.write("q/c/devices.allow", b"c 1:* rw"), Err(Error::EPERM));
        assert!(!w.may("q/c", DevType::Char, 1, 3, W));
        // An exception the parent does not have can be removed (silently nothing here).
        w.write("q/c/devices.allow", b"c 2:2 w").unwrap();
        // The root may do anything.
        w.write("q/devices.allow", b"c 1:3 w").unwrap();
        assert!(w.may("q", DevType::Char, 1, 3, W));
        // ... but the child's copy stays (allow does not propagate).
        assert!(!w.may("q/c", DevType::Char, 1, 3, W));
    }

    #[test]
    fn deny_propagates_to_all_descendants() {
        let w = World::new();
        for d in ["p", "p/a", "p/a/x", "p/b"] {
            w.gpc.mkdir(w.h, d).unwrap();
        }
        // b becomes a whitelist before p changes.
        w.write("p/b/devices.deny", b"a").unwrap();
        w.write("p/b/devices.allow", b"c 1:3 rw").unwrap();
        w.write("p/b/devices.allow", b"c 1:5 rw").unwrap();
        // An allow-all p denies c 1:3 w: the allow descendants get the exception, the deny
        // one loses the access.
        w.write("p/devices.deny", b"c 1:3 w").unwrap();
        for d in ["p", "p/a", "p/a/x"] {
            assert!(!w.may(d, DevType::Char, 1, 3, W), "{d}");
            assert!(w.may(d, DevType::Char, 1, 3, R), "{d}");
        }
        assert_eq!(w.list("p/b/"), "c 1:3 r\nc 1:5 rw\n");
        // A deny-all p: a removal there revalidates everything below.
        w.gpc.rmdir(w.h, "p/a/x").unwrap();
        w.gpc.rmdir(w.h, "p/a").unwrap();
        w.gpc.rmdir(w.h, "p/b").unwrap();
        w.write("p/devices.deny", b"a").unwrap();
        w.write("p/devices.allow", b"c *:* rw").unwrap();
        w.gpc.mkdir(w.h, "p/a").unwrap();
        w.gpc.mkdir(w.h, "p/a/x").unwrap();
        w.write("p/a/devices.deny", b"c *:* rw").unwrap();
        w.write("p/a/devices.allow", b"c 1:3 rw").unwrap();
        w.write("p/a/devices.allow", b"c 1:5 r").unwrap();
        w.write("p/a/x/devices.deny", b"c *:* rw").unwrap();
        w.write("p/a/x/devices.allow", b"c 1:3 rw").unwrap();
        assert_eq!(w.list("p/a/x/"), "c 1:3 rw\n");
        w.write("p/devices.deny", b"c *:* w").unwrap();
        assert_eq!(w.list("p/"), "c *:* r\n");
        // a: "c 1:3 rw" needs w that p lost: gone; "c 1:5 r" stays.
        assert_eq!(w.list("p/a/"), "c 1:5 r\n");
        // x: its parent a no longer has c 1:3 at all.
        assert_eq!(w.list("p/a/x/"), "");
        // Giving p the access back does not bring the children's back.
        w.write("p/devices.allow", b"c *:* w").unwrap();
        assert_eq!(w.list("p/a/"), "c 1:5 r\n");
    }

    #[test]
    fn empty_access_rules() {
        let w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        w.write("a/devices.deny", b"a").unwrap();
        // "c 1:3 \nr" parses with no access bits: Linux adds an entry that grants nothing.
        w.write("a/devices.allow", b"c 1:3 \nr").unwrap();
        assert_eq!(w.list("a/"), "c 1:3 \n");
        w.write("a/devices.deny", b"c 1:3 \nr").unwrap();
        assert_eq!(w.list("a/"), "");
    }

    #[test]
    fn rmdir_and_remount_keep_the_tree_sane() {
        let w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        w.gpc.mkdir(w.h, "a/b").unwrap();
        w.gpc.rmdir(w.h, "a/b").unwrap();
        // No children left: 'a' works again.
        w.write("a/devices.deny", b"a").unwrap();
        w.gpc.mkdir(w.h, "a/b").unwrap();
        assert_eq!(w.list("a/b/"), "");
        w.gpc.rmdir(w.h, "a/b").unwrap();
        w.gpc.rmdir(w.h, "a").unwrap();
        w.gpc.mkdir(w.h, "a").unwrap();
        assert_eq!(w.list("a/"), "a *:* rwm\n");
    }

    #[test]
    fn three_levels_of_allow_groups() {
        let w = World::new();
        for d in ["p", "p/c", "p/c/g", "q"] {
            w.gpc.mkdir(w.h, d).unwrap();
        }
        // A deny at the top reaches the grandchild (through the child), not the sibling.
        w.write("p/devices.deny", b"c 1:3 w").unwrap();
        for d in ["p", "p/c", "p/c/g"] {
            assert!(!w.may(d, DevType::Char, 1, 3, W), "{d}");
            assert!(w.may(d, DevType::Char, 1, 3, R), "{d}");
        }
        assert!(w.may("q", DevType::Char, 1, 3, W));
        // A deny in the middle reaches only below it.
        w.write("p/c/devices.deny", b"b 8:* r").unwrap();
        assert!(w.may("p", DevType::Block, 8, 1, R));
        assert!(!w.may("p/c", DevType::Block, 8, 1, R));
        assert!(!w.may("p/c/g", DevType::Block, 8, 1, R));
        // parent_allows_removal at each level: the grandchild is held by its parent, the
        // child by its parent; the top by nothing but the root (which allows all).
        assert_eq!(
            w.write("p/c/g/devices.allow", b"b 8:1 r"),
            Err(Error::EPERM)
        );
        assert_eq!(
            w.write("p/c/g/devices.allow", b"c 1:3 w"),
            Err(Error::EPERM)
        );
        assert_eq!(w.write("p/c/devices.allow", b"c 1:3 w"), Err(Error::EPERM));
        w.write("p/devices.allow", b"c 1:3 w").unwrap();
        assert!(w.may("p", DevType::Char, 1, 3, W));
        // Allow does not propagate.
        assert!(!w.may("p/c", DevType::Char, 1, 3, W));
        assert!(!w.may("p/c/g", DevType::Char, 1, 3, W));
        // Now the child may remove it, but the grandchild keeps its copy.
        w.write("p/c/devices.allow", b"c 1:3 w").unwrap();
        assert!(w.may("p/c", DevType::Char, 1, 3, W));
        assert!(!w.may("p/c/g", DevType::Char, 1, 3, W));
        // A deny-all grandchild under allow groups: whitelisting needs no overlap with
        // its parent's exceptions, and the middle's later deny takes it back.
        w.write("p/c/g/devices.deny", b"a").unwrap();
        assert_eq!(
            w.write("p/c/g/devices.allow", b"b 8:1 r"),
            Err(Error::EPERM)
        );
        w.write("p/c/g/devices.allow", b"c 1:* rw").unwrap();
        assert_eq!(w.list("p/c/g/"), "c 1:* rw\n");
        assert!(w.may("p/c/g", DevType::Char, 1, 7, R | W));
        w.write("p/c/devices.deny", b"c 1:7 r").unwrap();
        // dev_exception_rm leaves g's "c 1:* rw" (not the same devices), but the
        // revalidation drops it: it now overlaps an exception of c.
        assert_eq!(w.list("p/c/g/"), "");
        assert!(!w.may("p/c/g", DevType::Char, 1, 3, R));
        assert!(w.may("p/c", DevType::Char, 1, 3, R));
        // rmdir from the bottom; the remaining groups keep their lists.
        w.gpc.rmdir(w.h, "p/c/g").unwrap();
        assert!(!w.may("p/c", DevType::Char, 1, 7, R));
        w.gpc.rmdir(w.h, "p/c").unwrap();
        w.gpc.mkdir(w.h, "p/c").unwrap();
        // A new child copies p, which has no exceptions left.
        assert!(w.may("p/c", DevType::Block, 8, 1, R));
        assert!(w.may("p/c", DevType::Char, 1, 7, R));
    }

    #[test]
    fn matchers() {
        let ex = |kind, major, minor, access| DevRule {
            kind,
            major,
            minor,
            access,
        };
        let list = [ex(DevType::Char, Some(1), None, R | W)];
        assert!(match_exception(&list, DevType::Char, Some(1), Some(7), R));
        assert!(match_exception(&list, DevType::Char, Some(1), None, R));
        assert!(!match_exception(&list, DevType::Char, None, Some(7), R));
        assert!(!match_exception(&list, DevType::Block, Some(1), Some(7), R));
        assert!(match_exception(&list, DevType::All, Some(1), Some(7), R));
        assert!(match_exception_partial(
            &list,
            DevType::Char,
            None,
            None,
            W | M
        ));
        assert!(!match_exception_partial(
            &list,
            DevType::Char,
            None,
            None,
            M
        ));
        assert!(!match_exception_partial(
            &list,
            DevType::Char,
            Some(2),
            None,
            R
        ));
        assert!(match_exception_partial(
            &list,
            DevType::All,
            Some(1),
            Some(1),
            R
        ));
    }
}
