import { z } from "zod";
import { CNT_BACKEND_APP, CNT_BACKEND_GROUP, COMPOSE_SHA256, ECR_REGISTRY_PLACEHOLDER } from "./defaults.js";
import {
  DEFAULT_POLL_INTERVAL_SECONDS,
  isPollInterval,
  POLL_INTERVAL_ALLOWED,
  POLL_INTERVAL_BOUNDS,
} from "./poll-intervals.js";
import { integerIn, matching, oneOf, strictObject, uniqueList } from "./schema-helpers.js";

/**
 * The one launchgate configuration. Every field has a default taken from the reference deployment
 * (cnt-backend, eu-west-2), so `{}` is a complete, valid config; users override any part of it through
 * CDK context (see infra/config/load-config.ts).
 */

const AWS_REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/;
/** We restrict group names (AWS allows almost any character) because they appear in IAM ARNs. */
const GROUP_NAME = /^[A-Za-z0-9._-]{1,255}$/;
/** Elastic Load Balancing: up to 32 alphanumerics or hyphens, not starting or ending with a hyphen. */
const TARGET_GROUP_NAME = /^(?!-)[A-Za-z0-9-]{1,32}(?<!-)$/;
const HOOK_NAME = /^[A-Za-z0-9_/-]{1,255}$/;
const PARAMETER_PATH = /^(\/[A-Za-z0-9_.-]+)+$/;
const IMAGE =
  /^(\$\{ECR_REGISTRY\}\/)?[a-z0-9]+([._-][a-z0-9]+)*(:\d{1,5})?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;
const ENV_NAME = /^[A-Z_][A-Z0-9_]{0,127}$/;
/** Names that look like secrets must come from Parameter Store, never from plain config. */
const SECRET_LOOKING_NAME = /(PASSWORD|SECRET|TOKEN|API_?KEY|PRIVATE)/;
const LOCAL_HEALTH_URL = /^http:\/\/(127\.0\.0\.1|localhost)(:\d{1,5})?\/[A-Za-z0-9/._~-]*$/;
const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731] as const;

const SHA256 = matching(/^[a-f0-9]{64}$/, "a lower-case hex SHA-256");

/** Per architecture, because each release binary has its own checksum. */
export const composeSha256Schema = z.union(
  [
    strictObject({ x86_64: SHA256.optional(), aarch64: SHA256.optional() }),
    // A single checksum cannot say which binary it is for; say how to write it instead.
    z.string().transform((_value, ctx): never => {
      ctx.addIssue({
        code: "custom",
        message: 'an object per architecture, such as { "x86_64": "<sha256>", "aarch64": "<sha256>" }',
      });
      return z.NEVER;
    }),
  ],
  { error: 'an object per architecture, such as { "x86_64": "<sha256>", "aarch64": "<sha256>" }' },
);

const environmentSchema = z
  .record(
    matching(ENV_NAME, "upper-case environment variable names (A-Z, 0-9, _)"),
    z.string({ error: "a string value" }).max(4096, { error: "a value of at most 4096 characters" }),
    { error: "an object of NAME: value strings" },
  )
  .superRefine((environment, ctx) => {
    for (const name of Object.keys(environment)) {
      if (SECRET_LOOKING_NAME.test(name)) {
        ctx.addIssue({
          code: "custom",
          path: [name],
          input: name,
          message:
            "no secrets in plain config: put this value in Parameter Store under app.secretsParameterPath",
        });
      }
    }
  });

export const serviceSchema = strictObject({
  name: matching(
    /^[a-z0-9][a-z0-9_-]{0,62}$/,
    "a compose service name (lower-case letters, digits, _ and -)",
  ).describe("Compose service name."),
  image: matching(
    IMAGE,
    `a container image reference, optionally starting with ${ECR_REGISTRY_PLACEHOLDER}/`,
  ).describe(`Image reference; may start with ${ECR_REGISTRY_PLACEHOLDER}/ for the account's own ECR.`),
  ports: z
    .array(matching(/^\d{1,5}:\d{1,5}(\/(tcp|udp))?$/, 'a "host:container" port mapping'))
    .default([])
    .describe('Published ports, "host:container" (ignored with networkMode "host").'),
  networkMode: oneOf(["bridge", "host"]).default("bridge").describe("Docker network mode."),
  environment: environmentSchema
    .default({})
    .describe("Non-secret environment variables; secrets belong under app.secretsParameterPath."),
  /** When true the service receives every SecureString under app.secretsParameterPath as env vars. */
  useSecrets: z
    .boolean({ error: "true or false" })
    .default(true)
    .describe("Whether the service gets the Parameter Store secrets as environment variables."),
});

