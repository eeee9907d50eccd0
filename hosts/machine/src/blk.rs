//! The block devices of the simulated machine and the I/O in flight on them.
//!
//! A disk has a read and a write bandwidth and a request rate; a request of the model is
//! at most [`REQ_BYTES`] (an `io` of BYTES is `ceil(BYTES / REQ_BYTES)` requests, the last
//! one shorter) and takes the disk `max(size / bandwidth, 1 / iops)`: the disk's cost
//! of a byte of a flow is fixed for the flow. Between two events (an I/O issued or
//! completed, a setting changed: `run` recomputes at every completion and starts afresh
//! each command) every flow moves at a constant rate, so `run` computes the time to the
//! next completion in closed form, whatever its length.
//!
//! The rates ([`rates`]) are a weighted max-min fair share of the disk's time (Linux's
//! iocost and bfq share device time by weight and are work-conserving): every flow's
//! rate grows with its weight until a constraint binds (the disk's time, or an `io.max`
//! / `blkio.throttle` limit of its group or of an ancestor, in bytes or requests per
//! second), then the flows a binding constraint holds stay, and the others grow on.
//! A flow's weight is its hierarchical share: at each level of its group's path the
//! group's weight over the sum of the weights of the sibling groups that have I/O on the
//! disk, the tasks of a group that has children counting as one more child of weight
//! [`OWN_TASKS_WEIGHT`], and a group's flows sharing its part equally. doc/io.md says
//! where this is coarser than Linux.

use alloc::vec::Vec;

use gpc_core::Result;

/// The largest request (`BLK_DEF_MAX_SECTORS_CAP`-like 512 KiB).
pub const REQ_BYTES: u64 = 512 * 1024;

/// The weight the own tasks of a group with children count with, against its children
/// (`CGROUP_WEIGHT_DFL`).
pub const OWN_TASKS_WEIGHT: u32 = 100;

/// A disk of the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Disk {
    /// `MKDEV(major, minor)`.
    pub dev: u32,
    /// Bytes per second, read and write.
    pub bps: [u64; 2],
    /// Requests per second.
    pub iops: u64,
}

/// The default bandwidth of a disk: 100 MiB/s each way.
pub const DEFAULT_BPS: u64 = 100 * 1024 * 1024;
/// The default request rate of a disk (never the bound for 512 KiB requests at the
/// default bandwidth: those are 200 a second).
pub const DEFAULT_IOPS: u64 = 10_000;

impl Disk {
    /// A disk with the default figures.
    pub const fn new(dev: u32) -> Disk {
        Disk {
            dev,
            bps: [DEFAULT_BPS; 2],
            iops: DEFAULT_IOPS,
        }
    }
}

/// I/O a task issued and waits for.
#[derive(Clone, Debug, PartialEq)]
pub struct Flow {
    /// The task (in state `D` until the I/O completes).
    pub pid: u32,
    /// The disk.
    pub dev: u32,
    /// Write (else read).
    pub write: bool,
    /// Bytes to transfer.
    pub total: u64,
    /// Bytes transferred (fractional between events).
    pub done: f64,
    /// Bytes and requests already counted in the group's statistics.
    pub counted: (u64, u64),
    /// The container id of the io group charged (the task's when it issued the I/O).
    pub group: u64,
}

impl Flow {
    /// Its requests.
    pub fn requests(&self) -> u64 {
        self.total.div_ceil(REQ_BYTES).max(1)
    }

    /// The average request size.
    fn avg_req(&self) -> f64 {
        self.total as f64 / self.requests() as f64
    }

    /// The bytes and requests complete so far: whole requests only, all at the end.
    pub fn completed(&self) -> (u64, u64) {
        if self.done >= self.total as f64 {
            return (self.total, self.requests());
        }
        // (A hair over: float noise must not cost a byte of a whole figure.)
        let bytes = ((self.done + 1e-6) as u64).min(self.total);
        (bytes, bytes / REQ_BYTES)
    }
}

/// One level of a flow's group path, root first, as the rate computation needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Level {
    /// The group's container id (`u64::MAX`: the own tasks of the level above).
    pub id: u64,
    /// Its weight on the disk.
    pub weight: u32,
    /// Its limit in bytes per second for the flow's direction (`u64::MAX`: none).
    pub bps: u64,
    /// Its limit in requests per second for the flow's direction (`u32::MAX`: none).
    pub iops: u32,
}

