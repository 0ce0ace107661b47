import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename } from "node:path";

/**
 * A package-lock.json for a fresh project that depends on the packed launchgate tarball, so that
 * `npm ci --offline` installs it from npm's local cache alone — no registry, no network. npm's cache
 * holds the tarballs of every package in the repository's lock (`npm ci` put them there), but not the
 * registry metadata a plain `npm install` needs to pick versions; a lock file names exact versions and
 * tarballs, so the install needs nothing else.
 *
 * The tree is the repository's own (same versions, same layout), cut down to what the project and the
 * tarball's package.json ask for: each dependency is resolved the way Node and npm resolve it (the
 * nearest node_modules up the tree), and one the repository's lock cannot provide fails here, by name.
 */

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [key: string]: unknown;
}

interface Manifest {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  bin?: Record<string, string>;
  engines?: Record<string, string>;
  license?: string;
}

export function offlineLock(options: {
  /** The repository's package-lock.json. */
  readonly repositoryLock: string;
  /** The fresh project's package.json, whose `launchgate` dependency is `file:<tarball name>`. */
  readonly project: Manifest;
  /** The packed package's own package.json (from the tarball). */
  readonly packed: Manifest;
  /** Path of the tarball, beside the project's package.json. */
  readonly tarball: string;
}): object {
  const repository = JSON.parse(readFileSync(options.repositoryLock, "utf8")) as {
    packages: Record<string, LockEntry>;
  };
  const { packed, project } = options;
  const packages: Record<string, LockEntry> = {
    "": {
      name: project.name,
      dependencies: project.dependencies,
      devDependencies: project.devDependencies,
    },
    "node_modules/launchgate": {
      version: packed.version,
      resolved: `file:${basename(options.tarball)}`,
      integrity: `sha512-${createHash("sha512").update(readFileSync(options.tarball)).digest("base64")}`,
      license: packed.license,
      dependencies: packed.dependencies,
      peerDependencies: packed.peerDependencies,
      bin: packed.bin,
      engines: packed.engines,
    },
  };
  const pending: [from: string, name: string, optional: boolean][] = [];
  const want = (from: string, entry: LockEntry | Manifest) => {
    for (const name of Object.keys(entry.dependencies ?? {})) pending.push([from, name, false]);
    for (const name of Object.keys((entry as LockEntry).optionalDependencies ?? {})) {
      pending.push([from, name, true]);
    }
    // npm installs peers too (unless marked optional), next to the package that needs them.
    for (const name of Object.keys(entry.peerDependencies ?? {})) {
      pending.push([from, name, entry.peerDependenciesMeta?.[name]?.optional === true]);
    }
  };
  want("", { ...project, dependencies: { ...project.dependencies, ...project.devDependencies } });
  want("node_modules/launchgate", packed);

  while (pending.length > 0) {
    const [from, name, optional] = pending.pop() as [string, string, boolean];
    if (from === "" && name === "launchgate") continue;
    if (resolveIn(packages, from, name)) continue;
    const found = resolveIn(repository.packages, from, name);
    if (!found) {
      if (optional) continue;
      throw new Error(`dependency ${name} of ${from || "the project"} is not in the repository's lock`);
    }
    if (packages[found]) continue;
    const {
      dev: _dev,
      devOptional: _devOptional,
      peer: _peer,
      ...entry
    } = repository.packages[found] as LockEntry;
    packages[found] = entry;
    want(found, entry);
  }
  return { name: project.name, lockfileVersion: 3, requires: true, packages };
}

/** Where `name` resolves from the package at `from`: its own node_modules, then each one above it. */
function resolveIn(packages: Record<string, unknown>, from: string, name: string): string | undefined {
  let dir = from;
  for (;;) {
    const candidate = dir === "" ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (dir === "") return undefined;
    const up = dir.lastIndexOf("/node_modules/");
    dir = up === -1 ? "" : dir.slice(0, up);
  }
}
