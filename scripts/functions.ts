import { readdirSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../infra/constructs/function-code.js";

export { BUNDLE_DIR, bundleDir, ROOT } from "../infra/constructs/function-code.js";
export const FUNCTIONS_DIR = join(ROOT, "functions");

/** Every Lambda is a folder under functions/ with a handler.ts: the folder name is the function's name. */
export function functionNames(): string[] {
  return readdirSync(FUNCTIONS_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}
