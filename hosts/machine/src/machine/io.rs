//! The machine's block I/O: the `io` command, the I/O in flight during `run`, and the
//! io controller's effects on it (model: [`crate::blk`], doc/io.md).

use alloc::vec::Vec;

use gpc_core::{Css, Error, Result};
use gpc_subsystems::io::{self as blkcg, Io};

use super::{Machine, Platform};
use crate::blk::{self, Disk, Flow, Level};
use crate::sched;

/// Parse `machine disks=LIST`: `MAJ:MIN[@BPS[/IOPS]]` separated by commas, at most
/// [`blkcg::MAX_DISKS`], each a whole disk named once; BPS (bytes per second, read and
/// write) with the size suffixes of the script (`K`, `M`, `G`, binary), IOPS a plain
/// number.
///
/// # Errors
///
/// `EINVAL` for anything else, `ENOMEM`.
pub(super) fn parse_disks(list: &str) -> Result<Vec<Disk>> {
    let mut v: Vec<Disk> = Vec::new();
    for item in list.split(',') {
        if v.len() >= blkcg::MAX_DISKS {
            return Err(Error::EINVAL);
        }
        let (name, figures) = match item.split_once('@') {
            Some((n, f)) => (n, Some(f)),
            None => (item, None),
        };
        let (major, minor) = name.split_once(':').ok_or(Error::EINVAL)?;
        let num = |s: &str| -> Result<u32> {
            if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
                return Err(Error::EINVAL);
            }
            s.parse().map_err(|_| Error::EINVAL)
        };
        let (major, minor) = (num(major)?, num(minor)?);
        // MKDEV's ranges: 12 bits of major, 20 of minor.
        if major >= 1 << 12 || minor >= 1 << 20 {
            return Err(Error::EINVAL);
        }
        let mut disk = Disk::new(blkcg::mkdev(major, minor));
        if let Some(f) = figures {
            let (bps, iops) = match f.split_once('/') {
                Some((b, i)) => (b, Some(i)),
                None => (f, None),
            };
            let bps = parse_size(bps)?;
            disk.bps = [bps, bps];
            if let Some(i) = iops {
                disk.iops = u64::from(num(i)?);
            }
            if bps == 0 || disk.iops == 0 {
                return Err(Error::EINVAL);
            }
        }
        if v.iter().any(|d| d.dev == disk.dev) {
            return Err(Error::EINVAL);
        }
        v.try_reserve(1)?;
        v.push(disk);
    }
    Ok(v)
}

/// `N[K|M|G|T]` (binary multiples).
fn parse_size(s: &str) -> Result<u64> {
    let (digits, mult) = match s.as_bytes().last() {
        Some(b'K' | b'k') => (&s[..s.len() - 1], 1u64 << 10),
        Some(b'M' | b'm') => (&s[..s.len() - 1], 1 << 20),
        Some(b'G' | b'g') => (&s[..s.len() - 1], 1 << 30),
        Some(b'T' | b't') => (&s[..s.len() - 1], 1 << 40),
        _ => (s, 1),
    };
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return Err(Error::EINVAL);
    }
    let n: u64 = digits.parse().map_err(|_| Error::EINVAL)?;
    n.checked_mul(mult).ok_or(Error::EINVAL)
}

