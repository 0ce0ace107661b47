#!/usr/bin/env node
// The launchgate operator CLI. `npm run build` bundles cli/launchgate.ts to dist/cli/launchgate.mjs.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const bundle = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "cli", "launchgate.mjs");
if (!existsSync(bundle)) {
  console.error("launchgate: the CLI is not built yet: run `npm run build` in the launchgate checkout");
  process.exit(2);
}
await import(bundle);
