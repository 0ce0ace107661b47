/**
 * SIMULATION — IAM policy evaluation for the statements the stack writes: Allow/Deny, Action and
 * Resource with `*` and `?` wildcards, and the condition operators it uses (String*, Arn*, Bool, with
 * …IfExists). An explicit Deny wins; otherwise some Allow must match; otherwise the call is denied.
 * A condition key the request does not carry is absent, as on AWS: a positive operator on it fails.
 * An operator this does not know throws, rather than guessing a verdict.
 */

export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: "Allow" | "Deny";
  readonly Action?: string | readonly string[];
  readonly Resource?: string | readonly string[];
  readonly Principal?: unknown;
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
}

export interface AccessRequest {
  readonly action: string;
  readonly resource: string;
  /** Condition keys the request carries, e.g. `ssm:resourceTag/aws:autoscaling:groupName`. */
  readonly context: Readonly<Record<string, string | undefined>>;
  /** For resource policies: the calling service principal (e.g. events.amazonaws.com). */
  readonly servicePrincipal?: string;
}

export function isAllowed(statements: readonly PolicyStatement[], request: AccessRequest): boolean {
  const applicable = statements.filter((s) => applies(s, request));
  if (applicable.some((s) => s.Effect === "Deny")) return false;
  return applicable.some((s) => s.Effect === "Allow");
}

function applies(statement: PolicyStatement, request: AccessRequest): boolean {
  if (
    request.servicePrincipal !== undefined &&
    !principalMatches(statement.Principal, request.servicePrincipal)
  )
    return false;
  if (!list(statement.Action).some((pattern) => wildcard(pattern, request.action, true))) return false;
  if (!list(statement.Resource).some((pattern) => wildcard(pattern, request.resource, false))) return false;
  return Object.entries(statement.Condition ?? {}).every(([operator, keys]) =>
    Object.entries(keys).every(([key, values]) => condition(operator, request.context[key], list(values))),
  );
}

function principalMatches(principal: unknown, service: string): boolean {
  if (principal === "*") return true;
  const p = principal as { Service?: string | string[]; AWS?: string | string[] } | undefined;
  return list(p?.Service).includes(service) || list(p?.AWS).includes("*");
}

function condition(operator: string, value: string | undefined, allowed: readonly string[]): boolean {
  // A set operator over a key with one value (dynamodb:LeadingKeys of a single-item call): every value
  // must match; absent, ForAllValues holds vacuously, as on AWS — which is why a grant pairs it with a
  // resource the key always comes with.
  if (operator.startsWith("ForAllValues:")) {
    return value === undefined || condition(operator.slice("ForAllValues:".length), value, allowed);
  }
  const ifExists = operator.endsWith("IfExists");
  const base = ifExists ? operator.slice(0, -"IfExists".length) : operator;
  const negated = base.includes("Not");
  if (value === undefined) return ifExists || negated;
  const matches = (() => {
    switch (base) {
      case "StringEquals":
      case "StringNotEquals":
      case "ArnEquals":
      case "ArnNotEquals":
        return allowed.includes(value);
      case "StringEqualsIgnoreCase":
        return allowed.some((a) => a.toLowerCase() === value.toLowerCase());
      case "StringLike":
      case "StringNotLike":
      case "ArnLike":
      case "ArnNotLike":
        return allowed.some((pattern) => wildcard(pattern, value, false));
      case "Bool":
        return allowed.includes(value);
      default:
        throw new Error(`simulation: IAM condition operator ${operator} is not modelled`);
    }
  })();
  return negated ? !matches : matches;
}

function wildcard(pattern: string, value: string, ignoreCase: boolean): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${source}$`, ignoreCase ? "i" : "").test(value);
}

function list(value: string | readonly string[] | undefined): readonly string[] {
  if (value === undefined) return [];
  return typeof value === "string" ? [value] : value;
}
