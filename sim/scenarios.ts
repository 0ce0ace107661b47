import type { GroupSpec, Scenario } from "./scenario.js";
import { CNT_GROUP } from "./scenario.js";
import type { World } from "./world.js";

/**
 * SIMULATION — the named scenarios: `npm start -- --scenario NAME` runs one, the end-to-end suite runs
 * them all. Failure scenarios script the first launch to fail and its replacement to succeed, as a
 * real group would retry, so every scenario ends with the group at its desired capacity.
 */

const scaleByOne = { ...CNT_GROUP, scaleTo: 2 };

/** The drain limit of the scale-in-drain scenario (groups[].drain.timeoutSeconds). */
const DRAIN_LIMIT_SECONDS = 120;

/** cnt-backend with drain: three serving instances, scaled in to one a minute in. */
const drainingGroup: GroupSpec = {
  ...CNT_GROUP,
  servingAtStart: 3,
  scaleTo: 1,
  scaleAtSeconds: 60,
  timing: { drain: { timeoutSeconds: DRAIN_LIMIT_SECONDS } },
};

/** How long the sessions on each leaving instance take to end, in the order their drains are sent. */
const drainSessions = (sessionSeconds: readonly number[]) => ({
  atSeconds: 0,
  describe: `sessions on the leaving instances take ${sessionSeconds.join(" s, then ")} s to end`,
  run: (world: World) => {
    world.ssm.drain = { limitSeconds: DRAIN_LIMIT_SECONDS, sessionSeconds: [...sessionSeconds] };
  },
});

/**
 * cnt-backend with the reference environment's warm pool: one instance, Running (the config's default),
 * maxGroupPreparedCapacity = minSize as infra/reference/instances.ts sets it (so the pool holds exactly
 * one at any desired capacity), behind its health check (10 s interval, 2 passes:
 * infra/reference/load-balancer.ts). The pool is filled and prepared first; the scale-out comes once it
 * is ready.
 */
const warmPoolGroup: GroupSpec = {
  ...CNT_GROUP,
  warmPool: { minSize: 1, maxGroupPreparedCapacity: 1, poolState: "Running" },
  healthCheck: { intervalSeconds: 10, healthyThreshold: 2, unhealthyThreshold: 3 },
  scaleAtSeconds: 600,
  maxLaunches: 6,
};

/** The same pool kept Stopped (the cheaper setting, `"poolState": "Stopped"`), named explicitly. */
const stoppedWarmPoolGroup: GroupSpec = {
  ...warmPoolGroup,
  warmPool: { minSize: 1, maxGroupPreparedCapacity: 1, poolState: "Stopped" },
};

