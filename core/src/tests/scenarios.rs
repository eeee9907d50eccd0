//! Hand-written scenarios, each checking one rule against Linux's behaviour
//! (doc/linux-v1-reference.md cites the kernel source of each).

use std::prelude::rust_2021::*;
use std::{format, vec};

use super::World;
use crate::{Creds, Error, Pid};

#[test]
fn mount_reuse_and_conflicts() {
    let w = World::new();
    let a = w.mount("probe").unwrap();
    assert_eq!(
        w.mount("probe").unwrap(),
        a,
        "identical mount reuses the hierarchy"
    );
    assert_eq!(
        w.mount("probe,plain"),
        Err(Error::EBUSY),
        "probe is bound elsewhere"
    );
    let n = w.mount("none,name=x").unwrap();
    assert_ne!(n, a);
    assert_eq!(
        w.mount("name=x").unwrap(),
        n,
        "name alone finds the named hierarchy"
    );
    assert_eq!(
        w.mount("plain,name=x"),
        Err(Error::EBUSY),
        "name matches, subsystems differ"
    );
    assert_eq!(
        w.mount("name=nope"),
        Err(Error::EINVAL),
        "no hierarchy to reuse, no subsystems"
    );
    assert_eq!(
        w.gpc
            .mount("plain", &w.tasks.caller(Creds::user(1000, 1000), None)),
        Err(Error::EPERM)
    );
}

#[test]
fn umount_keeps_hierarchy_with_children() {
    let w = World::new();
    let h = w.mount("probe").unwrap();
    w.gpc.mkdir(h, "a").unwrap();
    w.gpc.umount(h).unwrap();
    assert!(w.gpc.hierarchy_exists(h));
    assert_eq!(
        w.mount("probe").unwrap(),
        h,
        "remount finds it with its children"
    );
    assert!(w.gpc.stat(h, "a").is_ok());
    w.gpc.rmdir(h, "a").unwrap();
    w.gpc.umount(h).unwrap();
    assert!(
        !w.gpc.hierarchy_exists(h),
        "no children: destroyed, probe is free again"
    );
    let h2 = w.mount("probe,plain").unwrap();
    assert!(w.gpc.hierarchy_exists(h2));
}

#[test]
fn mkdir_rmdir_rules() {
    let w = World::new();
    let h = w.mount("probe").unwrap();
    w.gpc.mkdir(h, "a").unwrap();
    assert_eq!(w.gpc.mkdir(h, "a"), Err(Error::EEXIST));
    assert_eq!(w.gpc.mkdir(h, "tasks"), Err(Error::EEXIST));
    assert_eq!(w.gpc.mkdir(h, "probe.count"), Err(Error::EEXIST));
    assert_eq!(w.gpc.mkdir(h, "x/y"), Err(Error::ENOENT));
    assert_eq!(w.gpc.mkdir(h, "tasks/y"), Err(Error::ENOTDIR));
    assert_eq!(w.gpc.mkdir(h, "bad\nname"), Err(Error::EINVAL));
    w.gpc.mkdir(h, "a/b").unwrap();
    assert_eq!(w.gpc.rmdir(h, "a"), Err(Error::EBUSY));
    assert_eq!(w.gpc.rmdir(h, ""), Err(Error::EBUSY), "root");
    assert_eq!(w.gpc.rmdir(h, "a/tasks"), Err(Error::ENOTDIR));
    assert_eq!(w.gpc.rmdir(h, "zz"), Err(Error::ENOENT));
    w.gpc.rmdir(h, "a/b").unwrap();
    w.gpc.rmdir(h, "a").unwrap();
    let long = "n".repeat(300);
    w.gpc.mkdir(h, &long).unwrap();
}

#[test]
fn files_and_formats() {
    let w = World::new();
    let h = w.mount("probe,plain").unwrap();
    let mut root = w.gpc.list(h, "").unwrap();
    root.sort();
    assert_eq!(
        root,
        vec![
            "cgroup.clone_children",
            "cgroup.procs",
            "cgroup.sane_behavior",
            "notify_on_release",
            "plain.subtree",
            "plain.value",
            "probe.count",
            "probe.deny_attach",
            "probe.limit",
            "release_agent",
            "tasks"
        ]
    );
    w.gpc.mkdir(h, "a").unwrap();
    let child = w.gpc.list(h, "a").unwrap();
    assert!(!child
        .iter()
        .any(|f| f == "release_agent" || f == "cgroup.sane_behavior"));
    assert_eq!(w.read(h, "cgroup.sane_behavior").unwrap(), "0\n");
    assert_eq!(w.read(h, "release_agent").unwrap(), "\n");
    assert_eq!(w.read(h, "a/notify_on_release").unwrap(), "0\n");
    assert_eq!(w.read(h, "tasks").unwrap(), "1\n");
    assert_eq!(
        w.write(h, "a/notify_on_release", " 1\n"),
        Err(Error::EINVAL),
        "write_u64: no strip"
    );
    w.write(h, "a/notify_on_release", "7\n").unwrap();
    assert_eq!(w.read(h, "a/notify_on_release").unwrap(), "1\n");
    assert_eq!(w.write(h, "cgroup.sane_behavior", "1"), Err(Error::EINVAL));
    assert_eq!(w.read(h, "a"), Err(Error::EISDIR));
    assert_eq!(
        w.write_as(h, "release_agent", "/x", Creds::user(0, 0)),
        Err(Error::EPERM)
    );
    w.write(h, "release_agent", "  /sbin/agent \n").unwrap();
    assert_eq!(w.read(h, "release_agent").unwrap(), "/sbin/agent\n");
    assert_eq!(
        w.gpc.stat(h, "cgroup.sane_behavior"),
        Ok(crate::Entry::File { mode: 0o444 })
    );
    assert_eq!(
        w.gpc.stat(h, "tasks"),
        Ok(crate::Entry::File { mode: 0o644 })
    );
}

#[test]
fn attach_fork_exit_and_proc() {
    let mut w = World::new();
    let h = w.mount("probe").unwrap();
    let n = w.mount("none,name=n").unwrap();
    w.gpc.mkdir(h, "a").unwrap();
    w.gpc.mkdir(n, "x").unwrap();
    let a = w.fork(1).unwrap();
    let t = w.thread(a).unwrap();
    w.write(h, "a/tasks", &format!("{t}\n")).unwrap();
    assert_eq!(w.read(h, "a/tasks").unwrap(), format!("{t}\n"));
    assert_eq!(w.read(h, "a/cgroup.procs").unwrap(), format!("{a}\n"));
    w.write(n, "x/cgroup.procs", &format!("{t}")).unwrap();
    assert_eq!(
        w.read(n, "x/tasks").unwrap(),
        format!("{a}\n{t}\n"),
        "procs moves the whole group"
    );
    let c = w.fork(t).unwrap();
    let hid = w.gpc.hierarchy_proc_id(h).unwrap();
    let nid = w.gpc.hierarchy_proc_id(n).unwrap();
    assert_eq!(
        w.proc_cgroup(c).unwrap(),
        format!("{nid}::name=n:/x\n{hid}:probe:/a\n").replace("::", ":")
    );
    assert_eq!(w.read(h, "a/probe.count").unwrap(), "2\n");
    assert_eq!(
        w.read(h, "probe.count").unwrap(),
        "3\n",
        "init was never forked"
    );
    w.exit(a).unwrap();
    assert_eq!(w.read(h, "a/probe.count").unwrap(), "1\n");
    assert_eq!(w.write(h, "a/tasks", "999"), Err(Error::ESRCH));
    assert_eq!(w.write(h, "a/tasks", "-1"), Err(Error::EINVAL));
    assert_eq!(w.write(h, "a/tasks", "x"), Err(Error::EINVAL));
    let mut buf = std::vec::Vec::new();
    w.gpc.proc_cgroups(&mut buf).unwrap();
    assert_eq!(
        std::string::String::from_utf8(buf).unwrap(),
        format!(
            "#subsys_name\thierarchy\tnum_cgroups\tenabled\nprobe\t{hid}\t2\t1\nplain\t0\t1\t1\n"
        )
    );
    w.exit(c).unwrap();
}

#[test]
fn move_permission_rule() {
    let mut w = World::new();
    let h = w.mount("none,name=p").unwrap();
    w.gpc.mkdir(h, "a").unwrap();
    let b = w
        .tasks
        .fork_as(&w.gpc, 1, false, Some(Creds::user(1001, 1001)))
        .unwrap();
    assert_eq!(
        w.write_as(h, "a/tasks", &b.to_string(), Creds::user(1000, 1000)),
        Err(Error::EACCES)
    );
    w.write_as(h, "a/tasks", &b.to_string(), Creds::user(1001, 1001))
        .unwrap();
}

#[test]
fn fork_veto_rolls_back() {
    let mut w = World::new();
    let h = w.mount("probe").unwrap();
    w.gpc.mkdir(h, "a").unwrap();
    let a = w.fork(1).unwrap();
    w.write(h, "a/tasks", &a.to_string()).unwrap();
    w.write(h, "a/probe.limit", "1").unwrap();
    let before = w.gpc.css_group_refcounts();
    assert_eq!(w.fork(a), Err(Error::EAGAIN));
    assert_eq!(w.gpc.css_group_refcounts(), before, "no reference leaked");
    assert_eq!(w.read(h, "a/probe.count").unwrap(), "1\n");
    assert_eq!(
        w.read(h, "probe.count").unwrap(),
        "1\n",
        "ancestor charge rolled back"
    );
}

#[test]
fn attach_veto_changes_nothing() {
    let mut w = World::new();
    let h = w.mount("probe").unwrap();
    w.gpc.mkdir(h, "a").unwrap();
    let a = w.fork(1).unwrap();
    w.thread(a).unwrap();
    w.write(h, "a/probe.deny_attach", "1").unwrap();
    let hs = [h];
    let before = w.dump(&hs);
    assert_eq!(
        w.write(h, "a/cgroup.procs", &a.to_string()),
        Err(Error::EPERM)
    );
    assert_eq!(w.dump(&hs), before);
}

