//! Build script of the hobby kernel.
//!
//! * Declares the `gpc_kernel` cfg (set by boot.sh's RUSTFLAGS for the kernel build).
//! * Copies the script named by `GPC_SCRIPT` (if set) to `OUT_DIR/builtin.cgsh`, which
//!   the kernel embeds with `include_bytes!` and runs when booted without a module.
//! * For the kernel build only: links the binary with `link.ld` (absolute path), no C
//!   start files, statically, one segment.

use std::env;
use std::error::Error;
use std::fs;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo::rustc-check-cfg=cfg(gpc_kernel)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=link.ld");
    println!("cargo::rerun-if-env-changed=GPC_SCRIPT");

    let out = PathBuf::from(env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?);
    let builtin = match env::var_os("GPC_SCRIPT") {
        Some(path) if !path.is_empty() => {
            println!("cargo::rerun-if-changed={}", PathBuf::from(&path).display());
            fs::read(&path).map_err(|e| format!("GPC_SCRIPT={}: {e}", path.to_string_lossy()))?
        }
        _ => Vec::new(),
    };
    fs::write(out.join("builtin.cgsh"), builtin)?;

    // Cargo sets CARGO_CFG_<NAME> for every cfg in effect, RUSTFLAGS' `--cfg` included.
    if env::var_os("CARGO_CFG_GPC_KERNEL").is_some() {
        let dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").ok_or("no manifest dir")?);
        let script = dir.join("link.ld");
        for arg in [
            format!("-T{}", script.display()),
            String::from("-nostartfiles"),
            String::from("-static"),
            String::from("-Wl,--build-id=none"),
            String::from("-Wl,-z,max-page-size=0x1000"),
            String::from("-Wl,--orphan-handling=warn"),
        ] {
            println!("cargo::rustc-link-arg-bins={arg}");
        }
    }
    Ok(())
}
