//! Unit tests of the hugetlb, net_prio and perf_event exports (`crate::hugetlb`,
//! `crate::net_prio`, `crate::perf_event`) against the Rust mock kernel, whose network
//! devices are `lo` and `eth0`.

use core::ffi::c_int;
use core::ptr;

use crate::abi::*;
use crate::exports::*;
use crate::hugetlb::*;
use crate::net_prio::*;
use crate::perf_event::*;
use crate::test_world::{cstr, World};

const ENOMEM: c_int = -12;
const EINVAL: c_int = -22;
const ENOENT: c_int = -2;
const ENODEV: c_int = -19;

impl World {
    fn huge_charge(&self, t: *mut GpcTask, hstate: u32, nr: u64, flags: u32) -> (c_int, u64) {
        let mut group = 0u64;
        // SAFETY: live instance and task, writable out.
        let r = unsafe { gpc_hugetlb_charge(self.g, t, hstate, nr, flags, &mut group) };
        (r, group)
    }
}

#[test]
fn hugetlb_charges_limits_and_uncharges() {
    let mut w = World::mount("hugetlb,net_prio,perf_event");
    w.mkdir("/a");
    assert_eq!(w.write("/a/hugetlb.2MB.limit_in_bytes", "4M"), 0);
    let t = w.task_in("/a");
    let (r, group) = w.huge_charge(t, 0, 2, 0);
    assert_eq!(r, 0);
    assert_eq!(w.read("/a/hugetlb.2MB.usage_in_bytes"), "4194304\n");
    assert_eq!(w.huge_charge(t, 0, 1, 0).0, ENOMEM);
    assert_eq!(w.read("/a/hugetlb.2MB.failcnt"), "1\n");
    assert_eq!(w.huge_charge(t, 1, 1, GPC_HUGETLB_RSVD).0, 0);
    assert_eq!(w.read("/a/hugetlb.1GB.rsvd.usage_in_bytes"), "1073741824\n");
    // SAFETY: live instance.
    unsafe {
        assert_eq!(gpc_hugetlb_uncharge(w.g, group, 0, 1, 0), 0);
        assert_eq!(gpc_hugetlb_uncharge(w.g, group, 1, 1, GPC_HUGETLB_RSVD), 0);
        assert_eq!(gpc_hugetlb_uncharge(w.g, group, 2, 1, 0), EINVAL);
        assert_eq!(gpc_hugetlb_uncharge(w.g, group, 0, 1, 4), EINVAL);
        assert_eq!(gpc_hugetlb_uncharge(w.g, 999_999, 0, 1, 0), ENOENT);
        assert_eq!(gpc_hugetlb_uncharge(ptr::null(), group, 0, 1, 0), EINVAL);
    }
    assert_eq!(w.read("/a/hugetlb.2MB.usage_in_bytes"), "2097152\n");
    assert_eq!(w.read("/a/hugetlb.1GB.rsvd.usage_in_bytes"), "0\n");
    assert_eq!(w.huge_charge(t, 2, 1, 0).0, EINVAL);
    // SAFETY: live instance and task; a null out-pointer.
    let r = unsafe { gpc_hugetlb_charge(w.g, t, 0, 1, 0, ptr::null_mut()) };
    assert_eq!(r, EINVAL);
}

#[test]
fn hugetlb_removed_group_is_enoent_and_the_parent_keeps_the_pages() {
    let mut w = World::mount("hugetlb,net_prio,perf_event");
    w.mkdir("/p");
    w.mkdir("/p/c");
    let t = w.task_in("/p/c");
    let (r, group) = w.huge_charge(t, 0, 3, 0);
    assert_eq!(r, 0);
    let p = cstr("/p");
    // SAFETY: live instance and task, NUL-terminated path.
    assert_eq!(unsafe { gpc_attach(w.g, w.h, p.as_ptr(), t) }, 0);
    assert_eq!(w.rmdir("/p/c"), 0);
    // SAFETY: live instance.
    assert_eq!(unsafe { gpc_hugetlb_uncharge(w.g, group, 0, 3, 0) }, ENOENT);
    assert_eq!(w.read("/p/hugetlb.2MB.usage_in_bytes"), "6291456\n");
    let mut parent = 0u64;
    let pp = cstr("/p");
    let mut st = GpcStat::default();
    // SAFETY: live instance, NUL-terminated path, writable stat.
    assert_eq!(unsafe { gpc_stat(w.g, w.h, pp.as_ptr(), &mut st) }, 0);
    parent = parent.max(st.id);
    // SAFETY: live instance.
    assert_eq!(unsafe { gpc_hugetlb_uncharge(w.g, parent, 0, 3, 0) }, 0);
    assert_eq!(w.read("/p/hugetlb.2MB.usage_in_bytes"), "0\n");
}

#[test]
fn net_prio_devices_from_the_kernel_and_the_lookup() {
    let mut w = World::mount("hugetlb,net_prio,perf_event");
    w.mkdir("/n");
    assert_eq!(w.read("/n/net_prio.ifpriomap"), "lo 0\neth0 0\n");
    assert_eq!(w.write("/n/net_prio.ifpriomap", "eth0 6\n"), 0);
    assert_eq!(w.write("/n/net_prio.ifpriomap", "eth1 6\n"), ENODEV);
    assert_eq!(w.write("/n/net_prio.ifpriomap", "eth0\n"), EINVAL);
    assert_eq!(w.read("/n/net_prio.prioidx"), "2\n");
    let t = w.task_in("/n");
    let mut prio = 99u32;
    // SAFETY: live instance and task, writable out.
    unsafe {
        assert_eq!(gpc_net_prio_prio(w.g, t, 1, &mut prio), 0);
        assert_eq!(prio, 6);
        assert_eq!(gpc_net_prio_prio(w.g, t, 0, &mut prio), 0);
        assert_eq!(prio, 0);
        assert_eq!(gpc_net_prio_prio(w.g, t, 7, &mut prio), 0);
        assert_eq!(prio, 0);
        assert_eq!(gpc_net_prio_prio(w.g, t, 1, ptr::null_mut()), EINVAL);
        assert_eq!(
            gpc_net_prio_prio(w.g, ptr::null_mut(), 1, &mut prio),
            EINVAL
        );
    }
}

#[test]
fn perf_cgroup_counts_up_the_tree() {
    let mut w = World::mount("hugetlb,net_prio,perf_event");
    w.mkdir("/q");
    w.mkdir("/q/r");
    let t = w.task_in("/q/r");
    let (mut group, mut time) = (0u64, 0u64);
    // SAFETY: live instance and task, writable outs.
    unsafe {
        assert_eq!(gpc_perf_cgroup(w.g, t, 5_000, &mut group, &mut time), 0);
        assert_eq!(time, 5_000);
        assert!(group > 0);
        assert_eq!(gpc_perf_cgroup(w.g, w.init, 0, &mut group, &mut time), 0);
        assert_eq!(time, 5_000, "the root counts its descendants' time");
        assert_eq!(
            gpc_perf_cgroup(w.g, t, 0, ptr::null_mut(), ptr::null_mut()),
            EINVAL
        );
        assert_eq!(gpc_perf_cgroup(w.g, t, 1, &mut group, ptr::null_mut()), 0);
    }
}