/// A constraint of the max-min computation: `Σ coef_f · rate_f ≤ limit` over its flows.
struct Constraint {
    /// The group, direction (write) and kind (requests) of a limit; `None`: the disk.
    key: Option<(u64, bool, bool)>,
    limit: f64,
    /// (flow index, coefficient).
    members: Vec<(usize, f64)>,
}

/// The rates (bytes per second) of `flows` (all on one `disk`), each with its group
/// path `paths[i]` (root first). See the module doc.
///
/// # Errors
///
/// `EINVAL` for a path count other than the flows', `ENOMEM`.
pub fn rates(disk: &Disk, flows: &[&Flow], paths: &[Vec<Level>]) -> Result<Vec<f64>> {
    let n = flows.len();
    if paths.len() != n {
        return Err(gpc_core::Error::EINVAL);
    }
    let mut rate = Vec::new();
    rate.try_reserve_exact(n)?;
    rate.resize(n, 0.0);
    if n == 0 {
        return Ok(rate);
    }
    // Disk time per byte of each flow.
    let mut cost = Vec::new();
    cost.try_reserve_exact(n)?;
    for f in flows {
        let bw = disk.bps[usize::from(f.write)].max(1) as f64;
        let per_req = 1.0 / disk.iops.max(1) as f64;
        cost.push((1.0 / bw).max(per_req / f.avg_req()));
    }
    let weight = shares(paths)?;
    // The constraints: the disk's time, then each limit of each level per direction.
    let mut cons: Vec<Constraint> = Vec::new();
    let mut all = Vec::new();
    all.try_reserve_exact(n)?;
    all.extend((0..n).map(|i| (i, cost[i])));
    cons.try_reserve(1)?;
    cons.push(Constraint {
        key: None,
        limit: 1.0,
        members: all,
    });
    for (i, path) in paths.iter().enumerate() {
        for l in path {
            for (is_iops, limit) in [(false, l.bps), (true, u64::from(l.iops))] {
                let none = if is_iops {
                    u64::from(u32::MAX)
                } else {
                    u64::MAX
                };
                if limit == none {
                    continue;
                }
                let coef = if is_iops {
                    1.0 / flows[i].avg_req()
                } else {
                    1.0
                };
                // The same group, direction and kind share one constraint.
                let key = (l.id, flows[i].write, is_iops);
                match cons.iter().position(|c| c.key == Some(key)) {
                    Some(k) => {
                        cons[k].members.try_reserve(1)?;
                        cons[k].members.push((i, coef));
                    }
                    None => {
                        let mut members = Vec::new();
                        members.try_reserve(1)?;
                        members.push((i, coef));
                        cons.try_reserve(1)?;
                        cons.push(Constraint {
                            key: Some(key),
                            limit: limit as f64,
                            members,
                        });
                    }
                }
            }
        }
    }
    let mut frozen = Vec::new();
    frozen.try_reserve_exact(n)?;
    frozen.resize(n, false);
    // Progressive filling: at most one round per flow frozen.
    for _ in 0..=n {
        let mut best: Option<f64> = None;
        let mut dxs = Vec::new();
        dxs.try_reserve_exact(cons.len())?;
        for c in &cons {
            let (mut used, mut slope) = (0.0, 0.0);
            for &(i, coef) in &c.members {
                used += coef * rate[i];
                if !frozen[i] {
                    slope += coef * weight[i] / cost[i];
                }
            }
            let dx = if slope > 0.0 {
                Some(((c.limit - used) / slope).max(0.0))
            } else {
                None
            };
            if let Some(d) = dx {
                best = Some(best.map_or(d, |b: f64| b.min(d)));
            }
            dxs.push(dx);
        }
        let Some(dx) = best else { break };
        for i in 0..n {
            if !frozen[i] {
                rate[i] += dx * weight[i] / cost[i];
            }
        }
        // Freeze the flows of every constraint that binds now.
        for (c, d) in cons.iter().zip(&dxs) {
            if d.is_some_and(|d| d <= dx * (1.0 + 1e-12)) {
                for &(i, _) in &c.members {
                    frozen[i] = true;
                }
            }
        }
        if frozen.iter().all(|&f| f) {
            break;
        }
    }
    Ok(rate)
}