export const appSchema = strictObject({
  projectName: matching(/^[a-z0-9][a-z0-9_-]{0,62}$/, "a compose project name")
    .default(CNT_BACKEND_APP.projectName)
    .describe("Compose project name."),
  services: uniqueList(serviceSchema, (service) => service.name, "service name")
    .default(CNT_BACKEND_APP.services.map((service) => ({ ...service, ports: [...service.ports] })))
    .describe("The compose services (default: the cnt-backend api and livekit)."),
  /** Handed to every container as REDIS_URL / REDIS_HOST / REDIS_PORT (Socket.io adapter, LiveKit). */
  redisEndpoint: matching(/^[A-Za-z0-9.-]+:\d{1,5}$/, '"host:port"')
    .default(CNT_BACKEND_APP.redisEndpoint)
    .describe('Redis "host:port", given to every container as REDIS_URL, REDIS_HOST and REDIS_PORT.'),
  secretsParameterPath: matching(PARAMETER_PATH, "a Parameter Store path such as /my-app/env")
    .default(CNT_BACKEND_APP.secretsParameterPath)
    .describe("SecureStrings under this Parameter Store path become the containers' environment."),
  healthCheckUrl: matching(LOCAL_HEALTH_URL, "an http:// URL on 127.0.0.1 or localhost")
    .default(CNT_BACKEND_APP.healthCheckUrl)
    .describe("Local health check the bootstrap waits for, on 127.0.0.1 or localhost."),
  healthCheckTimeoutSeconds: integerIn(10, 1800, "seconds")
    .default(CNT_BACKEND_APP.healthCheckTimeoutSeconds)
    .describe("How long the bootstrap waits for the local health check, in seconds."),
  /** Amazon Linux 2023 does not package the compose plugin; this release is fetched instead. */
  composeVersion: matching(/^v\d+\.\d+\.\d+$/, 'a docker compose release tag such as "v2.29.7"')
    .default(CNT_BACKEND_APP.composeVersion)
    .describe("Docker compose release downloaded on Amazon Linux 2023."),
  /**
   * The SHA-256 of docker-compose-linux-<arch> for `composeVersion`, per `uname -m`, as published with
   * the release. Needed for a release launchgate does not pin; overrides the pin where given.
   */
  composeSha256: composeSha256Schema
    .optional()
    .describe("SHA-256 of docker-compose-linux-<arch> per architecture; needed for an unpinned release."),
}).superRefine((app, ctx) => {
  // An unverified binary would run as root on every instance: a release launchgate does not pin needs
  // the user's checksums (checked here, at synth, rather than on a launching instance).
  if (COMPOSE_SHA256[app.composeVersion] || app.composeSha256?.x86_64 || app.composeSha256?.aarch64) return;
  ctx.addIssue({
    code: "custom",
    path: ["composeVersion"],
    input: app.composeVersion,
    message: `a release launchgate pins checksums for (${Object.keys(COMPOSE_SHA256).join(", ")}), or set app.composeSha256 { "x86_64": …, "aarch64": … } from that release's docker-compose-linux-<arch>.sha256 files`,
  });
});

/**
 * Alarm-driven remediation. Off until alarms are named: an alarm going to ALARM restarts the app on the
 * instances it is about (one at a time, each verified healthy), and replaces an instance whose restarts
 * keep failing — within the blast-radius limits below.
 */
