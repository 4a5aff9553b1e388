"""Workflows: broadcast, effect, forward, pipe."""
