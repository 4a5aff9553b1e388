"""The entry point, as in the Spawn Python SDK: inside a component, `start()` registers the
actors with the component and returns (the host serves them)."""

from spawn.eigr.functions.actors.api.sdk import Spawn

from abs_actor import abstract as abs_actor
from joe import actor as joe_actor

if __name__ == "__main__":
    spawn = Spawn()
    spawn.port(8091).proxy_port(9003).actor_system("spawn-system").add_actor(joe_actor).add_actor(abs_actor).start()
