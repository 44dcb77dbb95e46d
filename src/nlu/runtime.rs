//! Finding and loading the ONNX Runtime shared library.
//!
//! Looked for, in order: `ORT_DYLIB_PATH` (if set, it must be right), next
//! to the running binary (and its parent, for test binaries in `deps/`),
//! then the path the build recorded (`FRONTDESK_ORT_DYLIB`, see
//! `build.rs`). ONNX Runtime allows one environment per process, so it is
//! created once and shared.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::NluError;

/// The library file name the build fetches.
pub(crate) const LIBRARY: &str = "libonnxruntime.so.1.31.1";

static ENVIRONMENT: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();

/// Where the library is, or an error that lists where it looked.
pub(crate) fn locate() -> Result<PathBuf, NluError> {
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(NluError::RuntimeMissing(format!(
                "ORT_DYLIB_PATH is set to {}, which does not exist; point it at {LIBRARY} or unset it",
                path.display()
            )))
        };
    }
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        for dir in exe.ancestors().skip(1).take(2) {
            candidates.push(dir.join(LIBRARY));
        }
    }
    if let Some(built) = option_env!("FRONTDESK_ORT_DYLIB") {
        candidates.push(PathBuf::from(built));
    }
    candidates.iter().find(|p| p.is_file()).cloned().ok_or_else(|| {
        let looked: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
        NluError::RuntimeMissing(format!(
            "the ONNX Runtime library {LIBRARY} was not found (looked at: {}). `cargo build` fetches it from \
             PyPI's onnxruntime 1.31.1 wheel (python3 with pip is needed); or set ORT_DYLIB_PATH to the library",
            looked.join(", ")
        ))
    })
}

/// The process-wide ONNX Runtime environment, loading the library once.
pub(crate) fn environment() -> Result<&'static ort::environment::Environment, NluError> {
    let env = ENVIRONMENT.get_or_init(|| {
        let path = locate().map_err(|e| e.to_string())?;
        load(&path).map_err(|e| e.to_string())
    });
    env.as_ref()
        .map_err(|e| NluError::RuntimeMissing(e.clone()))
}

fn load(path: &Path) -> Result<ort::environment::Environment, String> {
    let builder = ort::init_from(path)
        .map_err(|e| format!("cannot load ONNX Runtime from {}: {e}", path.display()))?;
    builder
        .with_name("frontdesk")
        .build()
        .map_err(|e| format!("cannot start ONNX Runtime: {e}"))
}
