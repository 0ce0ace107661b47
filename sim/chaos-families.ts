import type { Random } from "./engine/random.js";
import { CNT_GROUP, type GroupSpec, type Scenario } from "./scenario.js";
import type { World } from "./world.js";
import type { InstanceBehaviour } from "./world-context.js";

/**
 * SIMULATION — the chaos families: each turns a seed into a scenario whose faults are drawn from that
 * seed, so every seed is a different run of the same kind of trouble, and the seed alone reproduces it.
 */

export interface ChaosOptions {
  /** New instances per scale-out (families that scale out). */
  readonly instances?: number;
  /** Probability that an AWS API attempt is throttled, for the first 15 minutes, in every family. */
  readonly throttle?: number;
  /** The services `throttle` applies to ("Auto Scaling", "SSM", …); absent: every API but SQS ("*"). */
  readonly throttleServices?: readonly string[];
  /** The deployment's `pollIntervalSeconds`; absent: the config's default. */
  readonly pollIntervalSeconds?: Scenario["pollIntervalSeconds"];
}

/** The API faults of `options.throttle`: on the services it names, or on every API. */
function throttleFaults(
  options: ChaosOptions,
  throttle: number,
  window: { fromSeconds: number; toSeconds: number },
) {
  const keys = options.throttleServices ?? ["*"];
  return { throttleRate: Object.fromEntries(keys.map((key) => [key, throttle])), window };
}

export interface ChaosFamily {
  readonly name: string;
  readonly what: string;
  build(seed: number, random: Random, options: ChaosOptions): Scenario;
}

const scaled = (options: ChaosOptions, fallback: number): GroupSpec => {
  const n = options.instances ?? fallback;
  return { ...CNT_GROUP, servingAtStart: 1, scaleTo: 1 + n, maxLaunches: Math.ceil(n * 1.6) + 3 };
};

const base = (name: string, seed: number, options: ChaosOptions, groups: readonly GroupSpec[]): Scenario => ({
  name: `chaos:${name}`,
  title: `chaos family ${name}, seed ${seed}`,
  seed,
  groups,
  limitSeconds: 7200,
  ...(options.pollIntervalSeconds ? { pollIntervalSeconds: options.pollIntervalSeconds } : {}),
  ...(options.throttle
    ? { apiFaults: throttleFaults(options, options.throttle, { fromSeconds: 0, toSeconds: 900 }) }
    : {}),
});

/** One launch's trouble, drawn per launch: mostly healthy, sometimes each of the ways a launch fails. */
function troubledLaunch(random: Random): Partial<InstanceBehaviour> {
  const roll = random.next();
  if (roll < 0.7) return {};
  if (roll < 0.76) return { agentOnlineAfterSeconds: null };
  if (roll < 0.82)
    return {
      bootstrap: {
        outcome: "Failed",
        seconds: Math.round(random.uniform(20, 200)),
        failedStep: "pull-images",
        stderr: "toomanyrequests: You have reached your pull rate limit",
      },
    };
  if (roll < 0.86) return { bootstrap: { outcome: "Hang" } };
  if (roll < 0.92) return { appHealthyAfterSeconds: null };
  if (roll < 0.96) return { zone: "eu-west-2c" };
  // Slow but fine: the agent and the app take their time.
  return { agentOnlineAfterSeconds: Math.round(random.uniform(200, 500)), appHealthyAfterSeconds: 90 };
}

/** A value drawn from `values`. */
function pick<T>(random: Random, values: readonly T[]): T {
  return values[Math.floor(random.uniform(0, values.length))] as T;
}

/** A poll interval the config allows: 1 to 10 s in steps of 0.5 (shared/config/poll-intervals.ts). */
const drawnPollInterval = (random: Random) => 1 + 0.5 * Math.floor(random.uniform(0, 19));

/**
 * A group's settings drawn from what the config allows (shared/config/schema.ts) and the load balancer
 * accepts (health-check interval 5–300 s, thresholds 2–10): the extremes a third of the time.
 */
