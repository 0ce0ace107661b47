import { rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { bundleDir, FUNCTIONS_DIR, functionNames, ROOT } from "./functions.js";

/**
 * Bundles each Lambda on its own (only what its handler imports) for the nodejs22.x runtime, and the
 * operator CLI for the operator's Node (>= 20). The AWS SDK is bundled, not taken from the runtime, so
 * the deployed code runs exactly the versions in package-lock.json.
 */

/** What every bundle shares: ESM, minified, tree-shaken, external source maps, a real `require`. */
const COMMON = {
  bundle: true,
  platform: "node",
  format: "esm",
  minify: true,
  treeShaking: true,
  sourcemap: true,
  sourcesContent: false,
  legalComments: "none",
  logLevel: "warning",
  // Some bundled CommonJS dependencies call require(); give ESM output a real one.
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
} as const;

interface Bundle {
  readonly name: string;
  readonly bytes: number;
  readonly mapBytes: number;
}

async function bundle(name: string, entry: string, outfile: string, target: string): Promise<Bundle> {
  await build({ ...COMMON, entryPoints: [entry], outfile, target });
  return { name, bytes: statSync(outfile).size, mapBytes: statSync(`${outfile}.map`).size };
}

function buildFunction(name: string): Promise<Bundle> {
  const outdir = bundleDir(name);
  rmSync(outdir, { recursive: true, force: true });
  return bundle(name, join(FUNCTIONS_DIR, name, "handler.ts"), join(outdir, "index.mjs"), "node22");
}

function buildCli(): Promise<Bundle> {
  return bundle(
    "cli (launchgate)",
    join(ROOT, "cli", "launchgate.ts"),
    join(ROOT, "dist", "cli", "launchgate.mjs"),
    "node20",
  );
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

/** Builds every function and the CLI; returns one line per bundle with its size. */
export async function buildAllFunctions(): Promise<string[]> {
  const results = await Promise.all([...functionNames().map(buildFunction), buildCli()]);
  return results.map(
    ({ name, bytes, mapBytes }) =>
      `  ${name.padEnd(20)} ${kib(bytes).padStart(11)}   (source map ${kib(mapBytes)})`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log("bundles (functions: nodejs22.x; cli: node20; esm, minified):");
  console.log((await buildAllFunctions()).join("\n"));
}
