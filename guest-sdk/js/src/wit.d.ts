// The host's `runtime` import (`wit/actor.wit`), as componentize-js presents it: records
// are objects with camelCase fields, `option` is `undefined`, `u64`/`s64` are BigInt, a
// `result` error is thrown.
declare module "spawn:actor/runtime@0.2.0" {
  export interface Any {
    typeUrl: string;
    value: Uint8Array;
  }
  export type LogLevel = "trace" | "debug" | "info" | "warn" | "error";
  export interface InvokeRequest {
    actor: string;
    action: string;
    payload: Any | undefined;
    metadata: Array<[string, string]>;
    async: boolean;
    scheduledTo: bigint | undefined;
    registerRef: string | undefined;
  }
  export function log(level: LogLevel, message: string): void;
  export function invoke(request: InvokeRequest): Any | undefined;
  export function spawn(name: string, parent: string): void;
}

// The descriptors `spawn-wasm build` compiles from the actor's `.proto` files.
declare module "spawn-wasm-descriptors" {
  /** An encoded `google.protobuf.FileDescriptorSet`. */
  export const DESCRIPTORS: Uint8Array;
}