impl<P: Platform> Machine<P> {
    /// The root state of the io controller, for `f`.
    fn with_io_root<R>(&self, f: impl FnOnce(Css<'_, Io>) -> R) -> Option<R> {
        let ss = self.ids.io?;
        let init = self.tasks.get(1)?;
        let guard = self.gpc.rcu_read_lock();
        let root = self
            .gpc
            .task_state::<Io>(&guard, &init.slot, ss)?
            .ancestors_and_self()
            .last()?;
        Some(f(root))
    }

    /// Tell the io controller the machine's disks.
    pub(super) fn register_disks(&self) -> Result {
        let mut devs = [0u32; blkcg::MAX_DISKS];
        let n = self.disks.len().min(blkcg::MAX_DISKS);
        for (d, disk) in devs.iter_mut().zip(&self.disks) {
            *d = disk.dev;
        }
        self.with_io_root(|root| blkcg::set_disks(root, &devs[..n]))
            .unwrap_or(Ok(()))
    }

    /// Whether the io controller is on the unified hierarchy (Linux
    /// `cgroup_subsys_on_dfl`: on no v1 hierarchy), so that `io.weight` rather than bfq's
    /// v1 weight shares the disks.
    fn io_on_dfl(&self) -> bool {
        self.ids
            .io
            .and_then(|ss| self.gpc.root_css_id(ss))
            .map_or(true, |id| id == 0)
    }

    /// Whether task `pid` waits for block I/O it issued (`io`): it is then in state `D`
    /// and not runnable until the I/O completes. Pressure-stall accounting counts such
    /// a task in `io` pressure (Linux `TSK_IOWAIT`).
    pub fn task_io_waiting(&self, pid: gpc_core::Pid) -> bool {
        self.flows.iter().any(|f| f.pid == pid)
    }

    /// The machine's disks.
    pub fn disks(&self) -> &[Disk] {
        &self.disks
    }

    /// `io VAR MAJ:MIN read|write BYTES`: the task issues I/O to the disk and waits
    /// (state `D`) until `run` completes it.
    ///
    /// # Errors
    ///
    /// `ESRCH` for no such task, `ENXIO` for a device that is not one of the machine's
    /// disks (`blkdev_open` of a node without a disk), `EPERM` where the devices
    /// controller denies the access, `EBUSY` for a task that already waits for I/O,
    /// `ENOMEM`.
    pub(super) fn do_io(
        &mut self,
        pid: gpc_core::Pid,
        major: u32,
        minor: u32,
        write: bool,
        bytes: u64,
    ) -> Result {
        let slot = self.task_slot(pid)?;
        let dev = if major < 1 << 12 && minor < 1 << 20 {
            blkcg::mkdev(major, minor)
        } else {
            return Err(Error::ENXIO);
        };
        if !self.disks.iter().any(|d| d.dev == dev) {
            return Err(Error::ENXIO);
        }
        if let Some(ss) = self.ids.devices {
            let guard = self.gpc.rcu_read_lock();
            if let Some(css) = self
                .gpc
                .task_state::<gpc_subsystems::devices::Devices>(&guard, slot, ss)
            {
                let access = if write { "w" } else { "r" };
                if !crate::effects::device_may_access(css, b'b', major, minor, access) {
                    return Err(Error::EPERM);
                }
            }
        }
        if self.task_io_waiting(pid) {
            return Err(Error::EBUSY);
        }
        if bytes == 0 {
            return Ok(());
        }
        let group = match self.ids.io {
            Some(ss) => {
                let guard = self.gpc.rcu_read_lock();
                let css = self
                    .gpc
                    .task_state::<Io>(&guard, slot, ss)
                    .ok_or(Error::ESRCH)?;
                // The blkgs the I/O is counted in, made now (ENOMEM here changes
                // nothing that shows).
                blkcg::prepare(css, dev)?;
                css.container_id()
            }
            None => 0,
        };
        self.flows.try_reserve(1)?;
        self.flows.push(Flow {
            pid,
            dev,
            write,
            total: bytes,
            done: 0.0,
            counted: (0, 0),
            group,
        });
        Ok(())
    }

    /// The flusher wrote `pages` dirty pages of memory group `memcg` (container id;
    /// `None`: no memory controller) back to the first disk: counted as asynchronous
    /// writes of the io group of the same container on v2 (cgroup writeback: the
    /// page's memory group's io group; the root's where that group has no io state or
    /// no blkg yet, which writeback does not allocate), of the root on v1. The
    /// flusher's pace stays mm's fixed one (doc/io.md).
    pub(super) fn account_writeback(&self, memcg: Option<u64>, pages: u64) {
        let (Some(ss), Some(disk)) = (self.ids.io, self.disks.first()) else {
            return;
        };
        let bytes = pages.saturating_mul(crate::mm::PAGE_SIZE);
        let ios = bytes.div_ceil(blk::REQ_BYTES);
        let dev = disk.dev;
        let charged = self.io_on_dfl()
            && memcg.is_some_and(|id| {
                self.gpc
                    .with_css_by_container_id(ss, id, |css| {
                        css.typed::<Io>().is_some_and(|c| {
                            let has = blkcg::has_blkg(c, dev);
                            if has {
                                blkcg::account(c, dev, true, false, bytes, ios);
                            }
                            has
                        })
                    })
                    .unwrap_or(false)
            });
        if !charged {
            self.with_io_root(|root| blkcg::account(root, dev, true, false, bytes, ios));
        }
    }

    /// A task exits: its I/O is forgotten (what completed stays counted).
    pub(super) fn io_forget(&mut self, pid: gpc_core::Pid) {
        self.flows.retain(|f| f.pid != pid);
    }

    /// The group path of flow `f` (root first, then the flow's own tasks as a level).
    fn io_path(&self, f: &Flow, on_dfl: bool) -> Result<Vec<Level>> {
        let mut path: Vec<Level> = Vec::new();
        let own = Level {
            id: !f.group,
            weight: blk::OWN_TASKS_WEIGHT,
            bps: u64::MAX,
            iops: u32::MAX,
        };
        let dir = usize::from(f.write);
        let r = self.ids.io.and_then(|ss| {
            self.gpc.with_css_by_container_id(ss, f.group, |css| {
                let css = css.typed::<Io>()?;
                let depth = css.ancestors_and_self().count();
                if path.try_reserve_exact(depth + 1).is_err() {
                    return Some(Err(Error::ENOMEM));
                }
                for c in css.ancestors_and_self() {
                    let (bps, iops) = blkcg::limits(c, f.dev);
                    path.push(Level {
                        id: c.container_id(),
                        weight: blkcg::weight(c, f.dev, on_dfl),
                        bps: bps[dir],
                        iops: iops[dir],
                    });
                }
                Some(Ok(()))
            })
        });
        match r.flatten() {
            Some(r) => r?,
            None => {
                // No controller (or the group is gone): the root's tasks.
                path.try_reserve_exact(2)?;
                path.push(Level {
                    id: u64::MAX - 1,
                    weight: blkcg::WEIGHT_DFL,
                    bps: u64::MAX,
                    iops: u32::MAX,
                });
            }
        }
        path.reverse();
        path.push(own);
        Ok(path)
    }

    /// The rate of each of `flows` (bytes per second, in their order), those completed
    /// (`done == total`) left out of the sharing.
    fn io_rates(&self, flows: &[Flow]) -> Result<Vec<f64>> {
        let on_dfl = self.io_on_dfl();
        let mut rates = Vec::new();
        rates.try_reserve_exact(flows.len())?;
        rates.resize(flows.len(), 0.0);
        for disk in &self.disks {
            let mut idx: Vec<usize> = Vec::new();
            let mut on_disk: Vec<&Flow> = Vec::new();
            let mut paths: Vec<Vec<Level>> = Vec::new();
            let live = flows
                .iter()
                .enumerate()
                .filter(|(_, f)| f.dev == disk.dev && f.done < f.total as f64);
            for (i, f) in live {
                idx.try_reserve(1)?;
                on_disk.try_reserve(1)?;
                paths.try_reserve(1)?;
                let p = self.io_path(f, on_dfl)?;
                idx.push(i);
                on_disk.push(f);
                paths.push(p);
            }
            let r = blk::rates(disk, &on_disk, &paths)?;
            for (k, i) in idx.into_iter().enumerate() {
                if let Some(slot) = rates.get_mut(i) {
                    *slot = r.get(k).copied().unwrap_or(0.0);
                }
            }
        }
        Ok(rates)
    }

    /// When, in whole ticks from now, the first I/O in flight completes (`None`: no I/O
    /// moves).
    pub(super) fn io_next_tick(&self) -> Result<Option<u64>> {
        if self.flows.is_empty() {
            return Ok(None);
        }
        let rates = self.io_rates(&self.flows)?;
        Ok(blk::next_completion_ns(&self.flows, &rates).map(|ns| ns.div_ceil(sched::TICK_NS)))
    }

    /// The I/O in flight after `ms` more of simulated time (`self.flows`' order, the
    /// completed ones with `done == total`): each stretch between two completions at
    /// constant rates, in closed form. Nothing changes here: [`Machine::io_commit`]
    /// applies it (so that `run` can fail with `ENOMEM` before it commits anything).
    pub(super) fn io_plan(&self, ms: u64) -> Result<Vec<Flow>> {
        let mut flows = Vec::new();
        flows.try_reserve_exact(self.flows.len())?;
        flows.extend(self.flows.iter().cloned());
        let mut left = ms.saturating_mul(sched::TICK_NS);
        // Every round but the last completes a flow (bounded all the same).
        for _ in 0..self.flows.len() + 2 {
            if left == 0 || flows.iter().all(|f| f.done >= f.total as f64) {
                break;
            }
            let rates = self.io_rates(&flows)?;
            let next = blk::next_completion_ns(&flows, &rates);
            let step = next.map_or(left, |n| n.min(left));
            let secs = step as f64 / 1e9;
            for (f, r) in flows.iter_mut().zip(&rates) {
                if *r <= 0.0 {
                    continue;
                }
                f.done = (f.done + r * secs).min(f.total as f64);
                // Done within half a ns (the rounding of `next_completion_ns`).
                let t = ((f.total as f64 - f.done).max(0.0) / r * 1e9 + 0.5) as u64;
                if t == 0 {
                    f.done = f.total as f64;
                }
            }
            left -= step;
            if next.map_or(true, |n| n > step) {
                break;
            }
        }
        Ok(flows)
    }

    /// Apply an [`Machine::io_plan`]: count what completed in the groups' statistics and
    /// drop the completed I/O (its tasks run again). Allocates nothing.
    pub(super) fn io_commit(&mut self, plan: Vec<Flow>) {
        if plan.len() != self.flows.len() {
            return;
        }
        self.flows = plan;
        if let Some(ss) = self.ids.io {
            for f in self.flows.iter_mut() {
                let (bytes, ios) = f.completed();
                let (db, di) = (
                    bytes.saturating_sub(f.counted.0),
                    ios.saturating_sub(f.counted.1),
                );
                if db == 0 && di == 0 {
                    continue;
                }
                f.counted = (bytes, ios);
                let (dev, write) = (f.dev, f.write);
                self.gpc.with_css_by_container_id(ss, f.group, |css| {
                    if let Some(css) = css.typed::<Io>() {
                        // A task's own I/O is synchronous (a read, a direct write).
                        blkcg::account(css, dev, write, true, db, di);
                    }
                });
            }
        }
        self.flows.retain(|f| f.done < f.total as f64);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test
mod tests {
    use alloc::string::String;

    use gpc_core::testing::TestHost;
    use gpc_script::{Machine as _, MachineConfig};

    use super::*;

    struct Std;

    impl Platform for Std {
        type Host = TestHost;
        fn host(nr_cpus: usize, nr_mems: usize) -> Result<TestHost> {
            Ok(TestHost::new(nr_cpus, nr_mems))
        }
    }

    type M = Machine<Std>;

    fn text(m: &mut M, path: &str) -> String {
        String::from_utf8(m.read(path).unwrap()).unwrap()
    }

    fn v2(disks: Option<&str>) -> M {
        let mut m = M::new().unwrap();
        m.configure(&MachineConfig {
            v2: Some("all"),
            disks,
            ..MachineConfig::default()
        })
        .unwrap();
        m.mount("cgroup2", "", "none", "/cg").unwrap();
        m.write("/cg/cgroup.subtree_control", b"+io").unwrap();
        m
    }

    fn task_in(m: &mut M, group: &str) -> gpc_core::Pid {
        let p = m.spawn().unwrap();
        m.set_busy(p, false).unwrap();
        m.write(group, alloc::format!("{p}").as_bytes()).unwrap();
        p
    }

    #[test]
    fn disks_parse() {
        let d = parse_disks("8:0,8:16@50M/300,259:0@1024").unwrap();
        assert_eq!(d.len(), 3);
        assert_eq!(d[1].bps, [50 << 20; 2]);
        assert_eq!(d[1].iops, 300);
        assert_eq!(d[2].dev, blkcg::mkdev(259, 0));
        assert_eq!(d[2].iops, blk::DEFAULT_IOPS);
        for bad in [
            "",
            "8",
            "8:",
            ":0",
            "8:0,8:0",
            "8:0@",
            "8:0@0",
            "8:0@1/0",
            "8:0@1x",
            "x:0",
            "4096:0",
            "8:1048576",
            "8:0@99999999999T",
            "-8:0",
            "8:0,",
        ] {
            assert_eq!(parse_disks(bad), Err(Error::EINVAL), "{bad:?}");
        }
        let many: String = (0..17).map(|i| alloc::format!("8:{i},")).collect();
        assert_eq!(parse_disks(many.trim_end_matches(',')), Err(Error::EINVAL));
    }

    #[test]
    fn io_waits_in_d_and_completes_at_the_limit() {
        let mut m = v2(None);
        m.mkdir("/cg/a", false).unwrap();
        m.write("/cg/a/io.max", b"8:0 wbps=1048576").unwrap();
        let p = task_in(&mut m, "/cg/a/cgroup.procs");
        m.block_io(p, 8, 0, true, 10 << 20).unwrap();
        assert!(m.task_io_waiting(p));
        assert_eq!(m.block_io(p, 8, 0, false, 1), Err(Error::EBUSY));
        m.run(9999).unwrap();
        assert!(m.task_io_waiting(p));
        m.run(1).unwrap();
        assert!(!m.task_io_waiting(p));
        assert_eq!(
            text(&mut m, "/cg/a/io.stat"),
            "8:0 rbytes=0 wbytes=10485760 rios=0 wios=20 dbytes=0 dios=0\n"
        );
        // Errors: no such task, disk, device numbers out of range.
        assert_eq!(m.block_io(999, 8, 0, true, 1), Err(Error::ESRCH));
        assert_eq!(m.block_io(p, 8, 16, true, 1), Err(Error::ENXIO));
        assert_eq!(m.block_io(p, 4104, 0, true, 1), Err(Error::ENXIO));
        assert_eq!(m.block_io(p, 8, u32::MAX, true, 1), Err(Error::ENXIO));
        // Nothing to do: done at once.
        m.block_io(p, 8, 0, true, 0).unwrap();
        assert!(!m.task_io_waiting(p));
    }

    #[test]
    fn weights_share_the_disk_and_exit_drops_the_io() {
        let mut m = v2(Some("8:0@100M,8:16"));
        m.mkdir("/cg/a", false).unwrap();
        m.mkdir("/cg/b", false).unwrap();
        m.write("/cg/a/io.weight", b"300").unwrap();
        let a = task_in(&mut m, "/cg/a/cgroup.procs");
        let b = task_in(&mut m, "/cg/b/cgroup.procs");
        m.block_io(a, 8, 0, false, 1 << 30).unwrap();
        m.block_io(b, 8, 0, false, 1 << 30).unwrap();
        m.run(4000).unwrap();
        // 3:1 of 100 MiB/s for 4 s.
        assert!(text(&mut m, "/cg/a/io.stat").contains("rbytes=314572800 "));
        assert!(text(&mut m, "/cg/b/io.stat").contains("rbytes=104857600 "));
        m.exit(a).unwrap();
        assert!(!m.task_io_waiting(a));
        // b alone now: the rest of its GiB at the whole disk.
        m.run(10_000).unwrap();
        assert!(!m.task_io_waiting(b));
        // A very long run with nothing in flight stays cheap.
        m.block_io(b, 8, 16, true, 1).unwrap();
        m.run(1_000_000_000).unwrap();
        assert!(!m.task_io_waiting(b));
    }

    #[test]
    fn writeback_is_counted_in_the_memory_groups_io_group() {
        let mut m = v2(None);
        m.write("/cg/cgroup.subtree_control", b"+memory").unwrap();
        m.mkdir("/cg/a", false).unwrap();
        m.mkdir("/cg/b", false).unwrap();
        // a has a blkg for 8:0 (a setting), b none: b's writeback is the root's.
        m.write("/cg/a/io.max", b"8:0 riops=5").unwrap();
        let a = task_in(&mut m, "/cg/a/cgroup.procs");
        let b = task_in(&mut m, "/cg/b/cgroup.procs");
        m.write_file(a, "f", 4 << 20).unwrap();
        m.write_file(b, "g", 1 << 20).unwrap();
        m.run(1000).unwrap();
        assert_eq!(
            text(&mut m, "/cg/a/io.stat"),
            "8:0 rbytes=0 wbytes=4194304 rios=0 wios=8 dbytes=0 dios=0\n"
        );
        assert_eq!(text(&mut m, "/cg/b/io.stat"), "");
        assert!(text(&mut m, "/cg/io.stat").contains("wbytes=5242880 "));
    }

    #[test]
    fn v1_throttle_is_hierarchical_and_the_devices_controller_is_asked() {
        let mut m = M::new().unwrap();
        m.mount("cgroup", "blkio,devices", "none", "/blk").unwrap();
        m.mkdir("/blk/a", false).unwrap();
        m.mkdir("/blk/a/b", false).unwrap();
        m.write("/blk/a/blkio.throttle.read_bps_device", b"8:0 1048576")
            .unwrap();
        let p = task_in(&mut m, "/blk/a/b/tasks");
        m.block_io(p, 8, 0, false, 2 << 20).unwrap();
        m.run(1999).unwrap();
        assert!(m.task_io_waiting(p));
        m.run(1).unwrap();
        assert!(!m.task_io_waiting(p));
        assert!(
            text(&mut m, "/blk/a/blkio.throttle.io_service_bytes_recursive")
                .starts_with("8:0 Read 2097152\n")
        );
        m.write("/blk/a/b/devices.deny", b"b 8:0 r").unwrap();
        assert_eq!(m.block_io(p, 8, 0, false, 1), Err(Error::EPERM));
        m.block_io(p, 8, 0, true, 1).unwrap();
    }
}