export const remediationSchema = strictObject({
  alarms: z
    .array(matching(/^\P{Cc}{1,255}$/u, "CloudWatch alarm names"), {
      error: "a list of CloudWatch alarm names",
    })
    .default([]),
  /** How many instances one alarm episode may act on. */
  maxInstances: integerIn(1, 20, "instances").default(1),
  /** …and at most this share of the group (rounded down, at least 1). */
  maxPercentOfGroup: integerIn(1, 100, "percent").default(34),
  /** Failed restarts within the window before the instance is replaced instead. */
  restartAttempts: integerIn(0, 5, "restart attempts").default(2),
  attemptWindowMinutes: integerIn(5, 1440, "minutes").default(60),
  /** After acting on an instance, ignore further alarms about it for this long (flapping alarms). */
  cooldownMinutes: integerIn(1, 1440, "minutes").default(15),
  /** Decide and log, never act. */
  dryRun: z.boolean({ error: "true or false" }).default(false),
  /**
   * No action while this share of a target group's targets (or more) is unhealthy, or none is healthy:
   * a shared dependency failing, where restarting or replacing instances only removes capacity.
   */
  systemicThresholdPercent: integerIn(1, 100, "percent").default(50),
  /** Replacements the group's remediation may make in any hour; past it, it refuses and alarms. */
  maxReplacementsPerHour: integerIn(0, 20, "replacements").default(2),
});

/**
 * Graceful drain on scale-in: a terminate lifecycle hook (default result CONTINUE) during which the gate
 * runs the bootstrap document's `drain` phase. Absent: no terminate hook, instances stop at once.
 */
export const drainSchema = strictObject({
  timeoutSeconds: integerIn(30, 3600, "seconds").describe(
    "How long sessions may take to end before the instance is terminated anyway, in seconds.",
  ),
});

/**
 * One poll interval: the bounds as the JSON Schema carries them to editors, then the very check the
 * functions make at cold start (poll-intervals.ts; zod's multipleOf tolerates float error, so a value
 * such as 3.0000000000000004 would pass here and stop every function). The first check broken ends
 * the checks: one message per bad value.
 */
const pollInterval = () => {
  const error = POLL_INTERVAL_ALLOWED;
  const { min, max } = POLL_INTERVAL_BOUNDS;
  return z
    .number({ error })
    .min(min, { error, abort: true })
    .max(max, { error, abort: true })
    .refine(isPollInterval, { error });
};

export const groupSchema = strictObject({
  name: matching(GROUP_NAME, "an Auto Scaling group name of letters, digits, '.', '_' and '-'").describe(
    "Name of an existing Auto Scaling group to gate.",
  ),
  hookName: matching(HOOK_NAME, "a lifecycle hook name (letters, digits, _, - and /)")
    .default(CNT_BACKEND_GROUP.hookName)
    .describe("Name of the launch lifecycle hook the stack creates on the group."),
  /**
   * At least 360 s: the reconciler (every 2 minutes) heartbeats a wait whose re-check chain died once a
   * third of this has passed (heartbeat-timing.ts), and must be able to miss a run: this / 3 + 2 × 120 s
   * ≤ this — at 360 s with nothing to spare; at the default 600 s it can miss two.
   */
  heartbeatTimeoutSeconds: integerIn(360, 7200, "seconds")
    .default(CNT_BACKEND_GROUP.heartbeatTimeoutSeconds)
    .describe("Heartbeat timeout of the hook, in seconds."),
  /** The gate's own overall deadline; past it the launch is abandoned with a reason. */
  gateTimeoutSeconds: integerIn(120, 172800, "seconds")
    .default(CNT_BACKEND_GROUP.gateTimeoutSeconds)
    .describe("Overall deadline of one launch, in seconds; past it the launch is abandoned with a reason."),
  agentTimeoutSeconds: integerIn(60, 1800, "seconds")
    .default(CNT_BACKEND_GROUP.agentTimeoutSeconds)
    .describe("How long to wait for the instance's SSM agent to come Online, in seconds."),
  bootstrapTimeoutSeconds: integerIn(60, 7200, "seconds")
    .default(CNT_BACKEND_GROUP.bootstrapTimeoutSeconds)
    .describe("Execution timeout of the bootstrap command, in seconds."),
  targetGroups: uniqueList(
    matching(TARGET_GROUP_NAME, "target group names (1-32 letters, digits or inner hyphens)"),
    (name) => name,
    "target group name",
  ).describe("The target groups (instance type) the gate may register the group's instances with."),
  app: appSchema
    .default(() => appSchema.parse({}))
    .describe("The Docker compose app the bootstrap starts on each instance."),
  remediation: remediationSchema
    .default(() => remediationSchema.parse({}))
    .describe("Alarm-driven remediation; off until alarms are named."),

  drain: drainSchema
    .optional()
    .describe("Graceful drain on scale-in (a terminate lifecycle hook); unset: off."),
});

