//! The on-disk cache of compiled components, so that a restart with unchanged components
//! skips compilation.
//!
//! An entry is keyed by the component's content hash and the engine's compatibility hash
//! (wasmtime version and configuration), and starts with the BLAKE3 hash of the compiled code
//! that follows it. An entry whose digest does not match, or that wasmtime refuses, is
//! deleted and rebuilt. The directory must be writable only by the host's user: compiled
//! code is loaded as machine code.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

const DIGEST_LEN: usize = 32;

/// A directory of compiled components.
#[derive(Debug, Clone)]
pub struct CodeCache {
    dir: PathBuf,
    engine_hash: String,
}

impl CodeCache {
    /// A cache in `dir` (created if missing) for components compiled by `engine`.
    pub fn open(dir: &Path, engine: &Engine) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut hasher = std::hash::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Ok(CodeCache { dir: dir.to_owned(), engine_hash: format!("{:016x}", hasher.finish()) })
    }

    fn entry(&self, content_hash: &str) -> PathBuf {
        self.dir.join(format!("{content_hash}-{}.cwasm", self.engine_hash))
    }

    /// The cached compilation of the component whose bytes hash to `content_hash`, if a
    /// sound one exists. A corrupt entry is removed.
    pub fn load(&self, engine: &Engine, content_hash: &str) -> Option<Component> {
        let path = self.entry(content_hash);
        let bytes = std::fs::read(&path).ok()?;
        let component = (bytes.len() > DIGEST_LEN
            && blake3::hash(&bytes[DIGEST_LEN..]).as_bytes()[..] == bytes[..DIGEST_LEN])
            .then(|| {
                // SAFETY: the entry was written by `store` below from `Component::serialize`
                // of this engine configuration (the file name carries its compatibility
                // hash), and its digest shows it is intact.
                unsafe { Component::deserialize(engine, &bytes[DIGEST_LEN..]) }.ok()
            })
            .flatten();
        if component.is_none() {
            tracing::warn!(entry = %path.display(), "ignoring a corrupt compiled-code cache entry; recompiling");
            let _ = std::fs::remove_file(&path);
        }
        component
    }

    /// Stores the compilation of the component whose bytes hash to `content_hash`. A
    /// failure only costs a recompilation next time, so it is logged, not returned.
    pub fn store(&self, content_hash: &str, component: &Component) {
        let result = component.serialize().map_err(std::io::Error::other).and_then(|code| {
            let mut bytes = Vec::with_capacity(DIGEST_LEN + code.len());
            bytes.extend_from_slice(blake3::hash(&code).as_bytes());
            bytes.extend_from_slice(&code);
            let path = self.entry(content_hash);
            let staging = path.with_extension(format!("tmp{}", std::process::id()));
            std::fs::write(&staging, &bytes)?;
            std::fs::rename(&staging, &path)
        });
        if let Err(error) = result {
            tracing::warn!(dir = %self.dir.display(), %error, "cannot write the compiled-code cache");
        }
    }
}
