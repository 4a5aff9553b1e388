//! The operator's ceiling over every module's grants.
//!
//! Whoever can write a `.wasm` and its `.toml` into the actors directory decides what that
//! module asks for; the operator, through the host's flags, environment or configuration
//! file, decides what any module may be given. A module asking beyond the ceiling is
//! refused when it loads, with the reason and the host setting that would allow it:
//!
//! - **Directories**: only at or under a root the operator names (`--grantable-dirs`; none
//!   by default), never `/proc`, `/sys` or `/dev`, and never a directory that holds, or lies
//!   inside, one the host keeps for itself (its data directory, code cache, actors directory,
//!   token file).
//! - **Outbound HTTP**: the operator's `--allowed-outbound-hosts` narrows every module's
//!   list, and an address that is not public (loopback, private, link-local, …) is reachable
//!   only when the operator's list names it as well as the module's. The host's own
//!   listening addresses (and, as a sidecar, its proxy's) are refused unless the operator's
//!   list names that address and port exactly: a guest reaches other actors through the
//!   runtime's imports, under the host's rules, not through its client API.
//! - **Environment**: values come from the module's TOML only; the host's own environment
//!   is never passed through.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use super::outbound_hosts::{AllowedOutboundHosts, Scheme};

/// Directories never granted, whatever the roots: they expose the host process itself (its
/// environment, memory and open files) or its devices.
const SYSTEM_DIRS: [&str; 3] = ["/proc", "/sys", "/dev"];

/// What the operator allows any module to be granted.
#[derive(Debug, Clone, Default)]
pub struct GrantPolicy {
    /// `--allowed-outbound-hosts`: narrows every module's `allowed_outbound_hosts`, and is
    /// the only way an address that is not public becomes reachable. `None`: names narrow
    /// nothing, and no address that is not public is reachable.
    pub outbound_hosts: Option<AllowedOutboundHosts>,
    /// `--grantable-dirs`, canonical: a granted directory must be one of them or under one.
    pub dir_roots: Vec<PathBuf>,
    /// Paths the host keeps for itself: no granted directory may hold one or lie inside one.
    pub protected: Vec<PathBuf>,
    /// Where this host listens (and a sidecar's proxy): refused as outbound destinations.
    pub own_addresses: OwnAddresses,
}

impl GrantPolicy {
    /// The policy protecting `paths` too (each resolved if it exists, as given otherwise).
    pub fn protecting<P: AsRef<Path>>(mut self, paths: impl IntoIterator<Item = P>) -> GrantPolicy {
        for path in paths {
            let path = path.as_ref();
            self.protected.push(path.canonicalize().unwrap_or_else(|_| path.to_path_buf()));
        }
        self
    }

    /// The canonical form of `dir` if a module may be granted it, or why not (naming the
    /// setting that would allow it).
    pub fn admit_dir(&self, dir: &Path) -> Result<PathBuf, String> {
        let canonical = dir.canonicalize().map_err(|error| format!("`{}`: {error}", dir.display()))?;
        let overlaps = |kept: &Path| canonical.starts_with(kept) || kept.starts_with(&canonical);
        if let Some(system) = SYSTEM_DIRS.iter().map(Path::new).find(|system| overlaps(system)) {
            return Err(format!(
                "`{}` is or holds {}, which exposes the host process itself; it is never granted",
                dir.display(),
                system.display()
            ));
        }
        if let Some(kept) = self.protected.iter().find(|kept| overlaps(kept)) {
            return Err(format!(
                "`{}` overlaps {}, which the host keeps for itself (data, code cache, actors or token); it is never granted",
                dir.display(),
                kept.display()
            ));
        }
        if !self.dir_roots.iter().any(|root| canonical.starts_with(root)) {
            let roots = if self.dir_roots.is_empty() {
                "the host names none".to_string()
            } else {
                self.dir_roots.iter().map(|root| root.display().to_string()).collect::<Vec<_>>().join(", ")
            };
            return Err(format!(
                "`{}` is outside every directory the host lets modules be granted ({roots}); the operator allows it with --grantable-dirs (SPAWN_WASM_GRANTABLE_DIRS)",
                dir.display()
            ));
        }
        Ok(canonical)
    }

    /// Whether the operator's list names the address `addr` for `scheme` (any port): what a
    /// module's grant of an address that is not public needs.
    pub fn names_address(&self, scheme: Scheme, addr: IpAddr) -> bool {
        self.outbound_hosts.as_ref().is_some_and(|hosts| hosts.names_address(scheme, addr, None))
    }
}