/** Who hears about the automation: each address is subscribed to the stack's alarm topic (SNS email). */
export const notificationsSchema = strictObject({
  emails: z
    .array(z.email({ error: "an email address such as ops@example.com" }), {
      error: "a list of email addresses",
    })
    .superRefine((emails, ctx) => {
      // SNS would subscribe (and mail a confirmation to) the same mailbox twice.
      const seen = new Set<string>();
      emails.forEach((email, index) => {
        const key = email.toLowerCase();
        if (seen.has(key)) {
          ctx.addIssue({
            code: "custom",
            path: [index],
            input: email,
            message: "each email address only once",
          });
        }
        seen.add(key);
      });
    })
    .default([]),
});

/**
 * The reference environment (infra/reference): a VPC, an ALB and target group, the Auto Scaling group
 * that `groups[0]` names (with the launch hook inside it), Redis and an ECR pull-through cache. Absent,
 * launchgate only gates existing groups; `{}` builds the cnt-backend seed deployment with these defaults.
 */
export const referenceSchema = strictObject({
  instanceType: matching(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, 'an EC2 instance type such as "t3.large"')
    .default("t3.large")
    .describe("Instance type of the group's launch template."),
  appPort: integerIn(1, 65535, "port")
    .default(8000)
    .describe(
      "The port the app serves on each instance (a service's published port, or app.healthCheckUrl's): the target group's port and health check port.",
    ),
  healthCheckPath: matching(/^\/[A-Za-z0-9/._~-]*$/, 'an absolute URL path such as "/health"')
    .default("/health")
    .describe("Path of the target group's health check."),
  /** Long enough for Socket.io requests in flight to finish; the drain phase handles whole sessions. */
  deregistrationDelaySeconds: integerIn(0, 3600, "seconds")
    .default(300)
    .describe("Target group deregistration delay, in seconds."),
  certificateArn: matching(
    /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]{1,64}$/,
    "an ACM certificate ARN",
  )
    .optional()
    .describe("ACM certificate for an HTTPS listener; HTTP then redirects to HTTPS. Unset: HTTP only."),
  /** Docker Hub pull-through caching needs credentials; ECR requires the secret name's prefix. */
  dockerHubCredentialArn: matching(
    /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:ecr-pullthroughcache\/[A-Za-z0-9/_+=.@-]+$/,
    "a Secrets Manager secret ARN whose name starts with ecr-pullthroughcache/",
  )
    .optional()
    .describe(
      "Docker Hub credentials for the ECR pull-through cache. Unset: the cache fronts ECR Public instead.",
    ),
  secretsKmsKeyArn: matching(
    /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]{1,64}$/,
    "a KMS key ARN",
  )
    .optional()
    .describe("Customer managed KMS key of the app's SecureStrings. Unset: the AWS managed aws/ssm key."),
  warmPool: strictObject({
    minSize: integerIn(1, 3, "instances")
      .default(1)
      .describe(
        "Instances the pool holds, kept prepared (Docker installed, images pulled) for scale-out: exactly this many whatever the group's desired capacity (the reference sets MaxGroupPreparedCapacity to it).",
      ),
    // No Hibernated: whether the SSM agent is Online at once after a resume is not documented, so the
    // simulation could not model it honestly (docs/aws-facts.md, warm pools).
    // Running by default: only a Running pool meets the ≤ 60 s scale-out goal in the simulation
    // (README, "Warm pools"); Stopped is the cheaper choice, one setting away.
    poolState: oneOf(["Stopped", "Running"])
      .default("Running")
      .describe(
        "State of the instances in the pool. Running (default): no boot and the agent stays online, so an instance leaves the pool fastest (about 47 s to InService in the simulation), but each pool instance is billed as a running instance all the time. Stopped (cheaper): only their EBS volumes are billed, but an instance leaving the pool boots again and waits for its SSM agent (about 80 s in the simulation).",
      ),
  })
    .optional()
    .describe("A warm pool for the group: scale-out starts from prepared instances. Unset: none."),
});

