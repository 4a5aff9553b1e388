"""Outbound HTTP from an action, through `wasi:http/outgoing-handler`.

The host refuses every destination the module's TOML does not grant
(`allowed_outbound_hosts` under `[grants]`); its reason reaches the caller as
`HttpError`'s message. Calls block until the whole response is read (the host bounds the
wait by the call's deadline and the body by its cap), as the Rust SDK's `http` does::

    from spawn_wasm import http

    response = http.get("http://127.0.0.1:8080/hello")
    print(response.status, response.body)
"""

from dataclasses import dataclass, field
from typing import List, Sequence, Tuple
from urllib.parse import urlsplit

# Imported when the component is built: only modules loaded then are in the component.
try:
    from componentize_py_types import Err
    from wit_world.imports import outgoing_handler, streams
    from wit_world.imports import wasi_http_types as wasi
except ImportError:  # outside a component
    wasi = None

__all__ = ["HttpError", "Response", "get", "post", "send"]

# wasi:http streams accept at most this many bytes per blocking write.
_WRITE_CHUNK = 4096
_READ_CHUNK = 64 << 10


class HttpError(Exception):
    """A request that got no response: refused by the host (with its reason), a bad URL,
    or a network or protocol error (named as wasi:http's `error-code`)."""


@dataclass
class Response:
    """A whole response: status, headers (name, value) in order, body."""

    status: int
    headers: List[Tuple[str, bytes]] = field(default_factory=list)
    body: bytes = b""

    def text(self) -> str:
        """The body decoded as UTF-8 (invalid bytes replaced)."""
        return self.body.decode("utf-8", errors="replace")


def get(url: str, headers: Sequence[Tuple[str, bytes]] = ()) -> Response:
    """`GET url`."""
    return send("GET", url, headers)


def post(url: str, body: bytes, headers: Sequence[Tuple[str, bytes]] = ()) -> Response:
    """`POST url` with `body`."""
    return send("POST", url, headers, body)


def send(method: str, url: str, headers: Sequence[Tuple[str, bytes]] = (), body: bytes = b"") -> Response:
    """Sends `method url` with `headers` and `body`, and reads the whole response."""
    if wasi is None:
        raise RuntimeError("outbound HTTP works only inside a spawn-wasm component")
    parts = urlsplit(url)
    schemes = {"http": wasi.Scheme_Http(), "https": wasi.Scheme_Https()}
    if parts.scheme not in schemes or not parts.netloc:
        raise HttpError(f"{url!r} is not an http or https URL")
    request = wasi.OutgoingRequest(wasi.Fields.from_list([(name.lower(), bytes(value)) for name, value in headers]))
    request.set_method(_method(method))
    request.set_scheme(schemes[parts.scheme])
    request.set_authority(parts.netloc)
    request.set_path_with_query(parts.path + (f"?{parts.query}" if parts.query else "") or "/")
    outgoing = request.body()
    try:
        future = outgoing_handler.handle(request, None)
    except Err as error:
        raise HttpError(_reason(error.value)) from None
    with outgoing.write() as stream:
        for start in range(0, len(body), _WRITE_CHUNK):
            stream.blocking_write_and_flush(body[start : start + _WRITE_CHUNK])
    wasi.OutgoingBody.finish(outgoing, None)

    with future:
        answer = future.get()
        while answer is None:
            with future.subscribe() as ready:
                ready.block()
            answer = future.get()
    if isinstance(answer, Err) or isinstance(answer.value, Err):
        raise HttpError(_reason(answer.value.value))
    response = answer.value.value
    with response:
        with response.headers() as fields:
            received = fields.entries()
        status = response.status()
        chunks = []
        with response.consume() as incoming, incoming.stream() as stream:
            while True:
                try:
                    chunks.append(stream.blocking_read(_READ_CHUNK))
                except Err as error:
                    if isinstance(error.value, streams.StreamError_Closed):
                        break
                    raise HttpError(_reason(error.value)) from None
    return Response(status, received, b"".join(chunks))


def _method(method: str):
    known = {
        "GET": wasi.Method_Get,
        "HEAD": wasi.Method_Head,
        "POST": wasi.Method_Post,
        "PUT": wasi.Method_Put,
        "DELETE": wasi.Method_Delete,
        "PATCH": wasi.Method_Patch,
        "OPTIONS": wasi.Method_Options,
    }
    make = known.get(method.upper())
    return make() if make is not None else wasi.Method_Other(method)


def _reason(error) -> str:
    """The host's reason for `internal-error`, else the error code's name
    (`ErrorCode::ConnectionRefused`)."""
    value = getattr(error, "value", None)
    if isinstance(value, str):
        return value
    name = type(error).__name__
    return "ErrorCode::" + name.split("_", 1)[1] if name.startswith("ErrorCode_") else repr(error)