/// A root of `--grantable-dirs` as given on the command line, resolved to its canonical
/// path (which [`GrantPolicy::dir_roots`] holds); fails naming a root that does not exist.
pub fn grantable_dir(text: &str) -> Result<PathBuf, String> {
    Path::new(text).canonicalize().map_err(|error| format!("`{text}`: {error}"))
}

/// This host's listening addresses (and a sidecar's proxy's), shared by every instance and
/// filled in once each listener is bound (tests bind port 0). A leaf lock: held only to read
/// or extend the list, never across a call.
#[derive(Debug, Clone, Default)]
pub struct OwnAddresses(Arc<RwLock<Vec<SocketAddr>>>);

impl OwnAddresses {
    /// Adds `addrs`.
    pub fn add(&self, addrs: impl IntoIterator<Item = SocketAddr>) {
        self.0.write().unwrap_or_else(std::sync::PoisonError::into_inner).extend(addrs);
    }

    /// Whether connecting to `target` reaches this host (or its proxy): an exact match, or a
    /// listener on an unspecified address (`0.0.0.0`, `[::]`) and a target on its port at one
    /// of this machine's own addresses.
    pub fn contains(&self, target: SocketAddr) -> bool {
        let ip = target.ip().to_canonical();
        let own = self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        own.iter().filter(|addr| addr.port() == target.port()).any(|addr| {
            let listening = addr.ip().to_canonical();
            listening == ip || (listening.is_unspecified() && is_local(ip))
        })
    }
}

/// Whether `ip` is one of this machine's addresses: loopback, or one a socket can bind to.
fn is_local(ip: IpAddr) -> bool {
    ip.is_loopback() || ip.is_unspecified() || UdpSocket::bind(SocketAddr::new(ip, 0)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roots(dirs: &[&Path]) -> GrantPolicy {
        let dir_roots = dirs.iter().map(|dir| grantable_dir(dir.to_str().unwrap()).unwrap()).collect();
        GrantPolicy { dir_roots, ..GrantPolicy::default() }
    }

    #[test]
    fn a_directory_is_granted_only_under_a_root_and_never_around_what_the_host_keeps() {
        let root = tempfile::tempdir().unwrap();
        let inside = root.path().join("shared");
        let data = root.path().join("data");
        std::fs::create_dir_all(&inside).unwrap();
        std::fs::create_dir_all(&data).unwrap();

        let none = GrantPolicy::default();
        let refused = none.admit_dir(&inside).unwrap_err();
        assert!(refused.contains("the host names none") && refused.contains("--grantable-dirs"), "{refused}");

        let policy = roots(&[root.path()]).protecting([&data]);
        assert_eq!(policy.admit_dir(&inside).unwrap(), inside.canonicalize().unwrap());
        let around = policy.admit_dir(root.path()).unwrap_err();
        assert!(around.contains("keeps for itself"), "a directory holding the data directory: {around}");
        assert!(policy.admit_dir(&data.join(".")).unwrap_err().contains("keeps for itself"));
        let elsewhere = tempfile::tempdir().unwrap();
        assert!(policy.admit_dir(elsewhere.path()).unwrap_err().contains("outside every directory"));

        let everything = roots(&[Path::new("/")]);
        assert!(everything.admit_dir(Path::new("/")).unwrap_err().contains("/proc"), "/ holds /proc");
        assert!(everything.admit_dir(Path::new("/proc/self")).unwrap_err().contains("host process"));
    }

    #[test]
    fn a_symlink_is_judged_by_where_it_leads() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let link = root.path().join("link");
        std::os::unix::fs::symlink(outside.path(), &link).unwrap();
        let policy = roots(&[root.path()]);
        assert!(policy.admit_dir(&link).unwrap_err().contains("outside every directory"));
    }

    #[test]
    fn a_missing_root_is_named() {
        let error = grantable_dir("/no/such/root").unwrap_err();
        assert!(error.contains("/no/such/root"), "{error}");
    }

    #[test]
    fn own_addresses_match_exactly_or_by_port_on_an_unspecified_listener() {
        let own = OwnAddresses::default();
        own.add(["127.0.0.1:8800".parse().unwrap()]);
        assert!(own.contains("127.0.0.1:8800".parse().unwrap()));
        assert!(own.contains("[::ffff:127.0.0.1]:8800".parse().unwrap()), "the mapped form is the same address");
        assert!(!own.contains("127.0.0.1:8801".parse().unwrap()));
        assert!(!own.contains("127.0.0.2:8800".parse().unwrap()));

        own.add(["0.0.0.0:9000".parse().unwrap()]);
        assert!(own.contains("127.0.0.5:9000".parse().unwrap()), "any loopback address reaches 0.0.0.0");
        assert!(!own.contains("203.0.113.9:9000".parse().unwrap()), "not an address of this machine");
    }
}
