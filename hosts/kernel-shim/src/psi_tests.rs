//! Unit tests of the pressure exports (`crate::psi`): a scheduler's flag changes make
//! the figures of the task's group, its ancestors and the system (Linux
//! kernel/sched/psi.c).

use core::ffi::{c_char, c_int, c_long};
use core::ptr;
use std::string::String;
use std::vec::Vec;

use crate::abi::*;
use crate::exports::*;
use crate::mock;
use crate::psi::*;

const EINVAL: c_int = -22;
const ESRCH: c_int = -3;
const EOVERFLOW: c_long = -75;
const S: u64 = 1_000_000_000;

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

fn out(f: impl Fn(*mut c_char, usize) -> c_long) -> Result<String, c_long> {
    let need = f(ptr::null_mut(), 0);
    let need = usize::try_from(need).map_err(|_| need)?;
    let mut buf: Vec<u8> = std::vec![0; need];
    let got = f(buf.as_mut_ptr().cast(), need);
    assert_eq!(usize::try_from(got).ok(), Some(need));
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

fn read(g: *const Instance, h: c_int, path: &str) -> Result<String, c_long> {
    let p = cstr(path);
    // SAFETY: live instance, NUL-terminated path, buffers from `out`.
    out(|b, n| unsafe { gpc_read(g, h, p.as_ptr(), ptr::null_mut(), b, n) })
}

fn system(g: *const Instance, res: c_int) -> Result<String, c_long> {
    // SAFETY: live instance, buffers from `out`.
    out(|b, n| unsafe { gpc_psi_show(g, res, b, n) })
}

#[test]
fn psi_scheduler_changes_make_the_groups_figures() {
    // SAFETY: the mock kernel supplies every import; tasks from the mock kernel,
    // NUL-terminated strings.
    unsafe {
        let g = gpc_init(ptr::null_mut());
        assert!(!g.is_null() && (g as usize) < usize::MAX - GPC_MAX_ERRNO);
        let init = mock::new_task(0, ROOT);
        assert_eq!(gpc_init_task(g, init), 0);
        mock::publish(init);
        let u = gpc_mount_v2(g, ptr::null(), ptr::null_mut());
        assert_eq!(u, 0);
        for dir in ["/a", "/a/b"] {
            let p = cstr(dir);
            assert_eq!(gpc_mkdir(g, u, p.as_ptr()), 0);
        }
        let mut tasks = Vec::new();
        for _ in 0..2 {
            let t = mock::new_task(0, ROOT);
            assert_eq!(gpc_fork(g, init, t), 0);
            mock::publish(t);
            let p = cstr("/a/b");
            assert_eq!(gpc_attach(g, u, p.as_ptr(), t), 0);
            tasks.push(t);
        }
        let (Some(&t1), Some(&t2)) = (tasks.first(), tasks.get(1)) else {
            assert_eq!(tasks.len(), 2, "two tasks made above");
            return;
        };
        // Both runnable on CPU 0 from t = 0, t1 on the CPU: /a/b, /a and the system
        // have someone waiting all the time, and a task of theirs running.
        assert_eq!(
            gpc_psi_task_change(g, t1, 0, 0, GPC_PSI_RUNNING | GPC_PSI_ONCPU, 0),
            0
        );
        assert_eq!(gpc_psi_task_change(g, t2, 0, 0, GPC_PSI_RUNNING, 0), 0);
        mock::set_clock_ns(12 * S);
        // Five samples of 100% (2.001, 4.003, ... 10.006 s): 63.18 / 15.32 / 3.37,
        // computed by hand with calc_load and EXP_10s/60s/300s.
        let want = "some avg10=63.18 avg60=15.32 avg300=3.37 total=12000000\n\
                    full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";
        assert_eq!(read(g, u, "/a/b/cpu.pressure").as_deref(), Ok(want));
        assert_eq!(read(g, u, "/a/cpu.pressure").as_deref(), Ok(want));
        assert_eq!(read(g, u, "/cpu.pressure").as_deref(), Ok(want));
        assert_eq!(system(g, GPC_PSI_CPU).as_deref(), Ok(want));
        assert_eq!(
            system(g, GPC_PSI_MEM).as_deref(),
            Ok("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n\
                full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
        );
        // t1 stalls on memory while t2 waits for I/O: memory and io some; neither full
        // while t1 still runs (io full needs no runnable task: t1 is one).
        assert_eq!(
            gpc_psi_task_change(
                g,
                t1,
                0,
                0,
                GPC_PSI_MEMSTALL | GPC_PSI_MEMSTALL_RUNNING,
                12 * S
            ),
            0
        );
        assert_eq!(
            gpc_psi_task_change(g, t2, 0, GPC_PSI_RUNNING, GPC_PSI_IOWAIT, 12 * S),
            0
        );
        mock::set_clock_ns(13 * S);
        let mem = read(g, u, "/a/b/memory.pressure").unwrap_or_default();
        assert!(
            mem.contains("total=1000000\nfull") && mem.ends_with("total=1000000\n"),
            "{mem}"
        );
        let io = read(g, u, "/a/b/io.pressure").unwrap_or_default();
        assert!(
            io.contains("some avg10=0.00 avg60=0.00 avg300=0.00 total=1000000\n"),
            "{io}"
        );
        assert!(
            io.ends_with("full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"),
            "{io}"
        );

        // Refusals.
        assert_eq!(gpc_psi_task_change(g, t1, 0, 1 << 9, 0, 13 * S), EINVAL);
        assert_eq!(
            gpc_psi_task_change(g, t1, 4, 0, GPC_PSI_RUNNING, 13 * S),
            EINVAL
        );
        assert_eq!(
            gpc_psi_task_change(ptr::null(), t1, 0, 0, 0, 13 * S),
            EINVAL
        );
        let loose = mock::new_task(0, ROOT);
        assert_eq!(
            gpc_psi_task_change(g, loose, 0, 0, GPC_PSI_RUNNING, 13 * S),
            ESRCH
        );
        assert_eq!(gpc_psi_show(g, 3, ptr::null_mut(), 0), c_long::from(EINVAL));
        let mut small = [0 as c_char; 8];
        assert_eq!(
            gpc_psi_show(g, GPC_PSI_IO, small.as_mut_ptr(), small.len()),
            EOVERFLOW
        );

        mock::set_clock_ns(0);
        for t in tasks {
            gpc_exit(g, t);
        }
        gpc_exit(g, init);
        gpc_destroy(g);
    }
}

#[test]
fn psi_header_constants_match() {
    let h = include_str!("../include/gpc.h");
    let define = |name: &str| -> Option<String> {
        h.lines().find_map(|l| {
            let rest = l.strip_prefix("#define ")?.strip_prefix(name)?;
            rest.starts_with(' ').then(|| String::from(rest.trim()))
        })
    };
    let shift = |v: u32| Some(std::format!("(1u << {})", v.trailing_zeros()));
    assert_eq!(define("GPC_PSI_IOWAIT"), shift(GPC_PSI_IOWAIT));
    assert_eq!(define("GPC_PSI_MEMSTALL"), shift(GPC_PSI_MEMSTALL));
    assert_eq!(define("GPC_PSI_RUNNING"), shift(GPC_PSI_RUNNING));
    assert_eq!(
        define("GPC_PSI_MEMSTALL_RUNNING"),
        shift(GPC_PSI_MEMSTALL_RUNNING)
    );
    assert_eq!(define("GPC_PSI_ONCPU"), shift(GPC_PSI_ONCPU));
    assert_eq!(define("GPC_PSI_IO"), Some(std::format!("{GPC_PSI_IO}")));
    assert_eq!(define("GPC_PSI_MEM"), Some(std::format!("{GPC_PSI_MEM}")));
    assert_eq!(define("GPC_PSI_CPU"), Some(std::format!("{GPC_PSI_CPU}")));
}
