"""Alias of `spawn_wasm` (Spawn Python SDK import path)."""

from spawn_wasm.metadata import Metadata  # noqa: F401
