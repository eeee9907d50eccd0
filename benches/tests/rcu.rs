//! The bench host's RCU defers frees past every reader that could see the object, and
//! frees once every online thread has passed a quiescent state.
#![allow(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

use std::sync::mpsc;

use gpc_benches::host::rcu;
use gpc_benches::world::GroupsWorld;

#[test]
fn callbacks_wait_for_every_online_reader() {
    let gw = GroupsWorld::new(1).unwrap();
    rcu::synchronize();
    assert_eq!(rcu::pending(), 0);
    let (entered_tx, entered_rx) = mpsc::channel();
    let (leave_tx, leave_rx) = mpsc::channel::<()>();
    let (left_tx, left_rx) = mpsc::channel();
    std::thread::scope(|s| {
        let gpc = &gw.world.gpc;
        s.spawn(move || {
            let guard = gpc.rcu_read_lock();
            entered_tx.send(()).unwrap();
            leave_rx.recv().unwrap();
            drop(guard);
            rcu::quiescent();
            left_tx.send(()).unwrap();
            // Stay online (not quiescent) until the end: only the announcement counts.
            leave_rx.recv().unwrap();
        });
        entered_rx.recv().unwrap();
        // The mover is alone in its css_group: moving it frees that css_group.
        gw.attach_new_there_and_back().unwrap();
        rcu::quiescent();
        rcu::quiescent();
        assert!(rcu::pending() >= 2, "freed under a reader");
        leave_tx.send(()).unwrap();
        left_rx.recv().unwrap();
        rcu::quiescent();
        rcu::quiescent();
        assert_eq!(rcu::pending(), 0, "not freed after the grace period");
        leave_tx.send(()).unwrap();
    });
}
