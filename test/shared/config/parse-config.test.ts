import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../../shared/config/parse-config.js";

/** The problems parseConfig reports for `input`, or a failure if it accepts it. */
function problemsOf(input: unknown): readonly string[] {
  try {
    parseConfig(input, "test");
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("config was accepted");
}

const group = (overrides: Record<string, unknown>) => ({
  groups: [{ name: "my-asg", targetGroups: ["my-tg"], ...overrides }],
});

describe("parseConfig defaults", () => {
  it("is the cnt-backend reference deployment when nothing is given", () => {
    const config = parseConfig(undefined);
    expect(config.region).toBe("eu-west-2");
    expect(config.groups).toHaveLength(1);
    const [backend] = config.groups;
    expect(backend?.name).toBe("cnt-backend-asg");
    expect(backend?.targetGroups).toEqual(["cnt-backend-tg"]);
    expect(backend?.app.redisEndpoint).toBe("cnt-redis-cluster.h94cmg.0001.euw2.cache.amazonaws.com:6379");
    expect(backend?.app.services.map((service) => service.name)).toEqual(["api", "livekit"]);
  });

  it("fills a user's group with defaults but keeps what the user set", () => {
    const config = parseConfig(group({ heartbeatTimeoutSeconds: 900 }));
    expect(config.groups[0]).toMatchObject({
      name: "my-asg",
      targetGroups: ["my-tg"],
      heartbeatTimeoutSeconds: 900,
      hookName: "launchgate-launch",
    });
  });
});

describe("parseConfig errors name the field, the value and what is allowed", () => {
  it("wrong type", () => {
    expect(problemsOf(group({ heartbeatTimeoutSeconds: "600" }))).toEqual([
      'groups[0].heartbeatTimeoutSeconds: got "600"; allowed: a whole number of seconds from 360 to 7200',
    ]);
  });

  it("missing group name", () => {
    expect(problemsOf({ groups: [{ targetGroups: ["my-tg"] }] })).toEqual([
      "groups[0].name: is required; allowed: an Auto Scaling group name of letters, digits, '.', '_' and '-'",
    ]);
  });

  it("heartbeat timeout below 30 s", () => {
    expect(problemsOf(group({ heartbeatTimeoutSeconds: 20 }))).toEqual([
      "groups[0].heartbeatTimeoutSeconds: got 20; allowed: a whole number of seconds from 360 to 7200",
    ]);
  });

  it("heartbeat timeout above 7200 s", () => {
    expect(problemsOf(group({ heartbeatTimeoutSeconds: 7201 }))).toEqual([
      "groups[0].heartbeatTimeoutSeconds: got 7201; allowed: a whole number of seconds from 360 to 7200",
    ]);
  });

  it("unknown key, at the top and inside a group", () => {
    expect(problemsOf({ regoin: "eu-west-2" })).toEqual([
      'unknown key "regoin"; known keys are region, account, stackName, logRetentionDays, groups, notifications, pollIntervalSeconds, reference, $schema',
    ]);
    expect(problemsOf(group({ heartbeatTimeout: 600 }))[0]).toMatch(
      /^unknown key "heartbeatTimeout" in groups\[0\]; known keys are name, hookName, heartbeatTimeoutSeconds, /,
    );
  });

  it("poll interval out of range or not in half seconds", () => {
    expect(problemsOf({ pollIntervalSeconds: { agent: 0.5 } })).toEqual([
      "pollIntervalSeconds.agent: got 0.5; allowed: a number of seconds from 1 to 10, in steps of 0.5",
    ]);
    expect(problemsOf({ pollIntervalSeconds: { health: 3.2 } })).toEqual([
      "pollIntervalSeconds.health: got 3.2; allowed: a number of seconds from 1 to 10, in steps of 0.5",
    ]);
    // Below the minimum and not in halves: one message, not one per broken bound.
    expect(problemsOf({ pollIntervalSeconds: { agent: 0.25 } })).toHaveLength(1);
    expect(problemsOf({ pollIntervalSeconds: { agent: 10.5, health: "3" } })).toHaveLength(2);
    // Float error refused here, as the functions refuse it at cold start (test/shared/config/runtime-config.test.ts).
    expect(problemsOf({ pollIntervalSeconds: { health: 0.1 * 3 * 10 } })).toEqual([
      "pollIntervalSeconds.health: got 3.0000000000000004; allowed: a number of seconds from 1 to 10, in steps of 0.5",
    ]);
  });

  it("malformed region", () => {
    expect(problemsOf({ region: "europe-west" })).toEqual([
      'region: got "europe-west"; allowed: an AWS region code such as eu-west-2',
    ]);
  });

  it("gate timeout beyond the hook's global timeout (100 × heartbeat)", () => {
    expect(problemsOf(group({ heartbeatTimeoutSeconds: 360, gateTimeoutSeconds: 40000 }))).toEqual([
      "groups[0].gateTimeoutSeconds: got 40000; allowed: at most 36000 seconds (the hook's global timeout: min(48 h, 100 × heartbeatTimeoutSeconds))",
    ]);
  });

  it("a secret-looking variable in plain config", () => {
    const input = group({
      app: { services: [{ name: "api", image: "nginx:1.27", environment: { DB_PASSWORD: "hunter2" } }] },
    });
    const problems = problemsOf(input);
    expect(problems).toEqual([
      'groups[0].app.services[0].environment.DB_PASSWORD: got "DB_PASSWORD"; allowed: no secrets in plain config: put this value in Parameter Store under app.secretsParameterPath',
    ]);
    expect(problems.join()).not.toContain("hunter2");
  });

  it("duplicate group names and an empty target group list", () => {
    expect(
      problemsOf({
        groups: [
          { name: "a", targetGroups: ["tg"] },
          { name: "a", targetGroups: [] },
        ],
      }),
    ).toEqual([
      "groups[1].targetGroups: got a list; allowed: at least one target group name",
      'groups[1]: got "a"; allowed: each group name only once',
    ]);
  });

  it("a health check URL off the instance", () => {
    expect(problemsOf(group({ app: { healthCheckUrl: "http://example.com/health" } }))).toEqual([
      'groups[0].app.healthCheckUrl: got "http://example.com/health"; allowed: an http:// URL on 127.0.0.1 or localhost',
    ]);
  });

  it("reports every problem at once", () => {
    expect(problemsOf({ region: "x", logRetentionDays: 2, groups: [] })).toHaveLength(3);
  });

  it("the error message lists the problems under the source", () => {
    expect(() => parseConfig({ region: "x" }, "my-config.json")).toThrow(
      'invalid launchgate config (my-config.json):\n  - region: got "x"; allowed: an AWS region code such as eu-west-2',
    );
  });
});

describe("parseConfig refuses a config that is not an object", () => {
  it.each([
    [null, "null"],
    [[{ region: "eu-west-1" }], "a list (1 item)"],
    [42, "the number 42"],
    [true, "the boolean true"],
    ["eu-west-1", 'a string ("eu-west-1")'],
  ])("%j is refused, saying what it is", (input, what) => {
    expect(problemsOf(input)).toEqual([
      `the config is ${what}; it must be a JSON object such as {"region": "eu-west-2"} (write {} for the built-in defaults)`,
    ]);
  });

  it("only a missing config (undefined) means the defaults", () => {
    expect(parseConfig(undefined).stackName).toBe("launchgate-cnt-backend");
  });
});

describe("notifications", () => {
  it("default to no email addresses", () => {
    expect(parseConfig({}).notifications).toEqual({ emails: [] });
    expect(parseConfig({ notifications: {} }).notifications).toEqual({ emails: [] });
  });

  it("keep the addresses given", () => {
    const emails = ["ops@example.com", "on-call+launchgate@example.org"];
    expect(parseConfig({ notifications: { emails } }).notifications.emails).toEqual(emails);
  });

  it("refuse what is not an email address, naming it", () => {
    expect(problemsOf({ notifications: { emails: ["ops@example.com", "not-an-address"] } })).toEqual([
      'notifications.emails[1]: got "not-an-address"; allowed: an email address such as ops@example.com',
    ]);
  });

  it("refuse an address given twice, whatever its case", () => {
    expect(problemsOf({ notifications: { emails: ["ops@example.com", "OPS@example.com"] } })).toEqual([
      'notifications.emails[1]: got "OPS@example.com"; allowed: each email address only once',
    ]);
  });

  it("refuse unknown keys and a single string", () => {
    expect(problemsOf({ notifications: { email: "ops@example.com" } })[0]).toMatch(
      /^unknown key "email" in notifications; known keys are emails/,
    );
    expect(problemsOf({ notifications: { emails: "ops@example.com" } })).toEqual([
      'notifications.emails: got "ops@example.com"; allowed: a list of email addresses',
    ]);
  });
});

describe("$schema", () => {
  it("is accepted (an editor hint) and changes nothing else", () => {
    const config = parseConfig({ $schema: "./launchgate.config.schema.json" });
    expect(config.$schema).toBe("./launchgate.config.schema.json");
    expect({ ...config, $schema: undefined }).toEqual({ ...parseConfig({}), $schema: undefined });
  });

  it("must be a string", () => {
    expect(problemsOf({ $schema: 1 })).toEqual(["$schema: got 1; allowed: a path or URL of the JSON Schema"]);
  });
});
