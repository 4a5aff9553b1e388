# syntax=docker/dockerfile:1
#
# spawn-wasm: the host binary plus the example actor components.
#
#   docker build -t spawn-wasm .
#   docker run -p 9001:9001 -v "$PWD/target/actors:/actors" spawn-wasm \
#       standalone --actors /actors --data /data --host 0.0.0.0
#
# Needs BuildKit (the default builder since Docker 23) for the cache mounts below.
# See deploy/README.md for running it beside the Spawn proxy on Kubernetes.

# ---------------------------------------------------------------------------------------------
# Builder: the toolchain the workspace asks for (rust-version = 1.95) and the guest target.
# The full (non-slim) image brings the C compiler that rusqlite's bundled SQLite needs.
# ---------------------------------------------------------------------------------------------
FROM rust:1.95-bookworm AS builder

RUN rustup target add wasm32-wasip2
# The Python examples: `spawn-wasm-build` installs componentize-py with pip into a venv.
RUN apt-get update && apt-get install -y --no-install-recommends python3-venv && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# The whole workspace: every member's manifest is needed to resolve it, and .cargo/config.toml
# holds the `xtask` alias and the guests' link flags. .dockerignore keeps target/ and .git/ out.
COPY . .

# target/ and the cargo registry are cache mounts (kept between builds, not in any layer), so
# the artefacts are copied to /out inside the same step.
# - `cargo xtask build-examples` compiles every example to target/actors/<name>.wasm
#   (its own target directory is target/guest, profile `guest`).
# - the host is built with --locked so the image gets exactly the committed Cargo.lock.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    set -eux; \
    rm -rf target/actors; \
    cargo xtask build-examples; \
    cargo build --release --locked --package spawn-wasm-host --bin spawn-wasm; \
    mkdir -p /out/examples; \
    cp target/release/spawn-wasm /out/spawn-wasm; \
    cp target/actors/*.wasm /out/examples/

# ---------------------------------------------------------------------------------------------
# Runtime: the binary only needs glibc, libm and libgcc_s, all in bookworm-slim. No
# ca-certificates: the host is built without TLS and only speaks plain HTTP (to the proxy in its
# own pod, or to its own clients in standalone mode).
# ---------------------------------------------------------------------------------------------
FROM debian:bookworm-slim

# A fixed numeric uid/gid, so that Kubernetes' runAsNonRoot can verify it and fsGroup can match.
RUN set -eux; \
    groupadd --system --gid 10001 spawn; \
    useradd --system --uid 10001 --gid spawn --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin spawn; \
    mkdir -p /actors /data /opt/spawn-wasm/examples; \
    chown spawn:spawn /actors /data

COPY --from=builder /out/spawn-wasm /usr/local/bin/spawn-wasm
# The example components (joe, router, counter, clock, caller, hostile), to try the image out:
#   docker run -p 9001:9001 -e SPAWN_WASM_TOKEN=choose-one spawn-wasm standalone --actors /opt/spawn-wasm/examples
# (standalone refuses to serve beyond loopback without a token; the console is at /console)
# `hostile` misbehaves on purpose (see the README); leave it out of real deployments.
COPY --from=builder /out/examples/ /opt/spawn-wasm/examples/

# XDG_CACHE_HOME: the compiled-code cache (both modes) defaults to $XDG_CACHE_HOME/spawn-wasm,
#   so it lands in the /data volume and restarts skip compilation.
# SPAWN_WASM_DATA / SPAWN_WASM_HOST: standalone defaults suited to a container (state in the
#   volume; listen on every interface, since 127.0.0.1 would be unreachable through -p, which
#   needs SPAWN_WASM_TOKEN: the client API and the console then require it as a bearer token).
#   Flags override them; sidecar mode reads neither (its listen address is USER_FUNCTION_HOST,
#   127.0.0.1 by default, which the proxy reaches from the same pod).
ENV HOME=/data \
    XDG_CACHE_HOME=/data/cache \
    SPAWN_WASM_DATA=/data \
    SPAWN_WASM_HOST=0.0.0.0 \
    RUST_LOG=info

USER 10001:10001
WORKDIR /data

# /actors: the user's *.wasm components (and optional <name>.toml settings), watched for changes.
# /data:   standalone state (state.db) and the compiled-code cache.
VOLUME ["/actors", "/data"]

# 8090: sidecar mode, POST /api/v1/actors/actions for the proxy (USER_FUNCTION_PORT), on
#       127.0.0.1 unless USER_FUNCTION_HOST says otherwise: the proxy calls it from the same pod.
# 9001: standalone mode, the proxy's client API (PROXY_HTTP_PORT).
# Both serve /health/liveness and /health/readiness. No HEALTHCHECK: the slim image has no HTTP
# client; use the orchestrator's HTTP probes instead (see deploy/kubernetes/standalone.yaml).
EXPOSE 8090 9001

# spawn-wasm is PID 1 and handles SIGTERM/SIGINT itself (standalone persists every active actor
# before exiting 0).
ENTRYPOINT ["spawn-wasm"]
CMD ["sidecar", "--actors", "/actors"]
