import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Repository root, whichever script or test asks. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const FUNCTIONS_DIR = join(ROOT, "functions");
export const BUNDLE_DIR = join(ROOT, "dist", "functions");

/** Every Lambda is a folder under functions/ with a handler.ts: the folder name is the function's name. */
export function functionNames(): string[] {
  return readdirSync(FUNCTIONS_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

/** Where the bundle for `name` is written; the CDK app deploys this folder as the function's code. */
export function bundleDir(name: string): string {
  return join(BUNDLE_DIR, name);
}
