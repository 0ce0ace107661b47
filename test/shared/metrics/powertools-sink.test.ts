import { Metrics } from "@aws-lambda-powertools/metrics";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { METRIC_NAMESPACE, METRIC_SERVICE } from "../../../shared/metrics/metric-names.js";
import { powertoolsSink } from "../../../shared/metrics/sink.js";

/**
 * What CloudWatch receives: the embedded-metric-format line Powertools writes for a datum. In dev mode
 * Powertools writes through the global console, which the test reads; the suite's environment disables
 * metrics, so this test enables them for its own instance.
 */
let lines: string[];
let warnings: unknown[];

beforeEach(() => {
  vi.stubEnv("POWERTOOLS_DEV", "true");
  vi.stubEnv("POWERTOOLS_METRICS_DISABLED", "false");
  lines = [];
  warnings = [];
  vi.spyOn(console, "warn").mockImplementation((...args: unknown[]) => {
    warnings.push(args);
  });
  vi.spyOn(console, "log").mockImplementation((line: string) => {
    lines.push(line);
  });
});

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

const emf = () => lines.map((line) => JSON.parse(line));

describe("the Powertools sink", () => {
  it("writes the datum per group, and again per group and reason: namespace, unit, dimensions, value", () => {
    const sink = powertoolsSink(new Metrics({ namespace: METRIC_NAMESPACE, serviceName: METRIC_SERVICE }));
    sink.emit({
      name: "LaunchesAbandoned",
      unit: "Count",
      value: 1,
      dimensions: { group: "cnt-backend-asg" },
      alsoBy: { reason: "not-in-use" },
    });

    expect(emf().map((document) => document._aws.CloudWatchMetrics)).toEqual([
      [
        {
          Namespace: "launchgate",
          Dimensions: [["service", "group"]],
          Metrics: [{ Name: "LaunchesAbandoned", Unit: "Count" }],
        },
      ],
      [
        {
          Namespace: "launchgate",
          Dimensions: [["service", "group", "reason"]],
          Metrics: [{ Name: "LaunchesAbandoned", Unit: "Count" }],
        },
      ],
    ]);
    expect(emf()[1]).toMatchObject({
      service: "launchgate",
      group: "cnt-backend-asg",
      reason: "not-in-use",
      LaunchesAbandoned: 1,
    });
    expect(warnings).toEqual([]);
  });

  it("keeps the data of two groups apart (each datum publishes alone)", () => {
    const sink = powertoolsSink(new Metrics({ namespace: METRIC_NAMESPACE, serviceName: METRIC_SERVICE }));
    sink.emit({ name: "TimeToInServiceSeconds", unit: "Seconds", value: 165, dimensions: { group: "a" } });
    sink.emit({ name: "LaunchesStarted", unit: "Count", value: 1, dimensions: { group: "b" } });

    expect(emf().map((document) => [document.group, document._aws.CloudWatchMetrics[0].Dimensions])).toEqual([
      ["a", [["service", "group"]]],
      ["b", [["service", "group"]]],
    ]);
    expect(emf()[0]._aws.CloudWatchMetrics[0].Metrics).toEqual([
      { Name: "TimeToInServiceSeconds", Unit: "Seconds" },
    ]);
    expect(emf()[0].TimeToInServiceSeconds).toBe(165);
  });
});
