#!/usr/bin/env node
// The launchgate operator CLI. `npm run build` bundles cli/launchgate.ts to dist/cli/launchgate.mjs.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const bundle = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "cli", "launchgate.mjs");
if (!existsSync(bundle)) {
  console.error("launchgate: the CLI is not built yet: run `npm run build` in the launchgate checkout");
  // 1, not 2: exit 2 tells scripts their command line was wrong (cli/errors.ts EXIT), and it was not.
  process.exit(1);
}
await import(bundle);
