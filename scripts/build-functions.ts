import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { type BuildOptions, build, type Metafile, type Plugin } from "esbuild";
import {
  builtinsViaRequire,
  clientVersionOnly,
  commandsInBundle,
  idleClients,
  onlyReachableErrors,
  sourceWords,
  withoutIdleClients,
} from "./build-functions-plugins.js";
import { bundleDir, FUNCTIONS_DIR, functionNames, ROOT } from "./functions.js";

/**
 * Bundles each Lambda on its own (only what its handler imports) for the nodejs22.x runtime, and the
 * operator CLI for the operator's Node (>= 20). The AWS SDK is bundled, not taken from the runtime, so
 * the deployed code runs exactly the versions in package-lock.json.
 *
 * What keeps a cold start short (measured by `npm run bench`):
 * - ES module builds of dependencies first (`mainFields`): esbuild can tree-shake those, while a
 *   package's CommonJS build comes in whole — the SDK's alone nearly doubles a bundle.
 * - In Lambda, credentials come from the environment only (shared/aws/environment-credentials.ts).
 * - Only the SDK clients a function sends something through: the shared wiring names every client,
 *   and a function reaching none of a service's operations gets a stand-in that can send nothing.
 * - Each SDK client registers only the errors the function's operations can meet, not all of its
 *   service's (scripts/build-functions-plugins.ts): SSM alone has 140 error classes and schemas.
 * - Code reached only through a dynamic import (the SDK's event streams) in a chunk of its own.
 * - Node built-ins through `require`: importing one as an ES module reads every export at load, some
 *   of them lazy getters that do real work (stdin, WebCrypto).
 * - No source maps at run time: Node would parse a megabyte of map on every cold start. Identifiers
 *   are kept instead, so a stack trace names real functions; the maps are written to
 *   dist/sourcemaps/ (outside the deployed assets) for mapping a line by hand.
 */

/** What every bundle shares: ESM, tree-shaken, whitespace and syntax minified, names kept. */
const COMMON: BuildOptions = {
  bundle: true,
  platform: "node",
  format: "esm",
  mainFields: ["module", "main"],
  minifyWhitespace: true,
  minifySyntax: true,
  treeShaking: true,
  sourcemap: "external",
  sourcesContent: false,
  legalComments: "none",
  logLevel: "warning",
  // Some bundled CommonJS dependencies call require(); give ESM output a real one.
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
};

/** Swaps the SDK's default credential chain for the environment-only provider (Lambda bundles only). */
const environmentCredentialsOnly: Plugin = {
  name: "environment-credentials-only",
  setup(builder) {
    builder.onResolve({ filter: /^@aws-sdk\/credential-provider-node$/ }, () => ({
      path: join(ROOT, "shared", "aws", "environment-credentials.ts"),
    }));
  },
};

export const SOURCEMAP_DIR = join(ROOT, "dist", "sourcemaps");

interface Bundle {
  readonly name: string;
  /** Every file it deploys, its entry and any chunk loaded on demand. */
  readonly bytes: number;
}

/** Writes one bundle, then moves its source maps to SOURCEMAP_DIR (`<name>.mjs.map`, `<name>.<chunk>.map`). */
async function bundle(name: string, entry: string, outfile: string, options: BuildOptions): Promise<Bundle> {
  const outdir = dirname(outfile);
  const split = options.splitting === true;
  const { metafile } = await build({
    ...COMMON,
    ...options,
    entryPoints: split ? { [basename(outfile, ".mjs")]: entry } : [entry],
    ...(split ? { outdir, outExtension: { ".js": ".mjs" }, chunkNames: "lazy-[hash]" } : { outfile }),
    metafile: true,
  });
  mkdirSync(SOURCEMAP_DIR, { recursive: true });
  for (const old of readdirSync(SOURCEMAP_DIR)) {
    if (old.startsWith(`${name}.`)) rmSync(join(SOURCEMAP_DIR, old));
  }
  const reachable = reachableFrom(metafile, outfile);
  let bytes = 0;
  for (const output of Object.keys(metafile.outputs)) {
    const file = resolve(output);
    const code = file.replace(/\.map$/, "");
    if (!reachable.has(code)) {
      rmSync(file);
      continue;
    }
    if (!file.endsWith(".map")) {
      bytes += statSync(file).size;
      continue;
    }
    const chunk = basename(file) === `${basename(outfile)}.map` ? "mjs.map" : basename(file);
    renameSync(file, join(SOURCEMAP_DIR, `${name}.${chunk}`));
  }
  return { name, bytes };
}

/**
 * The files the entry can load, statically or on demand. esbuild also writes chunks for dynamic
 * imports that tree shaking then removed (the SDK's browser user-agent parser): nothing imports them.
 */
function reachableFrom(metafile: Metafile, entry: string): Set<string> {
  const reachable = new Set<string>();
  const visit = (file: string) => {
    if (reachable.has(file)) return;
    reachable.add(file);
    const output = Object.entries(metafile.outputs).find(([path]) => resolve(path) === file)?.[1];
    for (const imported of output?.imports ?? []) {
      if (!imported.external) visit(resolve(imported.path));
    }
  };
  visit(resolve(entry));
  return reachable;
}

/** The sources a Lambda bundle is built from: an error they name is always kept. */
const LAMBDA_SOURCES = [join(ROOT, "functions"), join(ROOT, "shared")];

/**
 * The bundle of one function: what `npm run build` deploys, and what the bench measures. A first,
 * unwritten pass finds the SDK commands the handler reaches; the second keeps only their errors, and
 * leaves out the clients it sends nothing through.
 * Code only reached through a dynamic import (the SDK's event-stream support, which no operation
 * here uses) goes to a chunk beside index.mjs, loaded only if ever imported.
 */
export async function buildFunction(name: string): Promise<Bundle> {
  const outdir = bundleDir(name);
  const entry = join(FUNCTIONS_DIR, name, "handler.ts");
  const plugins = [environmentCredentialsOnly, builtinsViaRequire, clientVersionOnly];
  const { metafile } = await build({
    ...COMMON,
    target: "node22",
    plugins,
    entryPoints: [entry],
    outfile: join(outdir, "index.mjs"),
    write: false,
    metafile: true,
  });
  const commands = commandsInBundle(metafile, process.cwd());
  rmSync(outdir, { recursive: true, force: true });
  return bundle(name, entry, join(outdir, "index.mjs"), {
    target: "node22",
    splitting: true,
    plugins: [
      ...plugins,
      withoutIdleClients(idleClients(metafile, process.cwd())),
      onlyReachableErrors(commands, sourceWords(LAMBDA_SOURCES)),
    ],
  });
}

function buildCli(): Promise<Bundle> {
  return bundle(
    "launchgate-cli",
    join(ROOT, "cli", "launchgate.ts"),
    join(ROOT, "dist", "cli", "launchgate.mjs"),
    {
      target: "node20",
    },
  );
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

/** Builds every function and the CLI; returns one line per bundle with its size. */
export async function buildAllFunctions(): Promise<string[]> {
  const results = await Promise.all([...functionNames().map(buildFunction), buildCli()]);
  return results.map(({ name, bytes }) => `  ${name.padEnd(20)} ${kib(bytes).padStart(11)}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log("bundles (functions: nodejs22.x; cli: node20; esm; source maps in dist/sourcemaps):");
  console.log((await buildAllFunctions()).join("\n"));
}
