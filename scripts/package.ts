import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { ensureFreshBundles } from "./fresh-bundles.js";
import { ROOT } from "./functions.js";

/**
 * `npm run package` (and `npm pack`'s prepack): everything the package ships that is built — the
 * function bundles and the CLI (rebuilt only when stale) and the construct library, compiled to
 * dist/lib with its type declarations by tsconfig.lib.json.
 */
await ensureFreshBundles();
const lib = join(ROOT, "dist", "lib");
rmSync(lib, { recursive: true, force: true });
const tsc = spawnSync(
  process.execPath,
  [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.lib.json"],
  {
    cwd: ROOT,
    stdio: "inherit",
  },
);
if (tsc.status !== 0) {
  console.error("launchgate: compiling the library (tsconfig.lib.json) failed");
  process.exit(tsc.status ?? 1);
}
console.error("launchgate: packaged dist/functions, dist/cli and dist/lib");
