/**
 * The two messages of the Spawn protocol an actor meets without declaring them: `Noop` (no
 * payload) and `JSONType` (a JSON document, the Node SDK's `'json'` state, payload and
 * response type). Encoded with @bufbuild/protobuf's wire primitives, so that they need no
 * descriptor in the actor's `.proto` files.
 */
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

import type { MessageType } from "./protobuf.js";

/** The empty message (the Node SDK's `Noop`). Decoding ignores whatever it is given, as the
 * Node SDK's does: an action whose `payloadType` is `Noop` takes any payload, or none. */
export const Noop: MessageType<Record<string, never>> = {
  typeName: "spawn.Noop",
  create: () => ({}),
  toBinary: () => new Uint8Array(0),
  fromBinary: () => ({}),
};

/** `JSONType { string content = 1 }`. */
interface JsonDocument {
  content: string;
}

/** The JSON document message under the current proxy's name, `spawn.JSONType` (the only one
 * the proxy and the Elixir SDK recognise). */
const JsonType: MessageType<JsonDocument> = {
  typeName: "spawn.JSONType",
  create: (init) => ({ content: init?.content ?? "" }),
  toBinary(message) {
    const writer = new BinaryWriter();
    if (message.content !== "") {
      writer.tag(1, WireType.LengthDelimited).string(message.content);
    }
    return writer.finish();
  },
  fromBinary(bytes) {
    const reader = new BinaryReader(bytes);
    let content = "";
    while (reader.pos < reader.len) {
      const [field, wireType] = reader.tag();
      if (field === 1 && wireType === WireType.LengthDelimited) {
        content = reader.string();
      } else {
        reader.skip(wireType, field);
      }
    }
    return { content };
  },
};

/** The names JSON documents arrive under: the current proxy's, and the Node and Python
 * SDKs' (their protocol's older package). */
const JSON_TYPE_NAMES = new Set(["spawn.JSONType", "eigr.functions.protocol.JSONType", "eigr.functions.protocol.actors.JSONType"]);

/** Whether messages named `typeName` are JSON documents. */
export function isJsonType(typeName: string): boolean {
  return JSON_TYPE_NAMES.has(typeName);
}

/** `value` as a JSON document message: its type name and encoding. */
export function encodeJson(value: unknown, what: string): { typeName: string; bytes: Uint8Array } {
  let content: string | undefined;
  try {
    content = JSON.stringify(value);
  } catch (error) {
    throw new TypeError(`${what} cannot be written as JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (content === undefined) {
    throw new TypeError(`${what} cannot be written as JSON (${typeof value})`);
  }
  return { typeName: JsonType.typeName, bytes: JsonType.toBinary({ content }) };
}

/** The value of an encoded JSON document; an empty document is `undefined`. Throws a
 * `SyntaxError` if the content is not JSON. */
export function decodeJson(bytes: Uint8Array): unknown {
  const { content } = JsonType.fromBinary(bytes);
  return content === "" ? undefined : JSON.parse(content);
}
