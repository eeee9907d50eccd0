//! Unit tests of the rdma, misc and device program exports (`crate::hostres`).

use core::ffi::{c_int, c_uint, c_void};
use core::ptr;

use crate::abi::*;
use crate::hostres::*;
use crate::test_world::{cstr, World};

const EPERM: c_int = -1;
const ENOENT: c_int = -2;
const ESRCH: c_int = -3;
const EAGAIN: c_int = -11;
const EEXIST: c_int = -17;
const ENODEV: c_int = -19;
const ENOTDIR: c_int = -20;
const EINVAL: c_int = -22;
const EBUSY: c_int = -16;
const EBADF: c_int = -9;

impl World {
    fn rdma(&self, t: *mut GpcTask, dev: &str, res: c_int) -> (c_int, u64) {
        let d = cstr(dev);
        let mut group = u64::MAX;
        // SAFETY: live instance and task; NUL-terminated name; writable group.
        let r = unsafe { gpc_rdma_charge(self.g, t, d.as_ptr(), res, &mut group) };
        (r, group)
    }

    fn register(&self, dev: &str) -> c_int {
        let d = cstr(dev);
        // SAFETY: live instance, NUL-terminated name.
        unsafe { gpc_rdma_register_device(self.g, d.as_ptr()) }
    }

    fn attach_rules(&self, path: &str, rules: &str, flags: c_uint) -> (c_int, u32) {
        let (p, r) = (cstr(path), cstr(rules));
        let mut id = 0;
        // SAFETY: live instance; NUL-terminated strings; writable id.
        let rc = unsafe {
            gpc_devprog_attach_rules(self.g, self.h, p.as_ptr(), r.as_ptr(), flags, &mut id)
        };
        (rc, id)
    }

    fn check(
        &self,
        t: *mut GpcTask,
        dev_type: c_int,
        major: u32,
        minor: u32,
        access: c_uint,
    ) -> c_int {
        // SAFETY: live instance and task.
        unsafe { gpc_devprog_check(self.g, t, dev_type, major, minor, access) }
    }
}

#[test]
fn rdma_register_charge_refused_at_the_parent_and_uncharge() {
    let mut w = World::mount("rdma");
    assert_eq!(w.register("mlx4_0"), 0);
    assert_eq!(w.register("mlx4_0"), EEXIST);
    assert_eq!(w.register("bad name"), EINVAL);
    assert_eq!(w.register(""), EINVAL);
    // SAFETY: null and error pointers are rule G.
    let r = unsafe { gpc_rdma_register_device(ptr::null(), ptr::null()) };
    assert_eq!(r, EINVAL);
    w.mkdir("/p");
    w.mkdir("/p/c");
    assert_eq!(w.write("/p/rdma.max", "mlx4_0 hca_handle=1"), 0);
    let t = w.task_in("/p/c");
    let (r, group) = w.rdma(t, "mlx4_0", GPC_RDMA_HCA_HANDLE);
    assert_eq!((r, group), (0, w.id("/p/c")));
    assert_eq!(w.rdma(t, "mlx4_0", GPC_RDMA_HCA_HANDLE).0, EAGAIN);
    assert_eq!(w.rdma(t, "mlx9", GPC_RDMA_HCA_HANDLE).0, ENODEV);
    assert_eq!(w.rdma(t, "mlx4_0", 2).0, EINVAL);
    assert_eq!(w.rdma(ptr::null_mut(), "mlx4_0", 0).0, EINVAL);
    assert_eq!(
        w.read("/p/rdma.current"),
        "mlx4_0 hca_handle=1 hca_object=0 \n"
    );
    let d = cstr("mlx4_0");
    // SAFETY: live instance, NUL-terminated name.
    let r = unsafe { gpc_rdma_uncharge(w.g, group, d.as_ptr(), GPC_RDMA_HCA_HANDLE) };
    assert_eq!(r, 0);
    assert_eq!(
        w.read("/p/c/rdma.current"),
        "mlx4_0 hca_handle=0 hca_object=0 \n"
    );
    // SAFETY: as above.
    let r = unsafe { gpc_rdma_uncharge(w.g, 999_999, d.as_ptr(), 0) };
    assert_eq!(r, ENOENT);
    // SAFETY: as above.
    let r = unsafe { gpc_rdma_uncharge(w.g, GPC_RES_ROOT, d.as_ptr(), 0) };
    assert_eq!(r, 0);
    // SAFETY: as above.
    assert_eq!(unsafe { gpc_rdma_unregister_device(w.g, d.as_ptr()) }, 0);
    // SAFETY: as above.
    let r = unsafe { gpc_rdma_unregister_device(w.g, d.as_ptr()) };
    assert_eq!(r, ENODEV);
    assert_eq!(w.read("/p/rdma.max"), "");
}

