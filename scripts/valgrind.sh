#!/usr/bin/env bash
# valgrind memcheck over the simulator: the `gpc` binary on every .cgsh case (gpc-sim's
# own, the shared Linux-recorded ones, the examples), then the test binaries of gpc-sim
# and gpc-machine in release (fault injection, hostile input with the million tasks, the
# VFS properties, the machine's unit tests; left out: the hostile-write sweep, slow under
# memcheck, and the tests that only spawn the gpc binary, which the cases cover). Any
# memory error or a definitely lost block fails the run (exit 1).
#
#   scripts/valgrind.sh            # everything (about 3 minutes on 2 cores)
#   scripts/valgrind.sh cases      # only the .cgsh cases
#
# The C harness of the kernel shim runs under memcheck in `cargo test -p gpc-kshim`
# (hosts/kernel-shim/tests/c_harness.rs), with the same rule.
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-all}"
if ! command -v valgrind >/dev/null 2>&1; then
    # A check that cannot run must not look like a pass: fatal in CI, a visible skip here.
    if [ "${CI:-}" = true ]; then
        echo "valgrind: FAIL: CI=true and valgrind is not installed (apt-get install valgrind)"
        exit 1
    fi
    echo "valgrind: SKIP: valgrind is not installed (apt-get install valgrind)"
    exit 0
fi
# 99: valgrind found something (gpc's own statuses are 0, 1 and 2).
vg=(valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite
    --errors-for-leak-kinds=definite --num-callers=30)
log="$(mktemp -d /tmp/gpc-valgrind.XXXXXX)"
trap 'rm -rf "$log"' EXIT
failed=0
checked=0

run() { # NAME CMD...
    local name="$1"
    shift
    local rc=0
    "${vg[@]}" --log-file="$log/vg.txt" "$@" >"$log/out.txt" 2>&1 || rc=$?
    checked=$((checked + 1))
    if [ "$rc" -eq 99 ] || grep -q "definitely lost: [1-9]" "$log/vg.txt"; then
        echo "valgrind: FAIL $name"
        sed 's/^/  /' "$log/vg.txt" | head -80
        failed=$((failed + 1))
    elif [ "$rc" -ne 0 ] && [ "${VG_EXPECT_OK:-0}" = 1 ]; then
        echo "valgrind: FAIL $name (exit status $rc)"
        tail -40 "$log/out.txt" | sed 's/^/  /'
        failed=$((failed + 1))
    fi
}

cargo build --release -p gpc-sim --bin gpc
gpc=target/release/gpc
cases=(hosts/sim/cases/*.cgsh examples/*.cgsh)
if [ -d ../shared/sim-scripts/cases ]; then
    cases+=(../shared/sim-scripts/cases/*.cgsh)
elif [ "${CI:-}" = true ]; then
    echo "valgrind: FAIL: CI=true and ../shared/sim-scripts/cases is missing (the Linux-recorded cases)"
    exit 1
else
    echo "valgrind: SKIP: ../shared/sim-scripts/cases is missing: the repository's cases only"
fi
for c in "${cases[@]}"; do
    run "$c" "$gpc" run --echo "$c"
done
echo "valgrind: ${#cases[@]} .cgsh cases run under memcheck"

if [ "$what" = all ]; then
    # The test binaries, with smaller proptest runs.
    export GPC_FAULT_CASES=16 PROPTEST_CASES=16
    mapfile -t bins < <(cargo test --release -p gpc-sim -p gpc-machine --no-run \
        --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("profile", {}).get("test") and m.get("executable"):
        print(m["target"]["name"] + " " + m["executable"])
')
    ran=0
    for b in "${bins[@]}"; do
        name="${b%% *}"
        exe="${b#* }"
        case "$name" in
            # Spawn the gpc binary or compare.sh: covered by the cases above.
            cli | conformance) continue ;;
            # Cost ratios (time under memcheck says nothing) and runs sized to spend a
            # scheduler's work budget (minutes under memcheck); their code paths run in
            # the machine's own tests below.
            scaling | sched_cost | run_bounded) continue ;;
        esac
        # Left out too: the machine's sweep that fails every allocation of every command
        # in turn (minutes natively, hours under memcheck; the simulator's fault-injection
        # test counts what those paths leave allocated with FailingAlloc, natively).
        VG_EXPECT_OK=1 run "test $name" "$exe" --test-threads=1 \
            --skip hostile_writes_to_every_control_file \
            --skip the_shell_is_linear_in_the_variables_set \
            --skip every_allocation_failure_of_every_command
        ran=$((ran + 1))
    done
    echo "valgrind: $ran test binaries of gpc-sim and gpc-machine run under memcheck"
fi

if [ "$failed" -ne 0 ]; then
    echo "valgrind: $failed of $checked runs FAILED"
    exit 1
fi
echo "valgrind: $checked runs, no memory error, nothing definitely lost"