#[test]
fn release_on_exit_and_rmdir() {
    let mut w = World::new();
    let h = w.mount("none,name=r,release_agent=/agent").unwrap();
    w.gpc.mkdir(h, "a").unwrap();
    w.write(h, "a/notify_on_release", "1").unwrap();
    w.gpc.mkdir(h, "a/b").unwrap();
    let t = w.fork(1).unwrap();
    let th = w.thread(t).unwrap();
    w.write(h, "a/b/cgroup.procs", &t.to_string()).unwrap();
    assert!(w.releases().is_empty());
    w.exit(th).unwrap();
    assert!(w.releases().is_empty(), "not the last task");
    w.exit(t).unwrap();
    assert_eq!(w.releases(), vec!["/a/b"], "inherited notify_on_release");
    w.gpc.rmdir(h, "a/b").unwrap();
    assert_eq!(w.releases(), vec!["/a"], "parent emptied by rmdir");
    // Moving the last task out releases too.
    let u = w.fork(1).unwrap();
    w.write(h, "a/tasks", &u.to_string()).unwrap();
    w.write(h, "tasks", &u.to_string()).unwrap();
    assert_eq!(w.releases(), vec!["/a"]);
    // An empty agent reports nothing.
    w.write(h, "release_agent", "\n").unwrap();
    w.write(h, "a/tasks", &u.to_string()).unwrap();
    w.exit(u).unwrap();
    assert!(w.releases().is_empty());
}

#[test]
fn clone_children_and_container_clone() {
    let mut w = World::new();
    let h = w.mount("plain,probe").unwrap();
    w.write(h, "plain.value", "5").unwrap();
    w.gpc.mkdir(h, "a").unwrap();
    assert_eq!(w.read(h, "a/plain.value").unwrap(), "5\n");
    w.write(h, "cgroup.clone_children", "1").unwrap();
    w.gpc.mkdir(h, "b").unwrap();
    assert_eq!(
        w.read(h, "b/cgroup.clone_children").unwrap(),
        "1\n",
        "inherited"
    );
    assert_eq!(
        w.read(h, "b/plain.value").unwrap(),
        "1005\n",
        "post_clone ran"
    );
    let t = w.fork(1).unwrap();
    w.write(h, "a/tasks", &t.to_string()).unwrap();
    let probe = w.gpc.subsys_id("probe").unwrap();
    let tr = w.tasks.task_ref(t).unwrap();
    w.gpc.container_clone(probe, &tr, &t.to_string()).unwrap();
    assert_eq!(
        w.read(h, &format!("a/{t}/tasks")).unwrap(),
        format!("{t}\n")
    );
    assert_eq!(w.read(h, "a/tasks").unwrap(), "");
}

#[test]
fn lookup_is_the_tasks_state() {
    let mut w = World::new();
    let h = w.mount("plain").unwrap();
    w.gpc.mkdir(h, "a").unwrap();
    w.write(h, "a/plain.value", "42").unwrap();
    let t = w.fork(1).unwrap();
    w.write(h, "a/tasks", &t.to_string()).unwrap();
    let ss = w.gpc.subsys_id("plain").unwrap();
    let guard = w.gpc.rcu_read_lock();
    let slot = &w.tasks.get(t).unwrap().slot;
    let css = w
        .gpc
        .task_state::<crate::testing::probe::Plain>(&guard, slot, ss)
        .unwrap();
    assert_eq!(css.value.load(core::sync::atomic::Ordering::Relaxed), 42);
    assert!(
        w.gpc
            .task_css(&guard, slot, ss)
            .unwrap()
            .state::<u32>()
            .is_none(),
        "typed access is checked"
    );
}

#[test]
fn css_groups_are_shared_and_freed() {
    let mut w = World::new();
    let h = w.mount("probe").unwrap();
    w.gpc.mkdir(h, "a").unwrap();
    let base = w.gpc.css_group_count();
    let a = w.fork(1).unwrap();
    let b = w.fork(1).unwrap();
    w.write(h, "a/tasks", &a.to_string()).unwrap();
    w.write(h, "a/tasks", &b.to_string()).unwrap();
    assert_eq!(w.gpc.css_group_count(), base + 1, "one shared css_group");
    assert_eq!(
        w.gpc.css_group_of(&w.tasks.get(a).unwrap().slot),
        w.gpc.css_group_of(&w.tasks.get(b).unwrap().slot)
    );
    w.exit(a).unwrap();
    w.exit(b).unwrap();
    assert_eq!(w.gpc.css_group_count(), base, "freed with its last task");
    w.gpc.rmdir(h, "a").unwrap();
}

#[test]
fn teardown_frees_everything() {
    let start = super::FailingAlloc::thread_live();
    {
        let mut w = World::new();
        let h = w.mount("probe,plain").unwrap();
        w.gpc.mkdir(h, "a").unwrap();
        w.gpc.mkdir(h, "a/b").unwrap();
        let t = w.fork(1).unwrap();
        w.write(h, "a/b/tasks", &t.to_string()).unwrap();
        let gpc = &w.gpc;
        w.tasks.exit_all(gpc);
    }
    assert_eq!(super::FailingAlloc::thread_live(), start, "nothing leaked");
}

#[test]
fn descendants_walk_pre_order() {
    let w = World::new();
    let h = w.mount("plain").unwrap();
    for (p, v) in [("a", 1), ("a/b", 2), ("a/b/c", 3), ("a/d", 4), ("e", 5)] {
        w.gpc.mkdir(h, p).unwrap();
        w.write(h, &format!("{p}/plain.value"), &v.to_string())
            .unwrap();
    }
    assert_eq!(w.read(h, "plain.subtree").unwrap(), "1\n2\n3\n4\n5\n");
    assert_eq!(w.read(h, "a/plain.subtree").unwrap(), "2\n3\n4\n");
    assert_eq!(w.read(h, "a/d/plain.subtree").unwrap(), "");
}

#[test]
fn a_refused_mount_uses_up_a_hierarchy_id() {
    let w = World::new();
    let a = w.mount("probe").unwrap();
    assert_eq!(w.mount("probe,plain"), Err(Error::EBUSY));
    let b = w.mount("plain").unwrap();
    let (ia, ib) = (
        w.gpc.hierarchy_proc_id(a).unwrap(),
        w.gpc.hierarchy_proc_id(b).unwrap(),
    );
    assert_eq!(ib, ia + 2, "Linux: the EBUSY mount consumed id {}", ia + 1);
}

#[test]
fn hierarchy_limits_refuse_mkdir_with_eagain() {
    use crate::Limits;
    let w = World::new();
    let h = w.mount("probe").unwrap();
    // Linux's default (and v1's only) setting: no limit.
    assert_eq!(w.gpc.hierarchy_limits(h), Some(Limits::MAX));
    w.gpc.mkdir(h, "a").unwrap();
    w.gpc.mkdir(h, "a/b").unwrap();
    w.gpc
        .set_hierarchy_limits(
            h,
            Limits {
                max_depth: 2,
                max_descendants: 3,
            },
        )
        .unwrap();
    // cgroup_check_hierarchy_limits: the parent's level must be below max_depth.
    assert_eq!(w.gpc.mkdir(h, "a/b/c"), Err(Error::EAGAIN));
    // The name checks come first (VFS EEXIST, cgroup_mkdir's '\n' EINVAL).
    assert_eq!(w.gpc.mkdir(h, "a/b"), Err(Error::EEXIST));
    assert_eq!(w.gpc.mkdir(h, "a/b/x\ny"), Err(Error::EINVAL));
    w.gpc.mkdir(h, "d").unwrap();
    // Three descendants now: the fourth is refused, at any depth.
    assert_eq!(w.gpc.mkdir(h, "e"), Err(Error::EAGAIN));
    assert_eq!(w.gpc.mkdir(h, "a/f"), Err(Error::EAGAIN));
    assert_eq!(
        w.gpc.stat(h, "e"),
        Err(Error::ENOENT),
        "nothing left behind"
    );
    // Removing one makes room again.
    w.gpc.rmdir(h, "d").unwrap();
    w.gpc.mkdir(h, "e").unwrap();
    // The limits survive umount and remount of a hierarchy kept alive by children.
    w.gpc.umount(h).unwrap();
    assert_eq!(w.mount("probe").unwrap(), h);
    assert_eq!(w.gpc.mkdir(h, "g"), Err(Error::EAGAIN));
    // Back to "max".
    w.gpc.set_hierarchy_limits(h, Limits::MAX).unwrap();
    w.gpc.mkdir(h, "a/b/c").unwrap();
    // Another hierarchy is not affected; an unknown one is ENOENT.
    let p = w.mount("plain").unwrap();
    assert_eq!(w.gpc.hierarchy_limits(p), Some(Limits::default()));
    w.gpc.umount(p).unwrap();
    assert_eq!(
        w.gpc.set_hierarchy_limits(p, Limits::MAX),
        Err(Error::ENOENT)
    );
    assert_eq!(w.gpc.hierarchy_limits(p), None);
}

#[test]
fn hostile_names() {
    let w = World::new();
    let h = w.mount("probe").unwrap();
    // '\n' is cgroup_mkdir's EINVAL; a NUL cannot reach Linux (C strings), gpc refuses it
    // the same way so that no name can cut a /proc line or an agent argument short.
    assert_eq!(w.gpc.mkdir(h, "a\nb"), Err(Error::EINVAL));
    assert_eq!(w.gpc.mkdir(h, "a\0b"), Err(Error::EINVAL));
    assert_eq!(w.gpc.mkdir(h, "\0"), Err(Error::EINVAL));
    // Empty, `.` and `..` exist already (the VFS's EEXIST).
    assert_eq!(w.gpc.mkdir(h, ""), Err(Error::EEXIST));
    assert_eq!(w.gpc.mkdir(h, "."), Err(Error::EEXIST));
    assert_eq!(w.gpc.mkdir(h, ".."), Err(Error::EEXIST));
    // kernfs has no NAME_MAX: 255, 256 and 4000 bytes are all names.
    for n in [255, 256, 4000] {
        let name = "n".repeat(n);
        w.gpc.mkdir(h, &name).unwrap();
        w.gpc.rmdir(h, &name).unwrap();
    }
    // Any other byte is fine, UTF-8 included.
    w.gpc.mkdir(h, " sp:a,ce\t\u{e9}").unwrap();
    assert!(w
        .gpc
        .list(h, "")
        .unwrap()
        .contains(&" sp:a,ce\t\u{e9}".to_string()));
}

