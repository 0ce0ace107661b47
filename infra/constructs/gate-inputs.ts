import { CfnResource, Stack, Token } from "aws-cdk-lib";
import type * as autoscaling from "aws-cdk-lib/aws-autoscaling";
import type * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import type { Construct } from "constructs";
import type { z } from "zod";
import { ConfigError, parseConfig } from "../../shared/config/parse-config.js";
import type { configSchema, groupSchema, LaunchgateConfig } from "../../shared/config/schema.js";

type ConfigInput = z.input<typeof configSchema>;
type GroupInput = z.input<typeof groupSchema>;

/**
 * One gated group, as in the config file's `groups[]`, except that the group and its target groups may
 * also be constructs of the same CDK app.
 */
export interface LaunchGateGroupInput extends Omit<GroupInput, "name" | "targetGroups"> {
  /**
   * The Auto Scaling group: the name of an existing group, or the group itself. A group defined in
   * this app gets the launch hook in its own `LifecycleHookSpecificationList`, so its very first
   * instances are gated too.
   */
  readonly name: string | autoscaling.IAutoScalingGroup;
  /**
   * The target groups an instance of this group may be registered with and must be healthy in: names
   * of existing target groups, or the target groups themselves (IAM is then scoped to their ARNs).
   */
  readonly targetGroups: readonly (string | elbv2.IApplicationTargetGroup)[];
}

/**
 * The launchgate config, field for field as in `launchgate.config.json` (the same validation and the
 * same per-field messages, at synth), with `groups` required and allowed to name constructs.
 * `region` and `stackName` default to the enclosing stack's region and name.
 */
export interface LaunchGateConfigInput extends Omit<ConfigInput, "groups"> {
  readonly groups: readonly LaunchGateGroupInput[];
}

/** The validated config, every construct replaced by its name (a token when CloudFormation names it). */
export interface ResolvedGateInputs {
  readonly config: LaunchgateConfig;
  /** The group constructs of this app, by the name the config now holds. */
  readonly autoScalingGroups: ReadonlyMap<string, autoscaling.IAutoScalingGroup>;
  /** The exact ARN of each target group passed as a construct, by the name the config now holds. */
  readonly targetGroupArns: ReadonlyMap<string, string>;
  /** Each target group passed as a construct, by the name the config now holds. */
  readonly targetGroups: ReadonlyMap<string, elbv2.IApplicationTargetGroup>;
  /**
   * The id of a group's GatedGroup: `Group-<name>`, or `Group-<construct id>` for a group whose name
   * CloudFormation generates (a token cannot be part of an id).
   */
  constructIdOf(groupName: string): string;
}

/**
 * Validates the construct's config exactly as the standalone app validates its file (parseConfig), then
 * puts each construct's name where the config expects a name, so the config stays the one description
 * of what is gated: the hook, the event patterns, IAM and the functions' runtime config all read it.
 *
 * A construct whose name is only known at deploy time is validated under a stand-in name, then replaced
 * by its name token (a group's `Ref`, a target group's `TargetGroupName`).
 */
