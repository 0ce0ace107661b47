import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as lambda from "aws-cdk-lib/aws-lambda";

/** Repository root, for the build outputs the stack deploys and the files it embeds. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
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

/** The bundles `npm run build` wrote; a missing one stops synthesis with the command that makes it. */
export const bundledCode: FunctionCode = (functionName) => {
  const dir = bundleDir(functionName);
  if (!existsSync(join(dir, "index.mjs"))) {
    throw new Error(`no bundle for function "${functionName}" in ${dir}: run \`npm run build\` first`);
  }
  return lambda.Code.fromAsset(dir);
};
