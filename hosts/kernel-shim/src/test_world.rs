//! The world the exports' unit tests share: an instance on the Rust mock kernel
//! (`crate::mock`) with one hierarchy mounted and an init task, and the calls every test
//! makes through the C ABI. A test file adds its own calls in an `impl World` block of its
//! own (inherent methods may be defined in any module of the crate).

use core::ffi::{c_char, c_int, c_void};
use core::ptr;
use std::boxed::Box;
use std::string::String;
use std::vec::Vec;

use crate::abi::*;
use crate::exports::*;
use crate::mock;

/// Root's credentials, every capability.
pub(crate) const ROOT: GpcCreds = GpcCreds {
    uid: 0,
    euid: 0,
    suid: 0,
    egid: 0,
    cap_sys_admin: true,
    cap_dac_override: true,
};

/// `s` NUL-terminated.
pub(crate) fn cstr(s: &str) -> Vec<c_char> {
    s.bytes().map(|b| b as c_char).chain([0]).collect()
}

/// An instance with its own host context (the mock page store's key), one hierarchy
/// mounted, an init task, and the tasks a test made (all exit when it is dropped).
pub(crate) struct World {
    pub(crate) g: *mut Instance,
    /// The host context `gpc_init` was given.
    pub(crate) ctx: usize,
    /// The mounted hierarchy.
    pub(crate) h: c_int,
    pub(crate) init: *mut GpcTask,
    pub(crate) tasks: Vec<*mut GpcTask>,
    _ctx_box: Box<u64>,
}

impl World {
    /// A v1 hierarchy mounted with `options`.
    pub(crate) fn mount(options: &str) -> World {
        World::with(options, false)
    }

    /// The unified hierarchy, mounted with `options`.
    pub(crate) fn mount_v2(options: &str) -> World {
        World::with(options, true)
    }

    fn with(options: &str, v2: bool) -> World {
        let ctx_box = Box::new(0u64);
        let ctx = ptr::from_ref::<u64>(&ctx_box) as usize;
        // SAFETY: the mock kernel supplies every import; the context is opaque to gpc.
        let g = unsafe { gpc_init(ctx as *mut c_void) };
        assert!(!g.is_null() && (g as usize) < usize::MAX - GPC_MAX_ERRNO);
        let init = mock::new_task(0, ROOT);
        // SAFETY: live instance and task.
        assert_eq!(unsafe { gpc_init_task(g, init) }, 0);
        mock::publish(init);
        let opts = cstr(options);
        // SAFETY: live instance, NUL-terminated options.
        let h = unsafe {
            if v2 {
                gpc_mount_v2(g, opts.as_ptr(), ptr::null_mut())
            } else {
                gpc_mount(g, opts.as_ptr(), ptr::null_mut())
            }
        };
        assert!(h >= 0 && (v2 || h > 0), "mount: {h}");
        World {
            g,
            ctx,
            h,
            init,
            tasks: Vec::new(),
            _ctx_box: ctx_box,
        }
    }

    pub(crate) fn mkdir(&self, path: &str) {
        let p = cstr(path);
        // SAFETY: live instance, NUL-terminated path.
        let r = unsafe { gpc_mkdir(self.g, self.h, p.as_ptr()) };
        assert_eq!(r, 0, "{path}");
    }

    pub(crate) fn rmdir(&self, path: &str) -> c_int {
        let p = cstr(path);
        // SAFETY: live instance, NUL-terminated path.
        unsafe { gpc_rmdir(self.g, self.h, p.as_ptr()) }
    }

    pub(crate) fn write(&self, path: &str, data: &str) -> c_int {
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

    pub(crate) fn read(&self, path: &str) -> String {
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

    /// The container id of the group at `path`.
    pub(crate) fn id(&self, path: &str) -> u64 {
        let p = cstr(path);
        let mut st = GpcStat::default();
        // SAFETY: live instance, NUL-terminated path, writable stat.
        assert_eq!(unsafe { gpc_stat(self.g, self.h, p.as_ptr(), &mut st) }, 0);
        st.id
    }

    /// A process forked from init, moved into `path`.
    pub(crate) fn task_in(&mut self, path: &str) -> *mut GpcTask {
        let t = mock::new_task(0, ROOT);
        // SAFETY: live instance and tasks.
        assert_eq!(unsafe { gpc_fork(self.g, self.init, t) }, 0);
        mock::publish(t);
        self.tasks.push(t);
        self.move_to(path, t);
        t
    }

    /// Move task `t` into `path`.
    pub(crate) fn move_to(&self, path: &str, t: *mut GpcTask) {
        let p = cstr(path);
        // SAFETY: live instance and task; NUL-terminated path.
        assert_eq!(unsafe { gpc_attach(self.g, self.h, p.as_ptr(), t) }, 0);
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
