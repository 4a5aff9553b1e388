"""Entry point, in the Spawn Python SDK's style: inside a component, `start()` registers the
actors and returns."""

from spawn_wasm import Spawn

from actors import actor

if __name__ == "__main__":
    Spawn().actor_system("spawn-system").add_actor(actor).start()
