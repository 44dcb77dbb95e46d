//! Obtains the ONNX Runtime shared library the models run on.
//!
//! `ort` loads ONNX Runtime dynamically. The library comes from the
//! `onnxruntime` wheel on PyPI (pinned by version and sha256), fetched with
//! `pip download` and unpacked next to the binaries in `target/<profile>/`.
//! Its path is compiled in as `FRONTDESK_ORT_DYLIB`, so `cargo run` and
//! `cargo test` find it without any setting. `FRONTDESK_ORT_WHEEL` may
//! name an already downloaded wheel (offline builds). If the library cannot
//! be obtained the build still succeeds with a warning, and the server
//! explains at start-up what to do.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

const ORT_VERSION: &str = "1.31.1";
const WHEEL: &str = "onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl";
const WHEEL_SHA256: &str = "5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f";
const LIB: &str = "libonnxruntime.so.1.31.1";
const LIB_SHA256: &str = "fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=FRONTDESK_ORT_WHEEL");
    let target = env::var("TARGET").unwrap_or_default();
    if target != "x86_64-unknown-linux-gnu" {
        println!("cargo:warning=no pinned ONNX Runtime for {target}; set ORT_DYLIB_PATH to libonnxruntime {ORT_VERSION} at run time");
        return;
    }
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    // OUT_DIR is target/<profile>/build/<pkg>-<hash>/out.
    let profile_dir = out_dir.ancestors().nth(3).unwrap_or(&out_dir).to_owned();
    let lib = profile_dir.join(LIB);
    println!("cargo:rerun-if-changed={}", lib.display());
    println!("cargo:rustc-env=FRONTDESK_ORT_DYLIB={}", lib.display());
    if sha256_of(&lib).as_deref() == Some(LIB_SHA256) {
        return;
    }
    if let Err(e) = fetch(&lib, &out_dir) {
        println!("cargo:warning=could not obtain ONNX Runtime {ORT_VERSION}: {e}");
        println!("cargo:warning=the server will not start until ORT_DYLIB_PATH names libonnxruntime {ORT_VERSION}");
    }
}

fn sha256_of(path: &Path) -> Option<String> {
    let bytes = fs::read(path).ok()?;
    Some(hex(&Sha256::digest(&bytes)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn fetch(lib: &Path, work: &Path) -> Result<(), String> {
    let wheel = match env::var_os("FRONTDESK_ORT_WHEEL") {
        Some(w) => PathBuf::from(w),
        None => download(work)?,
    };
    let got = sha256_of(&wheel).ok_or_else(|| format!("cannot read {}", wheel.display()))?;
    if got != WHEEL_SHA256 {
        return Err(format!(
            "{} has sha256 {got}, expected {WHEEL_SHA256}",
            wheel.display()
        ));
    }
    let partial = lib.with_extension("partial");
    let script = "import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1]) as z:\n    data = z.read(sys.argv[2])\nopen(sys.argv[3], 'wb').write(data)\n";
    run(Command::new(python())
        .args(["-c", script])
        .arg(&wheel)
        .arg(format!("onnxruntime/capi/{LIB}"))
        .arg(&partial))?;
    let got = sha256_of(&partial).unwrap_or_default();
    if got != LIB_SHA256 {
        let _ = fs::remove_file(&partial);
        return Err(format!(
            "{LIB} from the wheel has sha256 {got}, expected {LIB_SHA256}"
        ));
    }
    fs::rename(&partial, lib).map_err(|e| format!("cannot place {}: {e}", lib.display()))
}

fn download(work: &Path) -> Result<PathBuf, String> {
    let dir = work.join("onnxruntime-wheel");
    let wheel = dir.join(WHEEL);
    if wheel.exists() {
        return Ok(wheel);
    }
    run(Command::new(python())
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
        ])
        .args([
            "--platform",
            "manylinux_2_28_x86_64",
            "--python-version",
            "3.11",
        ])
        .args(["--implementation", "cp", "--abi", "cp311"])
        .arg(format!("onnxruntime=={ORT_VERSION}"))
        .arg("-d")
        .arg(&dir))?;
    if wheel.exists() {
        Ok(wheel)
    } else {
        Err(format!("pip did not produce {WHEEL}"))
    }
}

fn python() -> String {
    env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e} (python3 with pip is needed)"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ))
    }
}