function drawnSettings(random: Random): Pick<GroupSpec, "timing" | "healthCheck"> {
  const heartbeatTimeoutSeconds = random.chance(0.3)
    ? pick(random, [360, 7200])
    : Math.round(random.uniform(360, 3600));
  const agentTimeoutSeconds = Math.round(random.uniform(420, 1800));
  const bootstrapTimeoutSeconds = Math.round(random.uniform(960, 3600));
  const hookLimit = Math.min(172800, 100 * heartbeatTimeoutSeconds);
  const gateTimeoutSeconds = Math.min(
    hookLimit,
    agentTimeoutSeconds + bootstrapTimeoutSeconds + Math.round(random.uniform(300, 3600)),
  );
  const intervalSeconds = random.chance(0.3) ? pick(random, [5, 300]) : Math.round(random.uniform(5, 300));
  return {
    timing: { heartbeatTimeoutSeconds, agentTimeoutSeconds, bootstrapTimeoutSeconds, gateTimeoutSeconds },
    healthCheck: {
      intervalSeconds,
      healthyThreshold: Math.round(random.uniform(2, 10)),
      unhealthyThreshold: Math.round(random.uniform(2, 10)),
    },
  };
}

export const CHAOS_FAMILIES: readonly ChaosFamily[] = [
  {
    name: "scale-out",
    what: "a scale-out with timings drawn from their distributions",
    build: (seed, _random, options) => base("scale-out", seed, options, [scaled(options, 4)]),
  },
  {
    name: "launch-failures",
    what: "each launch may lose its agent, fail or hang its bootstrap, never serve, or land in a zone the load balancer does not enable",
    build: (seed, _random, options) =>
      base("launch-failures", seed, options, [
        {
          ...scaled(options, 5),
          loadBalancerZones: ["eu-west-2a", "eu-west-2b"],
          behaviour: (_index, random) => troubledLaunch(random),
        },
      ]),
  },
  {
    name: "event-faults",
    what: "lost, duplicated and late lifecycle and SSM events, at rates drawn per seed",
    build: (seed, random, options) => ({
      ...base("event-faults", seed, options, [scaled(options, 4)]),
      deliveryFaults: {
        duplicateRate: random.uniform(0, 0.5),
        lostLaunchEventRate: random.uniform(0, 0.3),
        lostCommandEventRate: random.uniform(0, 0.6),
        commandEventDelaySeconds: Math.round(random.uniform(0, 240)),
      },
    }),
  },
  {
    name: "handler-crashes",
    what: "any invocation may crash before its handler runs, a group watch's more often (0–60 %); 1–5 % of API attempts fail with a 5xx, half of them after the service did the work",
    build: (seed, random, options) => {
      const scenario = base("handler-crashes", seed, options, [scaled(options, 4)]);
      return {
        ...scenario,
        deliveryFaults: { crashRate: random.uniform(0.02, 0.2), watchCrashRate: random.uniform(0, 0.6) },
        apiFaults: { ...scenario.apiFaults, transientRate: random.uniform(0.01, 0.05) },
      };
    },
  },
  {
    name: "throttling",
    what: "for 15 minutes, a share of every API attempt drawn per seed (30–70 %) is throttled",
    build: (seed, random, options) => ({
      ...base("throttling", seed, options, [scaled(options, 6)]),
      apiFaults: throttleFaults(options, options.throttle ?? random.uniform(0.3, 0.7), {
        fromSeconds: 0,
        toSeconds: 900,
      }),
    }),
  },
  {
    name: "queue-faults",
    what: "the gate's SQS calls fail: 2–4 outages of 20–90 s in the first 15 minutes (every call fails whole) and, throughout, a drawn share (20–70 %) of attempts throttled; some command events lost or duplicated, so the re-check chains carry those waits",
    build: (seed, random, options) => {
      const scenario = base("queue-faults", seed, options, [scaled(options, 5)]);
      const outages = Array.from({ length: 2 + Math.floor(random.uniform(0, 3)) }, () => {
        const fromSeconds = Math.round(random.uniform(0, 840));
        return { service: "SQS", fromSeconds, toSeconds: fromSeconds + Math.round(random.uniform(20, 90)) };
      });
      return {
        ...scenario,
        deliveryFaults: {
          lostCommandEventRate: random.uniform(0, 0.3),
          duplicateRate: random.uniform(0, 0.2),
        },
        apiFaults: {
          ...scenario.apiFaults,
          throttleRate: { ...scenario.apiFaults?.throttleRate, SQS: random.uniform(0.2, 0.7) },
          window: { fromSeconds: 0, toSeconds: 900 },
          outages,
        },
        actions: [
          {
            atSeconds: 0,
            describe: `SQS outages: ${outages.map((o) => `${o.fromSeconds}–${o.toSeconds} s`).join(", ")}`,
            run: () => undefined,
          },
        ],
      };
    },
  },
  {
    name: "two-target-groups",
    what: "a group behind two target groups with different health checks: CONTINUE needs both",
    build: (seed, _random, options) =>
      base("two-target-groups", seed, options, [
        {
          ...scaled(options, 3),
          targetGroups: [
            {
              name: "cnt-backend-tg",
              healthCheck: { intervalSeconds: 10, healthyThreshold: 3, unhealthyThreshold: 2 },
            },
            {
              name: "cnt-admin-tg",
              healthCheck: { intervalSeconds: 30, healthyThreshold: 5, unhealthyThreshold: 2 },
            },
          ],
          // The app answers late: one target group's checks may pass well before the other's.
          behaviour: (_index, random) => ({ appHealthyAfterSeconds: Math.round(random.uniform(5, 60)) }),
        },
      ]),
  },
  {
    name: "rebootstrap",
    what: "an operator re-bootstraps a serving group, one at a time or in waves of a drawn batch, while its restarts take a drawn time; an agent may be lost",
    build: (seed, random, options) => {
      // No batch (one at a time), a count, a share, or all at once (the last healthy target still waits).
      const batch = [undefined, 2, "50%", "100%"][Math.floor(random.uniform(0, 4))];
      return {
        ...base("rebootstrap", seed, options, [{ ...CNT_GROUP, servingAtStart: 3, scaleTo: 3 }]),
        restartSeconds: Math.round(random.uniform(5, 90)),
        actions: [
          ...(random.chance(0.25)
            ? [
                {
                  atSeconds: 5,
                  describe: "the SSM agent of one serving instance stops answering",
                  run: (world: World) => {
                    const instance = world.servingInstance(Math.floor(random.uniform(0, 3)));
                    if (instance) world.ssm.agentLost(instance.id);
                  },
                },
              ]
            : []),
          {
            atSeconds: Math.round(random.uniform(10, 300)),
            describe: `operator re-bootstraps every instance of the group${batch === undefined ? "" : ` (batch ${batch})`}`,
            run: (world: World) =>
              world.invokeAsOperator("rebootstrap", {
                autoScalingGroupName: CNT_GROUP.name,
                all: true,
                phase: "all",
                ...(batch === undefined ? {} : { batch }),
              }),
          },
        ],
      };
    },
  },
  {
    name: "remediation",
    what: "an app dies on one of three instances; a restart may or may not fix it",
    build: (seed, random, options) => {
      const restartFixes = random.chance(0.5);
      return {
        ...base("remediation", seed, options, [
          {
            ...CNT_GROUP,
            servingAtStart: 3,
            scaleTo: 3,
            remediation: { alarms: ["cnt-backend-unhealthy-hosts"] },
          },
        ]),
        actions: [
          {
            atSeconds: Math.round(random.uniform(30, 400)),
            describe: `the app on the first serving instance stops answering (restart ${restartFixes ? "fixes" : "does not fix"} it)`,
            run: (world: World) => {
              const instance = world.servingInstance(0);
              if (instance) world.failApp(instance.id, { restartFixes });
            },
          },
        ],
      };
    },
  },
  {
    name: "drawn-settings",
    what: "a deployment's settings drawn from what the config and the load balancer allow (heartbeat timeout, deadlines, poll intervals, health-check interval and thresholds), with invocations that crash and events lost or duplicated",
    build: (seed, random, options) => {
      const settings = drawnSettings(random);
      const scenario = base("drawn-settings", seed, options, [{ ...scaled(options, 4), ...settings }]);
      return {
        ...scenario,
        pollIntervalSeconds: options.pollIntervalSeconds ?? {
          agent: drawnPollInterval(random),
          health: drawnPollInterval(random),
        },
        deliveryFaults: {
          crashRate: random.uniform(0, 0.08),
          watchCrashRate: random.uniform(0, 0.3),
          duplicateRate: random.uniform(0, 0.3),
          lostLaunchEventRate: random.uniform(0, 0.15),
          lostCommandEventRate: random.uniform(0, 0.3),
        },
        apiFaults: { ...scenario.apiFaults, transientRate: random.uniform(0, 0.02) },
        // Long heartbeat timeouts and health-check intervals stretch every wait: time for replacements.
        limitSeconds: 14_400,
        actions: [
          {
            atSeconds: 0,
            describe: `settings: ${JSON.stringify(settings)}`,
            run: () => undefined,
          },
        ],
      };
    },
  },
  {
    name: "tight-deadlines",
    what: "the smallest gate timeout config allows, slow agents and bootstraps: waits reach their deadline, some while turning healthy",
    build: (seed, _random, options) => ({
      ...base("tight-deadlines", seed, options, [
        {
          ...scaled(options, 4),
          timing: {
            heartbeatTimeoutSeconds: 600,
            agentTimeoutSeconds: 600,
            bootstrapTimeoutSeconds: 1200,
            gateTimeoutSeconds: 1800,
          },
          behaviour: (_index, random) => ({
            agentOnlineAfterSeconds: Math.round(random.uniform(450, 590)),
            bootstrap: { outcome: "Success", seconds: Math.round(random.uniform(1120, 1190)) },
            appHealthyAfterSeconds: Math.round(random.uniform(0, 20)),
          }),
        },
      ]),
      // Each launch takes up to its 30-minute deadline: room for the replacements of those abandoned.
      limitSeconds: 14_400,
    }),
  },
  {
    name: "remediation-last-healthy",
    what: "an alarm names an instance while it may be the last healthy one: remediation must leave it alone",
    build: (seed, random, options) => {
      const alarm = "cnt-backend-instance-errors";
      const otherFailsFirst = random.chance(0.7);
      const failAt = Math.round(random.uniform(30, 300));
      const alarmAt = otherFailsFirst
        ? failAt + Math.round(random.uniform(60, 300))
        : Math.max(0, failAt - 200);
      return {
        ...base("remediation-last-healthy", seed, options, [
          {
            ...CNT_GROUP,
            servingAtStart: 2,
            scaleTo: 2,
            remediation: { alarms: [alarm] },
            instanceAlarms: [{ name: alarm, servingIndex: 0 }],
          },
        ]),
        actions: [
          {
            atSeconds: failAt,
            describe: "the app on the second serving instance stops answering, for good",
            run: (world: World) => {
              const other = world.servingInstance(1);
              if (other) world.failApp(other.id, { restartFixes: false });
            },
          },
          {
            atSeconds: alarmAt,
            describe: `alarm ${alarm} (on the first serving instance) starts breaching`,
            run: (world: World) => world.setAlarmBreaching(alarm, true),
          },
        ],
      };
    },
  },
  {
    name: "scale-in-drain",
    what: "a draining group scales in: drain limits, deregistration delays and session lengths drawn; terminate events lost or duplicated",
    build: (seed, random, options) => {
      const serving = 2 + Math.floor(random.uniform(0, 4));
      const limitSeconds = Math.round(random.uniform(60, 300));
      const sessionSeconds = Array.from({ length: serving }, () =>
        Math.round(random.uniform(5, limitSeconds * 1.5)),
      );
      return {
        ...base("scale-in-drain", seed, options, [
          {
            ...CNT_GROUP,
            servingAtStart: serving,
            scaleTo: 1,
            scaleAtSeconds: 60,
            targetGroups: [
              { name: "cnt-backend-tg", deregistrationDelaySeconds: Math.round(random.uniform(0, 300)) },
            ],
            timing: { drain: { timeoutSeconds: limitSeconds } },
          },
        ]),
        deliveryFaults: {
          lostTerminateEvents: Math.floor(random.uniform(0, serving)),
          duplicateRate: random.uniform(0, 0.5),
        },
        actions: [
          {
            atSeconds: 0,
            describe: `drain limit ${limitSeconds} s; sessions end after ${sessionSeconds.join(", ")} s`,
            run: (world: World) => {
              world.ssm.drain = { limitSeconds, sessionSeconds };
            },
          },
        ],
      };
    },
  },
];