export const SCENARIOS: readonly Scenario[] = [
  {
    name: "scale-out",
    title: "cnt-backend scales out from 1 to 3 instances; both new ones pass the gate",
    groups: [CNT_GROUP],
  },
  {
    name: "agent-late",
    title: "the SSM agent comes Online only after 4 minutes",
    groups: [{ ...scaleByOne, behaviour: () => ({ agentOnlineAfterSeconds: 240 }) }],
  },
  {
    name: "agent-never",
    title:
      "the first instance's SSM agent never comes Online (missing instance profile); the gate abandons it",
    groups: [{ ...scaleByOne, behaviour: (i) => (i === 0 ? { agentOnlineAfterSeconds: null } : {}) }],
    limitSeconds: 3600,
  },
  {
    name: "bootstrap-fails",
    title:
      "the first bootstrap fails at pull-images (ECR access denied); the gate abandons with the step and stderr",
    groups: [
      {
        ...scaleByOne,
        behaviour: (i) =>
          i === 0
            ? {
                bootstrap: {
                  outcome: "Failed",
                  seconds: 95,
                  failedStep: "pull-images",
                  stderr:
                    "Error response from daemon: pull access denied for cnt-backend, repository does not exist or may require 'docker login'",
                },
              }
            : {},
      },
    ],
  },
  {
    name: "bootstrap-times-out",
    title: "the first bootstrap hangs until the document's execution timeout",
    groups: [{ ...scaleByOne, behaviour: (i) => (i === 0 ? { bootstrap: { outcome: "Hang" } } : {}) }],
    limitSeconds: 5400,
  },
  {
    name: "app-never-healthy",
    title: "the first instance's app never answers its health check (502)",
    groups: [{ ...scaleByOne, behaviour: (i) => (i === 0 ? { appHealthyAfterSeconds: null } : {}) }],
  },
  {
    name: "not-in-use",
    title:
      "the seed deployment's symptom: an instance in eu-west-2c, a zone the load balancer does not enable (Target.NotInUse)",
    groups: [
      {
        ...scaleByOne,
        loadBalancerZones: ["eu-west-2a", "eu-west-2b"],
        behaviour: (i) => ({ zone: i === 0 ? "eu-west-2c" : "eu-west-2a" }),
      },
    ],
  },
  {
    name: "duplicate-events",
    title: "every event is delivered twice",
    groups: [CNT_GROUP],
    deliveryFaults: { duplicateRate: 1 },
  },
  {
    name: "late-command-event",
    title: "SSM status events arrive 3 minutes late, after the fallback re-check has acted",
    groups: [CNT_GROUP],
    deliveryFaults: { commandEventDelaySeconds: 180 },
  },
  {
    name: "lost-command-event",
    title: "every SSM status event is lost; the command re-check drives the gate",
    groups: [CNT_GROUP],
    deliveryFaults: { lostCommandEventRate: 1 },
  },
  {
    name: "lost-launch-event",
    title:
      "the first lifecycle event is never delivered; the reconciler finds the waiting instance and adopts it",
    groups: [scaleByOne],
    deliveryFaults: { lostLaunchEvents: 1 },
  },
  {
    name: "deployed-late",
    title: "two instances were already waiting at the hook when launchgate was deployed (no events for them)",
    groups: [CNT_GROUP],
    deliveryFaults: { lostLaunchEvents: 2 },
  },
  {
    name: "handler-crash",
    title: "the first invocations of both functions crash; async retries and redelivery recover",
    groups: [CNT_GROUP],
    deliveryFaults: {
      crashInvocations: [
        { functionName: "launch", nth: 1 },
        { functionName: "command-result", nth: 1 },
        { functionName: "command-result", nth: 4 },
      ],
    },
  },
  {
    name: "dead-watch",
    title:
      "every invocation that would run a group's watch crashes: the waits' own rounds carry every launch, each at most a round late",
    groups: [{ ...CNT_GROUP, scaleTo: CNT_GROUP.servingAtStart + 4 }],
    deliveryFaults: { watchCrashRate: 1 },
  },
  {
    name: "terminated-mid-run",
    title: "an operator terminates the first new instance while its bootstrap runs",
    groups: [{ ...scaleByOne, maxLaunches: 2 }],
    actions: [
      {
        atSeconds: 120,
        describe: "operator terminates the first launched instance",
        run: (world) => {
          const first = [...world.asg.instances.values()].find((instance) => instance.launchIndex === 0);
          if (first) world.asg.terminateInstance(first.id, "terminated by an operator");
        },
      },
    ],
  },
  {
    name: "throttling-storm",
    title:
      "for 10 minutes, 60 % of all API attempts are throttled; ~5 % of calls exhaust the SDK's 6 attempts",
    groups: [{ ...CNT_GROUP, scaleTo: 11 }],
    apiFaults: { throttleRate: { "*": 0.6 }, window: { fromSeconds: 0, toSeconds: 600 } },
  },
  {
    name: "two-groups",
    title: "two gated groups scale out at once, each with its own target group and document",
    groups: [
      CNT_GROUP,
      { name: "cnt-realtime-asg", targetGroupName: "cnt-realtime-tg", servingAtStart: 1, scaleTo: 4 },
    ],
  },
  {
    name: "burst-200",
    title: "a burst of 200 launches at once",
    groups: [{ ...CNT_GROUP, servingAtStart: 1, scaleTo: 201, maxLaunches: 200 }],
    limitSeconds: 3600,
  },
  {
    name: "warm-pool-scale-out",
    title:
      "cnt-backend with the reference's warm pool (one instance, Running) scales out from 1 to 3: the instance out of the pool does not boot and its agent is already Online (start and health only), beside a cold launch (everything); the pool refills, running",
    groups: [warmPoolGroup],
  },
  {
    name: "warm-pool-stopped-scale-out",
    title:
      "as warm-pool-scale-out, with the pool kept Stopped: the instance out of the pool boots again and waits for its agent (start and health only), beside a cold launch; the pool refills, stopped",
    groups: [stoppedWarmPoolGroup],
  },
  {
    name: "warm-pool-lost-event",
    title:
      "the lifecycle events into and out of the warm pool are lost: the reconciler finds the pool wait (DescribeWarmPool), then the wait out of the pool, never completes the second with the first's record, and gates each (prepare; start and health)",
    groups: [{ ...stoppedWarmPoolGroup, scaleTo: 2, scaleAtSeconds: 1500 }],
    deliveryFaults: { lostLaunchEventsOf: { "EC2 → WarmPool": 1, "WarmPool → AutoScalingGroup": 1 } },
  },
  {
    name: "scale-in-drain",
    title:
      "cnt-backend with drain (120 s) scales in from 3 to 1: both leaving instances wait at the terminate hook, get the drain command, and terminate once it ends; the second one's sessions overrun the limit, and its drain is still completed at the limit",
    groups: [drainingGroup],
    actions: [drainSessions([25, DRAIN_LIMIT_SECONDS * 5])],
    limitSeconds: 1800,
  },
  {
    name: "scale-in-drain-lost-event",
    title:
      "cnt-backend with drain (120 s) scales in from 3 to 1 and the first terminate event is lost: the reconciler finds that instance in Terminating:Wait with no drain, starts its drain (completed by instance id), and it drains in time; the other drains from its event",
    groups: [drainingGroup],
    deliveryFaults: { lostTerminateEvents: 1 },
    actions: [drainSessions([20, 30])],
    limitSeconds: 1800,
  },
];

