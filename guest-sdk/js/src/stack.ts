/**
 * An error thrown by an action, as the message the host logs and the caller receives: its
 * name, message and JS stack, with the bundle's lines mapped back to the user's files.
 *
 * `spawn-wasm build` bundles everything into one file and appends a line table to it (from
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

/** The frames of `stack` in the user's files, as `  at fn (file:line)`; `undefined` if
 * there is no line table. */
export function userFrames(stack: string): string[] | undefined {
  const lines = table();
  if (lines === undefined) {
    return undefined;
  }
  const frames: string[] = [];
  for (const frame of stack.split("\n")) {
    const match = FRAME.exec(frame.trim());
    if (match === null || !match[2].endsWith(lines.file)) {
      continue;
    }
    const mapped = lines.lines[match[3]];
    if (mapped !== undefined) {
      frames.push(`  at ${match[1] || "<anonymous>"} (${lines.sources[mapped[0]]}:${mapped[1]})`);
    }
  }
  return frames;
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
