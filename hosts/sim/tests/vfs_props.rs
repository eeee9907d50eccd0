//! Properties of the simulated file system over random paths and operations: no
//! operation panics, every failure is one of the errnos the `Machine` contract lists for
//! it, and the same operations give the same results every time (determinism).

use gpc_core::Error;
use gpc_script::Machine;
use gpc_sim::SimMachine;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Mkdir(String, bool),
    Rmdir(String),
    Write(String, String),
    Read(String),
    List(String),
    Chown(u32, String),
    Mount(String, String),
    Umount(String),
    As(Option<u32>),
    Spawn,
    Run(u64),
}

fn component() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just(String::from(".")),
        Just(String::from("..")),
        Just(String::from("cg")),
        Just(String::from("a")),
        Just(String::from("b")),
        Just(String::from("tasks")),
        Just(String::from("cgroup.procs")),
        Just(String::from("notify_on_release")),
        Just(String::from("release_agent")),
        Just(String::from("cpu.shares")),
        Just(String::from("proc")),
        Just(String::from("cgroups")),
        Just(String::from("1")),
        Just(String::from("2")),
        Just(String::from("cgroup")),
        "[a-z]{1,300}",
    ]
}

fn path() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec(component(), 0..6),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(comps, lead, trail)| {
            let mut p = comps.join("/");
            if lead {
                p.insert(0, '/');
            }
            if trail {
                p.push('/');
            }
            p
        })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (path(), any::<bool>()).prop_map(|(p, parents)| Op::Mkdir(p, parents)),
        path().prop_map(Op::Rmdir),
        (
            path(),
            prop_oneof![
                Just("1\n"),
                Just("0\n"),
                Just("2\n"),
                Just("/agent\n"),
                Just("x\n")
            ]
        )
            .prop_map(|(p, d)| Op::Write(p, String::from(d))),
        path().prop_map(Op::Read),
        path().prop_map(Op::List),
        (prop_oneof![Just(0u32), Just(1000u32)], path()).prop_map(|(u, p)| Op::Chown(u, p)),
        (
            prop_oneof![
                Just("none,name=x"),
                Just("cpu,cpuacct"),
                Just("cpuset"),
                Just("bogus")
            ],
            path()
        )
            .prop_map(|(o, p)| Op::Mount(String::from(o), p)),
        path().prop_map(Op::Umount),
        prop_oneof![Just(None), Just(Some(0u32)), Just(Some(1000u32))].prop_map(Op::As),
        Just(Op::Spawn),
        (0u64..50).prop_map(Op::Run),
    ]
}

/// Runs `ops`, returning each result as text; checks each errno against the contract.
fn run(ops: &[Op]) -> Result<Vec<String>, TestCaseError> {
    use Error as E;
    let mut m = SimMachine::new().map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
    let mut log = Vec::new();
    for op in ops {
        let (res, allowed): (Result<String, Error>, &[Error]) = match op {
            Op::Mkdir(p, parents) => (
                m.mkdir(p, *parents).map(|()| String::new()),
                &[
                    E::EEXIST,
                    E::ENOENT,
                    E::ENOTDIR,
                    E::EACCES,
                    E::EPERM,
                    E::ENAMETOOLONG,
                    E::EINVAL,
                ],
            ),
            Op::Rmdir(p) => (
                m.rmdir(p).map(|()| String::new()),
                &[
                    E::EBUSY,
                    E::ENOENT,
                    E::ENOTDIR,
                    E::EINVAL,
                    E::EACCES,
                    E::ENOTEMPTY,
                    E::EPERM,
                    E::ENAMETOOLONG,
                ],
            ),
            Op::Write(p, d) => (
                m.write(p, d.as_bytes()).map(|()| String::new()),
                &[
                    E::ENOENT,
                    E::ENOTDIR,
                    E::EISDIR,
                    E::EACCES,
                    E::EINVAL,
                    E::EPERM,
                    E::ESRCH,
                    E::ENAMETOOLONG,
                    E::ERANGE,
                ],
            ),
            Op::Read(p) => (
                m.read(p).map(|b| String::from_utf8_lossy(&b).into_owned()),
                &[
                    E::ENOENT,
                    E::ENOTDIR,
                    E::EISDIR,
                    E::EACCES,
                    E::EINVAL,
                    E::ENAMETOOLONG,
                ],
            ),
            Op::List(p) => (
                m.list(p).map(|mut v| {
                    v.sort();
                    v.join(",")
                }),
                &[E::ENOENT, E::ENOTDIR, E::EACCES, E::ENAMETOOLONG],
            ),
            Op::Chown(u, p) => (
                m.chown(*u, None, p).map(|()| String::new()),
                &[E::ENOENT, E::ENOTDIR, E::EPERM, E::EACCES, E::ENAMETOOLONG],
            ),
            Op::Mount(o, p) => (
                m.mount("cgroup", o, "x", p).map(|()| String::new()),
                &[
                    // From making a missing mount point first (`mkdir -p`): a file in
                    // the way of the last name.
                    E::EEXIST,
                    E::EBUSY,
                    E::EINVAL,
                    E::ENOENT,
                    E::ENOTDIR,
                    E::EPERM,
                    E::EOPNOTSUPP,
                    E::ENAMETOOLONG,
                    E::EACCES,
                ],
            ),
            Op::Umount(p) => (
                m.umount(p).map(|()| String::new()),
                &[
                    E::EBUSY,
                    E::EINVAL,
                    E::ENOENT,
                    E::ENOTDIR,
                    E::EPERM,
                    E::EACCES,
                    E::ENAMETOOLONG,
                ],
            ),
            Op::As(u) => {
                m.set_user(*u);
                (Ok(String::new()), &[])
            }
            Op::Spawn => (m.spawn().map(|p| p.to_string()), &[E::EAGAIN]),
            Op::Run(ms) => (m.run(*ms).map(|()| String::new()), &[]),
        };
        if let Err(e) = &res {
            prop_assert!(allowed.contains(e), "{op:?} gave {e:?}");
        }
        log.push(format!("{res:?}"));
    }
    let ps = m.ps().map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
    log.push(String::from_utf8_lossy(&ps).into_owned());
    log.extend(
        m.take_releases()
            .map_err(|e| TestCaseError::fail(format!("{e:?}")))?,
    );
    Ok(log)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn operations_fail_only_with_contract_errnos_and_are_deterministic(
        prefix in proptest::collection::vec(op(), 0..4),
        ops in proptest::collection::vec(op(), 0..40),
    ) {
        // Most interesting paths need a mount: start with one in most cases.
        let mut all = vec![Op::Mount(String::from("none,name=x"), String::from("/cg"))];
        all.extend(prefix);
        all.extend(ops);
        let first = run(&all)?;
        let second = run(&all)?;
        prop_assert_eq!(first, second);
    }
}
