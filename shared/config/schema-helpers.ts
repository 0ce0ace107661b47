import { z } from "zod";

/**
 * Small builders that attach a human "allowed: …" sentence to each constraint, so that a config error
 * can name the field, the bad value and what is allowed (see format-issues.ts) instead of zod's
 * generic "Too small: expected number to be >=30".
 */

/** A whole number in [min, max], described in the given unit. */
export function integerIn(min: number, max: number, unit: string) {
  const allowed = `a whole number of ${unit} from ${min} to ${max}`;
  return z
    .number({ error: allowed })
    .int({ error: allowed })
    .min(min, { error: allowed })
    .max(max, { error: allowed });
}

/** A string matching `pattern`; `allowed` says in words what that means. */
export function matching(pattern: RegExp, allowed: string) {
  return z.string({ error: allowed }).regex(pattern, { error: allowed });
}

/** One of a fixed list of values. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: `one of ${values.join(", ")}` });
}

/**
 * An object that rejects unknown keys, listing the keys it does know: a typo such as
 * `heartbeatTimeout` for `heartbeatTimeoutSeconds` is then obvious from the message alone.
 */
export function strictObject<T extends z.core.$ZodLooseShape>(shape: T) {
  const known = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (issue) => (issue.code === "unrecognized_keys" ? `known keys are ${known}` : "an object"),
  });
}

/** A non-empty list whose items have distinct values of `key(item)`. */
export function uniqueList<T extends z.ZodType>(item: T, key: (value: z.output<T>) => string, what: string) {
  return z
    .array(item, { error: `a list of ${what}` })
    .min(1, { error: `at least one ${what}` })
    .superRefine((items, ctx) => {
      const seen = new Set<string>();
      items.forEach((value, index) => {
        const id = key(value);
        if (seen.has(id)) {
          ctx.addIssue({ code: "custom", path: [index], input: id, message: `each ${what} only once` });
        }
        seen.add(id);
      });
    });
}