/// Each flow's hierarchical weight share (see the module doc), summing to 1.
fn shares(paths: &[Vec<Level>]) -> Result<Vec<f64>> {
    let n = paths.len();
    let mut w = Vec::new();
    w.try_reserve_exact(n)?;
    for p in paths {
        let mut share = 1.0;
        // Level 0 is the root, shared by everyone.
        for k in 1..p.len() {
            let parent = p[k - 1].id;
            // The distinct siblings with I/O at this level (same parent).
            let mut sum = 0.0;
            let mut seen: Vec<u64> = Vec::new();
            seen.try_reserve(n)?;
            for q in paths {
                if q.len() > k && q[k - 1].id == parent && !seen.contains(&q[k].id) {
                    seen.push(q[k].id);
                    sum += f64::from(q[k].weight.max(1));
                }
            }
            share *= f64::from(p[k].weight.max(1)) / sum.max(1.0);
        }
        // The flows of the same group share its part.
        let same = paths
            .iter()
            .filter(|q| q.last().map(|l| l.id) == p.last().map(|l| l.id) && q.len() == p.len())
            .count()
            .max(1);
        w.push(share / same as f64);
    }
    Ok(w)
}

/// The time in ns until the first of `flows` completes at `rates` (`None`: none moves).
pub fn next_completion_ns(flows: &[Flow], rates: &[f64]) -> Option<u64> {
    flows
        .iter()
        .zip(rates)
        .filter(|(f, &r)| r > 0.0 && f.done < f.total as f64)
        .map(|(f, &r)| {
            let left = (f.total as f64 - f.done).max(0.0);
            // Rounded to the nearest ns, so that float noise does not cost a tick (the
            // cast saturates).
            (left / r * 1e9 + 0.5) as u64
        })
        .min()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test
mod tests {
    use super::*;
    use alloc::vec;

    fn flow(write: bool, total: u64) -> Flow {
        Flow {
            pid: 2,
            dev: 0,
            write,
            total,
            done: 0.0,
            counted: (0, 0),
            group: 5,
        }
    }

    fn level(id: u64, weight: u32, bps: u64) -> Level {
        Level {
            id,
            weight,
            bps,
            iops: u32::MAX,
        }
    }

    #[test]
    fn limits_bind_and_the_rest_is_shared_by_weight() {
        let disk = Disk::new(0);
        let (a, b, c) = (
            flow(false, 1 << 30),
            flow(false, 1 << 30),
            flow(true, 1 << 30),
        );
        let root = level(1, 100, u64::MAX);
        // a capped at 10 MiB/s by an ancestor; b and c share the rest 1:1.
        let paths = vec![
            vec![root, level(2, 100, 10 << 20), level(3, 100, u64::MAX)],
            vec![root, level(4, 100, u64::MAX)],
            vec![root, level(6, 100, u64::MAX)],
        ];
        let r = rates(&disk, &[&a, &b, &c], &paths).unwrap();
        assert!((r[0] - f64::from(10 << 20)).abs() < 1e-3, "{r:?}");
        assert!((r[1] - f64::from(45 << 20)).abs() < 1e-3, "{r:?}");
        assert!((r[2] - f64::from(45 << 20)).abs() < 1e-3, "{r:?}");
        // An iops limit of 2 a second on 512 KiB requests is 1 MiB/s.
        let mut p = paths.clone();
        p[1][1].iops = 2;
        let r = rates(&disk, &[&a, &b, &c], &p).unwrap();
        assert!((r[1] - f64::from(1 << 20)).abs() < 1e-3, "{r:?}");
        assert_eq!(rates(&disk, &[&a], &paths), Err(gpc_core::Error::EINVAL));
        assert_eq!(rates(&disk, &[], &[]).unwrap(), vec![]);
    }

    #[test]
    fn the_disk_request_rate_binds_small_requests() {
        let disk = Disk {
            dev: 0,
            bps: [DEFAULT_BPS; 2],
            iops: 100,
        };
        let f = flow(false, 4096);
        let r = rates(&disk, &[&f], &[vec![level(1, 100, u64::MAX)]]).unwrap();
        // One 4 KiB request takes 10 ms: 409600 bytes a second.
        assert!((r[0] - 409_600.0).abs() < 1e-6, "{r:?}");
        assert_eq!(next_completion_ns(&[f], &r), Some(10_000_000));
        assert_eq!(next_completion_ns(&[flow(false, 1)], &[0.0]), None);
    }
}
