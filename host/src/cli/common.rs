//! Options and helpers shared by several verbs.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::http::HttpLimits;
use crate::wasm::capabilities::{AllowedOutboundHosts, GrantPolicy, OutboundPattern, grantable_dir};
use crate::wasm::limits::{
    DEFAULT_MAX_OUTBOUND_REQUESTS, DEFAULT_MAX_OUTBOUND_RESPONSE_MB, DEFAULT_WARM_MEMORY_MB, Limits,
};

/// Where a running standalone runtime's client API is: the same settings `spawn-wasm
/// standalone` serves with (flags, environment, the configuration file's `[standalone]`
/// table), so that a shell that set `PROXY_HTTP_PORT` for the server reaches it too.
#[derive(Debug, Args)]
pub struct ApiArgs {
    /// Base URL of the client API (e.g. `http://10.0.0.5:9001`); overrides --host and --port.
    #[arg(long, env = "SPAWN_WASM_URL")]
    pub url: Option<String>,
    /// Host the runtime serves on (0.0.0.0 or :: is reached on loopback).
    #[arg(long, env = "SPAWN_WASM_HOST", default_value = "127.0.0.1")]
    pub host: String,
    /// Port the runtime serves on.
    #[arg(long, env = "PROXY_HTTP_PORT", default_value_t = 9001)]
    pub port: u16,
    /// Actor system.
    #[arg(long, env = "PROXY_ACTOR_SYSTEM_NAME", default_value = "spawn-system")]
    pub system: String,
    /// The runtime's token, if it has one.
    #[command(flatten)]
    pub token: TokenArgs,
}

impl ApiArgs {
    /// The base URL of the client API: `--url`, else `http://HOST:PORT`, an unspecified
    /// host (which a server binds to listen everywhere) reached on loopback.
    pub fn base_url(&self) -> String {
        if let Some(url) = &self.url {
            return url.trim_end_matches('/').to_owned();
        }
        let host = match self.host.parse::<std::net::IpAddr>() {
            Ok(ip) if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".to_owned(),
            Ok(ip) if ip.is_unspecified() => "[::1]".to_owned(),
            Ok(std::net::IpAddr::V6(ip)) => format!("[{ip}]"),
            _ => self.host.clone(),
        };
        format!("http://{host}:{}", self.port)
    }
}

/// The bearer token of the client API and the console.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Bearer token: a server serving beyond loopback requires it on the client API and the
    /// console (health and metrics stay open); a client sends it.
    /// (Shows in `ps` and shell history: prefer `--token-file` or the environment.)
    #[arg(long, env = "SPAWN_WASM_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub token: Option<String>,
    /// A file holding the bearer token (its first line), e.g. a mounted Secret: unlike
    /// `--token`, it does not show in the process list.
    #[arg(
        long,
        env = "SPAWN_WASM_TOKEN_FILE",
        value_name = "FILE",
        conflicts_with = "token",
        value_parser = read_token_file
    )]
    pub token_file: Option<Token>,
}

/// A token read from a file (not printed by `Debug`), and the file: no module may be
/// granted a directory holding it.
#[derive(Clone)]
pub struct Token {
    value: String,
    file: PathBuf,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Token(…, {})", self.file.display())
    }
}

fn read_token_file(path: &str) -> Result<Token, String> {
    let text = std::fs::read_to_string(path).map_err(|error| format!("cannot read the token file {path}: {error}"))?;
    match text.lines().next().map(str::trim) {
        Some(token) if !token.is_empty() => Ok(Token { value: token.to_owned(), file: path.into() }),
        _ => Err(format!("the token file {path} is empty")),
    }
}

impl TokenArgs {
    /// The token given, by `--token` or `--token-file`.
    pub fn value(&self) -> Option<String> {
        self.token.clone().or_else(|| self.token_file.as_ref().map(|token| token.value.clone()))
    }

    /// `limits` with the token file, if one was given, kept from every module's grants.
    pub fn protect(&self, mut limits: Limits) -> Limits {
        if let Some(token) = &self.token_file {
            limits.policy = limits.policy.protecting([&token.file]);
        }
        limits
    }
}

