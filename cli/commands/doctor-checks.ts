import { BOOTSTRAP_STEP_NAME, ECR_REGISTRY_PLACEHOLDER } from "../../shared/config/defaults.js";
import type { GroupConfig } from "../../shared/config/schema.js";

/**
 * The doctor's checks: pure functions over facts gathered once (doctor-facts.ts), each saying what
 * to change when it fails. A fact that could not be read is `{ error }`, and the checks that need it
 * are "unchecked", with that error as their message, instead of guessing.
 */

export type Fact<T> = { readonly value: T } | { readonly error: string };

export interface DoctorFacts {
  readonly group: GroupConfig;
  readonly region: string;
  readonly hooks: Fact<
    readonly { name: string; transition: string; defaultResult: string; heartbeatTimeout: number }[]
  >;
  readonly groupZones: Fact<readonly string[]>;
  readonly instances: Fact<readonly { id: string; lifecycle: string }[]>;
  readonly targetGroups: Fact<
    readonly {
      name: string;
      targetType: string;
      loadBalancerArns: readonly string[];
      intervalSeconds: number;
      healthyThreshold: number;
      timeoutSeconds: number;
      path: string;
      matcher: string;
    }[]
  >;
  readonly loadBalancers: Fact<readonly { arn: string; name: string; zones: readonly string[] }[]>;
  readonly rules: Fact<readonly { name: string; state: string }[]>;
  readonly agentsOnline: Fact<readonly string[]>;
  /** The remediation alarms the config names, and whether CloudWatch has them. */
  readonly alarms: Fact<readonly { name: string; exists: boolean }[]>;
  /** The log group bootstrap commands send their full output to (shared/config/runtime-config.ts). */
  readonly commandOutputLogGroup: string;
  /** IAM policy simulation for the instance role: action → allowed. */
  readonly instanceRole: Fact<{
    readonly roleArn: string;
    readonly allowed: Readonly<Record<string, boolean>>;
  }>;
}

/**
 * `unchecked`: the check could not run (a fact it needs could not be read); its message is why. It is
 * never counted as passed: doctor fails closed (exit 3) unless --allow-unchecked.
 */
export type CheckStatus = "passed" | "warned" | "failed" | "unchecked";

export interface CheckResult {
  readonly id: string;
  readonly status: CheckStatus;
  readonly message: string;
}

const SSM_CORE_ACTIONS = [
  "ssm:UpdateInstanceInformation",
  "ssmmessages:CreateControlChannel",
  "ec2messages:GetMessages",
];
export const SECRETS_ACTION = "ssm:GetParametersByPath";
/**
 * What the SSM agent calls, as the instance role, to stream command output to CloudWatch Logs
 * (docs/aws-facts.md, SSM Run Command): CreateLogGroup first (only "already exists" is tolerated),
 * DescribeLogGroups to find the group (denied: nothing is streamed), then CreateLogStream,
 * DescribeLogStreams (its sequence token) and PutLogEvents.
 */
export const COMMAND_OUTPUT_ACTIONS = [
  "logs:CreateLogGroup",
  "logs:DescribeLogGroups",
  "logs:CreateLogStream",
  "logs:DescribeLogStreams",
  "logs:PutLogEvents",
];
export const SIMULATED_ACTIONS = [...SSM_CORE_ACTIONS, SECRETS_ACTION, ...COMMAND_OUTPUT_ACTIONS];

/**
 * The resources IAM checks each command-output action against, as ARNs to simulate. Which ARN
 * CloudWatch Logs presents for the group-level actions is UNCONFIRMED (the group's ARN, or
 * `…:log-group:NAME:log-stream:` as denials show it): both must be allowed, as the README's policy
 * does. Stream actions are checked against a stream such as the agent writes, so that a policy granting
 * `…:log-group:NAME:log-stream:*` counts; DescribeLogGroups lists groups by prefix, on `…:log-group:*`.
 */
export function commandOutputResources(
  region: string,
  account: string,
  logGroup: string,
): Readonly<Record<string, readonly string[]>> {
  const group = `arn:aws:logs:${region}:${account}:log-group:${logGroup}`;
  const groupForms = [group, `${group}:log-stream:`];
  const stream = `${group}:log-stream:00000000-0000-0000-0000-000000000000/i-00000000000000000/${BOOTSTRAP_STEP_NAME}/stdout`;
  return {
    "logs:CreateLogGroup": groupForms,
    "logs:DescribeLogGroups": [`arn:aws:logs:${region}:${account}:log-group:*`],
    "logs:CreateLogStream": [stream],
    "logs:DescribeLogStreams": groupForms,
    "logs:PutLogEvents": [stream],
  };
}

