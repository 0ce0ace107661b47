import { mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type BuildOptions, build, type Plugin } from "esbuild";
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
  readonly bytes: number;
}

async function bundle(name: string, entry: string, outfile: string, options: BuildOptions): Promise<Bundle> {
  await build({ ...COMMON, ...options, entryPoints: [entry], outfile });
  mkdirSync(SOURCEMAP_DIR, { recursive: true });
  renameSync(`${outfile}.map`, join(SOURCEMAP_DIR, `${name}.mjs.map`));
  return { name, bytes: statSync(outfile).size };
}

/** The bundle of one function: what `npm run build` deploys, and what the bench measures. */
export function buildFunction(name: string): Promise<Bundle> {
  const outdir = bundleDir(name);
  rmSync(outdir, { recursive: true, force: true });
  return bundle(name, join(FUNCTIONS_DIR, name, "handler.ts"), join(outdir, "index.mjs"), {
    target: "node22",
    plugins: [environmentCredentialsOnly],
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
