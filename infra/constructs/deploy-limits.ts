import { CfnResource, Stack, Token } from "aws-cdk-lib";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as ssm from "aws-cdk-lib/aws-ssm";
import type { Construct } from "constructs";
import { documentNameFor } from "../../shared/config/runtime-config.js";
import type { LaunchgateConfig } from "../../shared/config/schema.js";
import { renderComposeFile } from "../bootstrap/compose-file.js";
import { drainTimeoutProblems } from "./drain-limits.js";

/**
 * Limits AWS enforces only when the stack is deployed, checked at synth instead: `cdk synth` then fails
 * with one line per problem, rather than CloudFormation failing (and rolling back) halfway through a
 * deploy. Each limit and its source: docs/aws-facts.md, "Deploy-time limits checked at synth".
 */

/**
 * "64 KB" of SSM document content and "4 KB" of Lambda environment: the pages do not say whether a KB
 * is 1,000 or 1,024 bytes, so the stricter reading is enforced.
 */
export const DOCUMENT_CONTENT_LIMIT_BYTES = 64_000;
export const ENVIRONMENT_LIMIT_BYTES = 4_000;
export const STACK_NAME_LIMIT = 128;

/** A physical name a resource may be given: the L1 attribute that holds it, and the service's limits. */
interface NameRule {
  readonly attribute: string;
  readonly max: number;
  readonly min?: number;
  readonly what: string;
  /** Unique per account and region (or per group, for hooks: then false). */
  readonly unique?: false;
}
const NAME_RULES: Readonly<Record<string, NameRule>> = {
  "AWS::Lambda::Function": { attribute: "functionName", max: 64, what: "Lambda function name" },
  "AWS::SSM::Document": { attribute: "name", min: 3, max: 128, what: "SSM document name" },
  "AWS::AutoScaling::LifecycleHook": {
    attribute: "lifecycleHookName",
    max: 255,
    what: "lifecycle hook name",
    unique: false,
  },
  "AWS::AutoScaling::AutoScalingGroup": {
    attribute: "autoScalingGroupName",
    max: 255,
    what: "Auto Scaling group name",
  },
  "AWS::ElasticLoadBalancingV2::TargetGroup": { attribute: "name", max: 32, what: "target group name" },
  "AWS::SQS::Queue": { attribute: "queueName", max: 80, what: "SQS queue name" },
  "AWS::DynamoDB::GlobalTable": { attribute: "tableName", min: 3, max: 255, what: "DynamoDB table name" },
  "AWS::DynamoDB::Table": { attribute: "tableName", min: 3, max: 255, what: "DynamoDB table name" },
  "AWS::Logs::LogGroup": { attribute: "logGroupName", max: 512, what: "log group name" },
  "AWS::IAM::Role": { attribute: "roleName", max: 64, what: "IAM role name" },
  "AWS::SNS::Topic": { attribute: "topicName", max: 256, what: "SNS topic name" },
  "AWS::CloudWatch::Alarm": { attribute: "alarmName", max: 255, what: "CloudWatch alarm name" },
  "AWS::CloudWatch::Dashboard": { attribute: "dashboardName", max: 255, what: "CloudWatch dashboard name" },
  "AWS::Logs::QueryDefinition": {
    attribute: "name",
    max: 255,
    what: "Logs Insights query name",
    unique: false,
  },
  "AWS::Events::Rule": { attribute: "name", max: 64, what: "EventBridge rule name" },
};
/** SSM refuses these document name prefixes (CreateDocument); compared regardless of case, to be safe. */
const RESERVED_DOCUMENT_PREFIXES = ["aws", "amazon", "amzn"];

/** Upper bounds for what only CloudFormation knows: partition, account, URL suffix, IAM path. */
const PARTITION_MAX = 16;
const ACCOUNT_LENGTH = 12;
const URL_SUFFIX_MAX = 16;
const REGION_MAX = 25;
const IAM_PATH_MAX = 512;
/** A target group ARN ends in `/<16 hex digits>`. */
const TARGET_GROUP_ID_LENGTH = 16;
/** A reference this file cannot bound counts as the longest ARN IAM accepts, and is named in the message. */
const UNKNOWN_REFERENCE_BYTES = 2048;

