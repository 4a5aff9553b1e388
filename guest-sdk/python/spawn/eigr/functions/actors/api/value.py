"""Alias of `spawn_wasm` (Spawn Python SDK import path)."""

from spawn_wasm.value import Value  # noqa: F401