#[test]
fn deep_trees_have_exact_paths_without_recursion() {
    let mut w = World::new();
    let h = w.mount("probe,release_agent=/agent").unwrap();
    let p = w.fork(1).unwrap();
    // 3000 levels: far more than the 64 names the fast path keeps on the stack; the old
    // recursive walk overflowed a small stack long before that.
    let mut path = String::new();
    for i in 0..3000 {
        path.push_str(if i % 2 == 0 { "/d" } else { "/e" });
        w.gpc.mkdir(h, &path).unwrap();
    }
    let deep1000 = path[..2000].to_string();
    w.write(h, &format!("{deep1000}/tasks"), &p.to_string())
        .unwrap();
    assert_eq!(w.proc_cgroup(p).unwrap(), format!("1:probe:{deep1000}\n"));
    w.write(h, &format!("{deep1000}/notify_on_release"), "1")
        .unwrap();
    // proc_cgroup_show: a path of PATH_MAX bytes or more is ENAMETOOLONG.
    w.write(h, &format!("{path}/tasks"), &p.to_string())
        .unwrap();
    assert_eq!(w.proc_cgroup(p), Err(Error::ENAMETOOLONG));
    w.exit(p).unwrap();
    assert_eq!(w.releases(), Vec::<String>::new(), "it has children");
    // Emptied from below, the 1000-level container is released with its whole path.
    while path.len() > deep1000.len() {
        w.gpc.rmdir(h, &path).unwrap();
        path.truncate(path.len() - 2);
    }
    assert_eq!(w.releases(), vec![deep1000]);
}

/// A task belongs to the instance that forked it (css_groups record their instance):
/// another instance refuses it with `EINVAL` and changes nothing, and does not list it.
#[test]
fn a_task_of_another_instance_is_refused() {
    use crate::{TaskInfo, TaskSlot};
    let mut a = World::new();
    let mut b = World::new();
    let pid = a.fork(1).unwrap();
    let ha = a.mount("probe").unwrap();
    let hb = b.mount("probe").unwrap();
    a.gpc.mkdir(ha, "x").unwrap();
    b.gpc.mkdir(hb, "x").unwrap();
    a.gpc
        .attach(ha, "x", &a.tasks.task_ref(pid).unwrap())
        .unwrap();
    let t = a.tasks.task_ref(pid).unwrap();
    let info = TaskInfo {
        pid,
        tgid: pid,
        is_thread: false,
    };
    let mut before = Vec::new();
    a.gpc.proc_pid_cgroup(t.slot, &mut before).unwrap();
    {
        let guard = b.gpc.rcu_read_lock();
        assert!(!b.gpc.owns_task(&guard, t.slot));
        let guard = a.gpc.rcu_read_lock();
        assert!(a.gpc.owns_task(&guard, t.slot));
    }
    let child = core::pin::pin!(TaskSlot::new());
    assert_eq!(
        b.gpc.fork(t.slot, child.as_ref(), &info),
        Err(Error::EINVAL)
    );
    assert!(!child.is_attached());
    assert_eq!(b.gpc.attach(hb, "x", &t), Err(Error::EINVAL));
    assert_eq!(b.gpc.try_exit(t.slot, &info), Err(Error::EINVAL));
    assert_eq!(
        b.gpc.proc_pid_cgroup(t.slot, &mut Vec::new()),
        Err(Error::EINVAL)
    );
    // b's tasks file lists b's own lists, whatever task table the caller names: a's
    // task is not there.
    let pid2 = b.fork(1).unwrap();
    let mut listed = Vec::new();
    b.gpc
        .read(hb, "tasks", &a.tasks.caller(Creds::ROOT, None), &mut listed)
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&listed), format!("1\n{pid2}\n"));
    let mut after = Vec::new();
    a.gpc.proc_pid_cgroup(t.slot, &mut after).unwrap();
    assert_eq!(before, after, "still a's, where a put it");
    assert_eq!(a.gpc.try_exit(t.slot, &info), Ok(()));
    a.tasks.exit(&a.gpc, pid).unwrap();
    b.tasks.exit(&b.gpc, pid2).unwrap();
}

/// A host that resolved a directory once addresses it by its container id (Linux
/// fs/kernfs/dir.c: `kernfs_find_and_get_node_by_id`; `cgroup_mkdir` takes the parent's
/// node): `stat_at` and `mkdir_at` agree with the path calls, and an id dies with its
/// container (or its hierarchy).
#[test]
fn containers_are_addressed_by_id() {
    use crate::Entry;
    let w = World::new();
    let h = w.mount("probe").unwrap();
    let n = w.mount("none,name=n").unwrap();
    let dir_id = |e| match e {
        Ok(Entry::Dir { id }) => id,
        _ => u64::MAX,
    };
    let root = dir_id(w.gpc.stat(h, "/"));
    let a = w.gpc.mkdir_at(h, root, "a").unwrap();
    assert_eq!(w.gpc.stat(h, "a").unwrap(), Entry::Dir { id: a });
    assert_eq!(w.gpc.stat_at(h, root, "a").unwrap(), Entry::Dir { id: a });
    let b = w.gpc.mkdir_at(h, a, "b").unwrap();
    assert_eq!(w.gpc.stat(h, "a/b").unwrap(), Entry::Dir { id: b });
    assert_eq!(w.gpc.stat_at(h, a, "tasks"), w.gpc.stat(h, "a/tasks"));
    assert_eq!(w.gpc.stat_at(h, a, "nope"), Err(Error::ENOENT));
    // The path rules of mkdir hold: existing names, files, bad names.
    assert_eq!(w.gpc.mkdir_at(h, a, "b"), Err(Error::EEXIST));
    assert_eq!(w.gpc.mkdir_at(h, a, "tasks"), Err(Error::EEXIST));
    assert_eq!(w.gpc.mkdir_at(h, a, "x\ny"), Err(Error::EINVAL));
    // An id belongs to one hierarchy.
    assert_eq!(w.gpc.mkdir_at(n, a, "c"), Err(Error::ENOENT));
    assert_eq!(w.gpc.stat_at(n, a, "b"), Err(Error::ENOENT));
    // Removed: the id is gone, even for a new container of the same name.
    w.gpc.rmdir(h, "a/b").unwrap();
    assert_eq!(w.gpc.stat_at(h, b, "tasks"), Err(Error::ENOENT));
    assert_eq!(w.gpc.mkdir_at(h, b, "c"), Err(Error::ENOENT));
    let b2 = w.gpc.mkdir_at(h, a, "b").unwrap();
    assert_ne!(b2, b);
    w.gpc.rmdir(h, "a/b").unwrap();
    w.gpc.rmdir(h, "a").unwrap();
    // A destroyed hierarchy's root id dies with it.
    let nroot = dir_id(w.gpc.stat(n, "/"));
    assert_ne!(nroot, u64::MAX);
    w.gpc.umount(n).unwrap();
    assert_eq!(w.gpc.mkdir_at(n, nroot, "x"), Err(Error::ENOENT));
}

/// A task nested deep by repeated clones: the populated state still flips where Linux's
/// does (`cgroup_update_populated` stops at the first ancestor that does not flip), and
/// the release notifications come when the deep chain empties.
#[test]
fn populated_counts_stop_where_nothing_flips() {
    let mut w = World::new();
    let h = w.mount("probe,release_agent=/agent").unwrap();
    let ss = w.gpc.subsys_id("probe").unwrap();
    w.write(h, "notify_on_release", "1").unwrap();
    let t = w.fork(1).unwrap();
    let mut path = String::new();
    for _ in 0..50 {
        let tr = w.tasks.task_ref(t).unwrap();
        w.gpc.container_clone(ss, &tr, "n").unwrap();
        path.push_str("/n");
    }
    assert!(w
        .read(h, &format!("{path}/tasks"))
        .unwrap()
        .contains(&t.to_string()));
    assert!(w.releases().is_empty(), "every level is populated");
    w.exit(t).unwrap();
    // Only the deepest container lost its own tasks; the others emptied through it, and
    // every one of them (children made with notify_on_release inherited) is releasable
    // once its children are gone: the deepest one is notified now.
    assert_eq!(w.releases(), vec![path.clone()]);
    w.gpc.rmdir(h, &path).unwrap();
    let parent = path[..path.len() - 2].to_string();
    assert_eq!(w.releases(), vec![parent]);
}