/// Where compiled components are kept: one cache per user, shared by every host the user
/// runs (standalone or sidecar, whatever its data directory), so that a new data directory
/// or a restart never recompiles what was compiled before. Entries are keyed by content and
/// engine, so hosts of different versions share it safely.
#[derive(Debug, Args)]
pub struct CacheArgs {
    /// Where compiled components are cached, so that starts skip compilation.
    /// Default: `$XDG_CACHE_HOME/spawn-wasm` or `~/.cache/spawn-wasm`.
    #[arg(long, env = "SPAWN_WASM_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Compile every component at every start (no on-disk cache).
    #[arg(long, conflicts_with = "cache_dir")]
    pub no_cache: bool,
}

impl CacheArgs {
    /// The cache directory, or `None` when caching is off or no directory can be named
    /// (no `HOME` nor `XDG_CACHE_HOME`: then every start compiles).
    pub fn dir(&self) -> Option<PathBuf> {
        if self.no_cache {
            return None;
        }
        self.cache_dir.clone().or_else(|| {
            let base =
                std::env::var_os("XDG_CACHE_HOME").filter(|dir| !dir.is_empty()).map(PathBuf::from).or_else(|| {
                    std::env::var_os("HOME")
                        .filter(|dir| !dir.is_empty())
                        .map(|home| PathBuf::from(home).join(".cache"))
                })?;
            Some(base.join("spawn-wasm"))
        })
    }
}

/// Names a server answers without a token besides loopback ones.
#[derive(Debug, Args)]
pub struct AllowedHostArgs {
    /// A host name (as the `Host` header carries it; any port, or `NAME:PORT` for one) that
    /// requests without a token may be addressed to, besides `localhost`, `*.localhost` and
    /// loopback addresses: any other is refused (403), so that a web page cannot reach the
    /// API through DNS rebinding. Repeatable; comma-separated in the environment. Not needed
    /// with a token.
    #[arg(long = "allowed-host", env = "SPAWN_WASM_ALLOWED_HOSTS", value_name = "NAME", value_delimiter = ',', value_parser = host_name)]
    pub allowed_hosts: Vec<String>,
}

/// A `Host` header's name (`NAME` or `NAME:PORT`), not a URL or pattern.
fn host_name(text: &str) -> Result<String, String> {
    let name = text.trim();
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'-' | b'_' | b':' | b'[' | b']'));
    if valid {
        Ok(name.to_owned())
    } else {
        Err(format!(
            "`{text}` is not a host name: give it as the Host header carries it, e.g. spawn.example.com or spawn.example.com:9001"
        ))
    }
}

/// Sandbox limits.
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Memory cap of one actor instance, in MiB.
    #[arg(long, env = "SPAWN_WASM_MEMORY_LIMIT_MB", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub memory_limit_mb: u32,
    /// Deadline of one call, in milliseconds.
    #[arg(long, env = "SPAWN_WASM_CALL_TIMEOUT_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub call_timeout_ms: u64,
    /// Largest request body accepted, in bytes (larger ones get 413).
    #[arg(long, env = "SPAWN_WASM_MAX_BODY_BYTES", default_value_t = 8 << 20)]
    pub max_body_bytes: usize,
    /// Requests handled at once; more get 503 at once (standalone) or wait, up to
    /// `--max-queued` of them, each until its deadline (sidecar).
    #[arg(long, env = "SPAWN_WASM_MAX_IN_FLIGHT", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_in_flight: u32,
    /// How long a connection may take to send a request's headers, or stay idle between
    /// requests, before it is closed, in milliseconds.
    #[arg(long, env = "SPAWN_WASM_HEADER_TIMEOUT_MS", default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout_ms: u64,
    /// Instances kept warm between their actor's turns, least recently used evicted (0: a
    /// fresh instance every call). Each costs its guest's resident memory.
    #[arg(long, env = "SPAWN_WASM_WARM_INSTANCES", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(0..=8192))]
    pub warm_instances: u32,
    /// Warm instances one actor may have, for its turns that overlap (the proxy sends
    /// overlapping turns to pooled and stateless actors).
    #[arg(long, env = "SPAWN_WASM_WARM_PER_ACTOR", default_value_t = crate::wasm::limits::DEFAULT_WARM_PER_ACTOR as u32, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub warm_per_actor: u32,
    /// Linear memory the warm instances may hold together, in MiB; least recently used ones
    /// are evicted beyond it.
    #[arg(long, env = "SPAWN_WASM_WARM_MEMORY_MB", default_value_t = DEFAULT_WARM_MEMORY_MB)]
    pub warm_memory_mb: usize,
    /// The operator's ceiling over every module's grants.
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Cap on one outbound HTTP response body, in MiB; a module may lower it.
    #[arg(long, env = "SPAWN_WASM_MAX_OUTBOUND_RESPONSE_MB", default_value_t = DEFAULT_MAX_OUTBOUND_RESPONSE_MB, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=4096))]
    pub max_outbound_response_mb: usize,
    /// Outbound HTTP requests one instance may have in flight; a module may lower it.
    #[arg(long, env = "SPAWN_WASM_MAX_OUTBOUND_REQUESTS", default_value_t = DEFAULT_MAX_OUTBOUND_REQUESTS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1024))]
    pub max_outbound_requests: usize,
}

