"""The Spawn Python SDK's API, as aliases of `spawn_wasm`."""
