//! The host's side of the `rdma` and `misc` controllers and of v2 device programs: the
//! machine's RDMA devices and misc capacities (`machine rdma=... misc=...`), the charges
//! tasks hold (`rdma`/`misc charge`), and the device programs attached to v2 groups
//! (`devprog`), which `open` runs (doc/rdma-misc.md, doc/v2-devices.md).
//!
//! A charge belongs to the process (thread group) of the task that made it and to the
//! group it was made in, whatever the process does later (Linux's callers keep the
//! `rdma_cgroup` / `misc_cg` they charged: the IB core per uverbs object, KVM per VM);
//! `uncharge` gives back the newest charges first, and the process's exit gives back the
//! rest. If the group was removed since, its nearest surviving ancestor is uncharged (its
//! counters include the removed group's charge), the controller's root state at last.

use alloc::string::String;
use alloc::vec::Vec;

use gpc_core::host::alloc::{try_push, try_reserve, try_string, Gfp};
use gpc_core::{CssRef, Error, Node, Pid, Result, SubsysId};
use gpc_script::HostCommand;
use gpc_subsystems::{devprog, misc, rdma};

use super::{Machine, Platform};
use crate::fs::{Env, Loc};

/// What a charge was of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// An RDMA resource on a device.
    Rdma(String, rdma::Resource),
    /// A misc resource.
    Misc(misc::Resource),
}

/// One `charge` a process holds.
#[derive(Clone, Debug)]
pub(super) struct Charge {
    tgid: Pid,
    kind: Kind,
    n: u64,
    /// The charged group and its ancestors (container ids, nearest first).
    chain: Vec<u64>,
}

/// The machine's host-side state of these controllers.
#[derive(Default)]
pub(super) struct HostRes {
    /// `machine rdma=`, as written (kept across `machine`).
    pub(super) rdma_devs: Option<String>,
    /// `machine misc=`, as written.
    pub(super) misc_caps: Option<String>,
    pub(super) charges: Vec<Charge>,
    pub(super) progs: devprog::Attachments,
}

/// The most charge records the machine keeps (each command adds at most one).
const MAX_CHARGES: usize = 1 << 16;

impl<P: Platform> Machine<P> {
    /// Register `machine rdma=DEV,...` and set `machine misc=RES:N,...` on a fresh
    /// machine.
    ///
    /// # Errors
    ///
    /// `EINVAL` for an empty or repeated device name, one `rdma.max` could not name, an
    /// unknown misc resource or a bad number; `ENOMEM`; `ENOSPC` past the device bound.
    pub(super) fn apply_host_config(&mut self) -> Result {
        if let Some(list) = self.hostres.rdma_devs.as_deref() {
            if let Some(ss) = self.ids.rdma {
                for name in list.split(',') {
                    let r = self.with_root_css(ss, |c| {
                        let css = c.typed::<rdma::Rdma>().ok_or(Error::EINVAL)?;
                        rdma::register_device(css, name)
                    });
                    match r {
                        Some(Err(Error::EEXIST)) => return Err(Error::EINVAL),
                        Some(r) => r?,
                        None => return Err(Error::EINVAL),
                    }
                }
            }
        }
        if let Some(list) = self.hostres.misc_caps.as_deref() {
            if let Some(ss) = self.ids.misc {
                for item in list.split(',') {
                    let (name, n) = item.split_once(':').ok_or(Error::EINVAL)?;
                    let r = misc::Resource::from_name(name).ok_or(Error::EINVAL)?;
                    let n = gpc_core::parse::kstrtoull(n.as_bytes(), 10)?;
                    self.with_root_css(ss, |c| {
                        if let Some(css) = c.typed::<misc::Misc>() {
                            misc::set_capacity(css, r, n);
                        }
                    })
                    .ok_or(Error::EINVAL)?;
                }
            }
        }
        Ok(())
    }