/// What any module may be granted (`inspect` takes these too, to show what a host with them
/// would give a module).
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// Outbound HTTP destinations any module may reach, as `scheme://host[:port]` patterns
    /// (comma-separated): narrows every module's `allowed_outbound_hosts` to what both
    /// allow, and is the only way a module reaches an address that is not public (it must
    /// name that address) or this host's own API (address and port). Unset: names as the
    /// modules grant them, public addresses only.
    #[arg(long, env = "SPAWN_WASM_ALLOWED_OUTBOUND_HOSTS", value_delimiter = ',', value_parser = OutboundPattern::parse)]
    pub allowed_outbound_hosts: Option<Vec<OutboundPattern>>,
    /// Directories under which a module's TOML may grant `read_only_dirs` (comma-separated);
    /// none by default. Never `/proc`, `/sys`, `/dev`, or what holds the host's own data.
    #[arg(long, env = "SPAWN_WASM_GRANTABLE_DIRS", value_delimiter = ',', value_name = "DIR", value_parser = grantable_dir)]
    pub grantable_dirs: Vec<PathBuf>,
}

impl From<&PolicyArgs> for GrantPolicy {
    fn from(args: &PolicyArgs) -> Self {
        GrantPolicy {
            outbound_hosts: args.allowed_outbound_hosts.clone().map(AllowedOutboundHosts::from),
            dir_roots: args.grantable_dirs.clone(),
            ..GrantPolicy::default()
        }
    }
}

impl From<&LimitArgs> for HttpLimits {
    fn from(args: &LimitArgs) -> Self {
        HttpLimits {
            max_body_bytes: args.max_body_bytes,
            max_in_flight: args.max_in_flight as usize,
            header_timeout: Duration::from_millis(args.header_timeout_ms),
        }
    }
}

impl From<&LimitArgs> for Limits {
    fn from(args: &LimitArgs) -> Self {
        Limits {
            memory_bytes: (args.memory_limit_mb as usize) << 20,
            call_timeout: Duration::from_millis(args.call_timeout_ms),
            warm_instances: args.warm_instances as usize,
            warm_per_actor: args.warm_per_actor as usize,
            warm_memory_bytes: args.warm_memory_mb << 20,
            max_instances: args.warm_instances + crate::wasm::limits::CONCURRENT_FRESH_INSTANCES,
            policy: GrantPolicy::from(&args.policy),
            max_outbound_response_bytes: args.max_outbound_response_mb << 20,
            max_outbound_requests: args.max_outbound_requests,
            ..Limits::default()
        }
    }
}

/// Prints a reply as pretty JSON, or says there was none.
pub(super) fn print_reply(reply: serde_json::Value) -> anyhow::Result<()> {
    if reply.is_null() {
        println!("(no reply)");
    } else {
        println!("{}", serde_json::to_string_pretty(&reply)?);
    }
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
pub(super) async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
