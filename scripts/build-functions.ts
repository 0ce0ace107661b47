import { rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { bundleDir, FUNCTIONS_DIR, functionNames, ROOT } from "./functions.js";

/**
 * Bundles each Lambda on its own (only what its handler imports) for the nodejs22.x runtime: ESM,
 * minified, tree-shaken, with source maps. The AWS SDK is bundled, not taken from the runtime, so the
 * deployed code runs exactly the versions in package-lock.json.
 */
async function buildFunction(name: string): Promise<{ name: string; bytes: number; mapBytes: number }> {
  const outdir = bundleDir(name);
  rmSync(outdir, { recursive: true, force: true });
  await build({
    entryPoints: [join(FUNCTIONS_DIR, name, "handler.ts")],
    outfile: join(outdir, "index.mjs"),
    bundle: true,
    platform: "node",
    target: "node22",
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
  });
  return {
    name,
    bytes: statSync(join(outdir, "index.mjs")).size,
    mapBytes: statSync(join(outdir, "index.mjs.map")).size,
  };
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

/** The operator CLI, bundled like a function but for the operator's Node (>= 20). */
async function buildCli(): Promise<{ name: string; bytes: number; mapBytes: number }> {
  const outfile = join(ROOT, "dist", "cli", "launchgate.mjs");
  await build({
    entryPoints: [join(ROOT, "cli", "launchgate.ts")],
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    legalComments: "none",
    logLevel: "warning",
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
  });
  return {
    name: "cli (launchgate)",
    bytes: statSync(outfile).size,
    mapBytes: statSync(`${outfile}.map`).size,
  };
}

/** Builds every function; returns one line per bundle with its size. */
export async function buildAllFunctions(): Promise<string[]> {
  const results = await Promise.all([...functionNames().map(buildFunction), buildCli()]);
  return results.map(
    ({ name, bytes, mapBytes }) =>
      `  ${name.padEnd(20)} ${kib(bytes).padStart(11)}   (source map ${kib(mapBytes)})`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log("function bundles (nodejs22.x, esm, minified):");
  console.log((await buildAllFunctions()).join("\n"));
}
