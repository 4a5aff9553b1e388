"""Alias of `spawn_wasm` (Spawn Python SDK import path)."""

from spawn_wasm.actor import Actor  # noqa: F401
