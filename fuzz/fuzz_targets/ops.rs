//! Operation sequences against the reference model, with allocation failures: the
//! fault-injection test's model (`hosts/sim/tests/common/model.rs`, included as is) driven
//! by libFuzzer instead of proptest.
//!
//! Input: 7 bytes per step, `[kind, a, b, c, d, fail?, n]`: the operation (mount, umount,
//! mkdir, rmdir, fork, thread, exit, attach, thread-group attach, bad attach,
//! notify_on_release, clone, control-file write, read, /proc reads, hierarchy limits) with
//! its selectors, and whether its `n`th allocation fails. Every step is checked against
//! the model (results, `tasks` files, `/proc/PID/cgroup`, css_group counts, releases); a
//! failed allocation must be ENOMEM with nothing changed; at the end nothing may leak.
#![no_main]

use gpc_core::testing::FailingAlloc;
use libfuzzer_sys::fuzz_target;

#[path = "../../hosts/sim/tests/common/model.rs"]
mod model;

use model::{Op, BAD_PIDS, HIERS, NAMES};

#[global_allocator]
static ALLOC: FailingAlloc = FailingAlloc::new();

fn decode(chunk: &[u8; 7]) -> (Op, Option<usize>) {
    let [kind, a, b, c, d, fail, n] = chunk.map(usize::from);
    let h = a % HIERS.len();
    let op = match kind % 17 {
        0 => Op::Mount(h),
        1 => Op::Umount(h),
        2 => Op::Mkdir(h, b, c % NAMES.len()),
        3 => Op::Rmdir(h, b),
        4 => Op::Fork(b),
        5 => Op::Thread(b),
        6 => Op::Exit(b),
        7 => Op::Attach(b, h, c),
        8 => Op::AttachProcs(b, h, c),
        9 => Op::BadAttach(h, b, c % BAD_PIDS.len()),
        10 => Op::Notify(h, b, c % 2 == 1),
        11 => Op::Clone(b),
        12 => Op::Write(h, b, c, d),
        13 => Op::Read(h, b, c),
        14 => Op::ProcPid(b),
        15 => Op::ProcCgroups,
        _ => Op::Limits(h, b % 5, c % 8),
    };
    let fail = (fail % 4 != 0).then_some(n % 48);
    (op, fail)
}

fuzz_target!(|data: &[u8]| {
    let steps: Vec<(Op, Option<usize>)> = data
        .chunks_exact(7)
        .take(200)
        .filter_map(|c| <&[u8; 7]>::try_from(c).ok().map(decode))
        .collect();
    if let Err(e) = model::run_sequence(&steps, &mut |_, _, _| {}) {
        panic!("{e}\nsteps: {steps:?}");
    }
});