type Check = (facts: DoctorFacts) => CheckResult;

function needs<T>(id: string, fact: Fact<T>, check: (value: T) => CheckResult): CheckResult {
  return "error" in fact ? { id, status: "unchecked", message: fact.error } : check(fact.value);
}

export const hookCheck: Check = (facts) =>
  needs("hook", facts.hooks, (hooks) => {
    const { hookName, heartbeatTimeoutSeconds } = facts.group;
    const hook = hooks.find((h) => h.name === hookName);
    if (!hook)
      return {
        id: "hook",
        status: "failed",
        message: `no lifecycle hook "${hookName}" on ${facts.group.name}: deploy the launchgate stack`,
      };
    const problems = [
      hook.transition !== "autoscaling:EC2_INSTANCE_LAUNCHING" &&
        `transition is ${hook.transition}, expected autoscaling:EC2_INSTANCE_LAUNCHING`,
      hook.defaultResult !== "ABANDON" &&
        `default result is ${hook.defaultResult}: a gate that dies would let an unchecked instance go InService; set ABANDON`,
      hook.heartbeatTimeout !== heartbeatTimeoutSeconds &&
        `heartbeat timeout is ${hook.heartbeatTimeout} s, config says ${heartbeatTimeoutSeconds} s: redeploy`,
    ].filter(Boolean);
    if (problems.length > 0)
      return { id: "hook", status: "failed", message: `hook "${hookName}": ${problems.join("; ")}` };
    return {
      id: "hook",
      status: "passed",
      message: `hook "${hookName}": launching, default ABANDON, heartbeat ${hook.heartbeatTimeout} s`,
    };
  });

export const rulesCheck: Check = (facts) =>
  needs("rules", facts.rules, (rules) => {
    if (rules.length === 0)
      return {
        id: "rules",
        status: "failed",
        message: "no launchgate EventBridge rules found in the stack: deploy it",
      };
    const disabled = rules.filter((rule) => rule.state !== "ENABLED");
    if (disabled.length > 0) {
      const names = disabled.map((rule) => rule.name);
      return {
        id: "rules",
        status: "failed",
        message: `EventBridge rules not enabled: ${names.join(", ")}: aws events enable-rule --name ${names[0]}`,
      };
    }
    return { id: "rules", status: "passed", message: `${rules.length} EventBridge rules enabled` };
  });

export const agentsCheck: Check = (facts) =>
  needs("agents", facts.instances, (instances) =>
    needs("agents", facts.agentsOnline, (online) => {
      const relevant = instances.filter(
        (i) => i.lifecycle === "InService" || i.lifecycle.startsWith("Pending"),
      );
      const offline = relevant.filter((i) => !online.includes(i.id)).map((i) => i.id);
      if (offline.length > 0) {
        return {
          id: "agents",
          status: "failed",
          message: `SSM agent not Online on ${offline.join(", ")}: check the instance profile and the route to the SSM endpoints (NAT or VPC endpoints ssm, ssmmessages, ec2messages)`,
        };
      }
      return {
        id: "agents",
        status: "passed",
        message: `SSM agent Online on all ${relevant.length} running instances`,
      };
    }),
  );

export const instanceProfileCheck: Check = (facts) =>
  needs("instance-profile", facts.instanceRole, ({ roleArn, allowed }) => {
    const denied = SSM_CORE_ACTIONS.filter((action) => !allowed[action]);
    if (denied.length > 0) {
      return {
        id: "instance-profile",
        status: "failed",
        message: `instance role ${roleArn} may not ${denied.join(", ")}: grant the SSM agent's permissions (ssmAgentPolicyStatements(), or AmazonSSMManagedInstanceCore)`,
      };
    }
    return {
      id: "instance-profile",
      status: "passed",
      message: `instance role ${roleArn} carries the SSM core permissions`,
    };
  });

export const secretsCheck: Check = (facts) =>
  needs("secrets", facts.instanceRole, ({ roleArn, allowed }) => {
    const path = facts.group.app.secretsParameterPath;
    if (!allowed[SECRETS_ACTION]) {
      return {
        id: "secrets",
        status: "failed",
        message: `instance role ${roleArn} may not read ${path}: allow ssm:GetParametersByPath on parameter${path}/* (and kms:Decrypt on its key)`,
      };
    }
    return { id: "secrets", status: "passed", message: `instance role may read ${path}` };
  });

