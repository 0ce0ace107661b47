import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { functionNames, ROOT } from "../../scripts/functions.js";
import { offlineLock } from "./offline-install.js";

/**
 * The package as a user gets it: `npm pack` (its prepack builds the bundles when stale and compiles the
 * library), the tarball installed offline into a fresh project outside the repository, the example
 * app (examples/web-service) compiled with that project's own TypeScript against the installed
 * types, and synthesized by plain `node` — no CDK CLI, no network, nothing read from this repository.
 */

const EXAMPLE = join(ROOT, "examples", "web-service");
/** The whole file: pack, install, build and synth take about 35 s on an idle 2-core machine. */
const BUDGET_MS = 90_000;

interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
}

let work: string;
let project: string;
let installed: string;
let template: { Resources: Record<string, Resource> };
let assetDirs: Map<string, string>;
let timings: string[];

function run(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): SpawnSyncReturns<string> {
  const started = Date.now();
  const result = spawnSync(command, args, {
    cwd,
    encoding: "utf8",
    env: {
      ...process.env,
      CDK_DISABLE_CLI_TELEMETRY: "true",
      AWS_EC2_METADATA_DISABLED: "true",
      npm_config_audit: "false",
      npm_config_fund: "false",
      npm_config_update_notifier: "false",
      ...env,
    },
    maxBuffer: 64 * 1024 * 1024,
  });
  timings.push(
    `${[command, ...args].join(" ").slice(0, 60)}: ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} failed (${result.status}):\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(path) : [path];
  });
}

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

const resourcesOf = (type: string) =>
  Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);

beforeAll(() => {
  timings = [];
  work = mkdtempSync(join(tmpdir(), "launchgate-package-"));
  project = join(work, "app");

  // 1. The tarball, exactly as `npm publish` would upload it.
  run("npm", ["pack", "--pack-destination", work], ROOT);
  const [filename] = readdirSync(work).filter((file) => file.endsWith(".tgz")) as [string];
  const tarball = join(work, "app", filename);

  // 2. A fresh project: the example's files, its package.json pointing at the tarball.
  cpSync(EXAMPLE, project, {
    recursive: true,
    filter: (source) => !/[/\\](node_modules|build|cdk\.out)$/.test(source),
  });
  cpSync(join(work, filename), tarball);
  const manifest = JSON.parse(readFileSync(join(project, "package.json"), "utf8"));
  manifest.dependencies.launchgate = `file:${filename}`;
  writeFileSync(join(project, "package.json"), JSON.stringify(manifest, null, 2));
  const packedManifest = JSON.parse(run("tar", ["-xzOf", tarball, "package/package.json"], work).stdout);
  writeFileSync(
    join(project, "package-lock.json"),
    JSON.stringify(
      offlineLock({
        repositoryLock: join(ROOT, "package-lock.json"),
        project: manifest,
        packed: packedManifest,
        tarball,
      }),
      null,
      2,
    ),
  );

  // 3. Install from npm's cache alone, build the example with its own TypeScript, synthesize with node.
  run("npm", ["ci", "--offline", "--no-audit", "--no-fund"], project);
  installed = join(project, "node_modules", "launchgate");
  run("npm", ["run", "build"], project);
  const context = JSON.parse(readFileSync(join(project, "cdk.json"), "utf8")).context;
  const outdir = join(project, "cdk.out");
  run("node", ["build/app.js"], project, {
    CDK_OUTDIR: outdir,
    CDK_CONTEXT_JSON: JSON.stringify(context),
    // aws-cdk-lib's built-in template validation (a WebAssembly linter) costs 6 s of CPU per synth,
    // more than everything else in it; the assertions below check what matters here.
    CDK_VALIDATION: "false",
  });

  template = JSON.parse(readFileSync(join(outdir, "LaunchgateExample.template.json"), "utf8"));
  const assets = JSON.parse(readFileSync(join(outdir, "LaunchgateExample.assets.json"), "utf8")) as {
    files: Record<string, { source: { path: string; packaging?: string } }>;
  };
  assetDirs = new Map(
    Object.entries(assets.files)
      .filter(([, asset]) => asset.source.packaging === "zip")
      .map(([hash, asset]) => [`${hash}.zip`, join(outdir, asset.source.path)]),
  );
  console.log(`package test: ${timings.join("; ")}`);
}, BUDGET_MS);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the packed package", () => {
  it("ships compiled JavaScript with type declarations, the prebuilt bundles and the bootstrap, no TypeScript sources", () => {
    const files = filesUnder(installed).map((file) => relative(installed, file).split(sep).join("/"));
    expect(files.filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts"))).toEqual([]);
    expect(files).toEqual(
      expect.arrayContaining([
        "dist/lib/infra/index.js",
        "dist/lib/infra/index.d.ts",
        "dist/cli/launchgate.mjs",
        "bin/launchgate.mjs",
        "bootstrap/bootstrap.sh",
        "bootstrap/write-env.py",
        ...functionNames().map((name) => `dist/functions/${name}/index.mjs`),
      ]),
    );
    // Nothing but what a consumer runs: no source maps, tests, simulation or scripts.
    expect(files.filter((file) => /^(src|test|sim|scripts|functions|shared|cli|infra)\//.test(file))).toEqual(
      [],
    );
    expect(files.filter((file) => file.endsWith(".map"))).toEqual([]);
  });

  it("depends on nothing the bundles already hold: no AWS SDK installed beside it", () => {
    const packed = JSON.parse(readFileSync(join(installed, "package.json"), "utf8"));
    expect(Object.keys(packed.dependencies ?? {})).toEqual(["zod"]);
    expect(Object.keys(packed.peerDependencies ?? {}).sort()).toEqual(["aws-cdk-lib", "constructs"]);
    expect(existsSync(join(project, "node_modules", "@aws-sdk"))).toBe(false);
  });

  it("is what the example imports: launchgate resolves inside the fresh project", () => {
    const resolved = run(
      "node",
      ["--input-type=module", "-e", "console.log(import.meta.resolve('launchgate'))"],
      project,
    ).stdout.trim();
    expect(fileURLToPath(resolved)).toBe(join(installed, "dist", "lib", "infra", "index.js"));
    expect(project.startsWith(ROOT)).toBe(false);
    // A CommonJS app (what `cdk init` makes) loads the ES module too (Node >= 20.19 / 22.12).
    const required = run("node", ["-e", "console.log(typeof require('launchgate').LaunchGate)"], project);
    expect(required.stdout.trim()).toBe("function");
  });

  it("runs its CLI as a bin, without TypeScript or tsx", () => {
    expect(existsSync(join(project, "node_modules", "tsx"))).toBe(false);
    const help = run("node", [join(project, "node_modules", ".bin", "launchgate"), "--help"], project);
    expect(help.stdout).toMatch(/launchgate status/);
  });
});

describe("the example, synthesized from the installed package", () => {
  const groupId = () => {
    const groups = resourcesOf("AWS::AutoScaling::AutoScalingGroup");
    expect(groups).toHaveLength(1);
    return (groups[0] as [string, Resource])[0];
  };
  const targetGroupId = () => {
    const tgs = resourcesOf("AWS::ElasticLoadBalancingV2::TargetGroup");
    expect(tgs).toHaveLength(1);
    return (tgs[0] as [string, Resource])[0];
  };

  it("puts the launch hook inside the group's LifecycleHookSpecificationList, and nowhere else", () => {
    const [, group] = resourcesOf("AWS::AutoScaling::AutoScalingGroup")[0] as [string, Resource];
    expect(group.Properties.LifecycleHookSpecificationList).toEqual([
      {
        LifecycleHookName: "launchgate-launch",
        LifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING",
        DefaultResult: "ABANDON",
        HeartbeatTimeout: 600,
      },
    ]);
    expect(resourcesOf("AWS::AutoScaling::LifecycleHook")).toEqual([]);
  });

  it("routes the group's launch actions, its bootstrap results, and the reconciler's schedule", () => {
    const patterns = resourcesOf("AWS::Events::Rule").map(([, rule]) => rule.Properties);
    const lifecycle = patterns.find((rule) =>
      JSON.stringify(rule.EventPattern ?? {}).includes("aws.autoscaling"),
    );
    expect(lifecycle?.EventPattern).toMatchObject({
      "detail-type": ["EC2 Instance-launch Lifecycle Action"],
      detail: { AutoScalingGroupName: [{ Ref: groupId() }], LifecycleHookName: ["launchgate-launch"] },
    });
    const results = patterns.find((rule) => JSON.stringify(rule.EventPattern ?? {}).includes("aws.ssm"));
    expect(JSON.stringify(results?.EventPattern)).toContain(`"Ref":"${groupId()}"`);
    expect(patterns.some((rule) => rule.ScheduleExpression === "rate(2 minutes)")).toBe(true);
  });

  it("deploys every function from the package's prebuilt bundle", () => {
    const bundles = new Set(
      functionNames().map((name) => sha256(join(installed, "dist", "functions", name, "index.mjs"))),
    );
    const functions = resourcesOf("AWS::Lambda::Function").filter(
      ([, fn]) => fn.Properties.Handler === "index.handler",
    );
    expect(functions.length).toBeGreaterThanOrEqual(5);
    const deployed = new Set<string>();
    for (const [, fn] of functions) {
      const key = (fn.Properties.Code as { S3Key: string }).S3Key;
      const dir = assetDirs.get(key) as string;
      expect(existsSync(join(dir, "index.mjs"))).toBe(true);
      const hash = sha256(join(dir, "index.mjs"));
      expect(bundles.has(hash)).toBe(true);
      deployed.add(hash);
    }
    expect(deployed.size).toBe(functions.length);
  });

  it("scopes IAM to the app's own group and target group", () => {
    const statements = resourcesOf("AWS::IAM::Policy").flatMap(
      ([, policy]) =>
        (
          policy.Properties.PolicyDocument as {
            Statement: { Sid?: string; Resource: unknown; Condition?: unknown }[];
          }
        ).Statement,
    );
    const bySid = (sid: string) => statements.filter((statement) => statement.Sid === sid);
    expect(bySid("CompleteOwnHooks").length).toBeGreaterThan(0);
    for (const statement of bySid("CompleteOwnHooks")) {
      const resource = JSON.stringify(statement.Resource);
      expect(resource).toContain("autoScalingGroupName/");
      expect(resource).toContain(`{"Ref":"${groupId()}"}`);
    }
    for (const sid of ["RegisterWithAllowedTargetGroups", "DeregisterFromAllowedTargetGroups"]) {
      expect(bySid(sid).length).toBeGreaterThan(0);
      for (const statement of bySid(sid)) expect(statement.Resource).toEqual({ Ref: targetGroupId() });
    }
    for (const statement of bySid("SendToGatedInstances")) {
      expect(statement.Condition).toEqual({
        StringEquals: { "ssm:resourceTag/aws:autoscaling:groupName": [{ Ref: groupId() }] },
      });
    }
  });

  it("gives the instance role the SSM agent's statements from the package, not the managed policy", () => {
    const roles = resourcesOf("AWS::IAM::Role").filter(([, role]) =>
      JSON.stringify(role.Properties.AssumeRolePolicyDocument).includes("ec2.amazonaws.com"),
    );
    expect(roles).toHaveLength(1);
    const [[roleId, role]] = roles as [[string, Resource]];
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    const statements = resourcesOf("AWS::IAM::Policy")
      .filter(([, policy]) => JSON.stringify(policy.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
      .flatMap(
        ([, policy]) =>
          (
            policy.Properties.PolicyDocument as {
              Statement: { Sid?: string; Action: unknown; Resource: unknown }[];
            }
          ).Statement,
      );
    const agent = statements.filter((statement) => statement.Sid?.startsWith("SsmAgent"));
    expect(agent.map((statement) => statement.Sid)).toEqual([
      "SsmAgent",
      "SsmAgentChannels",
      "SsmAgentMessages",
    ]);
    for (const statement of agent) expect(statement.Resource).toBe("*");
    const actions = JSON.stringify(statements.map((statement) => statement.Action));
    for (const action of [
      "ssm:UpdateInstanceInformation",
      "ssmmessages:CreateControlChannel",
      "ec2messages:GetMessages",
    ]) {
      expect(actions).toContain(`"${action}"`);
    }
    expect(actions).not.toMatch(/"ssm:GetParameters?"/);
  });

  it("gives the functions the group's and the target group's names, resolved at deploy", () => {
    const [, launch] = resourcesOf("AWS::Lambda::Function").find(([, fn]) =>
      String(fn.Properties.Description ?? "").includes("opens the gate"),
    ) as [string, Resource];
    const runtime = JSON.stringify(
      (launch.Properties.Environment as { Variables: Record<string, unknown> }).Variables.LAUNCHGATE_RUNTIME,
    );
    expect(runtime).toContain(`{"Ref":"${groupId()}"}`);
    expect(runtime).toContain(`{"Fn::GetAtt":["${targetGroupId()}","TargetGroupName"]}`);
  });
});
