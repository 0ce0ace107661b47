import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { bundleDir, functionNames, ROOT } from "../scripts/functions.js";

/**
 * BENCH — cold import: how long a fresh Node process takes to import each deployed function bundle
 * (what Lambda's init phase does first), as a ratio to the naive baseline bundle, measured in pairs —
 * one baseline run, one function run, repeated — so a noisy machine slows both alike. The ratio is of
 * the medians. The bundles are the ones `npm run build` deploys (built again here first).
 */

export interface ColdImport {
  /** Median import time of each function over the median of the baseline's, paired runs. */
  readonly coldImportRatio: Readonly<Record<string, number>>;
  /** Everything each function deploys: its index.mjs and the chunks beside it (loaded only if imported). */
  readonly bundleKiB: Readonly<Record<string, number>>;
  readonly baselineBundleKiB: number;
  readonly baselineImportMs: number;
  readonly importMs: Readonly<Record<string, number>>;
}

/** The naive bundle: esbuild's defaults for node (CommonJS builds of dependencies), minified. */
async function buildNaive(): Promise<string> {
  const outfile = join(mkdtempSync(join(tmpdir(), "launchgate-bench-")), "naive.mjs");
  await build({
    entryPoints: [join(ROOT, "bench", "naive-handler.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    minify: true,
    outfile,
    logLevel: "error",
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
  });
  return outfile;
}

/** One fresh process importing the file; returns the import's wall time in ms, from inside. */
function importOnce(file: string): number {
  const script = `const t=process.hrtime.bigint();import(${JSON.stringify(pathToFileURL(file).href)}).then(()=>console.log(Number(process.hrtime.bigint()-t)/1e6))`;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
    env: {
      PATH: process.env.PATH,
      AWS_REGION: "eu-west-2",
      AWS_ACCESS_KEY_ID: "AKIABENCH00000000000",
      AWS_SECRET_ACCESS_KEY: "bench-not-a-secret",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      POWERTOOLS_LOG_LEVEL: "SILENT",
    },
    encoding: "utf8",
  });
  return Number(out.trim());
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};
const kib = (file: string) => statSync(file).size / 1024;
const folderKiB = (dir: string) =>
  readdirSync(dir)
    .filter((file) => file.endsWith(".mjs"))
    .reduce((sum, file) => sum + kib(join(dir, file)), 0);

export async function measureColdImport(pairs: number): Promise<ColdImport> {
  const naive = await buildNaive();
  const names = functionNames();
  const files = new Map(names.map((name) => [name, join(bundleDir(name), "index.mjs")]));
  const baseline: number[] = [];
  const times = new Map<string, number[]>(names.map((name) => [name, []]));
  for (let pair = 0; pair < pairs; pair++) {
    for (const name of names) {
      baseline.push(importOnce(naive));
      times.get(name)?.push(importOnce(files.get(name) as string));
    }
  }
  const baselineMs = median(baseline);
  return {
    coldImportRatio: Object.fromEntries(
      names.map((name) => [name, median(times.get(name) ?? []) / baselineMs]),
    ),
    importMs: Object.fromEntries(names.map((name) => [name, median(times.get(name) ?? [])])),
    bundleKiB: Object.fromEntries(names.map((name) => [name, folderKiB(bundleDir(name))])),
    baselineBundleKiB: kib(naive),
    baselineImportMs: baselineMs,
  };
}
