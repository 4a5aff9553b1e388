//! One loaded component: compiled, checked against our WIT world, described, validated.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use wasmtime::component::Component;

use super::cache::CodeCache;
use super::describe::{self, Described};
use super::engine::ActorEngine;
use super::host::HostState;
use super::sandbox::Sandbox;
use crate::protocol::json::JsonCodec;
use crate::protocol::wit::{self as bindings, ActionSignature, WIT_PACKAGE, WIT_VERSION, types as wit};

/// Why a `.wasm` file could not be loaded. The message names the cause; the caller adds
/// the file.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    /// The bytes are not a valid component for this engine.
    #[error("not a valid WebAssembly component: {0:#}")]
    Compile(wasmtime::Error),
    /// The compiler panicked on the bytes (a compiler bug): the file is refused and the host
    /// goes on. A variant of its own, so that a fuzzer can tell it from a refusal.
    #[error("not a valid WebAssembly component: compilation panicked: {0}")]
    CompilerPanicked(String),
    /// The component does not export our handler interface at all.
    #[error("does not export `{WIT_PACKAGE}/handler`: it was not built for the `{WIT_PACKAGE}` `actor` world")]
    WrongWorld,
    /// The component targets an incompatible version of our WIT package.
    #[error(
        "built for {WIT_PACKAGE}@{found}, but this host supports {WIT_PACKAGE}@{WIT_VERSION}: {}",
        upgrade_advice(found)
    )]
    IncompatibleVersion {
        /// The version the component was built for.
        found: String,
    },
    /// The component's imports or exports do not match the world.
    #[error("does not match the `actor` world: {0:#}")]
    Link(wasmtime::Error),
    /// `describe` trapped or timed out.
    #[error("`describe` failed: {0:#}")]
    Describe(wasmtime::Error),
    /// The actor definitions are not usable.
    #[error("invalid actor definition: {0}")]
    Invalid(String),
    /// The module's settings file is invalid.
    #[error("invalid settings: {0}")]
    Settings(String),
}

/// A component ready to serve: its prepared instance and the actors it provides.
pub struct ActorModule {
    /// Unique among every module loaded by this process (a reload gets a new one), so
    /// that warm instances are never reused across versions.
    pub id: u64,
    /// The file it was loaded from.
    pub path: PathBuf,
    /// The first 12 hex digits of the BLAKE3 hash of its bytes, for logs.
    pub hash: String,
    /// Whether its compiled code came from the on-disk cache.
    pub cached: bool,
    /// The version of our WIT package it was built for.
    pub wit_version: String,
    /// The actors it provides, validated.
    pub definitions: Vec<wit::ActorDefinition>,
    /// The message types its actions declare (none for a component built for the `actor`
    /// world, which exports no signatures).
    pub signatures: Vec<ActionSignature>,
    /// The limits and grants its calls run with.
    pub sandbox: Sandbox,
    /// JSON conversions with the protocol's messages and this module's own (the descriptors
    /// it embeds): each module's JSON uses its own definitions, so that two modules defining
    /// one message name differently never decide each other's encoding.
    pub json: Arc<JsonCodec>,
    pre: bindings::ActorPre<HostState>,
}

impl std::fmt::Debug for ActorModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActorModule")
            .field("path", &self.path)
            .field("hash", &self.hash)
            .field("actors", &self.actor_names().collect::<Vec<_>>())
            .finish()
    }
}

impl ActorModule {
    /// Reads, compiles (or takes from `cache`) and validates the component at `path`.
    /// Compilation runs on a blocking thread, off the request path.
    pub async fn load(engine: &ActorEngine, cache: Option<&CodeCache>, path: &Path) -> Result<ActorModule, LoadError> {
        let bytes = tokio::fs::read(path).await?;
        Self::from_bytes(engine, cache, path, bytes).await
    }

