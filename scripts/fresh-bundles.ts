import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { buildAllFunctions } from "./build-functions.js";
import { bundleDir, functionNames, ROOT } from "./functions.js";

/**
 * What the bundles are built from: a change to any of these (or a missing bundle) makes them stale.
 * Generous on purpose — every source folder a handler or the CLI can import, the build script itself,
 * and the lock file (a dependency upgrade changes the bundled SDK).
 */
const SOURCES = ["functions", "shared", "cli"].map((dir) => join(ROOT, dir));
const SOURCE_FILES = ["scripts/build-functions.ts", "scripts/functions.ts", "package-lock.json"].map((file) =>
  join(ROOT, file),
);

/** Every bundle `npm run build:functions` writes: one per function, and the CLI's. */
export function bundleFiles(): string[] {
  return [
    ...functionNames().map((name) => join(bundleDir(name), "index.mjs")),
    join(ROOT, "dist", "cli", "launchgate.mjs"),
  ];
}

/** Why the bundles must be rebuilt, or undefined when every one is newer than every source. */
export function staleReason(): string | undefined {
  const bundles = bundleFiles();
  const missing = bundles.find((file) => !existsSync(file));
  if (missing) return `${missing.slice(ROOT.length + 1)} is missing`;
  const oldest = Math.min(...bundles.map((file) => statSync(file).mtimeMs));
  const newer = [...SOURCES.flatMap(filesUnder), ...SOURCE_FILES.filter(existsSync)].find(
    (file) => statSync(file).mtimeMs > oldest,
  );
  return newer ? `${newer.slice(ROOT.length + 1)} changed since the last build` : undefined;
}

/**
 * Builds the bundles when missing or stale (one line on stderr says so); a failed build stops with one
 * line. Returns whether it built.
 */
export async function ensureFreshBundles(): Promise<boolean> {
  const reason = staleReason();
  if (!reason) return false;
  console.error(`launchgate: building the function bundles (${reason})`);
  try {
    await buildAllFunctions();
  } catch (error) {
    console.error(
      `launchgate: building the function bundles failed (${(error as Error).message.split("\n")[0]?.replace(/:$/, "")}): fix the error above, or run \`npm run build:functions\``,
    );
    process.exit(1);
  }
  return true;
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(path);
    return entry.isFile() ? [path] : [];
  });
}
