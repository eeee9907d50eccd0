//! Device access on cgroup v2: programs attached to groups, in place of the v1
//! `devices` controller's files.
//!
//! On the unified hierarchy Linux's `devices` controller has no files; a
//! `BPF_PROG_TYPE_CGROUP_DEVICE` program attached to a group (`BPF_CGROUP_DEVICE`)
//! decides. `devcgroup_check_permission` (security/device_cgroup.c) first runs the
//! programs (`BPF_CGROUP_RUN_PROG_DEVICE_CGROUP` → `__cgroup_bpf_check_dev_permission`,
//! kernel/bpf/cgroup.c) of the task's v2 group, and `EPERM` if one of them denies; then the
//! v1 lists, if the v1 controller is mounted. gpc has no BPF: a host attaches any
//! [`DeviceProgram`] (a kernel may back it with BPF), or the built-in [`RuleProgram`], an
//! ordered rule list like the program runc generates.
//!
//! # Attaching (`__cgroup_bpf_attach`, kernel/bpf/cgroup.c)
//!
//! Each group has a list of programs and the flags they were attached with: none (one
//! program, descendants may not attach: `EPERM`), `BPF_F_ALLOW_OVERRIDE` (one program, a
//! descendant's replaces it) or `BPF_F_ALLOW_MULTI` (up to `BPF_CGROUP_MAX_PROGS` = 64,
//! and descendants' programs run as well as these).
//!
//! * both `ALLOW_OVERRIDE` and `ALLOW_MULTI`: `EINVAL`;
//! * an ancestor (the nearest one with programs decides) without `ALLOW_MULTI` or
//!   `ALLOW_OVERRIDE` (`hierarchy_allows_attach`): `EPERM`;
//! * flags that differ from those the group's programs were attached with: `EPERM`;
//! * without `ALLOW_MULTI` an attach replaces the group's program; with it, a 65th is
//!   `E2BIG`.
//!
//! Detaching (`__cgroup_bpf_detach`) names the program (its id here, the fd in Linux) or,
//! without `ALLOW_MULTI`, may name none; nothing to detach is `ENOENT`.
//!
//! # The effective programs (`compute_effective_progs`)
//!
//! From the group up to the root, a level's programs count if none were taken yet or the
//! level's flags have `ALLOW_MULTI`. Access is allowed when every effective program
//! allows it (`bpf_prog_run_array_cg`), so also when there is none.
//!
//! [`Attachments`] holds all of an instance's attachments keyed by container id (gpc
//! never gives an id twice): the core's containers know nothing of it, as Linux's
//! `cgroup->bpf` is the BPF layer's. Hosts forget a group's attachments when it is
//! removed (`cgroup_bpf_release`).

use alloc::boxed::Box;
use alloc::vec::Vec;

use crate::parse::{parse_dev_rule, DevAccess, DevRule, DevType};
use gpc_core::host::alloc::{try_box, try_reserve, Gfp};
use gpc_core::{Error, Result};

/// `BPF_F_ALLOW_OVERRIDE`.
pub const ALLOW_OVERRIDE: u32 = 1 << 0;
/// `BPF_F_ALLOW_MULTI`.
pub const ALLOW_MULTI: u32 = 1 << 1;
/// `BPF_CGROUP_MAX_PROGS`.
pub const MAX_PROGS: usize = 64;
/// The most rules a [`RuleProgram`] holds (a BPF program has at most a million
/// instructions; runc's rules are a few dozen).
pub const MAX_RULES: usize = 256;
/// The most groups with programs one [`Attachments`] holds.
pub const MAX_GROUPS: usize = 4096;

/// A device program (`BPF_PROG_TYPE_CGROUP_DEVICE`): whether a task may have `access`
/// (a non-empty subset of `rwm`) to the device `kind` `major:minor` (`kind` is
/// [`DevType::Char`] or [`DevType::Block`]).
pub trait DeviceProgram: Send + Sync {
    /// `true`: allow (the program returned 1).
    fn check(&self, kind: DevType, major: u32, minor: u32, access: DevAccess) -> bool;
}

/// One rule of a [`RuleProgram`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Allow (`true`) or deny what it matches.
    pub allow: bool,
    /// The devices and access it matches: type `a`, `b` or `c`, numbers or `*`, access.
    pub dev: DevRule,
}

