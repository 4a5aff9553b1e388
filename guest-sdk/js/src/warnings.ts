/**
 * Build-time warnings: what a program written for the Spawn Node SDK asks that a component
 * cannot do. componentize-js runs the program's top level (declaring the actors) at build
 * time; what it asks then that only a process could do is reported there, naming the line,
 * as `spawn-wasm build: warning: file:line: message` on standard output, which
 * `spawn-wasm build` shows. At run time the host only calls actions.
 */
import { callerInUserFiles } from "./stack.js";

/** Set by the first turn: the program is being served, no longer built. */
let serving = false;
const said = new Set<string>();

/** Called when the host starts a turn. */
export function serve(): void {
  serving = true;
}

/** Whether the program runs at build time (its top level, and what that schedules before
 * the first turn). */
export function building(): boolean {
  return !serving;
}

/** Reports `message` about the user's line calling the SDK (once per line and message). */
export function warn(message: string): void {
  const where = callerInUserFiles() ?? "(no line of your files)";
  const line = `spawn-wasm build: warning: ${where}: ${message}`;
  if (!said.has(line)) {
    said.add(line);
    console.log(line);
  }
}
