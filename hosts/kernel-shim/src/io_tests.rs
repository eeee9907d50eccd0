//! Unit tests of the block I/O exports (`crate::io`) on a v1 `blkio` hierarchy.

use core::ffi::{c_int, c_uint};
use core::ptr;

use crate::abi::*;
use crate::io::*;
use crate::test_world::World;

const EINVAL: c_int = -22;
const ENODEV: c_int = -19;
const SDA: u32 = 8 << 20;
const SDB: u32 = (8 << 20) | 16;

impl World {
    fn throttle(
        &self,
        t: *mut GpcTask,
        dev: u32,
        bytes: u64,
        write: bool,
        now: u64,
    ) -> (c_int, u64) {
        let mut wait = u64::MAX;
        // SAFETY: live instance and task, writable out.
        let r =
            unsafe { gpc_io_throttle(self.g, t, dev, bytes, c_int::from(write), now, &mut wait) };
        (r, wait)
    }
}

#[test]
fn disks_throttle_weight_and_stats() {
    let mut w = World::mount("blkio");
    // No disks yet: every device is ENODEV.
    assert_eq!(w.write("/blkio.throttle.read_bps_device", "8:0 1"), ENODEV);
    let disks = [SDA, SDB];
    // SAFETY: live instance, readable words.
    assert_eq!(unsafe { gpc_io_set_disks(w.g, disks.as_ptr(), 2) }, 0);
    // SAFETY: as above; the bad calls read nothing.
    unsafe {
        assert_eq!(gpc_io_set_disks(w.g, ptr::null(), 1), EINVAL);
        assert_eq!(gpc_io_set_disks(w.g, disks.as_ptr(), 17), EINVAL);
        assert_eq!(gpc_io_set_disks(ptr::null(), disks.as_ptr(), 1), EINVAL);
    }
    w.mkdir("/a");
    assert_eq!(
        w.write("/a/blkio.throttle.write_bps_device", "8:0 1048576"),
        0
    );
    assert_eq!(w.write("/a/blkio.bfq.weight", "300"), 0);
    let t = w.task_in("/a");
    assert_eq!(w.throttle(t, SDA, 1 << 20, true, 0), (0, 0));
    assert_eq!(w.throttle(t, SDA, 1 << 20, true, 0), (0, 1_000_000_000));
    assert_eq!(w.throttle(t, SDA, 1 << 20, false, 0), (0, 0));
    assert_eq!(w.throttle(t, SDB, 1 << 20, true, 0), (0, 0));
    assert_eq!(w.throttle(t, (8 << 20) | 1, 1, true, 0).0, ENODEV);
    let mut wt: c_uint = 0;
    // SAFETY: live instance and task, writable out.
    unsafe {
        assert_eq!(gpc_io_weight(w.g, t, SDA, 0, &mut wt), 0);
        assert_eq!(wt, 300);
        assert_eq!(gpc_io_weight(w.g, t, SDA, 1, &mut wt), 0);
        assert_eq!(wt, 100);
        assert_eq!(gpc_io_weight(w.g, t, SDA, 0, ptr::null_mut()), EINVAL);
        assert_eq!(gpc_io_done(w.g, t, SDA, 8192, 2, 1, 1), 0);
        assert_eq!(gpc_io_done(w.g, t, SDA, 4096, 1, 0, 0), 0);
        assert_eq!(gpc_io_done(w.g, ptr::null_mut(), SDA, 1, 1, 0, 0), EINVAL);
    }
    // blk-throttle was set up on 8:0 only (its limit above): 8:16 has no row there, and
    // bfq lists both.
    assert_eq!(
        w.read("/a/blkio.throttle.io_service_bytes"),
        "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 8192\n8:0 Async 4096\n8:0 Discard 0\n\
         8:0 Total 12288\nTotal 12288\n"
    );
    assert!(w
        .read("/a/blkio.bfq.io_service_bytes")
        .starts_with("8:16 Read 0\n"));
}
