import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as lambda from "aws-cdk-lib/aws-lambda";

/**
 * The package root: the nearest folder above this file with a package.json. That is the repository
 * when this runs from source (infra/constructs/ → ../..), and the installed package when it runs compiled
 * (node_modules/launchgate/dist/lib/infra/constructs/ → ../../../..): the bundles and the bootstrap files
 * are found beside it either way.
 */
export const ROOT = packageRoot(dirname(fileURLToPath(import.meta.url)));
/** Where `npm run build` writes one bundle folder per function (functions/<name> → dist/functions/<name>). */
export const BUNDLE_DIR = join(ROOT, "dist", "functions");

export function bundleDir(functionName: string): string {
  return join(BUNDLE_DIR, functionName);
}

/**
 * Where each function's code comes from, by its folder name under functions/. What deploys is the
 * esbuild bundle; the simulated world substitutes a stand-in that names the source module it runs
 * instead, and nothing else in the template changes.
 */
export type FunctionCode = (functionName: string) => lambda.Code;

/**
 * The prebuilt bundles: shipped in the package, built in the repository by `npm run build` (and by
 * `cdk synth`/`cdk deploy` through cdk.json when missing or stale). A missing one stops synthesis with
 * the command that makes it.
 */
export const bundledCode: FunctionCode = (functionName) => {
  const dir = bundleDir(functionName);
  if (!existsSync(join(dir, "index.mjs"))) {
    throw new Error(`no bundle for function "${functionName}" in ${dir}: run \`npm run build\` first`);
  }
  return lambda.Code.fromAsset(dir);
};

function packageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return dir;
    if (dirname(dir) === dir) throw new Error(`launchgate: no package.json above ${from}`);
  }
}