/** The longest value a `Ref` / `Fn::GetAtt` can resolve to; `guesses` collects those it could not bound. */
export interface ReferenceLengths {
  readonly lengthOf: (logicalId: string, attribute: string) => number | undefined;
  readonly guesses: string[];
}

/**
 * The size of `value` as compact JSON, in UTF-8 bytes, with each CloudFormation intrinsic (`Ref`,
 * `Fn::GetAtt`, `Fn::Join`) counted as the longest string it can resolve to.
 */
export function estimateJsonBytes(value: unknown, refs: ReferenceLengths): number {
  if (typeof value === "string") return utf8(JSON.stringify(value));
  if (typeof value !== "object" || value === null) return String(value).length;
  if (Array.isArray(value))
    return 2 + commas(value) + sum(value.map((item) => estimateJsonBytes(item, refs)));
  if (isIntrinsic(value)) return 2 + estimateStringBytes(value, refs);
  const entries = Object.entries(value);
  const members = entries.map(([key, item]) => utf8(JSON.stringify(key)) + 1 + estimateJsonBytes(item, refs));
  return 2 + commas(entries) + sum(members);
}

/** A string's size inside a JSON string literal (escapes included), intrinsics at their longest. */
export function estimateStringBytes(value: unknown, refs: ReferenceLengths): number {
  if (typeof value === "string") return utf8(JSON.stringify(value)) - 2;
  const intrinsic = value as Record<string, unknown>;
  const join = intrinsic["Fn::Join"];
  if (Array.isArray(join) && Array.isArray(join[1])) {
    const parts = join[1] as unknown[];
    const separators = commas(parts) * estimateStringBytes(join[0], refs);
    return separators + sum(parts.map((part) => estimateStringBytes(part, refs)));
  }
  const [id, attribute] = referenceOf(intrinsic);
  // Names, ARNs and URLs need no JSON escaping: their length is their escaped length.
  const length = id === undefined ? undefined : refs.lengthOf(id, attribute);
  if (length !== undefined) return length;
  refs.guesses.push(JSON.stringify(value));
  return UNKNOWN_REFERENCE_BYTES;
}

/** A name outside the service's limits, as one line; undefined when it fits. */
export function nameProblem(
  what: string,
  name: string,
  limits: { readonly min?: number; readonly max: number },
  change: string,
): string | undefined {
  const shown = show(name);
  if (name.length > limits.max) {
    return `${what} "${shown}" is ${name.length} characters, over the limit of ${limits.max}: ${change}`;
  }
  if (limits.min !== undefined && name.length < limits.min) {
    return `${what} "${shown}" is ${name.length} characters, under the minimum of ${limits.min}: ${change}`;
  }
  return undefined;
}

/** An SSM document over the content limit, as one line naming what in the config makes it large. */
export function documentSizeProblem(
  name: string,
  bytes: number,
  compose?: { readonly where: string; readonly bytes: number },
): string | undefined {
  if (bytes <= DOCUMENT_CONTENT_LIMIT_BYTES) return undefined;
  const cause = compose
    ? `; ${fmt(compose.bytes)} bytes of it are the compose file of ${compose.where}, base64-encoded: shorten its services' environment values (or move them to Parameter Store under app.secretsParameterPath) or run fewer services`
    : "";
  return `SSM document ${name} is ${fmt(bytes)} bytes, over SSM's 64 KB limit on document content (${fmt(DOCUMENT_CONTENT_LIMIT_BYTES)} bytes)${cause}`;
}

/** Functions whose environment can exceed Lambda's limit, as one line. */
export function environmentSizeProblem(
  functions: readonly string[],
  bytes: number,
  groups: number,
): string | undefined {
  if (bytes <= ENVIRONMENT_LIMIT_BYTES) return undefined;
  const which = `${functions.length === 1 ? "function" : "functions"} ${functions.join(", ")}`;
  return `the environment of Lambda ${which} can take up to ${fmt(bytes)} bytes, over Lambda's 4 KB limit (${fmt(ENVIRONMENT_LIMIT_BYTES)} bytes): it carries the runtime config of all ${groups} group(s); split the groups over stacks (a config with its own stackName each) or shorten their names, hook names, target group and alarm names`;
}