export const configSchema = strictObject({
  region: matching(AWS_REGION, "an AWS region code such as eu-west-2")
    .default("eu-west-2")
    .describe("Region of the Auto Scaling groups and of the stack."),
  /** Optional: when absent the stack is environment-agnostic and synth needs no credentials. */
  account: matching(/^\d{12}$/, "a 12-digit AWS account id")
    .optional()
    .describe("12-digit account id; unset keeps the stack environment-agnostic (no credentials at synth)."),
  stackName: matching(/^[A-Za-z][A-Za-z0-9-]{0,100}$/, "a CloudFormation stack name")
    .default("launchgate-cnt-backend")
    .describe("CloudFormation stack name; also prefixes the bootstrap document names."),
  logRetentionDays: z
    .literal(LOG_RETENTION_DAYS, { error: `one of ${LOG_RETENTION_DAYS.join(", ")} (days)` })
    .default(30)
    .describe("Retention of the functions' logs and of the bootstrap output log group, in days."),
  groups: uniqueList(groupSchema, (group) => group.name, "group name")
    .default(() => [
      groupSchema.parse({ ...CNT_BACKEND_GROUP, targetGroups: [...CNT_BACKEND_GROUP.targetGroups] }),
    ])
    .describe("The existing Auto Scaling groups to gate (default: the cnt-backend group)."),
  notifications: notificationsSchema
    .default(() => ({ emails: [] }))
    .describe("Who is told about abandoned launches and failures of the automation."),
  pollIntervalSeconds: strictObject({
    agent: pollInterval()
      .default(DEFAULT_POLL_INTERVAL_SECONDS.agent)
      .describe("Between two looks for new instances' SSM agents coming Online."),
    health: pollInterval()
      .default(DEFAULT_POLL_INTERVAL_SECONDS.health)
      .describe("Between two looks for registered instances passing their first load balancer health check."),
  })
    .default(() => ({ ...DEFAULT_POLL_INTERVAL_SECONDS }))
    .describe(
      "How often the gate looks, for all the waits of a group at once, for what no event announces. Shorter: an instance goes InService sooner after it is ready; longer: fewer Auto Scaling, SSM and ELB calls per launch. `npm run bench` prints the trade.",
    ),
  reference: referenceSchema
    .optional()
    .describe(
      "Build the reference environment around groups[0] (VPC, ALB, the group, Redis); unset: gate existing groups only.",
    ),
  /**
   * The editor hint `"$schema": "./launchgate.config.schema.json"` (see scripts/config-schema.ts). Accepted
   * here rather than stripped on load, so every source (context, file, the CLI's --config) and the JSON
   * Schema itself agree that it is allowed; nothing reads it.
   */
  $schema: z
    .string({ error: "a path or URL of the JSON Schema" })
    .optional()
    .describe("The JSON Schema of this file, for editors; launchgate ignores it."),
}).superRefine((config, ctx) => {
  config.groups.forEach((group, index) => {
    // Cross-field checks only make sense on fields that passed their own checks.
    if (!Number.isInteger(group.heartbeatTimeoutSeconds) || group.heartbeatTimeoutSeconds < 360) return;
    // The hook's global timeout is 48 h or 100 × heartbeat, whichever is smaller (docs/aws-facts.md,
    // lifecycle hooks).
    const hookLimit = Math.min(172800, 100 * group.heartbeatTimeoutSeconds);
    if (group.gateTimeoutSeconds > hookLimit) {
      ctx.addIssue({
        code: "custom",
        path: ["groups", index, "gateTimeoutSeconds"],
        input: group.gateTimeoutSeconds,
        message: `at most ${hookLimit} seconds (the hook's global timeout: min(48 h, 100 × heartbeatTimeoutSeconds))`,
      });
    }
    const needed = group.agentTimeoutSeconds + group.bootstrapTimeoutSeconds;
    if (group.gateTimeoutSeconds < needed) {
      ctx.addIssue({
        code: "custom",
        path: ["groups", index, "gateTimeoutSeconds"],
        input: group.gateTimeoutSeconds,
        message: `at least agentTimeoutSeconds + bootstrapTimeoutSeconds = ${needed} seconds`,
      });
    }
  });
});

export type LaunchgateConfig = z.output<typeof configSchema>;
export type GroupConfig = LaunchgateConfig["groups"][number];
export type AppConfig = GroupConfig["app"];
export type ServiceConfig = AppConfig["services"][number];
export type RemediationConfig = GroupConfig["remediation"];
export type DrainConfig = NonNullable<GroupConfig["drain"]>;
export type NotificationsConfig = LaunchgateConfig["notifications"];
export type ReferenceConfig = z.output<typeof referenceSchema>;