#[test]
fn misc_capacity_charge_and_events() {
    let mut w = World::mount("misc");
    // SAFETY: live instance.
    unsafe {
        assert_eq!(gpc_misc_set_capacity(w.g, GPC_MISC_SEV, 4), 0);
        assert_eq!(gpc_misc_set_capacity(w.g, 3, 4), EINVAL);
        assert_eq!(gpc_misc_set_capacity(w.g, -1, 4), EINVAL);
    }
    assert_eq!(w.read("/misc.capacity"), "sev 4\n");
    w.mkdir("/p");
    assert_eq!(w.write("/p/misc.max", "sev 2"), 0);
    let t = w.task_in("/p");
    let mut group = 0;
    // SAFETY: live instance and task, writable group.
    unsafe {
        assert_eq!(gpc_misc_charge(w.g, t, GPC_MISC_SEV, 2, &mut group), 0);
        assert_eq!(group, w.id("/p"));
        assert_eq!(gpc_misc_charge(w.g, t, GPC_MISC_SEV, 1, &mut group), EBUSY);
        assert_eq!(gpc_misc_charge(w.g, t, GPC_MISC_TDX, 1, &mut group), EINVAL);
        assert_eq!(
            gpc_misc_charge(w.g, t, GPC_MISC_SEV, 1, ptr::null_mut()),
            EINVAL
        );
    }
    assert_eq!(w.read("/p/misc.events"), "sev.max 1\n");
    // SAFETY: live instance.
    unsafe {
        assert_eq!(gpc_misc_uncharge(w.g, group, GPC_MISC_SEV, 2), 0);
        assert_eq!(gpc_misc_uncharge(w.g, 999_999, GPC_MISC_SEV, 2), ENOENT);
    }
    assert_eq!(w.read("/p/misc.current"), "sev 0\n");
    assert_eq!(w.read("/misc.current"), "sev 0\n");
}

/// A host program that allows reads only, counting its calls.
unsafe extern "C" fn reads_only(
    ctx: *mut c_void,
    _t: c_int,
    _maj: u32,
    _min: u32,
    access: c_uint,
) -> c_int {
    // SAFETY: the test passes a live AtomicUsize.
    let calls = unsafe { &*ctx.cast::<core::sync::atomic::AtomicUsize>() };
    calls.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
    c_int::from(access == GPC_DEVCG_ACC_READ)
}

#[test]
fn device_programs_attach_check_detach() {
    let mut w = World::mount_v2("");
    w.mkdir("/p");
    w.mkdir("/p/c");
    let t = w.task_in("/p/c");
    let (c, r, wr) = (GPC_DEVCG_DEV_CHAR, GPC_DEVCG_ACC_READ, GPC_DEVCG_ACC_WRITE);
    assert_eq!(w.check(t, c, 1, 3, r | wr), 0, "no program: allowed");
    let (rc, pid) = w.attach_rules(
        "/p",
        "allow c 1:3 rw\nallow c 1:5 r\n",
        GPC_DEVPROG_ALLOW_MULTI,
    );
    assert_eq!(rc, 0);
    let calls = core::sync::atomic::AtomicUsize::new(0);
    let path = cstr("/p/c");
    let mut cid = 0;
    // SAFETY: live instance; `calls` outlives the program (detached below).
    let rc = unsafe {
        gpc_devprog_attach(
            w.g,
            w.h,
            path.as_ptr(),
            Some(reads_only),
            ptr::from_ref(&calls) as *mut c_void,
            GPC_DEVPROG_ALLOW_MULTI,
            &mut cid,
        )
    };
    assert_eq!(rc, 0);
    assert_eq!(w.check(t, c, 1, 3, r), 0);
    assert_eq!(w.check(t, c, 1, 3, wr), EPERM, "the child's program denies");
    assert_eq!(w.check(t, c, 4, 1, r), EPERM, "the parent's program denies");
    assert!(calls.load(core::sync::atomic::Ordering::Relaxed) >= 2);
    assert_eq!(w.check(t, 3, 1, 3, r), EINVAL);
    assert_eq!(w.check(t, c, 1, 3, 0), EINVAL);
    assert_eq!(w.check(ptr::null_mut(), c, 1, 3, r), EINVAL);
    // SAFETY: live instance.
    unsafe {
        assert_eq!(
            gpc_devprog_detach(w.g, w.h, path.as_ptr(), 0),
            EINVAL,
            "multi names it"
        );
        assert_eq!(gpc_devprog_detach(w.g, w.h, path.as_ptr(), cid), 0);
        assert_eq!(gpc_devprog_detach(w.g, w.h, path.as_ptr(), cid), ENOENT);
    }
    assert_eq!(w.check(t, c, 1, 3, wr), 0);
    assert_eq!(
        w.attach_rules("/p", "allow a *:* rwm", 0).0,
        EPERM,
        "other flags"
    );
    assert_eq!(w.attach_rules("/p", "allow q 1:3 r", 0).0, EINVAL);
    assert_eq!(w.attach_rules("/p", "allow a *:* rwm", 3).0, EINVAL);
    assert_eq!(w.attach_rules("/nope", "allow a *:* rwm", 0).0, ENOENT);
    assert_eq!(
        w.attach_rules("/p/cgroup.procs", "allow a *:* rwm", 0).0,
        ENOTDIR
    );
    let p = cstr("/p");
    // SAFETY: live instance.
    assert_eq!(unsafe { gpc_devprog_detach(w.g, w.h, p.as_ptr(), pid) }, 0);
    // A plain attach at the parent forbids the child's; removing the child drops its.
    assert_eq!(w.attach_rules("/p/c", "deny a *:* rwm", 0).0, 0);
    assert_eq!(w.check(t, c, 1, 3, r), EPERM);
    w.move_to("/p", t);
    assert_eq!(w.rmdir("/p/c"), 0);
    w.mkdir("/p/c");
    w.move_to("/p/c", t);
    assert_eq!(
        w.check(t, c, 1, 3, r),
        0,
        "the removed group's program went with it"
    );
    assert_eq!(w.attach_rules("/p", "allow c 1:3 r", 0).0, 0);
    assert_eq!(w.attach_rules("/p/c", "allow a *:* rwm", 0).0, EPERM);
    assert_eq!(w.check(t, GPC_DEVCG_DEV_BLOCK, 8, 0, r), EPERM);
    let _ = ESRCH;
}

#[test]
fn device_programs_need_the_v2_hierarchy() {
    let w = World::mount("devices");
    assert_eq!(w.attach_rules("/", "allow a *:* rwm", 0).0, EBADF);
}