/** Without these the bootstrap's full output is lost: SSM keeps only its first 24,000/8,000 characters. */
export const commandOutputCheck: Check = (facts) =>
  needs("command-output", facts.instanceRole, ({ roleArn, allowed }) => {
    const group = facts.commandOutputLogGroup;
    const logsArn = `arn:aws:logs:${facts.region}:${roleArn.split(":")[4] || "<account>"}`;
    const denied = COMMAND_OUTPUT_ACTIONS.filter((action) => !allowed[action]);
    if (denied.length > 0) {
      return {
        id: "command-output",
        status: "warned",
        message: `instance role ${roleArn} may not ${denied.join(", ")} for log group ${group}: bootstrap output will not reach CloudWatch Logs (SSM keeps only its first 24,000/8,000 characters); allow logs:CreateLogGroup, logs:CreateLogStream, logs:DescribeLogStreams and logs:PutLogEvents on ${logsArn}:log-group:${group} and ${logsArn}:log-group:${group}:*, and logs:DescribeLogGroups on ${logsArn}:log-group:* (see README)`,
      };
    }
    return {
      id: "command-output",
      status: "passed",
      message: `instance role may write bootstrap output to ${group}`,
    };
  });

/**
 * Images a launch pulls. `:latest` (or no tag) lets instances of one group run different builds, and
 * Docker Hub limits anonymous pulls per source IP, which every instance behind one NAT gateway shares
 * (docs/aws-facts.md, instance bootstrap). Config alone settles both: no AWS call.
 */
export const imagesCheck: Check = (facts) => {
  const problems = facts.group.app.services.flatMap((service) => {
    const image = service.image;
    const found: string[] = [];
    if (floatingTag(image)) {
      found.push(
        `${service.name} uses ${image}: a moving tag lets instances of one group run different builds; pin a version tag or a digest (@sha256:…)`,
      );
    }
    if (fromDockerHub(image)) {
      found.push(
        `${service.name} pulls ${image} from Docker Hub, whose anonymous pull limit is per source IP (every instance behind one NAT gateway shares it): copy it to ECR, or create an ECR pull-through cache rule for Docker Hub (upstream registry-1.docker.io, credentials in a Secrets Manager secret named ecr-pullthroughcache/…) and use ${ECR_REGISTRY_PLACEHOLDER}/<prefix>/${dockerHubRepository(image)}`,
      );
    }
    return found;
  });
  if (problems.length > 0) return { id: "images", status: "warned", message: problems.join("; ") };
  return {
    id: "images",
    status: "passed",
    message: "every image has a fixed tag or digest and none comes from Docker Hub",
  };
};

/**
 * An image reference split the way docker reads it: the first path part is a registry host when it has
 * a dot or a port, or is localhost; the tag follows the last `:` of the last path part (a registry's
 * port is not a tag); a digest follows `@`.
 */
function imageReference(image: string): {
  registry: string | undefined;
  repository: string;
  tag: string | undefined;
  digest: string | undefined;
} {
  const [name = image, digest] = image.split("@");
  const parts = name.split("/");
  const first = parts[0] ?? "";
  const hasRegistry =
    parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost");
  const registry = hasRegistry ? first : undefined;
  const path = hasRegistry ? parts.slice(1) : parts;
  const last = path.at(-1) ?? "";
  const colon = last.indexOf(":");
  const tag = colon === -1 ? undefined : last.slice(colon + 1);
  const repository = [...path.slice(0, -1), colon === -1 ? last : last.slice(0, colon)].join("/");
  return { registry, repository, tag, digest };
}

/** Docker Hub's names for itself: an image naming one of them is pulled from Docker Hub too. */
const DOCKER_HUB_HOSTS = ["docker.io", "index.docker.io", "registry-1.docker.io"];

/** No tag (which means latest) or `:latest`, and no digest: a digest pins whatever the tag says. */
function floatingTag(image: string): boolean {
  const { tag, digest } = imageReference(image);
  return !digest && (tag ?? "latest") === "latest";
}

/** No registry host in front, or one of Docker Hub's own. */
function fromDockerHub(image: string): boolean {
  if (image.startsWith(`${ECR_REGISTRY_PLACEHOLDER}/`)) return false;
  const { registry } = imageReference(image);
  return registry === undefined || DOCKER_HUB_HOSTS.includes(registry);
}

/** Docker Hub's repository path (official images live under library/), with the tag or digest kept. */
function dockerHubRepository(image: string): string {
  const { repository, tag, digest } = imageReference(image);
  const path = repository.includes("/") ? repository : `library/${repository}`;
  return `${path}${tag ? `:${tag}` : ""}${digest ? `@${digest}` : ""}`;
}

