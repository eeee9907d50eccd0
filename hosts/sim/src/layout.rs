//! `--layout NAME`: the cgroup hierarchies mounted before the first command, the way a
//! Linux distribution's init system mounts them at boot.
//!
//! * `none` (the default): nothing mounted, FORMAT.md's fresh machine.
//! * `v1`: the cgroup v1 layout of systemd on Debian (up to 10) and RHEL/CentOS 7, under
//!   `/sys/fs/cgroup` (a tmpfs there; a plain root-owned directory here): `systemd`
//!   (`none,name=systemd`, systemd's own hierarchy, with `xattr` as systemd mounts it),
//!   then one hierarchy per controller in `/proc/cgroups` order, with systemd's default
//!   `JoinControllers` joining `cpu` and `cpuacct` into `cpu,cpuacct`: `cpuset`,
//!   `cpu,cpuacct`, `memory`, `devices`, `freezer`, `net_cls`, `pids` (systemd
//!   `mount_cgroup_controllers`, src/core/mount-setup.c). Linux joins `net_cls,net_prio`
//!   too; gpc has no `net_prio`, so `net_cls` is alone. systemd makes `cpu` and
//!   `cpuacct` symbolic links to `cpu,cpuacct`; the simulated file system has no
//!   symbolic links, so the same hierarchy is **mounted a second and a third time** at
//!   `/sys/fs/cgroup/cpu` and `/sys/fs/cgroup/cpuacct` (what a `ls` or `cat` through them
//!   shows is the same; `umount` sees three mounts).
//!
//! `hybrid` and `unified` (cgroup v2) will join when gpc has v2. A layout is applied as
//! the script runner's root before the first command, so the machine counts as used:
//! a `machine` command afterwards is `EINVAL`, as it is after any other command.

use gpc_script::Machine as _;

use crate::machine::SimMachine;

/// The layouts `--layout` takes.
pub const NAMES: &[&str] = &["none", "v1"];

/// `mount -t cgroup -o OPTIONS cgroup DIR` for each hierarchy of `v1`, in order.
const V1: &[(&str, &str)] = &[
    ("none,name=systemd,xattr", "/sys/fs/cgroup/systemd"),
    ("cpuset", "/sys/fs/cgroup/cpuset"),
    ("cpu,cpuacct", "/sys/fs/cgroup/cpu,cpuacct"),
    ("memory", "/sys/fs/cgroup/memory"),
    ("devices", "/sys/fs/cgroup/devices"),
    ("freezer", "/sys/fs/cgroup/freezer"),
    ("net_cls", "/sys/fs/cgroup/net_cls"),
    ("pids", "/sys/fs/cgroup/pids"),
    // systemd's symbolic links, as second mounts of the same hierarchy.
    ("cpu,cpuacct", "/sys/fs/cgroup/cpu"),
    ("cpu,cpuacct", "/sys/fs/cgroup/cpuacct"),
];

/// Mounts layout `name` on `machine` (as root).
///
/// # Errors
///
/// An unknown name, or a mount that fails (the message names it).
pub fn apply(machine: &mut SimMachine, name: &str) -> Result<(), String> {
    let mounts: &[(&str, &str)] = match name {
        "none" => &[],
        "v1" => V1,
        other => {
            return Err(format!(
                "unknown layout {other:?} (known: {})",
                NAMES.join(", ")
            ))
        }
    };
    machine.set_user(None);
    for (options, dir) in mounts {
        machine
            .mount("cgroup", options, "cgroup", dir)
            .map_err(|e| format!("layout {name}: mount -o {options} {dir}: {e}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_mounts_every_hierarchy_once_and_cpu_thrice() -> Result<(), String> {
        let mut m = SimMachine::new().map_err(|e| e.to_string())?;
        apply(&mut m, "v1")?;
        let mounts = m.cgroup_mounts().map_err(|e| e.to_string())?;
        assert_eq!(
            mounts,
            [
                "/sys/fs/cgroup/systemd",
                "/sys/fs/cgroup/cpuset",
                "/sys/fs/cgroup/cpu,cpuacct",
                "/sys/fs/cgroup/memory",
                "/sys/fs/cgroup/devices",
                "/sys/fs/cgroup/freezer",
                "/sys/fs/cgroup/net_cls",
                "/sys/fs/cgroup/pids",
            ]
        );
        let shares = |m: &mut SimMachine, p: &str| m.read(p).map_err(|e| e.to_string());
        m.mkdir("/sys/fs/cgroup/cpu/web", false)
            .map_err(|e| e.to_string())?;
        assert_eq!(
            shares(&mut m, "/sys/fs/cgroup/cpuacct/web/cpu.shares")?,
            b"1024\n"
        );
        assert!(apply(&mut m, "hybrid").is_err());
        Ok(())
    }
}
