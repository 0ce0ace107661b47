import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build, type Plugin } from "esbuild";
import { afterAll, describe, expect, it } from "vitest";
import {
  builtinsViaRequire,
  clientVersionOnly,
  commandsInBundle,
  idleClients,
  literalTraitKeys,
  modelledErrors,
  onlyReachableErrors,
  pruneErrorRegistrations,
  withoutIdleClients,
} from "../../scripts/build-functions-plugins.js";
import { bundleDir, functionNames, ROOT } from "../../scripts/functions.js";

/**
 * The bundles register only the SDK errors their operations can meet (scripts/build-functions-plugins.ts).
 * These check that an error the model lists still arrives as its own class, through the SDK's real
 * deserialization, and that one not kept still arrives under its name; and that every built bundle loads.
 */

const SSM_DIR = join(ROOT, "node_modules", "@aws-sdk", "client-ssm");
const SSM_SCHEMAS = readFileSync(join(SSM_DIR, "dist-es", "schemas", "schemas_0.js"), "utf8");

describe("pruning a client's error registrations", () => {
  it("keeps what is asked for and the service's base exception, and drops the rest", () => {
    const pruned = pruneErrorRegistrations(SSM_SCHEMAS, (name) => name === "InvalidInstanceId");
    expect(pruned.kept).toEqual(["SSMServiceException", "InvalidInstanceId"]);
    expect(pruned.dropped).toContain("OpsItemNotFoundException");
    expect(pruned.source).not.toMatch(/registerError\(OpsItemNotFoundException\$/);
    expect(pruned.source).toMatch(/registerError\(InvalidInstanceId\$, InvalidInstanceId\)/);
  });

  it("reads an operation's errors from its typings", () => {
    expect(modelledErrors(SSM_DIR, "SendCommandCommand")).toEqual(
      expect.arrayContaining(["InvalidInstanceId", "InvalidDocument", "UnsupportedPlatformType"]),
    );
  });

  it("refuses a schemas module it cannot read rather than keeping or dropping blindly", () => {
    expect(() => pruneErrorRegistrations("registry.registerError(a, b, c);", () => false)).toThrow(/form/);
  });
});

describe("writing out a schemas module's trait keys", () => {
  it("replaces each computed key by the string its constant holds, and nothing else", () => {
    const source =
      'const _e = "error";\nconst _c = "client";\nexport var E$ = [-3, n0, _E, { [_e]: _c, [_hE]: 400 }, [_m], [0]];\n';
    expect(literalTraitKeys(source)).toContain('{ "error": _c, [_hE]: 400 }');
  });

  it("writes out every trait key of a real schemas module", () => {
    const literal = literalTraitKeys(SSM_SCHEMAS);
    expect(literal).not.toMatch(/\[_(e|aQE|xN)\]:/);
    expect(literal.length).toBeLessThan(SSM_SCHEMAS.length + 10_000);
  });
});

describe("an SSM error through a pruned bundle", () => {
  const dir = mkdtempSync(join(tmpdir(), "launchgate-bundles-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** SendCommand answered with `body` (HTTP 400), as the bundled SDK deserializes it. */
  const entry = join(dir, "entry.mjs");
  writeFileSync(
    entry,
    `import { InvalidInstanceId, SendCommandCommand, SSMClient } from "@aws-sdk/client-ssm";
export async function failWith(body) {
  const client = new SSMClient({
    region: "eu-west-2",
    credentials: { accessKeyId: "AKIATEST", secretAccessKey: "test" },
    maxAttempts: 1,
    requestHandler: {
      handle: async () => ({
        response: { statusCode: 400, headers: { "content-type": "application/x-amz-json-1.1" }, body: new TextEncoder().encode(body) },
      }),
    },
  });
  try {
    await client.send(new SendCommandCommand({ DocumentName: "doc", InstanceIds: ["i-0123456789abcdef0"] }));
    return undefined;
  } catch (error) {
    return { name: error.name, own: error instanceof InvalidInstanceId, fault: error.$fault, message: error.message };
  }
}`,
  );

  async function bundleEntry(outfile: string, prune: boolean): Promise<string> {
    const common = {
      entryPoints: [entry],
      bundle: true,
      platform: "node" as const,
      format: "esm" as const,
      mainFields: ["module", "main"],
      nodePaths: [join(ROOT, "node_modules")],
      logLevel: "error" as const,
      banner: {
        js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
      },
    };
    const plugins: Plugin[] = [builtinsViaRequire, clientVersionOnly];
    if (prune) {
      const { metafile } = await build({ ...common, plugins, outfile, write: false, metafile: true });
      plugins.push(onlyReachableErrors(commandsInBundle(metafile, process.cwd()), new Set()));
    }
    await build({ ...common, plugins, outfile });
    return outfile;
  }

  const run = (file: string, body: string) =>
    JSON.parse(
      execFileSync(
        process.execPath,
        [
          "--input-type=module",
          "-e",
          `import(${JSON.stringify(pathToFileURL(file).href)}).then(async (m) => console.log(JSON.stringify(await m.failWith(${JSON.stringify(body)}))))`,
        ],
        {
          encoding: "utf8",
          env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
        },
      ),
    );

  it("arrives as it would through the whole SDK: a modelled error as its class, any other under its name", async () => {
    const whole = await bundleEntry(join(dir, "whole.mjs"), false);
    const pruned = await bundleEntry(join(dir, "pruned.mjs"), true);
    expect(readFileSync(pruned, "utf8")).not.toMatch(/class OpsItemNotFoundException\b/);

    const modelled = JSON.stringify({ __type: "InvalidInstanceId", message: "no such instance" });
    expect(run(pruned, modelled)).toEqual({
      name: "InvalidInstanceId",
      own: true,
      fault: "client",
      message: "no such instance",
    });
    expect(run(pruned, modelled)).toEqual(run(whole, modelled));

    const other = JSON.stringify({ __type: "OpsItemNotFoundException", message: "not this operation's" });
    expect(run(pruned, other)).toMatchObject({
      name: "OpsItemNotFoundException",
      own: false,
      fault: "client",
    });
    expect(run(pruned, other).message).toBe(run(whole, other).message);
  });
});

describe("a client a bundle sends nothing through", () => {
  const dir = mkdtempSync(join(tmpdir(), "launchgate-idle-client-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("is a stand-in that refuses to send; a client with a command stays the SDK's", async () => {
    const entry = join(dir, "entry.mjs");
    writeFileSync(
      entry,
      `import { SSMClient } from "@aws-sdk/client-ssm";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
export const ssm = new SSMClient({ region: "eu-west-2" });
export const sqs = new SQSClient({ region: "eu-west-2" });
export const command = SendMessageCommand;`,
    );
    const common = {
      entryPoints: [entry],
      bundle: true,
      platform: "node" as const,
      format: "esm" as const,
      mainFields: ["module", "main"],
      nodePaths: [join(ROOT, "node_modules")],
      outfile: join(dir, "out.mjs"),
      logLevel: "error" as const,
      banner: {
        js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
      },
    };
    const { metafile } = await build({ ...common, write: false, metafile: true });
    const idle = idleClients(metafile, process.cwd());
    expect(idle).toEqual([{ packageName: "@aws-sdk/client-ssm", className: "SSMClient" }]);
    await build({ ...common, plugins: [withoutIdleClients(idle)] });
    const out = execFileSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const m = await import(${JSON.stringify(pathToFileURL(common.outfile).href)});
const refused = await m.ssm.send({}).then(() => "sent", (e) => e.message);
console.log(JSON.stringify({ refused, sqsIsSdk: typeof m.sqs.middlewareStack?.add }));`,
      ],
      { encoding: "utf8", env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" } },
    );
    expect(JSON.parse(out)).toEqual({
      refused: "launchgate: this function's bundle holds no @aws-sdk/client-ssm operation",
      sqsIsSdk: "function",
    });
  });
});

describe("the built function bundles", () => {
  it.each(functionNames())("%s loads in a fresh Node and exports its handler", (name) => {
    const file = join(bundleDir(name), "index.mjs");
    const out = execFileSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `import(${JSON.stringify(pathToFileURL(file).href)}).then((m) => console.log(typeof m.handler))`,
      ],
      { encoding: "utf8", env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" } },
    );
    expect(out.trim()).toBe("function");
  });
});
