//! The WIT Python components are built against: the `actor` package with the world
//! `actor-python` (`builder/wit-python/python.wit`) and the WASI 0.2 packages it needs
//! (`builder/wit-python/deps/`, WASI's published WIT as wasmtime ships it).

use std::path::Path;

use crate::WIT;

/// The world componentize-py builds.
pub const WORLD: &str = "actor-python";

/// The staged files besides `actor.wit`: (path under the WIT directory, contents).
const FILES: &[(&str, &str)] = &[
    ("python.wit", include_str!("../wit-python/python.wit")),
    ("deps/cli.wit", include_str!("../wit-python/deps/cli.wit")),
    ("deps/clocks.wit", include_str!("../wit-python/deps/clocks.wit")),
    ("deps/filesystem.wit", include_str!("../wit-python/deps/filesystem.wit")),
    ("deps/http.wit", include_str!("../wit-python/deps/http.wit")),
    ("deps/io.wit", include_str!("../wit-python/deps/io.wit")),
    ("deps/random.wit", include_str!("../wit-python/deps/random.wit")),
    ("deps/sockets.wit", include_str!("../wit-python/deps/sockets.wit")),
];

/// Writes the WIT directory into `dir` (created).
pub fn stage(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("deps"))?;
    std::fs::write(dir.join("actor.wit"), WIT)?;
    for (path, text) in FILES {
        std::fs::write(dir.join(path), text)?;
    }
    Ok(())
}

/// Feeds every staged file to `hasher`: a change rebuilds Python components.
pub fn hash(hasher: &mut blake3::Hasher) {
    hasher.update(WIT.as_bytes());
    for (path, text) in FILES {
        hasher.update(path.as_bytes());
        hasher.update(text.as_bytes());
    }
}
