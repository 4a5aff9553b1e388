"""Protobuf messages as `google.protobuf.Any`: packing, unpacking by type URL, and the
descriptor set of every message module the component imported (which the host uses to show
states and replies as JSON and to accept JSON input)."""

import os
import sys

os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")

from google.protobuf import descriptor as _descriptor  # noqa: E402
from google.protobuf import descriptor_pool as _descriptor_pool  # noqa: E402
from google.protobuf import message as _message  # noqa: E402
from google.protobuf import message_factory as _message_factory  # noqa: E402

TYPE_URL_PREFIX = "type.googleapis.com/"

Message = _message.Message


class BadPayload(Exception):
    """A payload or state that is not the expected message, or cannot be decoded."""


def type_url(message):
    """`type.googleapis.com/<full name>` of `message` (an instance or a class)."""
    return TYPE_URL_PREFIX + message.DESCRIPTOR.full_name


def full_name(url):
    """The message name a type URL refers to (prefix and leading dot removed)."""
    return url.rsplit("/", 1)[-1].lstrip(".")


def _normal(url):
    return full_name(url).replace("_", "").lower()


def same_type(a, b):
    """Whether two type URLs name the same message, tolerantly (as the proxy rewrites them)."""
    return _normal(a) == _normal(b)


def message_class(url):
    """The message class of a type URL, from the messages this component imported."""
    name = full_name(url)
    try:
        descriptor = _descriptor_pool.Default().FindMessageTypeByName(name)
    except KeyError:
        raise BadPayload(f"unknown message type {name}: import its _pb2 module") from None
    return _message_factory.GetMessageClass(descriptor)


def pack(message, any_class):
    """`message` as an `any_class(type_url, value)` record."""
    if not isinstance(message, Message):
        raise TypeError(f"expected a protobuf message, got {type(message).__name__}")
    return any_class(type_url=type_url(message), value=message.SerializeToString())


def unpack(any_value, expected=None):
    """Decodes an Any record as `expected` (a message class) or, without it, as the class its
    type URL names."""
    if expected is None:
        expected = message_class(any_value.type_url)
    elif not same_type(any_value.type_url, type_url(expected)):
        raise BadPayload(f"expected {expected.DESCRIPTOR.full_name}, got {full_name(any_value.type_url)}")
    message = expected()
    try:
        message.ParseFromString(bytes(any_value.value))
    except Exception as error:  # DecodeError and friends
        raise BadPayload(f"cannot decode {expected.DESCRIPTOR.full_name}: {error}") from None
    return message


def _encode_varint(value):
    out = bytearray()
    while True:
        bits = value & 0x7F
        value >>= 7
        if value:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


def descriptor_set():
    """An encoded `google.protobuf.FileDescriptorSet` of every file of every imported
    `*_pb2` module and their dependencies, dependencies first."""
    files = []
    seen = set()

    def visit(file):
        if file.name in seen:
            return
        seen.add(file.name)
        for dependency in file.dependencies:
            visit(dependency)
        files.append(file)

    for name in sorted(sys.modules):
        module = sys.modules.get(name)
        file = getattr(module, "DESCRIPTOR", None)
        if isinstance(file, _descriptor.FileDescriptor):
            visit(file)
    out = bytearray()
    for file in files:
        serialized = file.serialized_pb
        # FileDescriptorSet.file = 1, length-delimited.
        out += b"\x0a" + _encode_varint(len(serialized)) + serialized
    return bytes(out)
