#!/usr/bin/env bash
# Boot the gpc-hobby kernel in qemu with a .cgsh script and print its transcript.
#
#   hosts/hobby-kernel/boot.sh [--echo] [--stats] [--heap-kib N] FILE.cgsh
#
# Builds the kernel if needed (cargo, stable toolchain, host target; into
# target/hobby/), boots it with `qemu-system-x86_64 -kernel` (TCG) with FILE as a
# multiboot module (`-display none -nodefaults`: no firmware banner on the serial port,
# unlike -nographic), and prints what the kernel writes: the transcript (COM1) on stdout,
# diagnostics (COM2) on stderr -- in --echo mode exactly what `gpc run --echo FILE`
# prints. --stats adds the kernel's heap figures on stderr; --heap-kib N gives the
# kernel's heap only N KiB (at most its 48 MiB): a script too large for the heap is
# refused before it runs (status 2), and a command that finds the heap too low fails
# with ENOMEM while the script goes on. qemu gets 128 MiB plus the script's size; a
# script over MAX_SCRIPT_MIB (512) MiB is refused here (status 2), as no heap holds it.
#
# Exit status: the script's, as `gpc run` gives it (0 ran, 2 unparsable, unreadable or
# too large),
# when the kernel left qemu through isa-debug-exit (it writes STATUS + 16 there, so qemu
# exits with 2 * STATUS + 33); 100 fatal kernel error, 101 kernel panic; 124 timeout
# (GPC_BOOT_TIMEOUT seconds, default 60); 125 crash (qemu exited otherwise: a triple
# fault with -no-reboot exits 0, a qemu error 1); 127 no qemu.
#
# Environment: GPC_BOOT_TIMEOUT, QEMU (default qemu-system-x86_64), CARGO (default cargo).
max_script_mib=512
set -u
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
echo_mode=0
stats=0
file=""
heap=""
usage() { echo "usage: $0 [--echo] [--stats] [--heap-kib N] FILE.cgsh" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --echo) echo_mode=1 ;;
        --stats) stats=1 ;;
        --heap-kib) shift; case "${1:-}" in ''|*[!0-9]*) usage ;; esac; heap="$1" ;;
        -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        --) shift; [ $# -eq 1 ] || usage; file="$1" ;;
        -*) [ "$1" = "-" ] || usage; [ -z "$file" ] || usage; file="$1" ;;
        *) [ -z "$file" ] || usage; file="$1" ;;
    esac
    shift
done
[ -n "$file" ] || usage
qemu="${QEMU:-qemu-system-x86_64}"
if ! command -v "$qemu" >/dev/null 2>&1; then
    echo "boot.sh: $qemu not found (Debian: apt-get install qemu-system-x86)" >&2
    exit 127
fi

if [ "$file" != "-" ] && [ -f "$file" ]; then
    size=$(stat -c %s -- "$file" 2>/dev/null || echo 0)
    if [ "$size" -gt $((max_script_mib << 20)) ]; then
        echo "gpc: $file: script too large for the kernel: $size bytes (at most $max_script_mib MiB)" >&2
        exit 2
    fi
fi
tmp="$(mktemp -d /tmp/gpc-hobby.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
if [ "$file" = "-" ]; then
    head -c $(((max_script_mib << 20) + 1)) >"$tmp/script.cgsh"
elif ! cp -- "$file" "$tmp/script.cgsh" 2>/dev/null; then
    echo "gpc: cannot read $file" >&2
    exit 2
fi
size=$(stat -c %s "$tmp/script.cgsh")
if [ "$size" -gt $((max_script_mib << 20)) ]; then
    echo "gpc: $file: script too large for the kernel: over $max_script_mib MiB" >&2
    exit 2
fi
# RAM: the kernel's image and heap fit in 128 MiB; qemu puts the script after them.
mem_mib=$((128 + (size >> 20) + 1))

# The kernel: this package's binary with the kernel flags, in its own target directory
# so that the workspace's ordinary builds keep their caches. Cargo rebuilds only what
# changed, so this is quick when nothing did; its output goes to stderr only on failure.
target="$root/target/hobby"
# Only these flags: an inherited target or encoded flags would build something else.
unset CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS CARGO_BUILD_TARGET
kernel="$target/release/gpc-hobby"
if ! (cd "$root" && \
      RUSTFLAGS="--cfg gpc_kernel -C panic=abort -C relocation-model=static" \
      CARGO_TARGET_DIR="$target" \
      "${CARGO:-cargo}" build -q -p gpc-hobby --bin gpc-hobby --release) >"$tmp/build.log" 2>&1
then
    cat "$tmp/build.log" >&2
    echo "boot.sh: building the kernel failed" >&2
    exit 1
fi

opts=""
[ "$echo_mode" = 1 ] && opts="$opts echo"
[ "$stats" = 1 ] && opts="$opts stats"
[ -n "$heap" ] && opts="$opts heap=$heap"
opts="$opts name=$(printf '%s' "$file" | od -An -v -tx1 | tr -d ' \n')"

timeout "${GPC_BOOT_TIMEOUT:-60}" "$qemu" \
    -kernel "$kernel" -initrd "$tmp/script.cgsh" -append "$opts" \
    -m "${mem_mib}M" -display none -nodefaults -no-reboot \
    -serial stdio -serial "file:$tmp/diag" \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    </dev/null 2>"$tmp/qemu.err"
rc=$?
[ -s "$tmp/diag" ] && cat "$tmp/diag" >&2
if [ "$rc" -eq 124 ]; then
    echo "boot.sh: the kernel did not finish within ${GPC_BOOT_TIMEOUT:-60}s" >&2
    exit 124
fi
if [ $((rc & 1)) -eq 0 ] || [ "$rc" -lt 33 ]; then
    cat "$tmp/qemu.err" >&2
    echo "boot.sh: the kernel crashed (qemu exited with $rc, not through isa-debug-exit)" >&2
    exit 125
fi
exit $(((rc - 33) >> 1))