impl Rule {
    /// Parse `allow|deny TYPE MAJOR:MINOR ACCESS` (`TYPE` `a`, `b` or `c`; numbers or
    /// `*`; `ACCESS` one to three of `r`, `w`, `m`), the device part as `devices.allow`
    /// reads it, with `a` taking numbers and access too (`a *:* rwm` is every device).
    ///
    /// # Errors
    ///
    /// `EINVAL` for anything else.
    pub fn parse(s: &str) -> Result<Rule> {
        let s = s.trim_matches(|c: char| c == ' ' || c == '\t');
        let (verb, dev) = s.split_once(' ').ok_or(Error::EINVAL)?;
        let allow = match verb {
            "allow" => true,
            "deny" => false,
            _ => return Err(Error::EINVAL),
        };
        let dev = dev.trim_start_matches(' ').as_bytes();
        let rule = match dev.split_first() {
            // parse_dev_rule reads a leading `a` as "everything"; read the rest as a
            // character rule and widen its type.
            Some((b'a', rest)) if rest.first() == Some(&b' ') => {
                let mut buf = [0u8; 64];
                let n = dev.len();
                let dst = buf.get_mut(..n).ok_or(Error::EINVAL)?;
                dst.copy_from_slice(dev);
                if let Some(first) = dst.first_mut() {
                    *first = b'c';
                }
                DevRule {
                    kind: DevType::All,
                    ..parse_dev_rule(dst)?
                }
            }
            Some((b'b' | b'c', _)) => parse_dev_rule(dev)?,
            _ => return Err(Error::EINVAL),
        };
        if rule.access.is_empty() {
            return Err(Error::EINVAL);
        }
        Ok(Rule { allow, dev: rule })
    }

    /// Whether the rule decides for this access: the type (`a` is both), the numbers
    /// (`*` is any) and the access, which must be within the rule's (runc's generated
    /// program skips a rule that grants less than asked).
    pub fn matches(&self, kind: DevType, major: u32, minor: u32, access: DevAccess) -> bool {
        (self.dev.kind == DevType::All || self.dev.kind == kind)
            && self.dev.major.is_none_or_eq(major)
            && self.dev.minor.is_none_or_eq(minor)
            && self.dev.access.contains(access)
    }
}

/// `Option<u32>` as a device number pattern.
trait NumPattern {
    fn is_none_or_eq(&self, n: u32) -> bool;
}

impl NumPattern for Option<u32> {
    fn is_none_or_eq(&self, n: u32) -> bool {
        match self {
            None => true,
            Some(m) => *m == n,
        }
    }
}

impl core::fmt::Display for Rule {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let verb = if self.allow { "allow" } else { "deny" };
        write!(f, "{verb} {}", self.dev)
    }
}

/// The built-in program: rules in order, the first that matches decides, no match
/// denies (the shape of runc's `devicefilter` program).
#[derive(Debug, Default)]
pub struct RuleProgram {
    rules: Vec<Rule>,
}

impl RuleProgram {
    /// An empty program (it denies everything).
    pub fn new() -> Self {
        RuleProgram { rules: Vec::new() }
    }

    /// Append `rule`.
    ///
    /// # Errors
    ///
    /// `E2BIG` past [`MAX_RULES`]; `ENOMEM`.
    pub fn push(&mut self, rule: Rule) -> Result {
        if self.rules.len() >= MAX_RULES {
            return Err(Error::E2BIG);
        }
        try_reserve(&mut self.rules, 1, Gfp::KERNEL)?;
        self.rules.push(rule);
        Ok(())
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }
}

impl DeviceProgram for RuleProgram {
    fn check(&self, kind: DevType, major: u32, minor: u32, access: DevAccess) -> bool {
        self.rules
            .iter()
            .find(|r| r.matches(kind, major, minor, access))
            .is_some_and(|r| r.allow)
    }
}

/// An attached program and the id it was given.
struct Attached {
    id: u32,
    prog: Box<dyn DeviceProgram>,
}

/// A group's programs (`cgroup->bpf.progs[CGROUP_DEVICE]` and `flags`).
struct Group {
    container: u64,
    flags: u32,
    progs: Vec<Attached>,
}

/// Every group's device programs in one gpc instance.
#[derive(Default)]
pub struct Attachments {
    groups: Vec<Group>,
    next_id: u32,
}