/** The seed deployment's Target.NotInUse: the group launches in a zone the load balancer does not enable. */
export const zonesCheck: Check = (facts) =>
  needs("zones", facts.groupZones, (zones) =>
    needs("zones", facts.loadBalancers, (lbs) => {
      const problems = lbs.flatMap((lb) => {
        const missing = zones.filter((zone) => !lb.zones.includes(zone));
        return missing.length > 0
          ? [
              `the group launches in ${missing.join(", ")} but load balancer ${lb.name} enables only ${lb.zones.join(", ")} (instances there would be Target.NotInUse): enable ${missing.join(", ")} on ${lb.name}, or remove those zones' subnets from the group`,
            ]
          : [];
      });
      if (problems.length > 0) return { id: "zones", status: "failed", message: problems.join("; ") };
      return {
        id: "zones",
        status: "passed",
        message: `every zone of the group (${zones.join(", ")}) is enabled on its load balancers`,
      };
    }),
  );

export const targetGroupsCheck: Check = (facts) =>
  needs("target-groups", facts.targetGroups, (tgs) => {
    if (tgs.length === 0)
      return {
        id: "target-groups",
        status: "failed",
        message: `no target group attached to ${facts.group.name}`,
      };
    const problems = tgs.flatMap((tg) => [
      ...(facts.group.targetGroups.includes(tg.name)
        ? []
        : [`${tg.name} is attached but not in groups[].targetGroups: the gate will abandon every launch`]),
      ...(tg.targetType === "instance"
        ? []
        : [`${tg.name} has target type ${tg.targetType}; the gate needs "instance"`]),
      ...(tg.loadBalancerArns.length > 0
        ? []
        : [`no listener rule forwards to ${tg.name} (its targets would be Target.NotInUse): add one`]),
    ]);
    if (problems.length > 0) return { id: "target-groups", status: "failed", message: problems.join("; ") };
    return {
      id: "target-groups",
      status: "passed",
      message: `${tgs.map((tg) => tg.name).join(", ")}: allowed, type instance, used by a listener`,
    };
  });

/** Worst case from registration to healthy, against what the gate leaves for it. */
export const healthTimingCheck: Check = (facts) =>
  needs("health-check", facts.targetGroups, (tgs) => {
    const { gateTimeoutSeconds, agentTimeoutSeconds, bootstrapTimeoutSeconds } = facts.group;
    const left = gateTimeoutSeconds - agentTimeoutSeconds - bootstrapTimeoutSeconds;
    const lines = tgs.map((tg) => {
      const worst = tg.intervalSeconds * (tg.healthyThreshold + 1) + tg.timeoutSeconds;
      return {
        tg,
        worst,
        text: `${tg.name}: ${tg.path} expecting ${tg.matcher}, ${tg.healthyThreshold} passes ${tg.intervalSeconds} s apart → up to ${worst} s to healthy`,
      };
    });
    const slow = lines.filter((line) => line.worst > left);
    if (slow.length > 0) {
      return {
        id: "health-check",
        status: "warned",
        message: `${slow.map((l) => l.text).join("; ")}; the gate leaves ${left} s after the agent and bootstrap timeouts: raise gateTimeoutSeconds or shorten the health check`,
      };
    }
    return {
      id: "health-check",
      status: "passed",
      message: lines.map((l) => l.text).join("; ") || "no target groups",
    };
  });

/** A misspelled alarm name silently turns remediation off: every configured alarm must exist. */
export const remediationCheck: Check = (facts) =>
  needs("remediation", facts.alarms, (alarms) => {
    if (alarms.length === 0)
      return { id: "remediation", status: "passed", message: "no alarms configured: remediation is off" };
    const missing = alarms.filter((alarm) => !alarm.exists).map((alarm) => alarm.name);
    if (missing.length > 0) {
      return {
        id: "remediation",
        status: "failed",
        message: `alarm ${missing.join(", ")} does not exist in ${facts.region}: create it, or fix groups[].remediation.alarms`,
      };
    }
    return {
      id: "remediation",
      status: "passed",
      message: `alarms ${alarms.map((a) => a.name).join(", ")} exist and will trigger remediation`,
    };
  });

export const CHECKS: readonly Check[] = [
  hookCheck,
  rulesCheck,
  targetGroupsCheck,
  zonesCheck,
  healthTimingCheck,
  agentsCheck,
  instanceProfileCheck,
  secretsCheck,
  commandOutputCheck,
  imagesCheck,
  remediationCheck,
];
