#!/usr/bin/env bash
# The kernel-target build of gpc-kshim, linked with a freestanding C "kernel", and
# checked for what kernel code must not contain.
#
#   hosts/kernel-shim/kernel-build/kernel-build.sh [--build-std] [--out DIR]
#   hosts/kernel-shim/kernel-build/kernel-build.sh --check-only ARCHIVE [--out DIR]
#
# 1. cargo build --release -p gpc-kshim --features kernel --target x86_64-unknown-none,
#    RUSTFLAGS="-C relocation-model=static". The target is soft-float (no SSE, MMX, AVX,
#    x87 register use), has no red zone, uses code-model=kernel and panic=abort; its
#    core and alloc come precompiled the same way. --build-std uses the nightly
#    toolchain instead, with -Zbuild-std=core,alloc -Zplt=yes
#    -Zdirect-access-external-data=yes, as Rust-for-Linux builds: core is then compiled
#    with these flags too, and no GOT-relative relocation may remain (it needs the
#    rust-src component and, once, the network for the standard library's crates).
# 2. ld -r --gc-sections -u <every export of gpc.h>: one relocatable object holding only
#    what the exports reach (gpc-kshim.o, what a kernel's build would link or load);
#    objcopy --keep-global-symbols=<exports>: every other defined symbol made local.
# 3. Checks on gpc-kshim.o: its global symbols are exactly gpc.h's exports, its undefined
#    ones exactly gpc.h's imports; no SSE/MMX/AVX/x87 register or FPU-state instruction;
#    no access below %rsp (the red zone); no thread-local storage; relocations that
#    Linux's module loader does not apply counted (GOT-relative ones on stable: a
#    failure only with --build-std, see doc/kernel-shim.md).
# 4. kstub.c (the imports and memory functions, built as kernel C:
#    -ffreestanding -mcmodel=kernel -mno-red-zone -mno-sse -mno-mmx -mno-80387) and
#    gpc-kshim.o linked with --gc-sections by kernel.ld at 0xffffffff81000000 into
#    gpc-kernel.elf, entry kstub_start (which boots gpc and calls the enforcement
#    exports); the same instruction checks on the whole image. The image is linked and
#    inspected, not booted.
#
# --check-only ARCHIVE skips step 1 and runs steps 2-3 on ARCHIVE (the C harness runs it
# on the host-target staticlib, where the checks must fail: they are not vacuous).
#
# Exit status: 0 every check passed; 1 a check failed; 2 usage, or a build or link
# failed; 77 a prerequisite is missing (the message says which and how to get it).
# Environment: CARGO (cargo), CC (gcc), LD (ld), OBJCOPY (objcopy), OBJDUMP (objdump),
# READELF (readelf).
set -u -o pipefail
here="$(cd "$(dirname "$0")" && pwd)"
shim="$(cd "$here/.." && pwd)"
root="$(cd "$shim/../.." && pwd)"
header="$shim/include/gpc.h"
target=x86_64-unknown-none
out="$root/target/kshim-kernel"
check_only=""
build_std=0

usage() { sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --out) shift; [ $# -gt 0 ] || usage; out="$1" ;;
        --check-only) shift; [ $# -gt 0 ] || usage; check_only="$1" ;;
        --build-std) build_std=1 ;;
        -h|--help) sed -n '2,40p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) usage ;;
    esac
    shift
done

cargo="${CARGO:-cargo}"
cc="${CC:-gcc}"
ld="${LD:-ld}"
objcopy="${OBJCOPY:-objcopy}"
objdump="${OBJDUMP:-objdump}"
readelf="${READELF:-readelf}"

missing() { echo "kernel-build: MISSING: $*" >&2; exit 77; }
for tool in "$cc" "$ld" "$objcopy" "$objdump" "$readelf"; do
    command -v "$tool" >/dev/null 2>&1 || missing "$tool (Debian: apt-get install gcc binutils)"
done

failures=0
fail() { echo "kernel-build: FAIL: $*"; failures=$((failures + 1)); }
say() { echo "kernel-build: $*"; }

mkdir -p "$out" || exit 2

# ---- 1. the build ------------------------------------------------------------------
if [ -n "$check_only" ]; then
    archive="$check_only"
    [ -f "$archive" ] || { echo "kernel-build: no archive $archive" >&2; exit 2; }
    say "checking $archive (no build)"
