"""Alias of `spawn_wasm` (Spawn Python SDK import path)."""

from spawn_wasm.sdk import ActorRef, spawn  # noqa: F401