    /// Like [`ActorModule::load`], with the file's bytes already read.
    pub async fn from_bytes(
        engine: &ActorEngine,
        cache: Option<&CodeCache>,
        path: &Path,
        bytes: Vec<u8>,
    ) -> Result<ActorModule, LoadError> {
        let sandbox = Sandbox::for_module(path, engine.limits()).map_err(LoadError::Settings)?;
        let digest = content_digest(&bytes);
        let hash = short_hash(&digest).to_owned();
        let wasmtime_engine = engine.engine().clone();
        let cache = cache.cloned();
        let compile = move || -> wasmtime::Result<(Component, bool)> {
            if let Some(component) = cache.as_ref().and_then(|cache| cache.load(&wasmtime_engine, &digest)) {
                return Ok((component, true));
            }
            let component = Component::new(&wasmtime_engine, &bytes)?;
            if let Some(cache) = &cache {
                cache.store(&digest, &component);
            }
            Ok((component, false))
        };
        let (component, cached) = tokio::task::spawn_blocking(compile)
            .await
            .map_err(|join| LoadError::CompilerPanicked(join.to_string()))?
            .map_err(LoadError::Compile)?;
        let wit_version = check_world(engine, &component)?;
        let component_type = component.component_type();
        let imports = component_type.imports(engine.engine()).map(|(name, _)| name);
        for (interface, denied) in sandbox.grants.ungranted(imports) {
            tracing::info!(file = %path.display(), interface, "imported but not granted: {denied}");
        }
        let pre =
            engine.linker().instantiate_pre(&component).and_then(bindings::ActorPre::new).map_err(LoadError::Link)?;
        let signatures = describe::signatures_export(&component);
        let Described { definitions, descriptors, signatures } =
            describe::describe(engine, &pre, signatures, &sandbox).await.map_err(LoadError::Describe)?;
        validate(&definitions)?;
        describe::check_signatures(&definitions, &signatures).map_err(LoadError::Invalid)?;
        if !engine.limits().pooled_actors {
            refuse_pooled(&definitions)?;
        }
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(ActorModule {
            id,
            path: path.to_owned(),
            hash,
            cached,
            wit_version,
            definitions,
            signatures,
            sandbox,
            json: Arc::new(JsonCodec::new([(path, descriptors.as_slice())])),
            pre,
        })
    }

    /// The prepared instance, for the executor.
    pub fn pre(&self) -> &bindings::ActorPre<HostState> {
        &self.pre
    }

    /// The message types `actor`'s `action` declares, if it declares any.
    pub fn signature(&self, actor: &str, action: &str) -> Option<&ActionSignature> {
        self.signatures.iter().find(|signature| signature.actor == actor && signature.action == action)
    }

    /// The names of the actors this module provides.
    pub fn actor_names(&self) -> impl Iterator<Item = &str> {
        self.definitions.iter().map(|definition| definition.name.as_str())
    }
}

/// The hex BLAKE3 hash of a component's bytes: its cache key.
pub fn content_digest(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// The short form of a content digest shown in logs and `/v1/modules`.
pub fn short_hash(digest: &str) -> &str {
    &digest[..12]
}

/// Gives a clear message for a component built for another world or version before the
/// linker reports a type mismatch. Returns the version it was built for.
fn check_world(engine: &ActorEngine, component: &Component) -> Result<String, LoadError> {
    let prefix = format!("{WIT_PACKAGE}/handler");
    let ty = component.component_type();
    let export = ty
        .exports(engine.engine())
        .map(|(name, _)| name)
        .find(|name| name.starts_with(&prefix))
        .ok_or(LoadError::WrongWorld)?;
    let found = export.strip_prefix(&prefix).and_then(|rest| rest.strip_prefix('@')).unwrap_or("");
    if !compatible(found, WIT_VERSION) {
        return Err(LoadError::IncompatibleVersion {
            found: if found.is_empty() { "(unversioned)".into() } else { found.into() },
        });
    }
    Ok(found.to_owned())
}

/// What to do about a component built for WIT version `found`, which this host does not
/// support: rebuild an older one, upgrade the host for a newer one.
fn upgrade_advice(found: &str) -> &'static str {
    let parse = |version: &str| version.split('.').map(|part| part.parse::<u64>().ok()).collect::<Option<Vec<_>>>();
    match (parse(found), parse(WIT_VERSION)) {
        (Some(found), Some(ours)) if found > ours => "upgrade the host to a release that supports it",
        _ => {
            "rebuild it with this release's SDK: `spawn-wasm build <project>` (Rust, Python or JavaScript), \
             or `cargo build --release --target wasm32-wasip2` with this release's spawn-wasm-sdk"
        }
    }
}

/// Semver compatibility as the component model applies it: same major, and same minor
/// while the major is 0.
fn compatible(found: &str, ours: &str) -> bool {
    let parts = |version: &str| -> Option<(u64, u64)> {
        let mut it = version.split('.');
        Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
    };
    match (parts(found), parts(ours)) {
        (Some((found_major, found_minor)), Some((major, minor))) => {
            found_major == major && (major != 0 || found_minor == minor)
        }
        _ => false,
    }
}