impl core::fmt::Debug for Attachments {
    /// Each group with programs: its container id, flags and the programs' ids.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut l = f.debug_list();
        for g in &self.groups {
            l.entry(&(
                g.container,
                g.flags,
                g.progs.iter().map(|p| p.id).collect::<Vec<_>>(),
            ));
        }
        l.finish()
    }
}

impl Attachments {
    /// No program anywhere.
    pub fn new() -> Self {
        Attachments::default()
    }

    fn group(&self, container: u64) -> Option<&Group> {
        self.groups.iter().find(|g| g.container == container)
    }

    /// Attach `prog` to the group `chain[0]`, whose ancestors are `chain[1..]` (nearest
    /// first, up to the root), with `flags` (`BPF_F_*`). Returns the program's id (for
    /// [`Attachments::detach`]).
    ///
    /// # Errors
    ///
    /// `EINVAL` for unknown flags, both `ALLOW_OVERRIDE` and `ALLOW_MULTI`, or an empty
    /// chain; `EPERM` when an ancestor's programs forbid it or the group's programs were
    /// attached with other flags; `E2BIG` past [`MAX_PROGS`] (or [`MAX_GROUPS`]);
    /// `ENOMEM`. Nothing changes on error (the program is dropped).
    pub fn attach(
        &mut self,
        chain: &[u64],
        prog: Box<dyn DeviceProgram>,
        flags: u32,
    ) -> Result<u32> {
        if flags & !(ALLOW_OVERRIDE | ALLOW_MULTI) != 0 || flags == ALLOW_OVERRIDE | ALLOW_MULTI {
            return Err(Error::EINVAL);
        }
        let (&me, ancestors) = chain.split_first().ok_or(Error::EINVAL)?;
        // hierarchy_allows_attach: the nearest ancestor with programs decides.
        for &a in ancestors {
            if let Some(g) = self.group(a).filter(|g| !g.progs.is_empty()) {
                if g.flags & (ALLOW_MULTI | ALLOW_OVERRIDE) == 0 {
                    return Err(Error::EPERM);
                }
                break;
            }
        }
        let id = self.next_id.checked_add(1).ok_or(Error::ENOSPC)?;
        let pos = self.groups.iter().position(|g| g.container == me);
        match pos.and_then(|i| self.groups.get(i)) {
            Some(g) if !g.progs.is_empty() && g.flags != flags => return Err(Error::EPERM),
            Some(g) if flags & ALLOW_MULTI != 0 && g.progs.len() >= MAX_PROGS => {
                return Err(Error::E2BIG)
            }
            _ => {}
        }
        let i = match pos {
            Some(i) => i,
            None => {
                if self.groups.len() >= MAX_GROUPS {
                    return Err(Error::E2BIG);
                }
                try_reserve(&mut self.groups, 1, Gfp::KERNEL)?;
                self.groups.push(Group {
                    container: me,
                    flags,
                    progs: Vec::new(),
                });
                self.groups.len() - 1
            }
        };
        let Some(g) = self.groups.get_mut(i) else {
            return Err(Error::EINVAL);
        };
        let replace = flags & ALLOW_MULTI == 0 && !g.progs.is_empty();
        if !replace {
            if let Err(e) = try_reserve(&mut g.progs, 1, Gfp::KERNEL) {
                if g.progs.is_empty() {
                    self.groups.swap_remove(i);
                }
                return Err(e);
            }
        }
        g.flags = flags;
        if replace {
            g.progs.clear();
        }
        g.progs.push(Attached { id, prog });
        self.next_id = id;
        Ok(id)
    }

    /// [`Attachments::attach`] of a [`RuleProgram`] made of `rules`.
    ///
    /// # Errors
    ///
    /// Those of [`RuleProgram::push`] and [`Attachments::attach`].
    pub fn attach_rules(&mut self, chain: &[u64], rules: &[Rule], flags: u32) -> Result<u32> {
        let mut p = RuleProgram::new();
        for r in rules {
            p.push(*r)?;
        }
        let prog: Box<dyn DeviceProgram> = try_box(p, Gfp::KERNEL)?;
        self.attach(chain, prog, flags)
    }

