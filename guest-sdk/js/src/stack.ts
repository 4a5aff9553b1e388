/**
 * An error thrown by an action, as the message the host logs and the caller receives: its
 * name, message and JS stack, with the bundle's lines mapped back to the user's files.
 *
 * `spawn-wasm build` bundles everything into one file and puts a line table before it (from
 * esbuild's source map): for each bundle line from the user's sources, the file and line it
 * came from. Frames of the SDK and of libraries are left out.
 */

interface LineTable {
  /** The bundle's file name as it appears in stacks. */
  file: string;
  /** The user's source files. */
  sources: string[];
  /** Bundle line → [source index, line in that source]. */
  lines: Record<string, [number, number]>;
}

const TABLE = Symbol.for("spawn-wasm.lines");

function table(): LineTable | undefined {
  return (globalThis as Record<symbol, LineTable | undefined>)[TABLE];
}

const FRAME = /^(.*)@(.*):(\d+):(\d+)$/;

/** A frame of a stack in one of the user's files. */
interface UserFrame {
  /** The function, or `<anonymous>`. */
  fn: string;
  /** `file:line`, the file relative to the project. */
  at: string;
}

/** The frames of `stack` in the user's files; `undefined` if there is no line table. */
function framesIn(stack: string): UserFrame[] | undefined {
  const lines = table();
  if (lines === undefined) {
    return undefined;
  }
  const frames: UserFrame[] = [];
  for (const frame of stack.split("\n")) {
    const match = FRAME.exec(frame.trim());
    if (match === null || !match[2].endsWith(lines.file)) {
      continue;
    }
    const mapped = lines.lines[match[3]];
    if (mapped !== undefined) {
      frames.push({ fn: match[1] || "<anonymous>", at: `${lines.sources[mapped[0]]}:${mapped[1]}` });
    }
  }
  return frames;
}

/** The frames of `stack` in the user's files, as `  at fn (file:line)`; `undefined` if
 * there is no line table. */
export function userFrames(stack: string): string[] | undefined {
  return framesIn(stack)?.map((frame) => `  at ${frame.fn} (${frame.at})`);
}

/** `file:line` of the innermost frame in the user's files of the code calling this, if any. */
export function callerInUserFiles(): string | undefined {
  return framesIn(new Error().stack ?? "")?.[0]?.at;
}

/** `Name: message` and the stack of `error`. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) {
    return `thrown: ${typeof error === "string" ? error : safeJson(error)}`;
  }
  const head = error.message ? `${error.name}: ${error.message}` : error.name;
  const stack = error.stack ?? "";
  const frames = userFrames(stack) ?? stack.split("\n").filter((line) => line.trim() !== "").map((line) => `  at ${line}`);
  return [head, ...frames].join("\n");
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