/** An operator re-bootstraps a whole group through the re-bootstrap function (`all`: prepare + start). */
const rebootstrapGroup = (groupName: string, atSeconds = 60, options: Record<string, unknown> = {}) => ({
  atSeconds,
  describe: `operator re-bootstraps every instance of ${groupName}${Object.keys(options).length > 0 ? ` (${JSON.stringify(options)})` : ""}`,
  run: (world: { invokeAsOperator(fn: string, request: unknown): Promise<void> }) =>
    world.invokeAsOperator("rebootstrap", {
      autoScalingGroupName: groupName,
      all: true,
      phase: "all",
      ...options,
    }),
});

export const OPERATION_SCENARIOS: readonly Scenario[] = [
  {
    name: "rebootstrap-drain",
    title:
      "an operator re-bootstraps 3 serving instances, one at a time: each drained out of its target group first, registered again after, healthy before the next",
    groups: [{ ...CNT_GROUP, servingAtStart: 3, scaleTo: 3 }],
    actions: [rebootstrapGroup(CNT_GROUP.name)],
    restartSeconds: 70,
    trackCapacityFromSeconds: 0,
  },
  {
    name: "rollout-stops-on-failure",
    title:
      "a new document version (2) pulls an image that does not exist: the rollout over 3 instances stops at the first failure, which is back in its target group; the others are untouched",
    groups: [{ ...CNT_GROUP, servingAtStart: 3, scaleTo: 3 }],
    documentVersions: { count: 2, failing: [2] },
    actions: [rebootstrapGroup(CNT_GROUP.name)],
    trackCapacityFromSeconds: 0,
  },
  {
    name: "rollout-rollback",
    title:
      "after the bad version 2 stopped a rollout, the operator rolls back: the same rollout with documentVersion 1 succeeds on every instance",
    groups: [{ ...CNT_GROUP, servingAtStart: 3, scaleTo: 3 }],
    documentVersions: { count: 2, failing: [2] },
    actions: [
      rebootstrapGroup(CNT_GROUP.name),
      rebootstrapGroup(CNT_GROUP.name, 1500, { documentVersion: "1" }),
    ],
    limitSeconds: 5400,
    trackCapacityFromSeconds: 0,
  },
  {
    name: "rollout-batch",
    title:
      'a rollout over 4 serving instances with "batch": "50%": two waves of two, each drained, commanded and healthy again before the next; two always serve',
    groups: [{ ...CNT_GROUP, servingAtStart: 4, scaleTo: 4 }],
    actions: [rebootstrapGroup(CNT_GROUP.name, 60, { batch: "50%" })],
    trackCapacityFromSeconds: 0,
  },
  {
    name: "rollout-batch-keeps-serving",
    title:
      'a rollout over 3 serving instances with "batch": 3: the third would be the last healthy target while the first two drain, so it waits for the next wave',
    groups: [{ ...CNT_GROUP, servingAtStart: 3, scaleTo: 3 }],
    actions: [rebootstrapGroup(CNT_GROUP.name, 60, { batch: 3 })],
    trackCapacityFromSeconds: 0,
  },
  {
    name: "rebootstrap-last-instance",
    title:
      "a group of one: a re-bootstrap is refused without surge; with surge one more instance serves first, and the group never has no healthy target",
    groups: [{ ...CNT_GROUP, servingAtStart: 1, scaleTo: 1 }],
    actions: [rebootstrapGroup(CNT_GROUP.name), rebootstrapGroup(CNT_GROUP.name, 90, { surge: true })],
    trackCapacityFromSeconds: 0,
  },
];