export function resolveGateInputs(
  scope: Construct,
  input: LaunchGateConfigInput | LaunchgateConfig,
): ResolvedGateInputs {
  const source = `props of ${scope.node.path}`;
  const stack = Stack.of(scope);
  // Not an object at all: parseConfig refuses it, in its words.
  if (input !== undefined && (input === null || typeof input !== "object" || Array.isArray(input))) {
    parseConfig(input, source);
  }
  if (input?.groups === undefined) {
    // The built-in default gates cnt-backend's group: never what a library user means.
    throw new ConfigError(
      ["groups: is required; allowed: a list of the Auto Scaling groups to gate"],
      source,
    );
  }
  const standIns = new Map<string, string>();
  const names = new Map<Construct, string>();
  const autoScalingGroups = new Map<string, autoscaling.IAutoScalingGroup>();
  const targetGroupArns = new Map<string, string>();
  const targetGroups = new Map<string, elbv2.IApplicationTargetGroup>();

  /** The name the config is validated with: the construct's own when known at synth, else a stand-in. */
  const nameOf = (construct: Construct, known: string | undefined, token: string, standIn: string) => {
    let name = names.get(construct);
    if (name === undefined) {
      name = known ?? `${standIn}${names.size + 1}`;
      if (known === undefined) standIns.set(name, token);
      names.set(construct, name);
    }
    return name;
  };
  const groupName = (group: autoscaling.IAutoScalingGroup): string => {
    const known =
      literalName(group, "AWS::AutoScaling::AutoScalingGroup", "autoScalingGroupName") ??
      concrete(group.autoScalingGroupName);
    autoScalingGroups.set(known ?? group.autoScalingGroupName, group);
    return nameOf(group, known, group.autoScalingGroupName, "launchgate-group-construct-");
  };
  const targetGroupName = (tg: elbv2.IApplicationTargetGroup): string => {
    const known =
      literalName(tg, "AWS::ElasticLoadBalancingV2::TargetGroup", "name") ?? concrete(tg.targetGroupName);
    targetGroupArns.set(known ?? tg.targetGroupName, tg.targetGroupArn);
    targetGroups.set(known ?? tg.targetGroupName, tg);
    return nameOf(tg, known, tg.targetGroupName, "launchgate-tg-construct-");
  };

  const { groups, ...rest } = input as LaunchGateConfigInput;
  const listed: readonly LaunchGateGroupInput[] = Array.isArray(groups) ? groups : [];
  const raw = {
    ...rest,
    ...inferredFromStack(stack, rest, source),
    groups: listed.map((group) =>
      group === null || typeof group !== "object"
        ? group
        : {
            ...group,
            name:
              typeof group.name === "object" && isConstruct(group.name) ? groupName(group.name) : group.name,
            targetGroups: Array.isArray(group.targetGroups)
              ? group.targetGroups.map((tg) =>
                  typeof tg === "object" && isConstruct(tg) ? targetGroupName(tg) : tg,
                )
              : group.targetGroups,
          },
    ),
  };
  const parsed = parseConfig(Array.isArray(groups) ? raw : { ...raw, groups }, source);
  const real = (name: string) => standIns.get(name) ?? name;
  const config: LaunchgateConfig = {
    ...parsed,
    groups: parsed.groups.map((group) => ({
      ...group,
      name: real(group.name),
      targetGroups: group.targetGroups.map(real),
    })),
  };
  const constructIdOf = (name: string) =>
    `Group-${Token.isUnresolved(name) ? (autoScalingGroups.get(name)?.node.id ?? name) : name}`;
  return { config, autoScalingGroups, targetGroupArns, targetGroups, constructIdOf };
}

/**
 * The stack decides where the gate deploys: `region` defaults to the stack's, and must agree with it
 * (the bootstrap document names it, so an environment-agnostic stack needs it in the config); the
 * default `stackName`, which names the gate's document and log group, is the enclosing stack's name.
 */
function inferredFromStack(
  stack: Stack,
  input: { readonly region?: unknown; readonly account?: unknown; readonly stackName?: unknown },
  source: string,
): { region?: unknown; stackName?: unknown } {
  const inferred: { region?: unknown; stackName?: unknown } = {};
  const stackRegion = Token.isUnresolved(stack.region) ? undefined : stack.region;
  if (input.region === undefined) {
    if (stackRegion === undefined) {
      throw new ConfigError(
        [
          "region: is required when the stack has no region of its own (env.region); allowed: an AWS region code such as eu-west-2",
        ],
        source,
      );
    }
    inferred.region = stackRegion;
  } else if (stackRegion !== undefined && input.region !== stackRegion) {
    throw new ConfigError(
      [`region: got ${JSON.stringify(input.region)}; allowed: the stack's region, ${stackRegion}`],
      source,
    );
  }
  const stackAccount = Token.isUnresolved(stack.account) ? undefined : stack.account;
  if (input.account !== undefined && stackAccount !== undefined && input.account !== stackAccount) {
    throw new ConfigError(
      [`account: got ${JSON.stringify(input.account)}; allowed: the stack's account, ${stackAccount}`],
      source,
    );
  }
  if (input.stackName === undefined && !Token.isUnresolved(stack.stackName)) {
    inferred.stackName = stack.stackName;
  }
  return inferred;
}

/** The name given to the construct's CloudFormation resource, when the app set one. */
function literalName(construct: Construct, type: string, property: string): string | undefined {
  const child = construct.node.defaultChild;
  if (!child || !CfnResource.isCfnResource(child) || child.cfnResourceType !== type) return undefined;
  const value = (child as unknown as Record<string, unknown>)[property];
  return typeof value === "string" && !Token.isUnresolved(value) ? value : undefined;
}

function concrete(value: string): string | undefined {
  return Token.isUnresolved(value) ? undefined : value;
}

/** A construct, not a name; anything else goes to validation as given. */
function isConstruct(value: object | null): boolean {
  return value !== null && "node" in value;
}
