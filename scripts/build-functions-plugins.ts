import { existsSync, readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, resolve } from "node:path";
import type { Metafile, Plugin } from "esbuild";

/**
 * The esbuild plugins that keep a Lambda bundle's cold import short (scripts/build-functions.ts uses
 * them; `npm run bench` measures the result). Neither changes what the code does.
 */

const BUILTINS = new Set(builtinModules);

/**
 * Node built-ins through `require`, not `import`. An ES module importing a built-in gets a namespace
 * facade that reads every export once at link time, and some are lazy getters that then do real work
 * on every cold start (`process.stdin` opens a stream, `crypto.webcrypto` loads WebCrypto,
 * `fs.ReadStream` loads the streams). Through `require` (the bundle's banner defines one) each export
 * is read where it is used, as it is in the CommonJS code Lambda's own runtime loads. Same modules,
 * same objects.
 */
export const builtinsViaRequire: Plugin = {
  name: "builtins-via-require",
  setup(builder) {
    builder.onResolve({ filter: /^(node:)?[a-z_]+(\/[a-z_]+)?$/ }, (args) => {
      const bare = args.path.replace(/^node:/, "");
      if (!BUILTINS.has(bare)) return undefined;
      // The stand-in's own require: the real built-in, left to Node.
      if (args.namespace === "node-builtin") return { path: `node:${bare}`, external: true };
      return { path: bare, namespace: "node-builtin" };
    });
    builder.onLoad({ filter: /.*/, namespace: "node-builtin" }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(`node:${args.path}`)});`,
      loader: "js",
    }));
  },
};

/**
 * Errors kept whatever the operations: what any AWS API may answer (throttling, access, a fault on its
 * side), whether or not the service's model lists it for the operation.
 */
const ANY_OPERATION =
  /^(Throttling|AccessDenied|InternalServer|InternalFailure|ServiceUnavailable|RequestLimitExceeded|TooManyRequests)/;

/** A client package's folder and the operations (command class names) one bundle sends through it. */
export type CommandsByClient = ReadonlyMap<string, ReadonlySet<string>>;

const COMMAND_FILE = /^(.*\/@aws-sdk\/client-[a-z0-9-]+)\/dist-es\/commands\/([A-Za-z0-9]+Command)\.js$/;

/** The SDK commands a bundle holds (what tree shaking left of its inputs), by client package folder. */
export function commandsInBundle(metafile: Metafile, workingDir: string): CommandsByClient {
  const byClient = new Map<string, Set<string>>();
  const inOutput = Object.values(metafile.outputs).flatMap((output) =>
    Object.entries(output.inputs)
      .filter(([, { bytesInOutput }]) => bytesInOutput > 0)
      .map(([input]) => input),
  );
  for (const input of inOutput) {
    const match = COMMAND_FILE.exec(resolve(workingDir, input));
    if (!match) continue;
    const [, packageDir, command] = match as unknown as [string, string, string];
    const commands = byClient.get(packageDir) ?? new Set<string>();
    commands.add(command);
    byClient.set(packageDir, commands);
  }
  return byClient;
}

/** The errors the service's model lists for one operation (its `@throws` in the command's typings). */
export function modelledErrors(packageDir: string, command: string): string[] {
  const typings = join(packageDir, "dist-types", "commands", `${command}.d.ts`);
  if (!existsSync(typings)) throw new Error(`build: no typings for ${command} in ${packageDir}`);
  return [...readFileSync(typings, "utf8").matchAll(/@throws \{@link (\w+)\}/g)].map((m) => m[1] as string);
}

/** Every word in the Lambda sources: an error named there (a check on its name or class) is kept. */
export function sourceWords(dirs: readonly string[]): ReadonlySet<string> {
  const words = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".ts"))
        for (const [word] of readFileSync(path, "utf8").matchAll(/\w+/g)) words.add(word);
    }
  };
  for (const dir of dirs) if (existsSync(dir)) walk(dir);
  return words;
}

const REGISTRATION = /^(\w+)_registry\.registerError\((\w+)\$, (\w+)\);\n/gm;

export interface Pruned {
  readonly source: string;
  readonly kept: readonly string[];
  readonly dropped: readonly string[];
}

/**
 * A client's schemas module without the registrations of errors nobody can meet. The module registers
 * every error of the service when it loads, which brings in every error class and schema (for SSM,
 * 140 of them, most of a bundle's SSM code) whatever the operations called. An error is kept when
 * `keep` says so by its shape name or its query-protocol code; the service's base exception always is.
 * An error not kept that AWS still answered would arrive as the service's base exception with the same
 * `name` (JSON protocols) or its wire code (query protocols), as any error the SDK does not know does.
 */
export function pruneErrorRegistrations(source: string, keep: (name: string) => boolean): Pruned {
  const codes = new Map<string, string>();
  for (const m of source.matchAll(
    /^export var (\w+)\$ = \[-3, \w+, \w+,\s*\{[^}]*?\[_aQE\]: \[`([^`]+)`/gm,
  )) {
    codes.set(m[1] as string, m[2] as string);
  }
  const kept: string[] = [];
  const dropped: string[] = [];
  const pruned = source.replace(REGISTRATION, (line, registry: string, schema: string, ctor: string) => {
    const code = codes.get(schema);
    if (registry === "_s" || schema !== ctor || keep(schema) || (code !== undefined && keep(code))) {
      kept.push(schema);
      return line;
    }
    dropped.push(schema);
    return "";
  });
  if (kept.length + dropped.length === 0 && /registerError\(/.test(source)) {
    throw new Error("build: an SDK schemas module registers errors in a form the build does not know");
  }
  return { source: pruned, kept, dropped };
}

/**
 * A schemas module with its trait keys written out: `{ [_e]: _c }` becomes `{ "error": _c }`, `_e` being
 * the module's `const _e = "error"`. The same objects; but esbuild cannot tell that a computed key has
 * no side effect, so it keeps every schema holding one, and all it refers to, whatever the bundle uses
 * (in SSM, most of them).
 */
export function literalTraitKeys(source: string): string {
  const strings = new Map<string, string>();
  for (const m of source.matchAll(/^const (_\w+) = ("[^"\\]*");$/gm))
    strings.set(m[1] as string, m[2] as string);
  return source.replace(/([{,]\s*)\[(_\w+)\]:/g, (whole, before: string, name: string) => {
    const value = strings.get(name);
    return value === undefined ? whole : `${before}${value}:`;
  });
}

const SCHEMAS_FILE = /[\\/]@aws-sdk[\\/]client-[a-z0-9-]+[\\/]dist-es[\\/]schemas[\\/]schemas_0\.js$/;

/**
 * Registers, in each client a bundle uses, only the errors its operations can meet: those the model
 * lists for the commands in the bundle, those the Lambda sources name, and those any operation may
 * answer. `report` hears how many were kept and dropped per client.
 */
export function onlyReachableErrors(
  commands: CommandsByClient,
  words: ReadonlySet<string>,
  report?: (client: string, kept: number, dropped: number) => void,
): Plugin {
  return {
    name: "only-reachable-errors",
    setup(builder) {
      builder.onLoad({ filter: SCHEMAS_FILE }, (args) => {
        const packageDir = dirname(dirname(dirname(args.path)));
        const modelled = new Set(
          [...(commands.get(packageDir) ?? [])].flatMap((command) => modelledErrors(packageDir, command)),
        );
        const keep = (name: string) => modelled.has(name) || words.has(name) || ANY_OPERATION.test(name);
        const pruned = pruneErrorRegistrations(readFileSync(args.path, "utf8"), keep);
        report?.(packageDir.replace(/.*@aws-sdk[\\/]/, ""), pruned.kept.length, pruned.dropped.length);
        return { contents: literalTraitKeys(pruned.source), loader: "js", resolveDir: dirname(args.path) };
      });
    },
  };
}

const CLIENT_PACKAGE_JSON = /[\\/]@aws-sdk[\\/]client-[a-z0-9-]+[\\/]package\.json$/;

/**
 * A client's package.json as its code reads it: each client imports its whole manifest (scripts,
 * dependencies, keywords…) for one field, its version in the User-Agent header.
 */
export const clientVersionOnly: Plugin = {
  name: "client-version-only",
  setup(builder) {
    builder.onLoad({ filter: CLIENT_PACKAGE_JSON }, (args) => {
      const { name, version } = JSON.parse(readFileSync(args.path, "utf8")) as {
        name: string;
        version: string;
      };
      return { contents: JSON.stringify({ name, version }), loader: "json" };
    });
  },
};

const CLIENT_FILE = /^(.*\/@aws-sdk\/(client-[a-z0-9-]+))\/dist-es\/([A-Za-z0-9]+Client)\.js$/;

/** A client a bundle constructs but sends nothing through: its package name and client class. */
export interface IdleClient {
  readonly packageName: string;
  readonly className: string;
}

/**
 * The SDK clients in a bundle without any of their commands: the shared wiring (shared/runtime)
 * makes every client a handler might call, and a function that never reaches one of its operations
 * still carries the client, its configuration, endpoint rules and protocol.
 */
export function idleClients(metafile: Metafile, workingDir: string): IdleClient[] {
  const commands = commandsInBundle(metafile, workingDir);
  const idle: IdleClient[] = [];
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const match = bytesInOutput > 0 ? CLIENT_FILE.exec(resolve(workingDir, input)) : null;
      if (!match) continue;
      const [, packageDir, packageName, className] = match as unknown as [string, string, string, string];
      if (!commands.has(packageDir)) idle.push({ packageName: `@aws-sdk/${packageName}`, className });
    }
  }
  return idle;
}

/**
 * Stands in for each idle client's package: a client class that can send nothing. No command of that
 * service is in the bundle, so nothing could be sent through the real one either; should a change ever
 * reach one of its operations, the first pass finds the command and the real client is bundled.
 */
export function withoutIdleClients(idle: readonly IdleClient[]): Plugin {
  const byPackage = new Map(idle.map((client) => [client.packageName, client]));
  return {
    name: "without-idle-clients",
    setup(builder) {
      builder.onResolve({ filter: /^@aws-sdk\/client-[a-z0-9-]+$/ }, (args) =>
        // The stand-in's own import of the package: the real one.
        byPackage.has(args.path) && args.namespace !== "idle-client"
          ? { path: args.path, namespace: "idle-client", pluginData: args.resolveDir }
          : undefined,
      );
      builder.onLoad({ filter: /.*/, namespace: "idle-client" }, (args) => {
        const { className } = byPackage.get(args.path) as IdleClient;
        const refusal = `launchgate: this function's bundle holds no ${args.path} operation`;
        // Everything else the importers name (commands, types) from the real package: unused, so
        // tree shaking drops it; the explicit export wins over the star.
        return {
          contents: `export * from ${JSON.stringify(args.path)};
export class ${className} {
  constructor(config) { this.config = config; }
  send() { return Promise.reject(new Error(${JSON.stringify(refusal)})); }
  destroy() {}
}`,
          loader: "js",
          resolveDir: args.pluginData as string,
        };
      });
    },
  };
}
