import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ENV_WRITER_PATH } from "../../infra/bootstrap/document-content.js";
import { readComposeEnvFile } from "./compose-env-reader.js";
import { instance } from "./instance.js";

/**
 * The secrets env file round-trips every value exactly: values go through the real writer
 * (bootstrap/write-env.py, as the bootstrap runs it) and are read back the way compose reads an
 * env_file, with both generations of compose-go's parser.
 */

/** Values that plain `NAME=value` lines, or naive quoting, would change. */
const TRICKY: Record<string, string> = {
  PLAIN: "postgres://app:pw@db:5432/app?sslmode=require",
  EMPTY: "",
  SINGLE_QUOTE: "it's",
  ONLY_SINGLE_QUOTE: "'",
  DOUBLE_QUOTES: 'say "hi"',
  ONLY_DOUBLE_QUOTE: '"',
  BOTH_QUOTES: `'"'"`,
  HASH: "abc#def",
  SPACE_HASH: "abc #not a comment",
  LEADING_HASH: "#start",
  DOLLAR: "pa$$word$",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal compose reference, the point of the test
  DOLLAR_NAME: "$HOME and ${PATH} and $1",
  DOLLAR_AND_QUOTE: "it's $HOME",
  EQUALS: "a=b==c=",
  SPACES: "  leading and trailing  ",
  TAB: "a\tb",
  UNICODE: "héllo wörld ✓ 日本語 🔐",
  NBSP: "\u00a0nbsp\u00a0",
  BACKSLASH: "a\\b",
  TRAILING_BACKSLASH: "ends with \\",
  ONLY_BACKSLASH: "\\",
  ESCAPE_LOOKALIKES: "\\n\\t\\0134\\\\ \\$",
  BACKSLASH_QUOTE: 'it\\\'s \\"x\\"',
  TRAILING_BACKSLASH_QUOTE: "quote' and \\",
  JSON: '{"user": "app", "pass": "p\'w"}',
  OCTAL_LOOKALIKE_DIGITS: "\\5 and \\01",
};

function writeEnvFile(values: Record<string, string>): {
  code: number | null;
  env: string;
  stdout: string;
  stderr: string;
} {
  const dir = mkdtempSync(join(tmpdir(), "launchgate-env-"));
  const listing = join(dir, "listing.json");
  const envFile = join(dir, "app.env");
  writeFileSync(
    listing,
    JSON.stringify(Object.entries(values).map(([name, value]) => [`/app/env/${name}`, value])),
  );
  const result = spawnSync("python3", [ENV_WRITER_PATH, listing, envFile], { encoding: "utf8" });
  let env = "";
  try {
    env = readFileSync(envFile, "utf8");
  } catch {
    // not written: the writer refused
  }
  return { code: result.status, env, stdout: result.stdout, stderr: result.stderr };
}

describe("the env file round-trips every value exactly", () => {
  for (const generation of ["v2.0", "v2.13"] as const) {
    it(`through the real writer and compose-go's ${generation} parser`, () => {
      const written = writeEnvFile(TRICKY);

      expect(written.code).toBe(0);
      expect(written.stdout.trim()).toBe(String(Object.keys(TRICKY).length));
      expect(Object.fromEntries(readComposeEnvFile(written.env, generation))).toEqual(TRICKY);
    });
  }

  it("quotes every value: nothing is left for compose to strip, comment out or interpolate", () => {
    const written = writeEnvFile(TRICKY);

    for (const line of written.env.trimEnd().split("\n")) expect(line).toMatch(/^[A-Z_]+=(['"]).*\1$/);
  });

  it("the naive NAME=value lines this replaces would not round-trip (the reader is not lenient)", () => {
    const naive = Object.entries({ SPACE_HASH: TRICKY.SPACE_HASH, SPACES: TRICKY.SPACES, QUOTED: "'x'" })
      .map(([name, value]) => `${name}=${value}\n`)
      .join("");

    expect(Object.fromEntries(readComposeEnvFile(naive, "v2.0"))).toEqual({
      SPACE_HASH: "abc",
      SPACES: "leading and trailing",
      QUOTED: "x",
    });
  });
});

describe("the writer refuses what an env file cannot hold, naming the parameter, never the value", () => {
  it.each([
    ["a multi-line value", { KEY: "line one\nsecret-line-two" }, "has a multi-line value"],
    ["a carriage return", { KEY: "one\rsecret-two" }, "has a multi-line value"],
    ["a NUL character", { KEY: "a\0secret" }, "contains a NUL character"],
  ])("%s", (_what, values, message) => {
    const written = writeEnvFile(values);

    expect(written.code).toBe(1);
    expect(written.env).toBe("");
    expect(written.stderr).toContain(`parameter /app/env/KEY ${message}`);
    expect(written.stderr).not.toContain("secret");
  });

  it("two parameters whose names end alike", () => {
    const dir = mkdtempSync(join(tmpdir(), "launchgate-env-"));
    const listing = join(dir, "listing.json");
    writeFileSync(
      listing,
      JSON.stringify([
        ["/app/env/TOKEN", "a"],
        ["/app/env/legacy/TOKEN", "b"],
      ]),
    );
    const result = spawnSync("python3", [ENV_WRITER_PATH, listing, join(dir, "app.env")], {
      encoding: "utf8",
    });

    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(
      "parameters /app/env/TOKEN and /app/env/legacy/TOKEN would both become TOKEN: rename one",
    );
  });
});

describe("the writer names nothing but the kind of a malformed listing", () => {
  it.each([
    ["cut off mid-value (a CLI that died)", '[["/app/env/KEY", "secret-cut-off-here'],
    ["a value where a pair should be", '["secret-not-a-pair"]'],
    ["a pair the wrong way round", '[[{"secret-as-name": 1}, "secret-value"]]'],
    ["not a list", '{"secret-key": "secret-value"}'],
  ])("%s", (_what, listing) => {
    const dir = mkdtempSync(join(tmpdir(), "launchgate-env-"));
    const result = spawnSync("python3", [ENV_WRITER_PATH, "-", join(dir, "app.env")], {
      input: listing,
      encoding: "utf8",
    });

    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^the parameter listing is not a list of \[name, value\] pairs \(\w+\)\n$/);
    expect(result.stderr).not.toContain("secret");
    expect(result.stderr).not.toContain("Traceback");
  });

  it("reads the listing from stdin, so that it never has to be a file", () => {
    const dir = mkdtempSync(join(tmpdir(), "launchgate-env-"));
    const result = spawnSync("python3", [ENV_WRITER_PATH, "-", join(dir, "app.env")], {
      input: JSON.stringify([["/app/env/GREETING", "héllo"]]),
      encoding: "utf8",
    });

    expect(result.status).toBe(0);
    expect(readFileSync(join(dir, "app.env"), "utf8")).toBe("GREETING='héllo'\n");
  });
});

describe("the bootstrap writes such values through the same writer", () => {
  it("and compose reads back what Parameter Store holds", async () => {
    const vm = instance();
    vm.scenario(
      "parameters.json",
      JSON.stringify(Object.entries(TRICKY).map(([name, value]) => [`/cnt-backend/env/${name}`, value])),
    );

    const result = await vm.run();

    expect(result.code).toBe(0);
    const env = readFileSync(join(vm.root, "app.env"), "utf8");
    expect(Object.fromEntries(readComposeEnvFile(env, "v2.0"))).toEqual(TRICKY);
    expect(Object.fromEntries(readComposeEnvFile(env, "v2.13"))).toEqual(TRICKY);
  });
});
