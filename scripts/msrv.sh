#!/usr/bin/env bash
# Builds every crate with the oldest Rust it declares (`rust-version` in its Cargo.toml),
# so that the declaration stays true. Used by .ci/run; run it by hand after changing a
# dependency or using a newer std API or language feature.
#
#   1.81  the libraries a kernel links: gpc-core, gpc-subsystems, gpc-script,
#         gpc-machine, gpc-kshim (also its `kernel` build) and gpc-hobby (also the
#         kernel image, with boot.sh's flags);
#   1.85  gpc-sim (the `gpc` command) and gpc-benches (lib and bench-report): rustyline's
#         unicode-segmentation, as locked, needs 1.85;
#   1.88  every test and benchmark target (`cargo check --workspace --all-targets`):
#         proptest 1.12, as locked, needs 1.88. This is the floor for running the tests,
#         not a declared rust-version.
#
# Each toolchain is installed with rustup if missing (minimal profile, about 500 MB
# each); each build has its own target directory under target/msrv/. The locked
# dependency versions are used (Cargo.lock): a user who resolves newer ones may need a
# newer Rust.
set -euo pipefail
cd "$(dirname "$0")/.."

libs=(-p gpc-core -p gpc-subsystems -p gpc-script -p gpc-machine -p gpc-kshim -p gpc-hobby)

for toolchain in 1.81 1.85 1.88; do
    if ! rustup run "$toolchain" rustc --version >/dev/null 2>&1; then
        rustup toolchain install "$toolchain" --profile minimal
    fi
done

step() {
    echo "-- $*"
    local start=$SECONDS
    "$@"
    echo "   ($((SECONDS - start)) s)"
}

# No RUSTFLAGS from the caller: the kernel image below sets its own.
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS CARGO_BUILD_TARGET

export CARGO_TARGET_DIR=target/msrv/1.81
step cargo +1.81 build "${libs[@]}"
step cargo +1.81 build -p gpc-kshim --features kernel
CARGO_TARGET_DIR=target/msrv/1.81-kernel \
    RUSTFLAGS="--cfg gpc_kernel -C panic=abort -C relocation-model=static" \
    step cargo +1.81 build -p gpc-hobby --bin gpc-hobby --release

export CARGO_TARGET_DIR=target/msrv/1.85
step cargo +1.85 build -p gpc-sim -p gpc-benches

export CARGO_TARGET_DIR=target/msrv/1.88
step cargo +1.88 check --workspace --all-targets

echo "msrv: every crate builds with its declared Rust (1.81 libraries, 1.85 gpc-sim and"
echo "gpc-benches), and every test and benchmark target type-checks with 1.88"