    /// Detach program `id` from group `container`, or with `None` its only program
    /// (not for `ALLOW_MULTI`, which must name one).
    ///
    /// # Errors
    ///
    /// `ENOENT` when there is no such program; `EINVAL` for `None` on an `ALLOW_MULTI`
    /// group.
    pub fn detach(&mut self, container: u64, id: Option<u32>) -> Result {
        let gi = self
            .groups
            .iter()
            .position(|g| g.container == container)
            .ok_or(Error::ENOENT)?;
        let g = self.groups.get_mut(gi).ok_or(Error::ENOENT)?;
        let pi = match id {
            Some(id) => g.progs.iter().position(|p| p.id == id),
            None if g.flags & ALLOW_MULTI != 0 => return Err(Error::EINVAL),
            None => (!g.progs.is_empty()).then_some(0),
        }
        .ok_or(Error::ENOENT)?;
        g.progs.remove(pi);
        if g.progs.is_empty() {
            self.groups.swap_remove(gi);
        }
        Ok(())
    }

    /// Forget every program of group `container` (`cgroup_bpf_release` at removal).
    pub fn forget(&mut self, container: u64) {
        self.groups.retain(|g| g.container != container);
    }

    /// The ids of group `container`'s programs and their flags.
    pub fn programs(&self, container: u64) -> (u32, impl Iterator<Item = u32> + '_) {
        let g = self.group(container);
        (
            g.map_or(0, |g| g.flags),
            g.into_iter().flat_map(|g| g.progs.iter().map(|p| p.id)),
        )
    }

