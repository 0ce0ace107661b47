import { describe, expect, it } from "vitest";
import { renderSettings } from "../../../infra/bootstrap/document-content.js";
import { COMPOSE_SHA256, composeChecksums } from "../../../shared/config/defaults.js";
import { ConfigError, parseConfig } from "../../../shared/config/parse-config.js";

/** The compose download is verified by default: pinned per release and architecture, or the user's. */

const SHA_A = "a".repeat(64);
const app = (settings: Record<string, unknown>) => ({
  groups: [{ name: "my-asg", targetGroups: ["my-tg"], app: settings }],
});

function problemsOf(input: unknown): readonly string[] {
  try {
    parseConfig(input, "test");
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("config was accepted");
}

describe("compose checksums", () => {
  it("the default release is pinned for both architectures, as 64 lower-case hex digits", () => {
    const pinned = COMPOSE_SHA256["v2.29.7"];
    expect(pinned?.x86_64).toMatch(/^[a-f0-9]{64}$/);
    expect(pinned?.aarch64).toMatch(/^[a-f0-9]{64}$/);
    expect(pinned?.x86_64).not.toBe(pinned?.aarch64);
    expect(parseConfig({}).groups[0]?.app.composeVersion).toBe("v2.29.7");
  });

  it("the settings the bootstrap reads carry the pins, or the user's override per architecture", () => {
    const pinned = parseConfig({}).groups[0]?.app;
    if (!pinned) throw new Error("default app");
    const settings = renderSettings({
      groupName: "g",
      region: "eu-west-2",
      app: pinned,
      executionTimeoutSeconds: 60,
    });
    expect(settings).toContain(`COMPOSE_SHA256_X86_64=${COMPOSE_SHA256["v2.29.7"]?.x86_64}\n`);
    expect(settings).toContain(`COMPOSE_SHA256_AARCH64=${COMPOSE_SHA256["v2.29.7"]?.aarch64}\n`);

    expect(composeChecksums({ composeVersion: "v2.29.7", composeSha256: { aarch64: SHA_A } })).toEqual({
      x86_64: COMPOSE_SHA256["v2.29.7"]?.x86_64,
      aarch64: SHA_A,
    });
  });

  it("a release launchgate does not pin needs the user's checksums, refused at synth otherwise", () => {
    expect(problemsOf(app({ composeVersion: "v2.30.0" }))).toEqual([
      'groups[0].app.composeVersion: got "v2.30.0"; allowed: a release launchgate pins checksums for (v2.29.7), or set app.composeSha256 { "x86_64": …, "aarch64": … } from that release\'s docker-compose-linux-<arch>.sha256 files',
    ]);
    const config = parseConfig(app({ composeVersion: "v2.30.0", composeSha256: { x86_64: SHA_A } }));
    // The other architecture stays empty: the bootstrap refuses to download for it.
    expect(composeChecksums(config.groups[0]?.app ?? { composeVersion: "" })).toEqual({
      x86_64: SHA_A,
      aarch64: undefined,
    });
  });

  it("a single checksum is refused: it cannot say which binary it is for", () => {
    expect(problemsOf(app({ composeSha256: SHA_A }))).toEqual([
      `groups[0].app.composeSha256: got "${SHA_A}"; allowed: an object per architecture, such as { "x86_64": "<sha256>", "aarch64": "<sha256>" }`,
    ]);
  });

  it("checksums must be hex and architectures known", () => {
    expect(problemsOf(app({ composeSha256: { x86_64: "ABC" } }))).toEqual([
      'groups[0].app.composeSha256.x86_64: got "ABC"; allowed: a lower-case hex SHA-256',
    ]);
    expect(problemsOf(app({ composeSha256: { arm64: SHA_A } }))).toEqual([
      'unknown key "arm64" in groups[0].app.composeSha256; known keys are x86_64, aarch64',
    ]);
  });
});