const UNHEALTHY_HOSTS_ALARM = "cnt-backend-unhealthy-hosts";
const COMPOSITE_ALARM = "cnt-backend-degraded";
const remediatedGroup = {
  ...CNT_GROUP,
  servingAtStart: 3,
  scaleTo: 3,
  remediation: { alarms: [UNHEALTHY_HOSTS_ALARM] },
};

/** At `atSeconds`, the app on the first serving instance stops answering. */
const appFails = (atSeconds: number, failure: { restartFixes: boolean; recoversAfterSeconds?: number }) => ({
  atSeconds,
  describe: "the app on the first serving instance stops answering",
  run: (world: World) => {
    const instance = world.servingInstance(0);
    if (instance) world.failApp(instance.id, failure);
  },
});

export const REMEDIATION_SCENARIOS: readonly Scenario[] = [
  {
    name: "remediate-hung-container",
    title:
      "the app hangs on one of three instances (its container runs but does not answer); the UnHealthyHostCount alarm's restart recreates it, and it recovers",
    groups: [remediatedGroup],
    actions: [appFails(120, { restartFixes: true })],
    limitSeconds: 1800,
    trackCapacityFromSeconds: 0,
  },
  {
    name: "remediate-replace",
    title:
      "the app dies for good on one of three instances: two restarts fail, it is replaced, the replacement passes the gate",
    groups: [remediatedGroup],
    actions: [appFails(120, { restartFixes: false })],
    limitSeconds: 3600,
  },
  {
    name: "remediate-composite-alarm",
    title:
      "the app dies on one of three instances; a composite alarm over UnHealthyHostCount fires and the restart fixes it",
    groups: [
      {
        ...remediatedGroup,
        remediation: { alarms: [COMPOSITE_ALARM] },
        compositeAlarms: [{ name: COMPOSITE_ALARM, of: [UNHEALTHY_HOSTS_ALARM] }],
      },
    ],
    actions: [appFails(120, { restartFixes: true })],
    limitSeconds: 1800,
    trackCapacityFromSeconds: 0,
  },
  {
    name: "remediate-systemic",
    title:
      "Redis fails for 10 minutes: every app of three stops answering, the alarm fires, remediation does nothing (systemic) and all recover",
    groups: [remediatedGroup],
    actions: [
      {
        atSeconds: 120,
        describe: "a dependency all instances share fails: every app stops answering for 10 minutes",
        run: (world: World) => {
          for (let index = 0; index < remediatedGroup.servingAtStart; index++) {
            const instance = world.servingInstance(index);
            if (instance) world.failApp(instance.id, { restartFixes: false, recoversAfterSeconds: 600 });
          }
        },
      },
      // The run lasts past the recovery (a quiet world ends early), to show nothing was lost meanwhile.
      { atSeconds: 1200, describe: "the dependency has been back for eight minutes", run: () => {} },
    ],
    limitSeconds: 1800,
  },
  {
    name: "remediate-flapping",
    title:
      "the app on one instance fails for 90 s every 10 minutes, six times: the alarm flaps, the cooldown bounds the actions",
    groups: [remediatedGroup],
    actions: Array.from({ length: 6 }, (_, k) =>
      appFails(120 + k * 600, { restartFixes: false, recoversAfterSeconds: 90 }),
    ),
    limitSeconds: 4200,
  },
];

export function scenarioNamed(name: string): Scenario {
  const scenario = ALL_SCENARIOS.find((candidate) => candidate.name === name);
  if (!scenario) {
    throw new Error(`unknown scenario "${name}"; known: ${ALL_SCENARIOS.map((s) => s.name).join(", ")}`);
  }
  return scenario;
}

export const ALL_SCENARIOS: readonly Scenario[] = [
  ...SCENARIOS,
  ...OPERATION_SCENARIOS,
  ...REMEDIATION_SCENARIOS,
];