    /// Whether a task in group `chain[0]` (ancestors `chain[1..]`, nearest first) may
    /// have `access` to `kind` `major:minor`: every effective program must allow
    /// (`__cgroup_bpf_check_dev_permission`).
    ///
    /// # Errors
    ///
    /// `EPERM` when one denies.
    pub fn check(
        &self,
        chain: &[u64],
        kind: DevType,
        major: u32,
        minor: u32,
        access: DevAccess,
    ) -> Result {
        let mut taken = 0usize;
        for &c in chain {
            let Some(g) = self.group(c) else {
                continue;
            };
            if taken > 0 && g.flags & ALLOW_MULTI == 0 {
                continue;
            }
            for p in &g.progs {
                taken += 1;
                if !p.prog.check(kind, major, minor, access) {
                    return Err(Error::EPERM);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test
mod tests {
    extern crate std;

    use super::*;

    const R: DevAccess = DevAccess::READ;
    const RW: DevAccess = DevAccess::READ.union(DevAccess::WRITE);

    fn rules(list: &[&str]) -> Vec<Rule> {
        list.iter().map(|s| Rule::parse(s).unwrap()).collect()
    }

    #[test]
    fn rule_parsing_and_hostile_rules() {
        let r = Rule::parse("allow c 1:3 rw").unwrap();
        assert!(r.allow);
        assert_eq!(std::format!("{r}"), "allow c 1:3 rw");
        assert_eq!(
            std::format!("{}", Rule::parse("deny a *:* rwm").unwrap()),
            "deny a *:* rwm"
        );
        assert_eq!(
            std::format!("{}", Rule::parse("  allow b 8:* m ").unwrap()),
            "allow b 8:* m"
        );
        for bad in [
            "",
            "allow",
            "allow ",
            "permit c 1:3 r",
            "allow x 1:3 r",
            "allow c 1:3",
            "allow c 1:3 ",
            "allow c 1 r",
            "allow c 1:3 rx",
            "allow a",
            "allow a *:*",
            "allow c 99999999999:1 r",
            "allow c 4294967296:1 r",
            "allow a 1:2 rwmrwmrwmrwmrwmrwmrwmrwmrwmrwmrwmrwmrwmrwmrwmrwmrwmrwmrwmrwmrwmrwm",
        ] {
            assert!(Rule::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn first_match_wins_default_deny() {
        let mut p = RuleProgram::new();
        for r in rules(&["deny c 1:5 w", "allow c 1:* rw", "allow b *:* r"]) {
            p.push(r).unwrap();
        }
        assert!(p.check(DevType::Char, 1, 3, RW));
        assert!(p.check(DevType::Char, 1, 5, R), "the deny asks for w only");
        assert!(!p.check(DevType::Char, 1, 5, DevAccess::WRITE));
        assert!(
            !p.check(DevType::Char, 1, 3, DevAccess::MKNOD),
            "no rule grants m"
        );
        assert!(p.check(DevType::Block, 8, 0, R));
        assert!(!p.check(DevType::Block, 8, 0, RW));
        assert!(!p.check(DevType::Char, 2, 0, R), "default deny");
        assert!(!RuleProgram::new().check(DevType::Char, 1, 3, R));
    }

    #[test]
    fn attach_rules_flags_and_effective_programs() {
        let mut a = Attachments::new();
        let (root, p, c) = (1u64, 2u64, 3u64);
        // No program: allowed.
        a.check(&[c, p, root], DevType::Char, 1, 3, R).unwrap();
        let allow_null = rules(&["allow c 1:3 rw"]);
        let allow_all = rules(&["allow a *:* rwm"]);
        // Plain attach at p: children may not attach below it.
        let id = a.attach_rules(&[p, root], &allow_null, 0).unwrap();
        assert_eq!(
            a.check(&[c, p, root], DevType::Char, 1, 5, R),
            Err(Error::EPERM)
        );
        a.check(&[c, p, root], DevType::Char, 1, 3, R).unwrap();
        assert_eq!(
            a.attach_rules(&[c, p, root], &allow_all, 0),
            Err(Error::EPERM)
        );
        assert_eq!(
            a.attach_rules(&[p, root], &allow_all, ALLOW_MULTI),
            Err(Error::EPERM),
            "other flags than the group's"
        );
        // A plain attach replaces.
        let id2 = a.attach_rules(&[p, root], &allow_all, 0).unwrap();
        assert_ne!(id, id2);
        a.check(&[c, p, root], DevType::Char, 1, 5, R).unwrap();
        assert_eq!(a.detach(p, Some(id)), Err(Error::ENOENT));
        a.detach(p, None).unwrap();
        assert_eq!(a.detach(p, None), Err(Error::ENOENT));
        // Override: the child's program replaces the parent's.
        a.attach_rules(&[p, root], &allow_null, ALLOW_OVERRIDE)
            .unwrap();
        a.attach_rules(&[c, p, root], &allow_all, 0).unwrap();
        a.check(&[c, p, root], DevType::Char, 1, 5, R).unwrap();
        assert_eq!(
            a.check(&[p, root], DevType::Char, 1, 5, R),
            Err(Error::EPERM)
        );
        a.forget(c);
        a.forget(p);
        // Multi at parent and child: both must allow.
        let pm = a
            .attach_rules(&[p, root], &allow_null, ALLOW_MULTI)
            .unwrap();
        a.attach_rules(&[c, p, root], &allow_all, ALLOW_MULTI)
            .unwrap();
        assert_eq!(
            a.check(&[c, p, root], DevType::Char, 1, 5, R),
            Err(Error::EPERM)
        );
        a.check(&[c, p, root], DevType::Char, 1, 3, RW).unwrap();
        // A MULTI parent's programs run below it whatever flags the child's have
        // (compute_effective_progs looks at the ancestor's flags).
        a.forget(c);
        a.attach_rules(&[c, p, root], &allow_all, 0).unwrap();
        assert_eq!(
            a.check(&[c, p, root], DevType::Char, 1, 5, R),
            Err(Error::EPERM)
        );
        assert_eq!(
            a.detach(p, None),
            Err(Error::EINVAL),
            "multi names the program"
        );
        a.detach(p, Some(pm)).unwrap();
        let (flags, ids) = a.programs(p);
        assert_eq!((flags, ids.count()), (0, 0));
        // Bad flags.
        assert_eq!(
            a.attach_rules(&[p], &allow_all, ALLOW_MULTI | ALLOW_OVERRIDE),
            Err(Error::EINVAL)
        );
        assert_eq!(a.attach_rules(&[p], &allow_all, 4), Err(Error::EINVAL));
        assert_eq!(a.attach_rules(&[], &allow_all, 0), Err(Error::EINVAL));
        // BPF_CGROUP_MAX_PROGS.
        for _ in 0..MAX_PROGS {
            a.attach_rules(&[p], &allow_all, ALLOW_MULTI).unwrap();
        }
        assert_eq!(
            a.attach_rules(&[p], &allow_all, ALLOW_MULTI),
            Err(Error::E2BIG)
        );
    }

    #[test]
    fn rule_program_bound() {
        let mut p = RuleProgram::new();
        let r = Rule::parse("allow a *:* r").unwrap();
        for _ in 0..MAX_RULES {
            p.push(r).unwrap();
        }
        assert_eq!(p.push(r), Err(Error::E2BIG));
        assert_eq!(p.rules().len(), MAX_RULES);
    }
}
