//! A subsystem from outside gpc-subsystems behind the C ABI: registered with
//! `gpc_init_with_subsystems`, it mounts, shows its files and gets its fork hook through
//! the same exports a C kernel calls.

use core::ffi::{c_char, c_int, c_long};
use core::ptr;
use core::sync::atomic::{AtomicU64, Ordering};
use std::string::String;
use std::vec::Vec;

use gpc_core::files::{CfType, FileCtxOf, Out};
use gpc_core::{Css, DynSubsystem, Hooks, Subsystem, TaskInfo};

use crate::abi::*;
use crate::exports::*;
use crate::mock;

/// Counts the forks into each container.
struct Forks;

#[derive(Default)]
struct ForksState(AtomicU64);

fn read_count(_: &Forks, ctx: &FileCtxOf<'_, Forks>, out: &mut Out<'_>) -> gpc_core::Result {
    writeln!(out, "{}", ctx.css().0.load(Ordering::Relaxed))
}

static FILES: [CfType<Forks>; 1] = [CfType::ro("count", read_count)];

impl Subsystem for Forks {
    type State = ForksState;
    const NAME: &'static str = "forks";
    const HOOKS: Hooks = Hooks::FORK;
    fn files(&self) -> &'static [CfType<Self>] {
        &FILES
    }
    fn create(&self, _: Option<Css<'_, Self>>) -> gpc_core::Result<ForksState> {
        Ok(ForksState::default())
    }
    fn fork(&self, _: &TaskInfo, css: Css<'_, Self>) {
        css.0.fetch_add(1, Ordering::Relaxed);
    }
}

static FORKS: Forks = Forks;

fn cstr(s: &str) -> Vec<c_char> {
    s.bytes().map(|b| b as c_char).chain([0]).collect()
}

fn read(g: *const Instance, h: c_int, path: &str) -> Result<String, c_long> {
    let p = cstr(path);
    // SAFETY: live instance, NUL-terminated path, a null buffer for the size.
    let need = unsafe { gpc_read(g, h, p.as_ptr(), ptr::null_mut(), ptr::null_mut(), 0) };
    let n = usize::try_from(need).map_err(|_| need)?;
    let mut buf: Vec<u8> = std::vec![0; n];
    // SAFETY: as above, `buf` holds `n` bytes.
    let got = unsafe {
        gpc_read(
            g,
            h,
            p.as_ptr(),
            ptr::null_mut(),
            buf.as_mut_ptr().cast(),
            n,
        )
    };
    assert_eq!(usize::try_from(got).ok(), Some(n));
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

#[test]
fn an_out_of_tree_subsystem_runs_behind_the_c_abi() {
    let list: [&'static dyn DynSubsystem; 2] = [&gpc_subsystems::pids::Pids, &FORKS];
    // SAFETY: the mock kernel supplies every import.
    let g = unsafe { gpc_init_with_subsystems(ptr::null_mut(), &list) };
    assert!(!g.is_null() && (g as usize) < usize::MAX - GPC_MAX_ERRNO);
    let forks = cstr("forks");
    let root_creds = GpcCreds {
        uid: 0,
        euid: 0,
        suid: 0,
        egid: 0,
        cap_sys_admin: true,
        cap_dac_override: true,
    };
    // SAFETY: live instance, tasks of the mock kernel, NUL-terminated strings.
    unsafe {
        assert_eq!(gpc_subsys_count(g), 2);
        assert_eq!(gpc_subsys_id(g, forks.as_ptr()), 1);
        let init = mock::new_task(0, root_creds);
        assert_eq!(gpc_init_task(g, init), 0);
        mock::publish(init);
        let h = gpc_mount(g, forks.as_ptr(), ptr::null_mut());
        assert!(h > 0);
        let a = cstr("/a");
        assert_eq!(gpc_mkdir(g, h, a.as_ptr()), 0);
        assert_eq!(gpc_attach(g, h, a.as_ptr(), init), 0, "init moves into /a");
        let child = mock::new_task(0, root_creds);
        assert_eq!(gpc_fork(g, init, child), 0);
        mock::publish(child);
        assert_eq!(read(g, h, "/a/forks.count").as_deref(), Ok("1\n"));
        assert_eq!(read(g, h, "/forks.count").as_deref(), Ok("0\n"));
        // The lookup gives its state's opaque identity too: the same for the child and
        // init (both in /a), as for every subsystem.
        crate::ffi::gpc_rcu_read_lock();
        let state = gpc_task_css(g, child, 1);
        assert!(!state.is_null());
        assert_eq!(state, gpc_task_css(g, init, 1));
        assert!(!gpc_task_css(g, child, 0).is_null(), "pids keeps its own");
        crate::ffi::gpc_rcu_read_unlock();

        gpc_exit(g, child);
        mock::reap(child);
        gpc_exit(g, init);
        mock::reap(init);
        gpc_destroy(g);
    }
}