else
    # Only these flags: an inherited target or encoded flags would build something else.
    unset CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_TARGET CARGO_BUILD_RUSTFLAGS
    flags="-C relocation-model=static"
    if [ "$build_std" = 1 ]; then
        toolchain=+nightly
        sysroot="$(rustc +nightly --print sysroot 2>/dev/null)" ||
            missing "the nightly toolchain (rustup toolchain install nightly)"
        [ -d "$sysroot/lib/rustlib/src/rust/library/core" ] ||
            missing "rust-src for nightly (rustup +nightly component add rust-src)"
        flags="$flags -Zplt=yes -Zdirect-access-external-data=yes"
        std_args=(-Zbuild-std=core,alloc)
        dir="$out/build-std"
    else
        toolchain=
        sysroot="$(rustc --print sysroot 2>/dev/null)" || missing "rustc"
        [ -d "$sysroot/lib/rustlib/$target/lib" ] ||
            missing "the $target target (rustup target add $target)"
        std_args=()
        dir="$out/stable"
    fi
    say "cargo $toolchain build --release -p gpc-kshim --features kernel --target $target ${std_args[*]:-}"
    say "  RUSTFLAGS=\"$flags\""
    if ! RUSTFLAGS="$flags" "$cargo" $toolchain build --quiet --release -p gpc-kshim \
        --features kernel --lib --target "$target" "${std_args[@]}" \
        --manifest-path "$shim/Cargo.toml" --target-dir "$dir" >"$out/cargo.log" 2>&1; then
        cat "$out/cargo.log" >&2
        echo "kernel-build: the build failed" >&2
        exit 2
    fi
    archive="$dir/$target/release/libgpc_kshim.a"
fi

# The header's declarations between /* BEGIN X */ and /* END X */ (at line start, so
# neither comments nor macro bodies).
header_names() {
    sed -n "/BEGIN $1 \*\//,/END $1 \*\//p" "$header" |
        grep -E '^[A-Za-z].*\bgpc_[a-z0-9_]+\(' | grep -oE '\bgpc_[a-z0-9_]+\(' |
        tr -d '(' | sort -u
}
header_names EXPORTS >"$out/exports.txt"
header_names IMPORTS >"$out/imports.txt"

# ---- 2. one relocatable object, only gpc_* global ----------------------------------
obj="$out/gpc-kshim.o"
mapfile -t exports <"$out/exports.txt"
undef_args=()
for s in "${exports[@]}"; do undef_args+=(-u "$s"); done
if ! "$ld" -r --gc-sections "${undef_args[@]}" -o "$out/gpc-kshim-all.o" "$archive"; then
    echo "kernel-build: ld -r failed" >&2
    exit 2
fi
"$objcopy" --keep-global-symbols="$out/exports.txt" "$out/gpc-kshim-all.o" "$obj" || exit 2

# ---- 3. checks ---------------------------------------------------------------------
# readelf rather than nm: binutils' nm loads the LLVM plugin, which rejects some objects.
symbols() { # FILE -> "defined" and "undefined" global names
    "$readelf" -sW "$1" | awk '$1 ~ /^[0-9]+:$/ && $5 != "LOCAL" && $8 != "" {
        print ($7 == "UND" ? "U" : "D"), $8 }' | sort -u
}
hidden=$(symbols "$out/gpc-kshim-all.o" | awk '$1 == "D" && $2 !~ /^gpc_/' | wc -l)
rm -f "$out/gpc-kshim-all.o"
say "ld -r: $hidden global symbols besides gpc_* (core, alloc, compiler_builtins, gpc's crates), made local"
symbols "$obj" >"$out/symbols.txt"
awk '$1 == "D" { print $2 }' "$out/symbols.txt" >"$out/defined.txt"
awk '$1 == "U" { print $2 }' "$out/symbols.txt" >"$out/undefined.txt"
if ! diff -u "$out/exports.txt" "$out/defined.txt" >"$out/defined.diff"; then
    fail "global symbols are not exactly gpc.h's exports ($(grep -c '^+[^+]' "$out/defined.diff") extra, $(grep -c '^-[^-]' "$out/defined.diff") missing; $out/defined.diff):"
    grep '^+[^+]' "$out/defined.diff" | head -5 | sed 's/^/    /'
fi
if ! diff -u "$out/imports.txt" "$out/undefined.txt" >"$out/undefined.diff"; then
    extra=$(grep -c '^+[^+]' "$out/undefined.diff")
    if [ "$extra" -gt 0 ]; then
        fail "undefined symbols beyond gpc.h's imports ($extra; $out/undefined.diff):"
        grep '^+[^+]' "$out/undefined.diff" | head -5 | sed 's/^/    /'
    fi
fi

