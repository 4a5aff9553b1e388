"""Alias of `spawn_wasm` (Spawn Python SDK import path)."""

from spawn_wasm.actor import ActorSettings, Channel, Kind  # noqa: F401