/// Rejects definitions the runtime could not serve, with a message naming the actor.
fn validate(definitions: &[wit::ActorDefinition]) -> Result<(), LoadError> {
    if definitions.is_empty() {
        return Err(LoadError::Invalid("the component defines no actors".into()));
    }
    let mut names = HashSet::new();
    for definition in definitions {
        let name = definition.name.as_str();
        let invalid = |reason: String| LoadError::Invalid(format!("actor `{name}`: {reason}"));
        if name.is_empty() {
            return Err(LoadError::Invalid("an actor has an empty name".into()));
        }
        if !names.insert(name) {
            return Err(LoadError::Invalid(format!("actor `{name}` is defined twice")));
        }
        let mut actions = HashSet::new();
        let timer_actions = definition.timer_actions.iter().map(|timer| &timer.action);
        for action in definition.actions.iter().chain(timer_actions) {
            if action.is_empty() {
                return Err(invalid("an action has an empty name".into()));
            }
            if !actions.insert(action.as_str()) {
                return Err(invalid(format!("action `{action}` is declared twice")));
            }
        }
        for timer in &definition.timer_actions {
            if timer.period_ms == 0 || timer.period_ms > i32::MAX as u32 {
                return Err(invalid(format!(
                    "timer `{}` has period {} ms; it must be between 1 and {}",
                    timer.action,
                    timer.period_ms,
                    i32::MAX
                )));
            }
        }
        for channel in &definition.channels {
            if channel.topic.is_empty() {
                return Err(invalid("a channel has an empty topic".into()));
            }
            let action = if channel.action.is_empty() { "receive" } else { &channel.action };
            if !actions.contains(action) {
                return Err(invalid(format!(
                    "channel `{}` delivers to action `{action}`, which the actor does not declare",
                    channel.topic
                )));
            }
        }
        if definition.stateful && definition.kind == wit::Kind::Pooled {
            return Err(invalid("pooled actors cannot be stateful".into()));
        }
        if definition.max_pool_size != 0 && definition.min_pool_size > definition.max_pool_size {
            return Err(invalid("min-pool-size is greater than max-pool-size".into()));
        }
    }
    Ok(())
}

/// Rejects a `pooled` actor where the runtime cannot serve one (the Spawn proxy).
fn refuse_pooled(definitions: &[wit::ActorDefinition]) -> Result<(), LoadError> {
    match definitions.iter().find(|definition| definition.kind == wit::Kind::Pooled) {
        Some(pooled) => Err(LoadError::Invalid(format!(
            "actor `{}` is pooled, which the Spawn proxy does not support: declare it named (or unnamed), \
             or serve it with `spawn-wasm standalone`",
            pooled.name
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn definition(name: &str) -> wit::ActorDefinition {
        crate::protocol::wit::test_definition(name)
    }

    fn rejection(definitions: &[wit::ActorDefinition]) -> String {
        validate(definitions).expect_err("should be rejected").to_string()
    }

    #[test]
    fn accepts_a_sane_definition() {
        validate(&[definition("joe"), definition("abs_actor")]).unwrap();
    }

    #[test]
    fn rejects_insane_definitions_with_a_reason() {
        assert!(rejection(&[]).contains("no actors"));
        assert!(rejection(&[definition("joe"), definition("joe")]).contains("`joe` is defined twice"));
        let mut empty_action = definition("joe");
        empty_action.actions.push(String::new());
        assert!(rejection(&[empty_action]).contains("empty name"));
        let mut twice = definition("joe");
        twice.actions.push("hi".into());
        assert!(rejection(&[twice]).contains("`hi` is declared twice"));
        let mut zero_timer = definition("joe");
        zero_timer.timer_actions[0].period_ms = 0;
        assert!(rejection(&[zero_timer]).contains("period 0 ms"));
        let mut bad_channel = definition("joe");
        bad_channel.channels[0].action = String::new();
        assert!(rejection(&[bad_channel]).contains("action `receive`"));
        let mut pooled = definition("joe");
        pooled.kind = wit::Kind::Pooled;
        assert!(rejection(&[pooled]).contains("cannot be stateful"));
    }

    #[test]
    fn versions_follow_component_model_semver() {
        assert!(compatible("0.1.0", "0.1.0"));
        assert!(compatible("0.1.3", "0.1.0"));
        assert!(!compatible("0.2.0", "0.1.0"));
        assert!(upgrade_advice("0.1.1").contains("rebuild it with this release's SDK"));
        assert!(upgrade_advice("(unversioned)").contains("rebuild"));
        assert!(upgrade_advice("9.0.0").contains("upgrade the host"));
        assert!(compatible("1.4.0", "1.0.0"));
        assert!(!compatible("2.0.0", "1.0.0"));
        assert!(!compatible("", "0.1.0"));
    }
}