# Instructions: any SSE/AVX/AVX-512/MMX/x87 register, or an FPU/SIMD state instruction.
simd_re='%([xyz]mm[0-9]+|mm[0-7]|st(\([0-7]\))?)\b|\b(ldmxcsr|stmxcsr|fxsave|fxrstor|xsave[a-z0-9]*|xrstor[a-z0-9]*|emms|fninit|fld|fstp|fild|fistp)\b'
# Stores and loads below the stack pointer: the red zone (a kernel's interrupts would
# overwrite it).
redzone_re='[^0-9a-fx]-0x[0-9a-f]+\(%rsp\)'
inspect() { # FILE WHAT -> the counts, and failures
    local file="$1" what="$2" dis="$out/$2.dis"
    "$objdump" -d --no-show-raw-insn "$file" >"$dis" || exit 2
    local insns simd red
    insns=$(grep -cE '^ *[0-9a-f]+:\s' "$dis")
    simd=$(grep -cE "$simd_re" "$dis")
    red=$(grep -cE "$redzone_re" "$dis")
    say "$what: $insns instructions; SSE/AVX/MMX/x87: $simd; red-zone accesses: $red"
    [ "$insns" -gt 0 ] || fail "$what: no instructions (nothing was linked)"
    if [ "$simd" -gt 0 ]; then
        fail "$what: $simd instructions use SSE/AVX/MMX/x87 state, e.g.:"
        grep -E "$simd_re" "$dis" | head -3 | sed 's/^/    /'
    fi
    if [ "$red" -gt 0 ]; then
        fail "$what: $red accesses below %rsp (red zone), e.g.:"
        grep -E "$redzone_re" "$dis" | head -3 | sed 's/^/    /'
    fi
}
inspect "$obj" gpc-kshim.o
tls=$("$readelf" -SW "$obj" | grep -cE '\.(tdata|tbss)')
[ "$tls" -eq 0 ] || fail "gpc-kshim.o has $tls thread-local sections (a kernel has no TLS)"
# Relocations outside the debug sections that Linux's x86_64 module loader does not apply
# (arch/x86/kernel/module.c, __write_relocate_add: NONE, 64, 32, 32S, PC32, PLT32, PC64).
"$readelf" -rW "$obj" | awk '/^Relocation section/ { sec = $3 }
    $3 ~ /^R_X86_64_/ && sec !~ /debug/ { print $3 }' | sort | uniq -c >"$out/relocs.txt"
foreign=$(awk '$2 !~ /^R_X86_64_(NONE|64|32|32S|PC32|PLT32|PC64)$/ { n += $1 } END { print n + 0 }' "$out/relocs.txt")
say "gpc-kshim.o: $(wc -l <"$out/defined.txt") global symbols (gpc.h: $(wc -l <"$out/exports.txt") exports), $(wc -l <"$out/undefined.txt") undefined (gpc.h: $(wc -l <"$out/imports.txt") imports); relocations a module loader refuses: $foreign"
if [ "$foreign" -gt 0 ]; then
    awk '$2 !~ /^R_X86_64_(NONE|64|32|32S|PC32|PLT32|PC64)$/ { print "kernel-build:   " $1 " " $2 }' "$out/relocs.txt"
    if [ "$build_std" = 1 ]; then
        fail "$foreign relocations a module loader refuses, with -Zplt=yes and build-std"
    else
        say "  (stable x86_64-unknown-none calls through the GOT, in its precompiled core too: a static link resolves that; a loadable module needs --build-std)"
    fi
fi
size "$obj" 2>/dev/null | sed 's/^/kernel-build:   /'

# ---- 4. link with the C "kernel" ----------------------------------------------------
if [ -z "$check_only" ]; then
    kcflags=(-std=gnu11 -O2 -ffreestanding -fno-builtin -fno-tree-loop-distribute-patterns
        -fno-pic -fno-pie -mcmodel=kernel -mno-red-zone -mno-sse -mno-sse2 -mno-mmx
        -mno-80387 -mno-avx -fno-stack-protector -fno-asynchronous-unwind-tables
        -ffunction-sections -fdata-sections -Wall -Wextra -Werror)
    if ! "$cc" "${kcflags[@]}" -I "$shim/include" -c "$here/kstub.c" -o "$out/kstub.o"; then
        echo "kernel-build: compiling kstub.c failed" >&2
        exit 2
    fi
    if ! "$ld" -static -nostdlib --gc-sections -z noexecstack -T "$here/kernel.ld" \
        -o "$out/gpc-kernel.elf" "$out/kstub.o" "$obj" 2>"$out/link.log"; then
        cat "$out/link.log" >&2
        fail "linking gpc-kernel.elf (kstub.o + gpc-kshim.o) failed"
    else
        symbols "$out/gpc-kernel.elf" | awk '$1 == "U"' >"$out/image-undefined.txt"
        [ -s "$out/image-undefined.txt" ] && fail "gpc-kernel.elf has undefined symbols"
        inspect "$out/gpc-kernel.elf" gpc-kernel.elf
        entry=$("$readelf" -hW "$out/gpc-kernel.elf" | awk '/Entry point/ { print $4 }')
        say "gpc-kernel.elf: kstub.o + gpc-kshim.o, entry $entry, 0 undefined symbols"
        size "$out/gpc-kernel.elf" 2>/dev/null | sed 's/^/kernel-build:   /'
    fi
fi

if [ "$failures" -gt 0 ]; then
    say "$failures check(s) FAILED"
    exit 1
fi
say "ok"
