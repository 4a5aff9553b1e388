"""Compatibility package: the Spawn Python SDK's import paths, aliases of `spawn_wasm`."""
