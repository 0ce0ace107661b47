import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/setup.ts"],
    globalSetup: ["test/global-setup.ts"],
    // CDK synth in tests takes a few seconds per app on a small machine.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    env: {
      // Never let a test reach AWS: fake credentials and region, no instance-metadata probe.
      AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE",
      AWS_SECRET_ACCESS_KEY: "test-secret-not-real",
      AWS_REGION: "eu-west-2",
      AWS_EC2_METADATA_DISABLED: "true",
      POWERTOOLS_LOG_LEVEL: "SILENT",
      // Metrics are embedded in the log output; tests that check them pass a sink (test/shared/metrics).
      POWERTOOLS_METRICS_DISABLED: "true",
      CDK_DISABLE_CLI_TELEMETRY: "true",
      // The functions run Node 22 in Lambda; the lock file pins an SDK that still runs on this Node 20.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    },
  },
});