/// `tasks` and `cgroup.procs` of a group larger than one pass of the sorted listing
/// (`PIDS_PER_PASS`): sorted, each pid once, each process once however many of its
/// threads are there, whether read at once (passes that double) or streamed in small
/// pieces (passes of `PIDS_PER_PASS`). The tasks join in a scrambled order, so the walk
/// meets them unsorted. Linux: kernel/cgroup/cgroup-v1.c `pidlist_array_load`.
#[test]
fn sorted_listings_span_several_passes() {
    use crate::gpc::PIDS_PER_PASS;
    let mut w = World::new();
    let h = w.mount("probe").unwrap();
    w.gpc.mkdir(h, "a").unwrap();
    let procs = PIDS_PER_PASS + PIDS_PER_PASS / 2 + 7;
    let mut leaders = Vec::new();
    let mut all = Vec::new();
    for i in 0..procs {
        let p = w.fork(1).unwrap();
        leaders.push(p);
        all.push(p);
        // Every third process has two more threads: 2.3 passes of tasks in all.
        if i % 3 == 0 {
            all.push(w.thread(p).unwrap());
            all.push(w.thread(p).unwrap());
        }
    }
    // A scrambled order of the processes (a step prime to their number).
    let step = (1..procs)
        .rev()
        .find(|s| gcd(*s, procs) == 1 && *s > procs / 3)
        .unwrap();
    for k in 0..procs {
        let p = leaders[(k * step) % procs];
        w.write(h, "a/cgroup.procs", &p.to_string()).unwrap();
    }
    all.sort_unstable();
    leaders.sort_unstable();
    let text = |v: &[Pid]| v.iter().map(|p| format!("{p}\n")).collect::<String>();
    let (want_tasks, want_procs) = (text(&all), text(&leaders));
    assert!(all.len() > 2 * PIDS_PER_PASS);
    assert_eq!(w.read(h, "a/tasks").unwrap(), want_tasks);
    assert_eq!(w.read(h, "a/cgroup.procs").unwrap(), want_procs);
    for (file, want) in [("a/tasks", &want_tasks), ("a/cgroup.procs", &want_procs)] {
        let node = w.gpc.lookup(h, file).unwrap();
        let mut reader = w.gpc.pids_reader(&node).unwrap();
        let (mut got, mut buf) = (Vec::new(), [0u8; 5]);
        loop {
            let n = reader.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(String::from_utf8(got).unwrap(), *want, "{file} streamed");
    }
    // The walk itself lists each member once, in pieces.
    let dir = w.gpc.lookup(h, "a").unwrap();
    let mut walk = w.gpc.tasks(&dir).unwrap();
    let mut seen = Vec::new();
    let mut chunk = [crate::gpc::TaskId::default(); 100];
    loop {
        let n = walk.fill(&mut chunk);
        if n == 0 {
            break;
        }
        seen.extend(chunk[..n].iter().map(|t| t.pid));
    }
    drop(walk);
    seen.sort_unstable();
    assert_eq!(seen, all);
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// A world with the unified hierarchy mounted.
fn unified_world() -> (World, crate::HierarchyId) {
    let w = World::new();
    let h = w
        .gpc
        .mount_v2("", &w.tasks.caller(Creds::ROOT, None))
        .unwrap();
    (w, h)
}

/// The unified hierarchy: one per instance, reused by every mount, kept when its last
/// mount goes (Linux `cgrp_dfl_root`), and never found by a v1 mount.
#[test]
fn unified_hierarchy_is_one_and_stays() {
    let mut w = World::new();
    assert_eq!(
        w.gpc
            .mount_v2("", &w.tasks.caller(Creds::user(1000, 1000), None)),
        Err(Error::EPERM)
    );
    assert_eq!(
        w.gpc.mount_v2("bogus", &w.tasks.caller(Creds::ROOT, None)),
        Err(Error::EINVAL)
    );
    assert_eq!(
        w.gpc
            .mount_v2("nsdelegate=1", &w.tasks.caller(Creds::ROOT, None)),
        Err(Error::EINVAL)
    );
    assert!(w.gpc.unified_hierarchy().is_none());
    // Before any cgroup2 mount, /proc/PID/cgroup has no 0:: line (cgrp_dfl_visible).
    let v1 = w.mount("probe").unwrap();
    assert_eq!(w.proc_cgroup(1).unwrap(), "1:probe:/\n");
    let h = w
        .gpc
        .mount_v2(
            "nsdelegate,,favordynmods",
            &w.tasks.caller(Creds::ROOT, None),
        )
        .unwrap();
    assert!(w.gpc.is_unified(h) && !w.gpc.is_unified(v1));
    assert_eq!(
        w.gpc
            .mount_v2("", &w.tasks.caller(Creds::ROOT, None))
            .unwrap(),
        h
    );
    assert_eq!(w.gpc.hierarchy_proc_id(h), Some(0));
    // The 0:: line comes last, as Linux lists the default root last.
    assert_eq!(w.proc_cgroup(1).unwrap(), "1:probe:/\n0::/\n");
    // A v1 mount never reuses it.
    let plain = w.mount("plain").unwrap();
    assert_ne!(plain, h);
    assert_eq!(w.proc_cgroup(1).unwrap(), "2:plain:/\n1:probe:/\n0::/\n");
    let mut opts = Vec::new();
    w.gpc.show_options(h, &mut opts).unwrap();
    assert_eq!(opts, b"", "the last mount's flags (none)");
    w.gpc.umount(h).unwrap();
    w.gpc.umount(h).unwrap();
    assert!(w.gpc.hierarchy_exists(h), "the unified hierarchy stays");
    assert_eq!(w.gpc.umount(h), Err(Error::EINVAL));
    w.gpc.mkdir(h, "a").unwrap();
    let p = w.fork(1).unwrap();
    w.write(h, "a/cgroup.procs", &format!("{p}\n")).unwrap();
    assert_eq!(w.proc_cgroup(p).unwrap(), "2:plain:/\n1:probe:/\n0::/a\n");
    assert_eq!(
        w.read(h, "a/cgroup.events").unwrap(),
        "populated 1\nfrozen 0\n"
    );
    assert_eq!(w.read(h, "cgroup.procs").unwrap(), "1\n");
    assert_eq!(
        w.gpc
            .mount_v2("pids_localevents", &w.tasks.caller(Creds::ROOT, None))
            .unwrap(),
        h
    );
    let mut opts = Vec::new();
    w.gpc.show_options(h, &mut opts).unwrap();
    assert_eq!(opts, b",pids_localevents");
}

/// `cgroup.max.depth` and `cgroup.max.descendants` of every ancestor bound a mkdir
/// (Linux `cgroup_check_hierarchy_limits`); `cgroup.stat` counts live descendants.
#[test]
fn unified_group_limits_and_stat() {
    let (w, h) = unified_world();
    w.write(h, "cgroup.max.descendants", "2").unwrap();
    w.gpc.mkdir(h, "a").unwrap();
    w.gpc.mkdir(h, "a/b").unwrap();
    assert_eq!(w.gpc.mkdir(h, "c"), Err(Error::EAGAIN));
    assert_eq!(
        w.read(h, "cgroup.stat").unwrap(),
        "nr_descendants 2\nnr_dying_descendants 0\n"
    );
    w.gpc.rmdir(h, "a/b").unwrap();
    w.write(h, "cgroup.max.descendants", "max\n").unwrap();
    w.write(h, "a/cgroup.max.depth", "0").unwrap();
    assert_eq!(w.gpc.mkdir(h, "a/b"), Err(Error::EAGAIN));
    w.gpc.mkdir(h, "c").unwrap();
    assert_eq!(w.read(h, "a/cgroup.max.depth").unwrap(), "0\n");
    assert_eq!(w.write(h, "a/cgroup.max.depth", "-1"), Err(Error::ERANGE));
    assert_eq!(
        w.write(h, "a/cgroup.max.depth", "2147483648"),
        Err(Error::ERANGE)
    );
    assert_eq!(w.write(h, "a/cgroup.max.depth", "maxx"), Err(Error::EINVAL));
    assert_eq!(w.read(h, "cgroup.max.depth").unwrap(), "max\n");
    // v1 hierarchies have none of these files.
    let v1 = w.mount("probe").unwrap();
    assert_eq!(w.read(v1, "cgroup.stat"), Err(Error::ENOENT));
    assert_eq!(w.read(h, "tasks"), Err(Error::ENOENT));
    assert_eq!(
        w.read(h, "cgroup.events"),
        Err(Error::ENOENT),
        "not on the root"
    );
}

/// v2 moves: a thread's id moves its process; a thread alone moves only within its
/// domain; the writer needs the common ancestor's `cgroup.procs`, not the task's
/// credentials (Linux `cgroup_procs_write_permission`).
#[test]
fn unified_moves_and_delegation() {
    let (mut w, h) = unified_world();
    w.gpc.mkdir(h, "a").unwrap();
    w.gpc.mkdir(h, "a/b").unwrap();
    w.gpc.mkdir(h, "a/c").unwrap();
    let p = w.fork(1).unwrap();
    let t = w.thread(p).unwrap();
    assert_eq!(
        w.write(h, "a/b/cgroup.threads", &format!("{t}")),
        Err(Error::EOPNOTSUPP)
    );
    w.write(h, "cgroup.threads", &format!("{t}")).unwrap();
    w.write(h, "a/b/cgroup.procs", &format!("{t}")).unwrap();
    assert_eq!(
        w.read(h, "a/b/cgroup.threads").unwrap(),
        format!("{p}\n{t}\n")
    );
    assert_eq!(w.read(h, "a/b/cgroup.procs").unwrap(), format!("{p}\n"));
    // A user may not write the common ancestor's (a's) cgroup.procs: the default
    // answer for a file never chowned, whatever the task's owner.
    let user = Creds::user(1000, 1000);
    assert_eq!(
        w.write_as(h, "a/c/cgroup.procs", &format!("{p}"), user),
        Err(Error::EACCES)
    );
    assert_eq!(w.write(h, "a/c/cgroup.procs", "-1"), Err(Error::EINVAL));
    assert_eq!(w.write(h, "a/c/cgroup.procs", "4000000"), Err(Error::ESRCH));
    w.write(h, "a/c/cgroup.procs", &format!("{p}")).unwrap();
    assert_eq!(w.proc_cgroup(t).unwrap(), "0::/a/c\n");
    assert_eq!(w.gpc.rmdir(h, "a/c"), Err(Error::EBUSY));
    // subtree_control: known names only, signed; nothing is on v2 to enable yet.
    assert_eq!(
        w.write(h, "cgroup.subtree_control", "+nope"),
        Err(Error::EINVAL)
    );
    assert_eq!(
        w.write(h, "cgroup.subtree_control", "probe"),
        Err(Error::EINVAL)
    );
    let sc = |data: &str| w.write(h, "cgroup.subtree_control", data);
    assert_eq!(
        sc("+probe\t-probe"),
        Err(Error::EINVAL),
        "a tab is no separator"
    );
    assert_eq!(sc("-probe"), Ok(()), "not enabled: nothing to do");
    assert_eq!(
        w.write(h, "a/cgroup.subtree_control", "+probe"),
        Err(Error::ENOENT),
        "the root does not offer it to a"
    );
    assert_eq!(sc("+probe  -probe\n"), Ok(()), "the last token wins");
    assert_eq!(sc(" \n"), Ok(()));
    assert_eq!(w.read(h, "cgroup.controllers").unwrap(), "probe plain\n");
    assert_eq!(w.read(h, "cgroup.subtree_control").unwrap(), "");
}

/// Enabling a controller in `cgroup.subtree_control` (Linux `cgroup_apply_control`):
/// the children get its state and files, every task below uses its nearest state
/// (moved with `attach`, so the hierarchical counts follow), a grandchild only once its
/// parent enables it too; disabling is refused while a child enables it, then undoes
/// it; a v1 mount cannot take a controller a v2 group uses, and can once it is
/// disabled; an allocation failure or a refused attach changes nothing.
#[test]
fn enabling_a_controller_on_v2() {
    let (mut w, h) = unified_world();
    w.gpc.mkdir(h, "a").unwrap();
    w.gpc.mkdir(h, "a/b").unwrap();
    let p = w.fork(1).unwrap();
    let q = w.fork(1).unwrap();
    w.write(h, "a/b/cgroup.procs", &format!("{p}")).unwrap();
    w.write(h, "a/cgroup.procs", &format!("{q}")).unwrap();
    let files = |w: &World, dir: &str| {
        w.gpc
            .list(h, dir)
            .unwrap()
            .into_iter()
            .filter(|f| f.starts_with("probe."))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        files(&w, ""),
        ["probe.count", "probe.limit", "probe.deny_attach"]
    );
    assert!(files(&w, "a").is_empty(), "not enabled for a yet");
    w.write(h, "cgroup.subtree_control", "+probe").unwrap();
    assert_eq!(w.read(h, "cgroup.subtree_control").unwrap(), "probe\n");
    assert_eq!(w.read(h, "a/cgroup.controllers").unwrap(), "probe\n");
    assert_eq!(files(&w, "a").len(), 3);
    // Both tasks are below a: a's state counts them (p through b, which has none).
    assert_eq!(w.read(h, "a/probe.count").unwrap(), "2\n");
    assert!(files(&w, "a/b").is_empty());
    // a has a process: it enables nothing for its children (no internal process).
    assert_eq!(
        w.write(h, "a/cgroup.subtree_control", "+probe"),
        Err(Error::EBUSY)
    );
    w.write(h, "cgroup.procs", &format!("{q}")).unwrap();
    assert_eq!(w.read(h, "a/probe.count").unwrap(), "1\n");
    w.gpc.mkdir(h, "a/c").unwrap();
    w.write(h, "a/cgroup.subtree_control", "+probe").unwrap();
    assert_eq!(w.read(h, "a/b/probe.count").unwrap(), "1\n");
    assert_eq!(w.read(h, "a/c/probe.count").unwrap(), "0\n");
    assert_eq!(w.read(h, "a/probe.count").unwrap(), "1\n");
    // A fork in b joins b's state.
    let r = w.fork(p).unwrap();
    assert_eq!(w.read(h, "a/b/probe.count").unwrap(), "2\n");
    // Disabling at the root is refused while a enables it for its children.
    assert_eq!(
        w.write(h, "cgroup.subtree_control", "-probe"),
        Err(Error::EBUSY)
    );
    // v1 cannot take it while v2 groups have its state.
    assert_eq!(w.mount("probe"), Err(Error::EBUSY));
    w.write(h, "a/cgroup.subtree_control", "-probe").unwrap();
    assert_eq!(w.read(h, "a/probe.count").unwrap(), "2\n");
    assert!(files(&w, "a/b").is_empty());
    w.write(h, "cgroup.subtree_control", "-probe").unwrap();
    assert!(files(&w, "a").is_empty());
    // Every css_group was replaced, none leaked: tasks and refs agree.
    let refs: usize = w.gpc.css_group_refcounts().iter().map(|(r, _)| r).sum();
    assert_eq!(refs, w.tasks.len() + 1, "init_cg's own reference");
    // Now free: a v1 hierarchy takes it, and v2 no longer offers it.
    let v1 = w.mount("probe").unwrap();
    assert_eq!(w.read(h, "cgroup.controllers").unwrap(), "plain\n");
    assert_eq!(
        w.write(h, "cgroup.subtree_control", "+probe"),
        Err(Error::ENOENT)
    );
    w.gpc.umount(v1).unwrap();
    assert_eq!(w.read(h, "cgroup.controllers").unwrap(), "probe plain\n");
    // A refused attach changes nothing: the root's state refuses tasks, so disabling
    // (which would move them back to it) fails whole.
    w.write(h, "cgroup.subtree_control", "+probe").unwrap();
    w.write(h, "probe.deny_attach", "1").unwrap();
    let snapshot = w.dump(&[h]);
    assert_eq!(
        w.write(h, "cgroup.subtree_control", "-probe"),
        Err(Error::EPERM)
    );
    assert_eq!(w.dump(&[h]), snapshot);
    assert_eq!(w.read(h, "a/probe.count").unwrap(), "2\n");
    w.write(h, "probe.deny_attach", "0").unwrap();
    w.write(h, "cgroup.subtree_control", "-probe").unwrap();
    for pid in [r, p] {
        w.exit(pid).unwrap();
    }
}

/// `cgroup.type` (Linux `cgroup_type_show`, `cgroup_enable_threaded`): `threaded` is
/// the only value written, one way; the parent becomes `domain threaded` and its other
/// children `domain invalid` (as does any group made below a threaded group or a
/// non-root thread root) until its last threaded child goes.
#[test]
fn unified_cgroup_type_transitions() {
    let (w, h) = unified_world();
    for p in ["a", "a/t", "a/d", "a/d/y"] {
        w.gpc.mkdir(h, p).unwrap();
    }
    let ty = |p: &str| w.read(h, &format!("{p}/cgroup.type")).unwrap();
    assert_eq!(ty("a"), "domain\n");
    assert_eq!(
        w.read(h, "cgroup.type"),
        Err(Error::ENOENT),
        "not on the root"
    );
    for bad in ["domain", "Threaded", "threaded x", "\n", "domain threaded"] {
        assert_eq!(
            w.write(h, "a/t/cgroup.type", bad),
            Err(Error::EINVAL),
            "{bad:?}"
        );
    }
    assert_eq!(
        w.write(h, "a/t/cgroup.type", &"x".repeat(4097)),
        Err(Error::E2BIG)
    );
    w.write(h, "a/t/cgroup.type", " threaded\n").unwrap();
    assert_eq!(ty("a/t"), "threaded\n");
    assert_eq!(ty("a"), "domain threaded\n");
    assert_eq!(ty("a/d"), "domain invalid\n");
    assert_eq!(ty("a/d/y"), "domain invalid\n");
    // Again: a no-op. There is no way back.
    w.write(h, "a/t/cgroup.type", "threaded").unwrap();
    assert_eq!(w.write(h, "a/t/cgroup.type", "domain"), Err(Error::EINVAL));
    // New groups below a threaded group or a non-root thread root are invalid.
    w.gpc.mkdir(h, "a/t/x").unwrap();
    w.gpc.mkdir(h, "a/e").unwrap();
    assert_eq!(ty("a/t/x"), "domain invalid\n");
    assert_eq!(ty("a/e"), "domain invalid\n");
    // An invalid domain becomes threaded when its parent's domain allows it; one below
    // an invalid domain cannot (its would-be domain is invalid).
    w.write(h, "a/t/x/cgroup.type", "threaded").unwrap();
    assert_eq!(ty("a/t/x"), "threaded\n");
    assert_eq!(
        w.write(h, "a/d/y/cgroup.type", "threaded"),
        Err(Error::EOPNOTSUPP)
    );
    // The last threaded child gone, `a` is a plain domain again and so are the others.
    assert_eq!(w.gpc.rmdir(h, "a/t"), Err(Error::EBUSY), "a/t/x is in it");
    w.gpc.rmdir(h, "a/t/x").unwrap();
    assert_eq!(ty("a"), "domain threaded\n");
    w.gpc.rmdir(h, "a/t").unwrap();
    assert_eq!(ty("a"), "domain\n");
    assert_eq!(ty("a/d"), "domain\n");
    assert_eq!(ty("a/d/y"), "domain\n");
    // A domain with threaded children joins its parent's domain with them.
    w.gpc.mkdir(h, "a/u").unwrap();
    w.write(h, "a/u/cgroup.type", "threaded").unwrap();
    w.write(h, "a/cgroup.type", "threaded").unwrap();
    assert_eq!(ty("a"), "threaded\n");
    assert_eq!(ty("a/u"), "threaded\n");
    assert_eq!(ty("a/d"), "domain invalid\n");
    // The root is now a thread root; it has no cgroup.type to show it.
    assert_eq!(w.write(h, "cgroup.type", "threaded"), Err(Error::ENOENT));
}

/// What `cgroup_enable_threaded` refuses: a group with tasks here or below, and a
/// parent (not the root) with a populated domain child.
#[test]
fn unified_threaded_refusals() {
    let (mut w, h) = unified_world();
    for p in ["a", "a/t", "a/d", "b", "b/c", "r"] {
        w.gpc.mkdir(h, p).unwrap();
    }
    let p = w.fork(1).unwrap();
    w.write(h, "b/c/cgroup.procs", &format!("{p}")).unwrap();
    assert_eq!(
        w.write(h, "b/cgroup.type", "threaded"),
        Err(Error::EOPNOTSUPP)
    );
    assert_eq!(
        w.write(h, "b/c/cgroup.type", "threaded"),
        Err(Error::EOPNOTSUPP)
    );
    w.write(h, "a/d/cgroup.procs", &format!("{p}")).unwrap();
    assert_eq!(
        w.write(h, "a/t/cgroup.type", "threaded"),
        Err(Error::EOPNOTSUPP)
    );
    assert_eq!(w.read(h, "a/t/cgroup.type").unwrap(), "domain\n");
    // The root mixes domains and threaded children.
    w.write(h, "r/cgroup.type", "threaded").unwrap();
    w.write(h, "cgroup.procs", &format!("{p}")).unwrap();
    w.write(h, "a/t/cgroup.type", "threaded").unwrap();
    // Once `a` is a thread root, its domain child takes no process.
    assert_eq!(
        w.write(h, "a/d/cgroup.procs", &format!("{p}")),
        Err(Error::EOPNOTSUPP)
    );
}

/// Moves and reads in a threaded subtree (Linux `cgroup_attach_permissions`,
/// `cgroup_procs_start`): threads move between the groups of one domain and nowhere
/// else; `cgroup.procs` moves whole processes into a threaded group, is unreadable
/// there, and lists at the thread root every process of the domain once.
#[test]
fn unified_threaded_moves_and_reads() {
    let (mut w, h) = unified_world();
    for p in ["a", "a/t", "a/t/u", "a/d", "b"] {
        w.gpc.mkdir(h, p).unwrap();
    }
    w.write(h, "a/t/cgroup.type", "threaded").unwrap();
    w.write(h, "a/t/u/cgroup.type", "threaded").unwrap();
    let p = w.fork(1).unwrap();
    let t = w.thread(p).unwrap();
    let t2 = w.thread(p).unwrap();
    w.write(h, "a/cgroup.procs", &format!("{p}")).unwrap();
    w.write(h, "a/t/cgroup.threads", &format!("{t}")).unwrap();
    w.write(h, "a/t/u/cgroup.threads", &format!("{t2}"))
        .unwrap();
    assert_eq!(w.proc_cgroup(t).unwrap(), "0::/a/t\n");
    assert_eq!(w.proc_cgroup(t2).unwrap(), "0::/a/t/u\n");
    assert_eq!(w.proc_cgroup(p).unwrap(), "0::/a\n");
    // Out of the domain: refused, wherever to.
    for dst in ["", "b", "a/d"] {
        let f = if dst.is_empty() {
            String::from("cgroup.threads")
        } else {
            format!("{dst}/cgroup.threads")
        };
        assert_eq!(
            w.write(h, &f, &format!("{t}")),
            Err(Error::EOPNOTSUPP),
            "{dst}"
        );
    }
    assert_eq!(w.read(h, "a/cgroup.procs").unwrap(), format!("{p}\n"));
    assert_eq!(w.read(h, "a/cgroup.threads").unwrap(), format!("{p}\n"));
    assert_eq!(w.read(h, "a/t/cgroup.threads").unwrap(), format!("{t}\n"));
    assert_eq!(w.read(h, "a/t/cgroup.procs"), Err(Error::EOPNOTSUPP));
    assert_eq!(w.read(h, "a/t/u/cgroup.procs"), Err(Error::EOPNOTSUPP));
    assert_eq!(
        w.read(h, "a/cgroup.events").unwrap(),
        "populated 1\nfrozen 0\n"
    );
    // A process written into a threaded group moves whole, from another domain too.
    let q = w.fork(1).unwrap();
    w.write(h, "a/t/u/cgroup.procs", &format!("{q}")).unwrap();
    w.write(h, "a/t/u/cgroup.procs", &format!("{t}")).unwrap();
    let mut all = [p, q];
    all.sort_unstable();
    assert_eq!(
        w.read(h, "a/cgroup.procs").unwrap(),
        format!("{}\n{}\n", all[0], all[1])
    );
    let mut threads = [p, t, t2, q];
    threads.sort_unstable();
    let listed: String = threads.iter().map(|x| format!("{x}\n")).collect();
    assert_eq!(w.read(h, "a/t/u/cgroup.threads").unwrap(), listed);
    assert_eq!(w.read(h, "a/cgroup.threads").unwrap(), "");
    // The domain's processes are not the root's.
    assert_eq!(w.read(h, "cgroup.procs").unwrap(), "1\n");
    assert_eq!(w.gpc.rmdir(h, "a/t/u"), Err(Error::EBUSY));
    // Back to the root: a process leaves the domain whole.
    w.write(h, "cgroup.procs", &format!("{p}")).unwrap();
    assert_eq!(w.read(h, "a/cgroup.procs").unwrap(), format!("{q}\n"));
    w.exit(q).unwrap();
    assert_eq!(w.read(h, "a/cgroup.procs").unwrap(), "");
    assert_eq!(
        w.read(h, "a/cgroup.events").unwrap(),
        "populated 0\nfrozen 0\n"
    );
    w.gpc.rmdir(h, "a/t/u").unwrap();
}

/// The root as a thread root: its threaded children's processes are listed in the
/// root's `cgroup.procs`, and its domain children keep taking processes (the root is
/// mixable).
#[test]
fn unified_root_thread_root() {
    let (mut w, h) = unified_world();
    for p in ["r", "r/s", "d"] {
        w.gpc.mkdir(h, p).unwrap();
    }
    w.write(h, "r/cgroup.type", "threaded").unwrap();
    w.write(h, "r/s/cgroup.type", "threaded").unwrap();
    let p = w.fork(1).unwrap();
    let t = w.thread(p).unwrap();
    w.write(h, "r/s/cgroup.threads", &format!("{t}")).unwrap();
    assert_eq!(
        w.read(h, "cgroup.procs").unwrap(),
        format!("1\n{p}\n"),
        "p once, though a thread is in r/s"
    );
    w.write(h, "r/s/cgroup.procs", &format!("{p}")).unwrap();
    assert_eq!(w.read(h, "cgroup.procs").unwrap(), format!("1\n{p}\n"));
    assert_eq!(w.read(h, "cgroup.threads").unwrap(), "1\n");
    let q = w.fork(1).unwrap();
    w.write(h, "d/cgroup.procs", &format!("{q}")).unwrap();
    assert_eq!(w.read(h, "d/cgroup.type").unwrap(), "domain\n");
    assert_eq!(w.read(h, "cgroup.procs").unwrap(), format!("1\n{p}\n"));
    // The streaming reader lists the same, and refuses in a threaded group.
    let mut reader = w
        .gpc
        .pids_reader(&w.gpc.lookup(h, "cgroup.procs").unwrap())
        .unwrap();
    let (mut got, mut buf) = (Vec::new(), [0u8; 3]);
    loop {
        let n = reader.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(String::from_utf8(got).unwrap(), format!("1\n{p}\n"));
    let mut reader = w
        .gpc
        .pids_reader(&w.gpc.lookup(h, "r/s/cgroup.procs").unwrap())
        .unwrap();
    assert_eq!(reader.read(&mut buf), Err(Error::EOPNOTSUPP));
}

/// A queued notification survives the `Gpc` moving (its queue's head is boxed: a
/// queued container points back at it) and is delivered once; a removed group's is
/// dropped.
#[test]
fn notifications_survive_a_move_of_the_instance() {
    let (mut w, h) = unified_world();
    w.gpc.mkdir(h, "a").unwrap();
    w.gpc.mkdir(h, "b").unwrap();
    let p = w.fork(1).unwrap();
    w.write(h, "a/cgroup.procs", &format!("{p}")).unwrap();
    w.write(h, "b/cgroup.procs", &format!("{p}")).unwrap();
    let w = std::boxed::Box::new(w);
    w.gpc.rmdir(h, "a").unwrap();
    let mut seen = Vec::new();
    w.gpc.drain_notifications(&mut |hier, id, file| {
        seen.push((hier, id, String::from(file)));
    });
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].2, "cgroup.events");
    assert_eq!(
        w.read(h, "b/cgroup.events").unwrap(),
        "populated 1\nfrozen 0\n"
    );
    let mut again = 0;
    w.gpc.drain_notifications(&mut |_, _, _| again += 1);
    assert_eq!(again, 0);
}

/// The v2 freezer follows what the tasks did, not what was asked (Linux
/// kernel/cgroup/freezer.c): a group with tasks is frozen only once each reported that
/// it stopped, an empty one at once; a task that stops late, a thaw, and a killed frozen
/// task each flip `frozen` as Linux's do. The host here acts only when told to
/// (`TaskList::job_control`), so the states in between are visible.
#[test]
fn freezing_waits_for_the_tasks() {
    let (mut w, h) = unified_world();
    w.gpc.mkdir(h, "a").unwrap();
    w.gpc.mkdir(h, "a/b").unwrap();
    let p = w.fork(1).unwrap();
    let t = w.thread(p).unwrap();
    w.write(h, "a/b/cgroup.procs", &format!("{p}")).unwrap();
    let frozen = |w: &World, path: &str| w.read(h, path).unwrap().ends_with("frozen 1\n");
    w.write(h, "a/cgroup.freeze", "1").unwrap();
    // Asked, not yet stopped: nothing frozen but the request recorded.
    assert!(!frozen(&w, "a/cgroup.events") && !frozen(&w, "a/b/cgroup.events"));
    assert_eq!(w.read(h, "a/b/cgroup.freeze").unwrap(), "0\n");
    let asked = |w: &World, pid| {
        w.tasks.get(pid).unwrap().jobctl() & crate::tasklist::JOBCTL_TRAP_FREEZE != 0
    };
    assert!(asked(&w, p) && asked(&w, t));
    // One thread stops: still not frozen.
    w.gpc.enter_frozen(&w.tasks.get(t).unwrap().slot);
    assert!(!frozen(&w, "a/b/cgroup.events"));
    // Both stopped: the group and then its freezing parent are frozen.
    assert!(!w.tasks.job_control(&w.gpc), "nobody killed");
    assert!(frozen(&w, "a/b/cgroup.events") && frozen(&w, "a/cgroup.events"));
    // A new empty child of a frozen group is frozen at once; a fork is asked to stop.
    w.gpc.mkdir(h, "a/c").unwrap();
    assert!(frozen(&w, "a/c/cgroup.events") && frozen(&w, "a/cgroup.events"));
    let c = w.fork(p).unwrap();
    assert!(asked(&w, c));
    // The parent does not flip for the fork (cgroup_post_fork re-evaluates nothing).
    assert!(frozen(&w, "a/b/cgroup.events"));
    w.tasks.job_control(&w.gpc);
    assert!(frozen(&w, "a/b/cgroup.events"));
    // A stopped task that dies thaws its group only until it is gone.
    w.exit(c).unwrap();
    assert!(frozen(&w, "a/b/cgroup.events") && frozen(&w, "a/cgroup.events"));
    // Thaw: the groups thaw at once; the tasks are asked to run and report it.
    w.gpc.drain_notifications(&mut |_, _, _| {});
    w.write(h, "a/cgroup.freeze", "0").unwrap();
    assert!(!frozen(&w, "a/cgroup.events") && !frozen(&w, "a/b/cgroup.events"));
    assert!(!asked(&w, p));
    w.tasks.job_control(&w.gpc);
    assert_eq!(w.tasks.get(p).unwrap().jobctl(), 0);
    let mut n = 0;
    w.gpc.drain_notifications(&mut |_, _, _| n += 1);
    assert_eq!(n, 3, "a, a/b and a/c flipped");
    // cgroup.kill marks every task of the subtree; the host lists the processes.
    w.write(h, "a/cgroup.kill", "1").unwrap();
    assert!(w.tasks.job_control(&w.gpc));
    assert_eq!(w.tasks.take_killed(), Some(p));
    assert_eq!(w.tasks.take_killed(), None, "one process, its mark taken");
    assert_eq!(w.write(h, "a/cgroup.kill", "0"), Err(Error::ERANGE));
    assert_eq!(w.write(h, "a/cgroup.freeze", "2"), Err(Error::ERANGE));
    assert_eq!(w.write(h, "a/cgroup.freeze", "on"), Err(Error::EINVAL));
}

/// clone3(`CLONE_INTO_CGROUP`) as `TaskList::clone_into` drives it, root's credentials,
/// the initial namespace.
fn clone_into(w: &mut World, parent: Pid, h: crate::HierarchyId, dir: &str) -> crate::Result<Pid> {
    clone_into_as(w, parent, h, dir, Creds::ROOT, None, false)
}

fn clone_into_as(
    w: &mut World,
    parent: Pid,
    h: crate::HierarchyId,
    dir: &str,
    creds: Creds,
    ns: Option<&crate::CgroupNs>,
    thread: bool,
) -> crate::Result<Pid> {
    let node = w.gpc.lookup(h, dir)?;
    // The table answering the permission question must not borrow the task list the
    // fork changes; the default answer (a file nobody chowned) is the one wanted.
    let caller = crate::Caller {
        creds,
        pid: None,
        tasks: &crate::host::task::NoTasks,
    };
    w.tasks
        .clone_into(&w.gpc, parent, thread, &node, &caller, ns)
}

/// A world with the probe on a v1 hierarchy and the unified one mounted beside it.
fn v1_and_v2_world() -> (World, crate::HierarchyId, crate::HierarchyId) {
    let w = World::new();
    let v1 = w.mount("probe").unwrap();
    let h = w
        .gpc
        .mount_v2("", &w.tasks.caller(Creds::ROOT, None))
        .unwrap();
    (w, v1, h)
}

/// Linux `cgroup_css_set_fork`: only the unified hierarchy's group is the given one,
/// the v1 groups are the creating thread's; the checks come in Linux's order, and a
/// refused clone leaves nothing behind.
#[test]
fn clone_into_links_the_child_into_the_given_v2_group() {
    let (mut w, v1, h) = v1_and_v2_world();
    for d in ["a", "a/b", "c"] {
        w.gpc.mkdir(h, d).unwrap();
    }
    w.gpc.mkdir(v1, "g").unwrap();
    let a = w.fork(1).unwrap();
    let t = w.thread(a).unwrap();
    w.write(h, "a/cgroup.procs", &format!("{a}")).unwrap();
    w.write(v1, "g/cgroup.procs", &format!("{a}")).unwrap();
    w.gpc.drain_notifications(&mut |_, _, _| {});
    let b = clone_into(&mut w, a, h, "c").unwrap();
    assert_eq!(w.proc_cgroup(b).unwrap(), "1:probe:/g\n0::/c\n");
    assert_eq!(w.read(h, "c/cgroup.procs").unwrap(), format!("{b}\n"));
    assert_eq!(w.read(h, "a/cgroup.procs").unwrap(), format!("{a}\n"));
    assert_eq!(w.read(v1, "g/probe.count").unwrap(), "3\n", "a, t and b");
    assert_eq!(
        w.read(h, "c/cgroup.events").unwrap(),
        "populated 1\nfrozen 0\n"
    );
    let mut seen = Vec::new();
    w.gpc
        .drain_notifications(&mut |_, id, f| seen.push((id, String::from(f))));
    assert_eq!(seen.len(), 1, "c flipped to populated: {seen:?}");
    // From a thread: its group is the source; the child's own forks follow it.
    let c = clone_into(&mut w, t, h, "a/b").unwrap();
    let d = w.fork(c).unwrap();
    assert_eq!(w.proc_cgroup(d).unwrap(), "1:probe:/g\n0::/a/b\n");
    // Into the root, from init: init's v1 group is the root.
    let f = clone_into(&mut w, 1, h, "a").unwrap();
    assert_eq!(w.proc_cgroup(f).unwrap(), "1:probe:/\n0::/a\n");
    assert_eq!(
        clone_into(&mut w, b, h, "").map(|e| w.proc_cgroup(e).unwrap()),
        Ok(String::from("1:probe:/g\n0::/\n"))
    );

    let before = w.dump(&[v1, h]);
    let tasks_before = w.tasks.len();
    // A file, a v1 group (root or not): no v2 directory.
    assert_eq!(
        clone_into(&mut w, a, h, "a/cgroup.procs"),
        Err(Error::EBADF)
    );
    assert_eq!(clone_into(&mut w, a, v1, "g"), Err(Error::EBADF));
    assert_eq!(clone_into(&mut w, a, v1, ""), Err(Error::EBADF));
    // A group removed since its directory was opened.
    w.gpc.mkdir(h, "gone").unwrap();
    let gone = w.gpc.lookup(h, "gone").unwrap();
    w.gpc.rmdir(h, "gone").unwrap();
    let root_caller = crate::Caller {
        creds: Creds::ROOT,
        pid: None,
        tasks: &crate::host::task::NoTasks,
    };
    assert_eq!(
        w.tasks
            .clone_into(&w.gpc, a, false, &gone, &root_caller, None),
        Err(Error::ENOENT)
    );
    // The caller's credentials: the destination's cgroup.procs first, then the common
    // ancestor's (both root's here).
    let user = Creds::user(1000, 1000);
    assert_eq!(
        clone_into_as(&mut w, a, h, "c", user, None, false),
        Err(Error::EACCES)
    );
    // A thread stays in its domain: every group is one of its own.
    assert_eq!(
        clone_into_as(&mut w, a, h, "c", Creds::ROOT, None, true),
        Err(Error::EOPNOTSUPP)
    );
    assert_eq!(clone_into(&mut w, 4_000_000, h, "c"), Err(Error::ESRCH));
    // A refused can_fork (probe's limit, on the v1 group the child would share).
    w.write(v1, "g/probe.limit", "3").unwrap();
    w.gpc.drain_notifications(&mut |_, _, _| {});
    w.gpc.mkdir(h, "empty").unwrap();
    let before_limit = w.dump(&[v1, h]);
    assert_eq!(clone_into(&mut w, a, h, "empty"), Err(Error::EAGAIN));
    assert_eq!(w.dump(&[v1, h]), before_limit);
    let mut flips = 0;
    w.gpc.drain_notifications(&mut |_, _, _| flips += 1);
    assert_eq!(
        flips, 0,
        "no css_group was made and dropped: nothing flipped"
    );
    w.gpc.rmdir(h, "empty").unwrap();
    w.write(v1, "g/probe.limit", "max").unwrap();
    assert_eq!(w.dump(&[v1, h]), before);
    assert_eq!(w.tasks.len(), tasks_before);
    // A thread into its own group is fine.
    let u = clone_into_as(&mut w, a, h, "a", Creds::ROOT, None, true).unwrap();
    assert_eq!(w.proc_cgroup(u).unwrap(), "1:probe:/g\n0::/a\n");
    for p in [u, f, d, c, b, a] {
        w.exit(p).unwrap();
    }
    assert_eq!(
        w.read(h, "c/cgroup.events").unwrap(),
        "populated 0\nfrozen 0\n"
    );
}

fn proc_cgroup_in(w: &World, pid: Pid, ns: Option<&crate::CgroupNs>) -> crate::Result<String> {
    let mut buf = Vec::new();
    let t = w.tasks.get(pid).ok_or(Error::ESRCH)?;
    w.gpc.proc_pid_cgroup_ns(&t.slot, ns, &mut buf)?;
    Ok(String::from_utf8(buf).unwrap())
}

/// Linux `copy_cgroup_ns` and `cgroup_path_ns`: a namespace's root is its creator's
/// group in every hierarchy at that moment; paths are `/` there, `/..` per level up to
/// the common ancestor, then names down; a hierarchy made later is seen whole; the
/// root's removal changes no path; a namespace keeps no group populated.
#[test]
fn cgroup_namespaces_render_paths_relative_to_their_root() {
    let (mut w, v1, h) = v1_and_v2_world();
    for d in ["a", "a/b", "a/b/c", "a/x"] {
        w.gpc.mkdir(h, d).unwrap();
    }
    w.gpc.mkdir(v1, "g").unwrap();
    let a = w.fork(1).unwrap();
    w.write(h, "a/b/cgroup.procs", &format!("{a}")).unwrap();
    w.write(v1, "g/tasks", &format!("{a}")).unwrap();
    let ns = w.gpc.cgroup_ns_of(&w.tasks.get(a).unwrap().slot).unwrap();
    let ns = Some(&ns);
    assert_eq!(proc_cgroup_in(&w, a, ns).unwrap(), "1:probe:/\n0::/\n");
    assert_eq!(
        proc_cgroup_in(&w, 1, ns).unwrap(),
        "1:probe:/..\n0::/../..\n"
    );
    let kid = w.fork(a).unwrap();
    w.write(h, "a/b/c/cgroup.procs", &format!("{kid}")).unwrap();
    assert_eq!(proc_cgroup_in(&w, kid, ns).unwrap(), "1:probe:/\n0::/c\n");
    w.write(h, "a/x/cgroup.procs", &format!("{kid}")).unwrap();
    assert_eq!(
        proc_cgroup_in(&w, kid, ns).unwrap(),
        "1:probe:/\n0::/../x\n"
    );
    w.write(h, "a/cgroup.procs", &format!("{kid}")).unwrap();
    assert_eq!(proc_cgroup_in(&w, kid, ns).unwrap(), "1:probe:/\n0::/..\n");
    // The initial namespace sees absolute paths.
    assert_eq!(
        proc_cgroup_in(&w, kid, None).unwrap(),
        "1:probe:/g\n0::/a\n"
    );
    // Moving the creator changes nothing; its old group is empty and removable.
    w.write(h, "a/x/cgroup.procs", &format!("{a}")).unwrap();
    w.write(h, "a/x/cgroup.procs", &format!("{kid}")).unwrap();
    w.gpc.rmdir(h, "a/b/c").unwrap();
    assert_eq!(
        w.read(h, "a/b/cgroup.events").unwrap(),
        "populated 0\nfrozen 0\n",
        "a namespace keeps no group populated"
    );
    w.gpc.rmdir(h, "a/b").unwrap();
    assert_eq!(proc_cgroup_in(&w, a, ns).unwrap(), "1:probe:/\n0::/../x\n");
    // A hierarchy made after the namespace: seen from its root.
    let later = w.mount("plain").unwrap();
    w.gpc.mkdir(later, "p").unwrap();
    w.write(later, "p/tasks", &format!("{a}")).unwrap();
    assert_eq!(
        proc_cgroup_in(&w, a, ns).unwrap(),
        "2:plain:/p\n1:probe:/\n0::/../x\n"
    );
    // A namespace of init's is rooted at every root: absolute paths.
    let init_ns = w.gpc.cgroup_ns_of(&w.tasks.get(1).unwrap().slot).unwrap();
    assert_eq!(
        proc_cgroup_in(&w, a, Some(&init_ns)).unwrap(),
        proc_cgroup_in(&w, a, None).unwrap()
    );
    w.exit(kid).unwrap();
    w.exit(a).unwrap();
}

/// nsdelegate (Linux `cgroup_file_write`, `cgroup_procs_write_permission`,
/// `cgroup_css_set_fork`): an opener inside a namespace cannot write its root's
/// non-delegatable files (`EPERM`) nor move a task, or clone one, across its boundary
/// (`ENOENT`); without the flag none of this applies. A mount made in a namespace is
/// rooted at the namespace's root and leaves the flags alone.
#[test]
fn nsdelegate_makes_namespaces_delegation_boundaries() {
    let (mut w, h) = unified_world();
    for d in ["a", "a/b", "c"] {
        w.gpc.mkdir(h, d).unwrap();
    }
    let a = w.fork(1).unwrap();
    let inside = w.fork(1).unwrap();
    let outside = w.fork(1).unwrap();
    w.write(h, "a/cgroup.procs", &format!("{a}")).unwrap();
    w.write(h, "a/cgroup.procs", &format!("{inside}")).unwrap();
    w.write(h, "c/cgroup.procs", &format!("{outside}")).unwrap();
    let ns = w.gpc.cgroup_ns_of(&w.tasks.get(a).unwrap().slot).unwrap();
    let write_in = |w: &World, path: &str, data: &str| {
        let node = w.gpc.lookup(h, path)?;
        let caller = w.tasks.caller(Creds::ROOT, None);
        w.gpc
            .write_node_ns(&node, data.as_bytes(), &caller, Some(&ns))
    };
    // Without nsdelegate: no boundary.
    write_in(&w, "a/cgroup.max.depth", "5").unwrap();
    write_in(&w, "a/b/cgroup.procs", &format!("{outside}")).unwrap();
    w.write(h, "c/cgroup.procs", &format!("{outside}")).unwrap();
    // With it (a mount from the initial namespace sets it).
    w.gpc
        .mount_v2("nsdelegate", &w.tasks.caller(Creds::ROOT, None))
        .unwrap();
    assert_eq!(write_in(&w, "a/cgroup.max.depth", "5"), Err(Error::EPERM));
    assert_eq!(
        write_in(&w, "a/cgroup.max.descendants", "5"),
        Err(Error::EPERM)
    );
    assert_eq!(
        write_in(&w, "a/cgroup.controllers", "x"),
        Err(Error::EPERM),
        "before the missing handler"
    );
    assert_eq!(
        write_in(&w, "a/cgroup.max.depth", ""),
        Ok(()),
        "empty: nothing"
    );
    // Delegatable files, and the files of groups below the root, stay writable.
    write_in(&w, "a/cgroup.subtree_control", "-probe").unwrap();
    write_in(&w, "a/b/cgroup.max.depth", "5").unwrap();
    write_in(&w, "a/b/cgroup.procs", &format!("{inside}")).unwrap();
    write_in(&w, "a/cgroup.procs", &format!("{inside}")).unwrap();
    // Moves across the boundary, either way.
    assert_eq!(
        write_in(&w, "a/b/cgroup.procs", &format!("{outside}")),
        Err(Error::ENOENT)
    );
    assert_eq!(
        write_in(&w, "c/cgroup.procs", &format!("{inside}")),
        Err(Error::ENOENT)
    );
    assert_eq!(w.proc_cgroup(inside).unwrap(), "0::/a\n");
    // The initial namespace writes anything.
    w.write(h, "a/cgroup.max.depth", "max").unwrap();
    // clone3 into a group outside the caller's namespace, or from outside it.
    let caller = crate::Caller {
        creds: Creds::ROOT,
        pid: None,
        tasks: &crate::host::task::NoTasks,
    };
    let c = w.gpc.lookup(h, "c").unwrap();
    let b = w.gpc.lookup(h, "a/b").unwrap();
    assert_eq!(
        w.tasks
            .clone_into(&w.gpc, inside, false, &c, &caller, Some(&ns)),
        Err(Error::ENOENT)
    );
    assert_eq!(
        w.tasks
            .clone_into(&w.gpc, outside, false, &b, &caller, Some(&ns)),
        Err(Error::ENOENT)
    );
    let kid = w
        .tasks
        .clone_into(&w.gpc, inside, false, &b, &caller, Some(&ns))
        .unwrap();
    assert_eq!(w.proc_cgroup(kid).unwrap(), "0::/a/b\n");
    // A mount from the namespace: rooted at its root, the flags untouched.
    let root = w.tasks.caller(Creds::ROOT, None);
    let (hier, node) = w.gpc.mount_v2_ns("", &root, Some(&ns)).unwrap();
    assert_eq!(hier, h);
    assert_eq!(node, w.gpc.lookup(h, "a").unwrap());
    assert_eq!(
        w.gpc.mount_v2_ns("bogus", &root, Some(&ns)),
        Err(Error::EINVAL)
    );
    let mut opts = Vec::new();
    w.gpc.show_options(h, &mut opts).unwrap();
    assert_eq!(opts, b",nsdelegate");
    let (_, top) = w.gpc.mount_v2_ns("", &root, None).unwrap();
    assert_eq!(top, w.gpc.root(h).unwrap());
    opts.clear();
    w.gpc.show_options(h, &mut opts).unwrap();
    assert_eq!(opts, b"", "the initial namespace's mount rewrites them");
    for p in [kid, a, inside, outside] {
        w.exit(p).unwrap();
    }
    // The namespace's root removed: a mount from it finds nothing.
    w.gpc.rmdir(h, "a/b").unwrap();
    w.gpc.rmdir(h, "a").unwrap();
    let root = w.tasks.caller(Creds::ROOT, None);
    assert_eq!(w.gpc.mount_v2_ns("", &root, Some(&ns)), Err(Error::ENOENT));
}

/// A v1 mount from a cgroup namespace (Linux `cgroup1_root_to_use`,
/// `cgroup_do_get_tree`): an existing hierarchy only (`EPERM` after the option errors),
/// rooted at the namespace's root group in it.
#[test]
fn v1_mounts_from_a_namespace_reuse_and_are_rooted_there() {
    let mut w = World::new();
    let v1 = w.mount("probe").unwrap();
    w.gpc.mkdir(v1, "g").unwrap();
    let a = w.fork(1).unwrap();
    w.write(v1, "g/tasks", &format!("{a}")).unwrap();
    let ns = w.gpc.cgroup_ns_of(&w.tasks.get(a).unwrap().slot).unwrap();
    let root = w.tasks.caller(Creds::ROOT, None);
    assert_eq!(
        w.gpc.mount_ns("bogus", &root, Some(&ns)),
        Err(Error::EINVAL)
    );
    assert_eq!(
        w.gpc.mount_ns("name=n", &root, Some(&ns)),
        Err(Error::EINVAL),
        "no subsystem and no none: before the namespace's EPERM"
    );
    assert_eq!(w.gpc.mount_ns("plain", &root, Some(&ns)), Err(Error::EPERM));
    let (h, node) = w.gpc.mount_ns("probe", &root, Some(&ns)).unwrap();
    assert_eq!((h, node), (v1, w.gpc.lookup(v1, "g").unwrap()));
    let (_, top) = w.gpc.mount_ns("probe", &root, None).unwrap();
    assert_eq!(top, w.gpc.root(v1).unwrap());
    w.gpc.umount(v1).unwrap();
    w.gpc.umount(v1).unwrap();
    w.exit(a).unwrap();
}

/// A controller that keeps nothing per task (`Subsystem::NO_TASK_STATE`: plain) is
/// re-pointed in place when enabled or disabled alone: the tasks below use the new
/// state at once and no css_group is replaced (O(css_groups)).
#[test]
fn a_controller_without_task_state_is_repointed_in_place() {
    use crate::testing::probe::Plain;
    let (mut w, h) = unified_world();
    w.gpc.mkdir(h, "a").unwrap();
    let p = w.fork(1).unwrap();
    w.write(h, "a/cgroup.procs", &format!("{p}")).unwrap();
    let ss = w.gpc.subsys_id("plain").unwrap();
    let value = |w: &World| {
        let guard = w.gpc.rcu_read_lock();
        let t = w.tasks.get(p).unwrap();
        w.gpc
            .task_state::<Plain>(&guard, &t.slot, ss)
            .map(|c| c.value.load(crate::primitive::Ordering::Relaxed))
    };
    let groups = w.gpc.css_group_count();
    let cg_of = |w: &World| {
        w.tasks
            .get(p)
            .unwrap()
            .slot
            .raw()
            .load(crate::primitive::Ordering::Relaxed)
    };
    let before = cg_of(&w);
    w.write(h, "cgroup.subtree_control", "+plain").unwrap();
    w.write(h, "a/plain.value", "5").unwrap();
    assert_eq!(value(&w), Some(5));
    assert_eq!(cg_of(&w), before, "the task did not move");
    assert_eq!(w.gpc.css_group_count(), groups, "no css_group replaced");
    w.write(h, "cgroup.subtree_control", "-plain").unwrap();
    assert_eq!(value(&w), Some(0), "back on the root's state");
    assert_eq!(cg_of(&w), before);
    w.exit(p).unwrap();
}

/// An OOM killer's candidates (`Gpc::with_css_subtree_tasks`, Linux
/// `mem_cgroup_scan_tasks`): every task of the state's subtree, those of v2 groups where
/// the controller is not enabled included (they use the state of the nearest group that
/// has one), each with that state; the root state's subtree is every task.
#[test]
fn subtree_tasks_include_the_groups_without_a_state() {
    use crate::TaskIds;
    let (mut w, h) = unified_world();
    let ss = w.gpc.subsys_id("probe").unwrap();
    assert_eq!(w.gpc.root_css_id(ss), Some(0), "on no hierarchy yet");
    assert_eq!(w.gpc.root_css_id(99), None);
    w.gpc.mkdir(h, "a").unwrap();
    w.gpc.mkdir(h, "a/b").unwrap();
    w.gpc.mkdir(h, "a/c").unwrap();
    w.gpc.mkdir(h, "d").unwrap();
    let (p, q, r) = (w.fork(1).unwrap(), w.fork(1).unwrap(), w.fork(1).unwrap());
    let t = w.thread(p).unwrap();
    w.write(h, "a/b/cgroup.procs", &format!("{p}")).unwrap();
    w.write(h, "a/c/cgroup.procs", &format!("{q}")).unwrap();
    w.write(h, "d/cgroup.procs", &format!("{r}")).unwrap();
    w.write(h, "cgroup.subtree_control", "+probe").unwrap();
    let id = |path: &str| match w.gpc.stat(h, path) {
        Ok(crate::Entry::Dir { id }) => id,
        _ => u64::MAX,
    };
    let (a, d) = (id("a"), id("d"));
    let walk = |of: u64| {
        w.gpc.with_css_subtree_tasks(ss, of, |tasks| {
            let mut seen = Vec::new();
            for _ in 0..2 {
                tasks.for_each(&mut |slot, css| {
                    seen.push((w.gpc.host().task_ids(slot).pid, css.container_id()));
                });
            }
            seen.sort_unstable();
            (tasks.css().container_id(), seen)
        })
    };
    // a/b and a/c have no probe state of their own: their tasks are a's. Walked twice.
    assert_eq!(
        walk(a),
        Some((a, vec![(p, a), (p, a), (q, a), (q, a), (t, a), (t, a)]))
    );
    assert_eq!(walk(d), Some((d, vec![(r, d), (r, d)])));
    let root = w.gpc.root_css_id(ss).unwrap();
    let (top, all) = walk(root).unwrap();
    assert_eq!(top, root);
    let mut pids: Vec<Pid> = all.iter().map(|&(pid, _)| pid).collect();
    pids.dedup();
    assert_eq!(pids, vec![1, p, q, r, t]);
    assert!(all.contains(&(1, root)) && all.contains(&(r, d)));
    // A group that is gone, an id that never was.
    w.write(h, "cgroup.procs", &format!("{r}")).unwrap();
    w.gpc.rmdir(h, "d").unwrap();
    assert_eq!(walk(d), None);
    assert_eq!(walk(u64::MAX), None);
}
