//! Unit tests of the block I/O exports (`crate::io`) on a v1 `blkio` hierarchy.

use core::ffi::{c_char, c_int, c_uint, c_void};
use core::ptr;
use std::boxed::Box;
use std::string::String;
use std::vec::Vec;

use crate::abi::*;
use crate::exports::*;
use crate::io::*;
use crate::mock;

const EINVAL: c_int = -22;
const ENODEV: c_int = -19;
const SDA: u32 = 8 << 20;
const SDB: u32 = (8 << 20) | 16;

const ROOT: GpcCreds = GpcCreds {
    uid: 0,
    euid: 0,
    suid: 0,
    egid: 0,
    cap_sys_admin: true,
    cap_dac_override: true,
};

fn cstr(s: &str) -> Vec<c_char> {
    s.bytes().map(|b| b as c_char).chain([0]).collect()
}

struct World {
    g: *mut Instance,
    h: c_int,
    init: *mut GpcTask,
    tasks: Vec<*mut GpcTask>,
    _ctx_box: Box<u64>,
}

impl World {
    fn new() -> World {
        let ctx_box = Box::new(0u64);
        let ctx = ptr::from_ref::<u64>(&ctx_box) as usize;
        // SAFETY: the mock kernel supplies every import; the context is opaque to gpc.
        let g = unsafe { gpc_init(ctx as *mut c_void) };
        assert!(!g.is_null() && (g as usize) < usize::MAX - GPC_MAX_ERRNO);
        let init = mock::new_task(0, ROOT);
        // SAFETY: live instance and task.
        assert_eq!(unsafe { gpc_init_task(g, init) }, 0);
        mock::publish(init);
        let opts = cstr("blkio");
        // SAFETY: live instance, NUL-terminated options.
        let h = unsafe { gpc_mount(g, opts.as_ptr(), ptr::null_mut()) };
        assert!(h > 0, "mount: {h}");
        World {
            g,
            h,
            init,
            tasks: Vec::new(),
            _ctx_box: ctx_box,
        }
    }

    fn mkdir(&self, path: &str) {
        let p = cstr(path);
        // SAFETY: live instance, NUL-terminated path.
        let r = unsafe { gpc_mkdir(self.g, self.h, p.as_ptr()) };
        assert_eq!(r, 0, "{path}");
    }

    fn write(&self, path: &str, data: &str) -> c_int {
        let p = cstr(path);
        // SAFETY: live instance, NUL-terminated path, readable data.
        unsafe {
            gpc_write(
                self.g,
                self.h,
                p.as_ptr(),
                ptr::null_mut(),
                data.as_ptr().cast(),
                data.len(),
            )
        }
    }

    fn read(&self, path: &str) -> String {
        let p = cstr(path);
        let mut buf = std::vec![0u8; 8192];
        // SAFETY: live instance, NUL-terminated path, a buffer of that size.
        let n = unsafe {
            gpc_read(
                self.g,
                self.h,
                p.as_ptr(),
                ptr::null_mut(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        assert!(n >= 0, "read {path}: {n}");
        let n = usize::try_from(n).unwrap_or(0);
        String::from_utf8_lossy(buf.get(..n).unwrap_or_default()).into_owned()
    }

    fn task_in(&mut self, path: &str) -> *mut GpcTask {
        let t = mock::new_task(0, ROOT);
        // SAFETY: live instance and tasks.
        assert_eq!(unsafe { gpc_fork(self.g, self.init, t) }, 0);
        mock::publish(t);
        let p = cstr(path);
        // SAFETY: as above; NUL-terminated path.
        assert_eq!(unsafe { gpc_attach(self.g, self.h, p.as_ptr(), t) }, 0);
        self.tasks.push(t);
        t
    }

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

impl Drop for World {
    fn drop(&mut self) {
        for &t in self.tasks.iter().chain([&self.init]) {
            // SAFETY: live instance; tasks it attached.
            unsafe { gpc_exit(self.g, t) };
            mock::reap(t);
        }
        // SAFETY: made by gpc_init, no longer used.
        unsafe { gpc_destroy(self.g) };
    }
}

#[test]
fn disks_throttle_weight_and_stats() {
    let mut w = World::new();
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
    assert_eq!(
        w.read("/a/blkio.throttle.io_service_bytes"),
        "8:16 Read 0\n8:16 Write 0\n8:16 Sync 0\n8:16 Async 0\n8:16 Discard 0\n8:16 Total 0\n\
         8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 8192\n8:0 Async 4096\n8:0 Discard 0\n\
         8:0 Total 12288\nTotal 12288\n"
    );
}