    fn with_root_css<R>(&self, ss: SubsysId, f: impl FnOnce(CssRef<'_>) -> R) -> Option<R> {
        let id = self.gpc.root_css_id(ss)?;
        self.gpc.with_css_by_container_id(ss, id, f)
    }

    /// Call `f` with the state charge `chain` names: the nearest surviving one, else the
    /// subsystem's root state.
    fn with_charged_css<R>(
        &self,
        ss: SubsysId,
        chain: &[u64],
        f: &mut dyn FnMut(CssRef<'_>) -> R,
    ) -> Option<R> {
        for &id in chain {
            if let Some(r) = self.gpc.with_css_by_container_id(ss, id, &mut *f) {
                return Some(r);
            }
        }
        self.with_root_css(ss, f)
    }

    pub(super) fn do_host_command(&mut self, cmd: &HostCommand<'_>) -> Result<Vec<u8>> {
        match *cmd {
            HostCommand::Rdma {
                task,
                dev,
                res,
                n,
                charge,
            } => {
                let r = rdma::Resource::from_name(res).ok_or(Error::EINVAL)?;
                let n = u32::try_from(n).map_err(|_| Error::EINVAL)?;
                let kind = Kind::Rdma(try_string(dev, Gfp::KERNEL)?, r);
                self.host_charge(task, kind, u64::from(n), charge)?;
            }
            HostCommand::Misc {
                task,
                res,
                n,
                charge,
            } => {
                let r = misc::Resource::from_name(res).ok_or(Error::EINVAL)?;
                self.host_charge(task, Kind::Misc(r), n, charge)?;
            }
            HostCommand::DevprogAttach { path, flags, rules } => {
                let mut parsed = Vec::new();
                try_reserve(
                    &mut parsed,
                    rules.len().min(devprog::MAX_RULES),
                    Gfp::KERNEL,
                )?;
                for r in rules {
                    if parsed.len() >= devprog::MAX_RULES {
                        return Err(Error::E2BIG);
                    }
                    parsed.push(devprog::Rule::parse(r)?);
                }
                let chain = self.v2_chain(path)?;
                self.hostres.progs.attach_rules(&chain, &parsed, flags)?;
            }
            HostCommand::DevprogDetach { path, id } => {
                let chain = self.v2_chain(path)?;
                let me = chain.first().copied().ok_or(Error::EINVAL)?;
                self.hostres.progs.detach(me, id)?;
            }
            HostCommand::DevprogList { path } => {
                let chain = self.v2_chain(path)?;
                let me = chain.first().copied().ok_or(Error::EINVAL)?;
                let (flags, ids) = self.hostres.progs.programs(me);
                let flags = match flags {
                    devprog::ALLOW_MULTI => "multi",
                    devprog::ALLOW_OVERRIDE => "override",
                    _ => "none",
                };
                let mut out = Vec::new();
                let mut w = gpc_core::Out::new(&mut out);
                for id in ids {
                    writeln!(w, "{id} {flags}")?;
                }
                return Ok(out);
            }
        }
        Ok(Vec::new())
    }

    /// The v2 group at `path` and its ancestors (container ids, nearest first), as
    /// `BPF_PROG_ATTACH`'s target fd names it (`cgroup_get_from_fd`: a v1 group is
    /// `EBADF`, a file `ENOTDIR`).
    fn v2_chain(&self, path: &str) -> Result<Vec<u64>> {
        let creds = self.creds();
        // Loading and attaching a device program is privileged in Linux (CAP_BPF and
        // CAP_NET_ADMIN); the machine's users without capabilities get EPERM.
        if !creds.cap_sys_admin {
            return Err(Error::EPERM);
        }
        let env = Env {
            gpc: &self.gpc,
            tasks: &self.tasks,
            current: self.current,
        };
        let Loc::Cg {
            hier, dir_id, file, ..
        } = self.vfs.resolve(&env, &creds, path)?
        else {
            return Err(Error::EBADF);
        };
        if file.is_some() {
            return Err(Error::ENOTDIR);
        }
        if !self.gpc.is_unified(hier) {
            return Err(Error::EBADF);
        }
        let mut chain = Vec::new();
        let mut node = Node::directory(hier, dir_id);
        loop {
            try_push(&mut chain, node.container_id(), Gfp::KERNEL)?;
            match self.gpc.parent(&node) {
                Ok(p) if p.container_id() != node.container_id() => node = p,
                _ => break,
            }
        }
        Ok(chain)
    }

    /// `rdma`/`misc charge|uncharge`.
    fn host_charge(&mut self, task: Pid, kind: Kind, n: u64, charge: bool) -> Result {
        let t = self.tasks.get(task).ok_or(Error::ESRCH)?;
        let tgid = t.tgid;
        let ss = match kind {
            Kind::Rdma(..) => self.ids.rdma,
            Kind::Misc(_) => self.ids.misc,
        }
        .ok_or(Error::EOPNOTSUPP)?;
        if !charge {
            return self.host_uncharge(tgid, ss, &kind, n);
        }
        if self.hostres.charges.len() >= MAX_CHARGES {
            return Err(Error::ENOSPC);
        }
        try_reserve(&mut self.hostres.charges, 1, Gfp::KERNEL)?;
        let slot = self.task_slot(task)?;
        let guard = self.gpc.rcu_read_lock();
        let css = self.gpc.task_css(&guard, slot, ss).ok_or(Error::ESRCH)?;
        let mut chain = Vec::new();
        let depth = core::iter::successors(Some(css), |c| c.parent()).count();
        try_reserve(&mut chain, depth, Gfp::KERNEL)?;
        let mut cur = Some(css);
        while let Some(c) = cur {
            chain.push(c.container_id());
            cur = c.parent();
        }
        match &kind {
            Kind::Rdma(dev, r) => {
                let css = css.typed::<rdma::Rdma>().ok_or(Error::EINVAL)?;
                let n = u32::try_from(n).map_err(|_| Error::EINVAL)?;
                rdma::try_charge(css, dev, *r, n)?;
            }
            Kind::Misc(r) => {
                let css = css.typed::<misc::Misc>().ok_or(Error::EINVAL)?;
                misc::try_charge(css, *r, n)?;
            }
        }
        drop(guard);
        if n > 0 {
            self.hostres.charges.push(Charge {
                tgid,
                kind,
                n,
                chain,
            });
        }
        Ok(())
    }

    /// Give back `n` of what process `tgid` holds of `kind`, newest charges first.
    fn host_uncharge(&mut self, tgid: Pid, ss: SubsysId, kind: &Kind, n: u64) -> Result {
        let held: u64 = self
            .hostres
            .charges
            .iter()
            .filter(|c| c.tgid == tgid && c.kind == *kind)
            .fold(0u64, |a, c| a.saturating_add(c.n));
        if n > held {
            return Err(Error::EINVAL);
        }
        let mut left = n;
        let mut i = self.hostres.charges.len();
        while left > 0 && i > 0 {
            i -= 1;
            let Some(c) = self.hostres.charges.get(i) else {
                break;
            };
            if c.tgid != tgid || c.kind != *kind {
                continue;
            }
            let take = left.min(c.n);
            self.give_back(ss, c, take);
            left -= take;
            if let Some(c) = self.hostres.charges.get_mut(i) {
                c.n -= take;
                if c.n == 0 {
                    self.hostres.charges.remove(i);
                }
            }
        }
        Ok(())
    }

    fn give_back(&self, ss: SubsysId, c: &Charge, n: u64) {
        let _ = self.with_charged_css(ss, &c.chain, &mut |css| match &c.kind {
            Kind::Rdma(dev, r) => {
                if let (Some(css), Ok(n)) = (css.typed::<rdma::Rdma>(), u32::try_from(n)) {
                    rdma::uncharge(css, dev, *r, n);
                }
            }
            Kind::Misc(r) => {
                if let Some(css) = css.typed::<misc::Misc>() {
                    misc::uncharge(css, *r, n);
                }
            }
        });
    }

    /// Process `tgid` exited: everything it holds goes back. Allocates nothing.
    pub(super) fn release_host_charges(&mut self, tgid: Pid) {
        let mut i = self.hostres.charges.len();
        while i > 0 {
            i -= 1;
            let Some(c) = self.hostres.charges.get(i) else {
                continue;
            };
            if c.tgid != tgid {
                continue;
            }
            let ss = match c.kind {
                Kind::Rdma(..) => self.ids.rdma,
                Kind::Misc(_) => self.ids.misc,
            };
            if let Some(ss) = ss {
                self.give_back(ss, c, c.n);
            }
            self.hostres.charges.remove(i);
        }
    }

    /// `devcgroup_check_permission`'s first step: the device programs of the task's v2
    /// group and its ancestors (`BPF_CGROUP_RUN_PROG_DEVICE_CGROUP`).
    ///
    /// # Errors
    ///
    /// `EPERM` when one denies; `ESRCH`.
    pub(super) fn check_device_programs(
        &self,
        task: Pid,
        kind: gpc_subsystems::parse::DevType,
        major: u32,
        minor: u32,
        access: gpc_subsystems::parse::DevAccess,
    ) -> Result {
        let slot = self.task_slot(task)?;
        // The depth of a tree is bounded only by cgroup.max.depth: walk it twice rather
        // than allocate (count, then fill a bounded buffer, else the slow path).
        let mut chain = [0u64; 64];
        let mut len = 0usize;
        let mut deep = false;
        self.gpc
            .task_dfl_ancestors(slot, &mut |id| match chain.get_mut(len) {
                Some(x) => {
                    *x = id;
                    len += 1;
                }
                None => deep = true,
            })?;
        if !deep {
            let chain = chain.get(..len).unwrap_or(&[]);
            return self.hostres.progs.check(chain, kind, major, minor, access);
        }
        let mut all = Vec::new();
        let mut oom = false;
        self.gpc.task_dfl_ancestors(slot, &mut |id| {
            if try_push(&mut all, id, Gfp::KERNEL).is_err() {
                oom = true;
            }
        })?;
        if oom {
            return Err(Error::ENOMEM);
        }
        self.hostres.progs.check(&all, kind, major, minor, access)
    }
}
