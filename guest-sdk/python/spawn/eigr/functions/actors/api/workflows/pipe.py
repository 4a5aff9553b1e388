"""Alias of `spawn_wasm` (Spawn Python SDK import path)."""

from spawn_wasm.value import Pipe  # noqa: F401
