//! Runs the minimal host: steps 6 and 7 of doc/embedding.md (choose subsystems, call the
//! hooks, expose files), checking what a reader of the files would see.

use core::pin::pin;

use gpc_core::host::alloc::set_scope_hooks;
use gpc_core::host::task::Caller;
use gpc_core::{Creds, Gpc, Result, TaskInfo, TaskSlot};
use gpc_example_minimal_host::{MiniHost, Task, Tasks, SCOPE_HOOKS};

fn run() -> Result<String> {
    set_scope_hooks(&SCOPE_HOOKS);
    let gpc = Gpc::new(MiniHost::new(), &[&gpc_subsystems::pids::Pids])?;
    let task = |pid| Task {
        pid,
        slot: TaskSlot::new(),
    };
    // Task 2's slot stays empty (invisible to gpc) until its fork. Declared after gpc,
    // the table is dropped first: a slot still on a css_group's list unlinks itself.
    let tasks = pin!(Tasks([task(1), task(2), task(0), task(0)]));
    let tasks = tasks.into_ref();
    let (Some(init), Some(child)) = (tasks.slot(0), tasks.slot(1)) else {
        return Err(gpc_core::Error::EINVAL);
    };
    let init_info = TaskInfo {
        pid: 1,
        tgid: 1,
        is_thread: false,
    };
    gpc.init_task(init, &init_info)?; // the first task, before any fork
    let info = TaskInfo {
        pid: 2,
        tgid: 2,
        is_thread: false,
    };
    gpc.fork(&init, child, &info)?; // the fork hook
    let caller = Caller {
        creds: Creds::ROOT,
        pid: Some(1),
        tasks: tasks.get_ref(),
    };
    let h = gpc.mount("pids", &caller)?; // a file system's mount
    gpc.mkdir(h, "jail")?;
    gpc.write(h, "jail/pids.max", b"1", &caller)?;
    gpc.write(h, "jail/tasks", b"2", &caller)?;
    let mut out = Vec::new();
    gpc.read(h, "jail/tasks", &caller, &mut out)?;
    gpc.read(h, "jail/pids.current", &caller, &mut out)?;
    gpc.proc_pid_cgroup(&child, &mut out)?;
    gpc.exit(&child, &info); // the exit hook
    gpc.read(h, "jail/pids.current", &caller, &mut out)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// What the files say: the task in `jail`, counted there, then gone after its exit.
const WANT: &str = "2\n1\n1:pids:/jail\n0\n";

fn main() {
    match run() {
        Ok(got) if got == WANT => print!("minimal host: ok\n{got}"),
        other => {
            eprintln!("minimal host: got {other:?}, want {WANT:?}");
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_minimal_host_runs() {
        assert_eq!(super::run().as_deref(), Ok(super::WANT));
    }
}
