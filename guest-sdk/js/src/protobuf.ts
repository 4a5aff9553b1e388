/**
 * Protobuf inside the component: the messages of the `.proto` files `spawn-wasm build`
 * compiled (their descriptor set is embedded), packed as `google.protobuf.Any` and decoded
 * by type URL with @bufbuild/protobuf.
 */
import { create, createFileRegistry, fromBinary, toBinary, type DescMessage } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { DESCRIPTORS } from "spawn-wasm-descriptors";

/** A message type: what `@proto/<package>` modules export for each message, and what the
 * Node SDK's protobuf-ts types also are (any object with these members works). */
export interface MessageType<T extends object = any> {
  /** The fully qualified name, e.g. `domain.Request`. */
  readonly typeName: string;
  /** A message of this type from its fields (missing ones take their defaults). */
  create(init?: Partial<T>): T;
  toBinary(message: T): Uint8Array;
  fromBinary(bytes: Uint8Array): T;
}

/** The Node SDK's explicit payload: a message and its type. */
export interface PayloadRef<T extends object = any> {
  ref: MessageType<T>;
  instance: T;
}

/** A `google.protobuf.Any` as the host passes it. */
export interface Any {
  typeUrl: string;
  value: Uint8Array;
}

/** A payload or state that cannot be decoded as the message expected. */
export class BadPayload extends Error {}

const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, DESCRIPTORS));
const types = new Map<string, MessageType>();

function schemaType<T extends object>(schema: DescMessage): MessageType<T> {
  return {
    typeName: schema.typeName,
    create: (init) => create(schema, init as never) as unknown as T,
    toBinary: (message) => toBinary(schema, create(schema, message as never)),
    fromBinary: (bytes) => fromBinary(schema, bytes) as unknown as T,
  };
}

/** The type of the message `typeName` (e.g. `domain.Request`) of the compiled `.proto` files. */
export function messageType<T extends object = any>(typeName: string): MessageType<T> {
  let type = types.get(typeName);
  if (type === undefined) {
    const schema = registry.getMessage(typeName);
    if (schema === undefined) {
      throw new Error(`no message ${typeName} in the compiled .proto files`);
    }
    type = schemaType(schema);
    types.set(typeName, type);
  }
  return type as MessageType<T>;
}

/** A message of `type` with `value`'s fields, ready to send (the Node SDK's `payloadFor`). */
export function payloadFor<T extends object>(type: MessageType<T>, value: Partial<T>): PayloadRef<T> {
  return { ref: type, instance: type.create(value) };
}

function isPayloadRef(value: unknown): value is PayloadRef {
  return typeof value === "object" && value !== null && "ref" in value && "instance" in value;
}

/** The type a value says it has: a message made by `create` carries its name. */
function ownType(value: object): MessageType | undefined {
  const name = (value as { $typeName?: unknown }).$typeName;
  return typeof name === "string" ? messageType(name) : undefined;
}

const PREFIX = "type.googleapis.com/";

/** Packs `value` (a message, a `PayloadRef`, or plain fields of `type`) as an `Any`;
 * `undefined` stays `undefined`. */
export function pack(value: unknown, type?: MessageType, what = "a message"): Any | undefined {
  if (value === undefined || value === null) {
    return undefined;
  }
  if (isPayloadRef(value)) {
    return { typeUrl: PREFIX + value.ref.typeName, value: value.ref.toBinary(value.ref.create(value.instance)) };
  }
  if (typeof value !== "object") {
    throw new TypeError(`${what} must be a protobuf message, not ${typeof value}`);
  }
  const actual = ownType(value) ?? type;
  if (actual === undefined) {
    throw new TypeError(
      `${what} has no message type: create it with its type (Type.create({...})), use payloadFor(Type, {...}), or declare the type (stateType, responseType)`,
    );
  }
  return { typeUrl: PREFIX + actual.typeName, value: actual.toBinary(actual.create(value)) };
}

/** The message name of a type URL. */
export function typeNameOf(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf("/") + 1);
}

/** Decodes `any` as `expected` (checking its type URL), or as the type its URL names. */
export function unpack(any: Any, expected?: MessageType): object {
  const name = typeNameOf(any.typeUrl);
  if (expected !== undefined && expected.typeName !== name) {
    throw new BadPayload(`expected ${expected.typeName}, got ${name}`);
  }
  let type = expected;
  if (type === undefined) {
    try {
      type = messageType(name);
    } catch {
      throw new BadPayload(`unknown message type ${name}: add its .proto file to the actor`);
    }
  }
  try {
    return type.fromBinary(any.value);
  } catch (error) {
    throw new BadPayload(`cannot decode ${name}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The encoded `FileDescriptorSet` of the compiled `.proto` files (the `descriptors` export). */
export function descriptorSet(): Uint8Array {
  return DESCRIPTORS;
}