/** The sizes AWS limits, as launchgate's resources under `scope` would deploy them (estimates: upper bounds). */
export interface DeploySizes {
  readonly documents: readonly { readonly name: string; readonly group?: number; readonly bytes: number }[];
  readonly environments: readonly { readonly function: string; readonly bytes: number }[];
  /** References with no known bound, counted as UNKNOWN_REFERENCE_BYTES each. */
  readonly guesses: readonly string[];
}

export function measureDeploySizes(scope: Construct, config: LaunchgateConfig): DeploySizes {
  const stack = Stack.of(scope);
  const refs = referenceLengths(stack);
  const ours = ourResources(scope);
  const documents = ours
    .filter((r): r is ssm.CfnDocument => r instanceof ssm.CfnDocument)
    .map((document) => {
      const group = config.groups.findIndex((g) => documentNameFor(config, g.name) === document.name);
      const name = document.name && !Token.isUnresolved(document.name) ? document.name : shortPath(document);
      const bytes = estimateJsonBytes(stack.resolve(document.content), refs);
      return { name, bytes, ...(group >= 0 ? { group } : {}) };
    });
  const environments = ours
    .filter((r): r is lambda.CfnFunction => r instanceof lambda.CfnFunction)
    .map((fn) => {
      const environment = stack.resolve(fn.environment) as
        | { variables?: Record<string, unknown> }
        | undefined;
      // Lambda counts keys and values; their JSON (quotes, escapes and all) bounds that from above.
      return { function: gateId(fn), bytes: estimateJsonBytes(environment?.variables ?? {}, refs) };
    });
  return { documents, environments, guesses: [...new Set(refs.guesses)] };
}

/**
 * Every deploy-time limit that launchgate's resources (those under `scope`) would break, one line each.
 * Runs on the finished construct tree, so it also sees what is added under `scope` later. Resources
 * elsewhere in the stack are the app's own business; they are only used to bound references.
 */
export function checkDeployLimits(scope: Construct, config: LaunchgateConfig): string[] {
  const stack = Stack.of(scope);
  const sizes = measureDeploySizes(scope, config);
  const problems: string[] = [];
  const stackName = nameProblem(
    "stack name",
    stack.stackName,
    { max: STACK_NAME_LIMIT },
    "shorten stackName",
  );
  if (stackName) problems.push(stackName);
  problems.push(...nameProblems(stack, ourResources(scope), config));
  for (const document of sizes.documents) {
    const app = document.group === undefined ? undefined : config.groups[document.group]?.app;
    const compose = app && {
      where: `groups[${document.group}]`,
      bytes: Buffer.from(renderComposeFile(app)).toString("base64").length,
    };
    const problem = documentSizeProblem(document.name, document.bytes, compose);
    if (problem) problems.push(problem);
  }
  // Functions with the same estimate (they share the runtime config) are reported on one line.
  const overLimit = new Map<number, string[]>();
  for (const { function: fn, bytes } of sizes.environments) {
    if (bytes > ENVIRONMENT_LIMIT_BYTES) overLimit.set(bytes, [...(overLimit.get(bytes) ?? []), fn]);
  }
  for (const [bytes, functions] of overLimit) {
    problems.push(environmentSizeProblem(functions, bytes, config.groups.length) ?? "");
  }
  // Not a limit CloudFormation meets, but one SSM meets at the first scale-in: a drain it would cut.
  problems.push(...drainTimeoutProblems(config));
  if (sizes.guesses.length > 0 && problems.length > 0) {
    problems.push(
      `(counted as ${UNKNOWN_REFERENCE_BYTES} bytes each, having no known bound: ${sizes.guesses.join(", ")})`,
    );
  }
  return problems;
}

/** Makes `cdk synth` (and every test that synthesizes) fail on any deploy-time limit the gate breaks. */
export function addDeployLimitValidation(scope: Construct, config: LaunchgateConfig): void {
  scope.node.addValidation({ validate: () => checkDeployLimits(scope, config) });
}

