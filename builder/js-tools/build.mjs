// spawn-wasm build, JavaScript side: bundles an actor with esbuild and makes it a component
// with componentize-js. Run by the `spawn-wasm-build` crate with Node.js, from the tools
// directory it installed (so that `esbuild` and `componentize-js` resolve here), with one
// argument: the path of a JSON file describing the build (see `builder/src/js.rs`).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { dirname, join, relative, resolve } from "node:path";

import { componentize } from "@bytecodealliance/componentize-js";
import * as esbuild from "esbuild";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const BUNDLE_NAME = "actor.js";

/** Fails the build with `message` on stderr. */
function fail(message) {
  process.stderr.write(message.endsWith("\n") ? message : `${message}\n`);
  process.exit(1);
}

// The SDK under both its names, the compiled descriptors, and one module per proto package.
const aliases = {
  name: "spawn-wasm",
  setup(build) {
    build.onResolve({ filter: /^(spawn-wasm|@eigr\/spawn-sdk)$/ }, () => ({ path: join(config.sdk, "index.ts") }));
    build.onResolve({ filter: /^spawn-wasm-descriptors$/ }, () => ({ path: config.descriptors }));
    build.onResolve({ filter: /^@proto\// }, (args) => {
      const name = args.path.slice("@proto/".length);
      const path = join(config.protoDir, `${name}.ts`);
      if (!existsSync(path)) {
        const known = config.protoPackages.length ? config.protoPackages.map((p) => `@proto/${p}`).join(", ") : "none";
        return { errors: [{ text: `no .proto file of package \`${name}\` was compiled (compiled: ${known})` }] };
      }
      return { path };
    });
  },
};

const bundle = join(config.staging, BUNDLE_NAME);
try {
  await esbuild.build({
    entryPoints: [config.entry],
    bundle: true,
    format: "esm",
    platform: "neutral",
    mainFields: ["module", "main"],
    target: "es2022",
    outfile: bundle,
    sourcemap: "external",
    sourcesContent: false,
    nodePaths: config.nodePaths,
    // The host's imports, which componentize-js binds.
    external: ["spawn:*", "wasi:*"],
    plugins: [aliases],
    logLevel: "silent",
    absWorkingDir: config.root,
  });
} catch (error) {
  const messages = await esbuild.formatMessages(error.errors ?? [], { kind: "error", color: false });
  fail(messages.length ? messages.join("") : String(error));
}

// The line table: each bundle line from the user's files → [file, line], put on the
// bundle's first line (so that it is there while the user's top level runs at build time,
// for the SDK's warnings) for the SDK to map stacks (guest-sdk/js/src/stack.ts), and used
// below for errors thrown while the module initialises. The bundle's lines move down by one.
const map = new SourceMap(JSON.parse(readFileSync(`${bundle}.map`, "utf8")));
const code = readFileSync(bundle, "utf8");
const sources = [];
const lines = {};
const userFile = (source) => {
  const path = resolve(dirname(bundle), source);
  if (path.includes("/node_modules/") || path.startsWith(config.sdk) || path.startsWith(config.staging)) {
    return undefined;
  }
  return relative(config.root, path);
};
code.split("\n").forEach((text, index) => {
  const column = text.search(/\S/);
  if (column < 0) return;
  const entry = map.findEntry(index, column);
  const file = entry?.originalSource && userFile(entry.originalSource);
  if (!file) return;
  let at = sources.indexOf(file);
  if (at < 0) at = sources.push(file) - 1;
  lines[index + 2] = [at, entry.originalLine + 1];
});
const table = { file: BUNDLE_NAME, sources, lines };
writeFileSync(bundle, `globalThis[Symbol.for("spawn-wasm.lines")] = ${JSON.stringify(table)};\n${code}`);

/** `text` with bundle locations written as the user's `file:line` (or dropped if not theirs). */
function mapped(text) {
  return text
    .split("\n")
    .flatMap((line) => {
      const match = /^(.*?)@?[^@\s]*actor\.js:(\d+):(\d+)\s*$/.exec(line.trim());
      if (!match) return [line];
      const at = lines[match[2]];
      return at ? [`  at ${match[1] || "<anonymous>"} (${sources[at[0]]}:${at[1]})`] : [];
    })
    .join("\n");
}

try {
  const { component } = await componentize({
    sourcePath: bundle,
    sourceName: BUNDLE_NAME,
    witPath: config.wit,
    worldName: "typed-actor",
    disableFeatures: ["fetch-event"],
  });
  writeFileSync(config.out, component);
} catch (error) {
  fail(mapped(String(error?.message ?? error)));
}
