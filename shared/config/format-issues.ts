import type { z } from "zod";

/**
 * Turns zod issues into one line each: `groups[0].heartbeatTimeoutSeconds: got 20; allowed: …`.
 * The schema's error messages are written as "what is allowed" (see schema-helpers.ts); this adds the
 * field path and the value that was actually given.
 */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map(formatIssue);
}

function formatIssue(issue: z.core.$ZodIssue): string {
  const field = formatPath(issue.path);
  const allowed = issue.message === "Invalid input" ? describeConstraint(issue) : issue.message;
  if (issue.code === "unrecognized_keys") {
    const keys = issue.keys.map((key) => JSON.stringify(key)).join(", ");
    const where = field === "(root)" ? "" : ` in ${field}`;
    return `unknown key ${keys}${where}${issue.message === "Invalid input" ? "" : `; ${issue.message}`}`;
  }
  if (issue.code === "invalid_type" && issue.input === undefined) {
    return `${field}: is required; allowed: ${allowed}`;
  }
  return `${field}: got ${describeValue(issue.input)}; allowed: ${allowed}`;
}

/**
 * zod/mini (used in the Lambda bundles, where classic zod's locales would add 400 KiB) reports every
 * issue as "Invalid input"; say what was allowed from the issue's own data instead.
 */
function describeConstraint(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "invalid_type":
      return `a ${issue.expected}`;
    case "invalid_value":
      return `one of ${issue.values.map((value) => JSON.stringify(value)).join(", ")}`;
    case "invalid_format":
      return issue.format === "regex" && "pattern" in issue
        ? `a string matching ${issue.pattern}`
        : `a ${issue.format}`;
    case "too_small":
      return `at least ${issue.minimum}${issue.origin === "string" || issue.origin === "array" ? " long" : ""}`;
    case "too_big":
      return `at most ${issue.maximum}${issue.origin === "string" || issue.origin === "array" ? " long" : ""}`;
    default:
      return issue.code;
  }
}

/** `["groups", 0, "name"]` → `groups[0].name`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = "";
  for (const part of path) {
    if (typeof part === "number") text += `[${part}]`;
    else text += text === "" ? String(part) : `.${String(part)}`;
  }
  return text === "" ? "(root)" : text;
}

function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || value === null) return String(value);
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object";
  return typeof value;
}