function ourResources(scope: Construct): CfnResource[] {
  return scope.node.findAll().filter((c): c is CfnResource => CfnResource.isCfnResource(c));
}

function nameProblems(stack: Stack, resources: readonly CfnResource[], config: LaunchgateConfig): string[] {
  const problems: string[] = [];
  const owners = new Map<string, string>();
  for (const resource of resources) {
    const rule = NAME_RULES[resource.cfnResourceType];
    const raw = rule && (resource as unknown as Record<string, unknown>)[rule.attribute];
    if (!rule || raw === undefined) continue;
    const where = shortPath(resource);
    if (typeof raw !== "string" || Token.isUnresolved(raw)) {
      // Built from references (a group CloudFormation names): only its literal part is known here.
      const known = literalLength(stack.resolve(raw));
      if (known > rule.max) {
        problems.push(
          `${rule.what} of ${where} is at least ${known} characters, over the limit of ${rule.max}`,
        );
      }
      continue;
    }
    const change = changeFor(raw, config, where);
    const problem = nameProblem(`${rule.what} of ${where}`, raw, rule, change);
    if (problem) problems.push(problem);
    if (resource.cfnResourceType === "AWS::SSM::Document") {
      const reserved = RESERVED_DOCUMENT_PREFIXES.find((prefix) => raw.toLowerCase().startsWith(prefix));
      if (reserved) {
        problems.push(
          `SSM document name "${raw}" starts with "${reserved}", a prefix SSM reserves (aws, amazon, amzn): choose a stackName that does not start with it`,
        );
      }
    }
    // Two resources of one type with one name: CloudFormation creates the first and fails on the second.
    if (rule.unique === false) continue;
    const key = `${resource.cfnResourceType} ${raw}`;
    const first = owners.get(key);
    if (first) problems.push(`${rule.what} "${show(raw)}" is given to both ${first} and ${where}: ${change}`);
    owners.set(key, where);
  }
  return problems;
}

/** What to shorten: the group whose document it is, its hook, else stackName when the name has it. */
function changeFor(name: string, config: LaunchgateConfig, where: string): string {
  const group = config.groups.findIndex((candidate) => documentNameFor(config, candidate.name) === name);
  if (group >= 0) {
    return `document names are "<stackName>-<group name>-bootstrap", cut to 128 characters: shorten stackName or groups[${group}].name`;
  }
  const hook = config.groups.findIndex((candidate) => candidate.hookName === name);
  if (hook >= 0) return `shorten groups[${hook}].hookName`;
  if (name.includes(config.stackName)) {
    return `shorten stackName (${config.stackName.length} characters) or the name set at ${where}`;
  }
  return `shorten the name set at ${where}`;
}

/** The longest value each `Ref` / `Fn::GetAtt` in this stack can resolve to. */
function referenceLengths(stack: Stack): ReferenceLengths {
  const resources = stack.node.findAll().filter((c): c is CfnResource => CfnResource.isCfnResource(c));
  const byId = new Map(resources.map((r) => [String(stack.resolve(r.logicalId)), r]));
  const region = Token.isUnresolved(stack.region) ? REGION_MAX : stack.region.length;
  const arn = (service: string) => `arn::${service}:::`.length + PARTITION_MAX + region + ACCOUNT_LENGTH;
  const pseudo: Readonly<Record<string, number>> = {
    "AWS::Region": region,
    "AWS::AccountId": ACCOUNT_LENGTH,
    "AWS::Partition": PARTITION_MAX,
    "AWS::URLSuffix": URL_SUFFIX_MAX,
    "AWS::StackName": stack.stackName.length,
    "AWS::NoValue": 0,
  };
  return {
    guesses: [],
    lengthOf(id, attribute) {
      if (attribute === "Ref" && id in pseudo) return pseudo[id];
      const resource = byId.get(id);
      const rule = resource && NAME_RULES[resource.cfnResourceType];
      if (!resource || !rule) return undefined;
      const raw = (resource as unknown as Record<string, unknown>)[rule.attribute];
      // A name the app set is exact; one CloudFormation generates is at most the service's limit.
      const name = typeof raw === "string" && !Token.isUnresolved(raw) ? raw.length : rule.max;
      const queueUrl = "https://sqs../".length + region + URL_SUFFIX_MAX + 1 + ACCOUNT_LENGTH + name;
      const targetGroup = "targetgroup//".length + name + TARGET_GROUP_ID_LENGTH;
      const roleArn = "arn::iam:::role".length + PARTITION_MAX + ACCOUNT_LENGTH + IAM_PATH_MAX + name;
      // Ref is the physical name, except where listed otherwise (a queue's URL, a topic's ARN, …).
      const lengths: Readonly<Record<string, Readonly<Record<string, number>>>> = {
        "AWS::SQS::Queue": { Ref: queueUrl, QueueUrl: queueUrl, QueueName: name, Arn: arn("sqs") + name },
        "AWS::SNS::Topic": { Ref: arn("sns") + name, TopicArn: arn("sns") + name, TopicName: name },
        "AWS::DynamoDB::GlobalTable": { Ref: name, Arn: arn("dynamodb") + "table/".length + name },
        "AWS::DynamoDB::Table": { Ref: name, Arn: arn("dynamodb") + "table/".length + name },
        "AWS::Lambda::Function": { Ref: name, Arn: arn("lambda") + "function:".length + name },
        "AWS::Logs::LogGroup": { Ref: name, Arn: arn("logs") + "log-group::*".length + name },
        "AWS::Events::Rule": { Ref: name, Arn: arn("events") + "rule/".length + name },
        "AWS::IAM::Role": { Ref: name, Arn: roleArn },
        "AWS::SSM::Document": { Ref: name },
        "AWS::AutoScaling::AutoScalingGroup": { Ref: name },
        "AWS::ElasticLoadBalancingV2::TargetGroup": {
          Ref: arn("elasticloadbalancing") + targetGroup,
          TargetGroupArn: arn("elasticloadbalancing") + targetGroup,
          TargetGroupName: name,
          TargetGroupFullName: targetGroup,
        },
      };
      return lengths[resource.cfnResourceType]?.[attribute];
    },
  };
}

function referenceOf(intrinsic: Record<string, unknown>): [string | undefined, string] {
  if (typeof intrinsic.Ref === "string") return [intrinsic.Ref, "Ref"];
  const getAtt = intrinsic["Fn::GetAtt"];
  if (Array.isArray(getAtt)) return [String(getAtt[0]), String(getAtt[1])];
  if (typeof getAtt === "string") {
    const [id, ...attribute] = getAtt.split(".");
    return [id, attribute.join(".")];
  }
  return [undefined, ""];
}

/** The characters of a resolved value that are literal (references count as none). */
function literalLength(value: unknown): number {
  if (typeof value === "string") return value.length;
  const join = (value as Record<string, unknown> | null)?.["Fn::Join"];
  if (!Array.isArray(join) || !Array.isArray(join[1])) return 0;
  const parts = join[1] as unknown[];
  return commas(parts) * literalLength(join[0]) + sum(parts.map(literalLength));
}

function isIntrinsic(value: object): boolean {
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === "Ref" || (keys[0]?.startsWith("Fn::") ?? false));
}

/** The construct path below the stack, e.g. `LaunchGate/Launch/Function`. */
function shortPath(resource: CfnResource): string {
  return resource.node.path.split("/").slice(1).join("/");
}

/** A function by its GateFunction's id (`Launch`), the construct that names it in this repository. */
function gateId(fn: CfnResource): string {
  return fn.node.scope?.node.scope?.node.id ?? shortPath(fn);
}

/** A name short enough for one line: long ones are cut, the length is reported beside them. */
const show = (name: string) => (name.length > 70 ? `${name.slice(0, 67)}…` : name);
const utf8 = (text: string) => Buffer.byteLength(text, "utf8");
const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);
const commas = (items: readonly unknown[]) => Math.max(0, items.length - 1);
const fmt = (n: number) => n.toLocaleString("en-US");
