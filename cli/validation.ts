import { INSTANCE_ID } from "../shared/events/instance-id.js";
import { MAX_BATCH } from "../shared/ops/rebootstrap-request.js";
import { CliError, EXIT } from "./errors.js";

/**
 * Shape checks on what the operator typed, done before any AWS client exists: a typo is answered here,
 * in words, instead of by an AWS error (or, worse, by a call against the wrong region). Each returns
 * the value unchanged, or throws a CliError with exit code 2 that says what was expected.
 */

/**
 * An AWS region name: partition prefix, optional qualifier (gov, iso, isob, de…), direction, number.
 * Deliberately a shape, not a list, so a region launched after this release is still accepted.
 */
const REGION = /^[a-z]{2,4}(-[a-z]{2,4})?-[a-z]+-\d{1,2}$/;

/** The operation ids the re-bootstrap function accepts (shared/ops/rebootstrap-request.ts). */
const OPERATION_ID = /^[0-9a-f-]{36}$/;

export function checkInstanceId(value: string): string {
  if (INSTANCE_ID.test(value)) return value;
  const expected = "expected i- followed by 8 or 17 lowercase hex digits, such as i-0123456789abcdef0";
  const lower = value.toLowerCase();
  const lowercase = lower === value ? "" : "instance ids are lowercase";
  let hint = "";
  if (INSTANCE_ID.test(lower)) hint = ` (${lowercase}: ${lower})`;
  else if (/^i-[0-9a-f]*$/.test(lower))
    hint = ` (it has ${value.length - 2} hex digits${lowercase && `; ${lowercase}`})`;
  else if (!lower.startsWith("i-"))
    hint = " (to re-bootstrap every instance of a group, use --group GROUP --all)";
  return invalid(`"${value}" is not an instance id: ${expected}${hint}`);
}

export function checkRegion(value: string): string {
  if (REGION.test(value)) return value;
  const expected = "expected a region name such as eu-west-2 or us-gov-west-1";
  let hint = "";
  if (REGION.test(value.toLowerCase())) hint = ` (region names are lowercase: ${value.toLowerCase()})`;
  else if (REGION.test(value.slice(0, -1)) && /[a-z]$/.test(value))
    hint = ` (that is an Availability Zone; its region is ${value.slice(0, -1)})`;
  return invalid(`--region "${value}" is not an AWS region: ${expected}${hint}`);
}

export function checkOperationId(value: string): string {
  if (OPERATION_ID.test(value)) return value;
  return invalid(
    `--operation "${value}" is not an operation id: expected the 36-character id that \`launchgate rebootstrap\` printed, such as 0e25976b-1c2d-4e5f-8a9b-0c1d2e3f4a5b`,
  );
}

/** The longest drain wait a request may ask for (shared/ops/rebootstrap-request.ts: `drainSeconds`). */
export const MAX_DRAIN_SECONDS = 3600;

/** `--drain-seconds N`: a whole number of seconds, 0 to 3600, written in plain digits. */
export function checkDrainSeconds(value: string): number {
  const seconds = /^\d{1,4}$/.test(value) ? Number(value) : Number.NaN;
  if (seconds <= MAX_DRAIN_SECONDS) return seconds;
  return invalid(
    `--drain-seconds "${value}" is not a drain wait: expected whole seconds from 0 to ${MAX_DRAIN_SECONDS}, such as 120 (0: the command starts without waiting for open requests to finish)`,
  );
}

/**
 * `--batch N` or `--batch P%`: how many instances a rollout works on at once, a count (1 to MAX_BATCH)
 * or a percentage (1 to 100) of the instances it covers. Sent as the request's `batch` (a number, or
 * the percentage as written).
 */
export function checkBatch(value: string): number | string {
  if (/^[1-9]\d?$/.test(value) && Number(value) <= MAX_BATCH) return Number(value);
  if (/^(100|[1-9]\d?)%$/.test(value)) return value;
  return invalid(
    `--batch "${value}" is not a batch size: expected a number of instances from 1 to ${MAX_BATCH}, such as 2, or a percentage of the instances the rollout covers (1% to 100%, at most ${MAX_BATCH} instances), such as 25%`,
  );
}

/**
 * The bootstrap document versions a request may name (shared/ops/rebootstrap-request.ts:
 * `documentVersion`): `$LATEST`, `$DEFAULT`, or a version number, 1 to 99999999, without leading zeros.
 */
export const DOCUMENT_VERSION = /^(\$LATEST|\$DEFAULT|[1-9]\d{0,7})$/;

/** `--document-version V`: $LATEST, $DEFAULT, or the number of an earlier version (a rollback). */
export function checkDocumentVersion(value: string): string {
  if (DOCUMENT_VERSION.test(value)) return value;
  const expected =
    "expected $LATEST, $DEFAULT or a version number of the bootstrap document, such as 3 (aws ssm list-document-versions lists them)";
  return invalid(
    `--document-version "${value}" is not a document version: ${expected}${documentVersionHint(value)}`,
  );
}

function documentVersionHint(value: string): string {
  // An unquoted (or double-quoted) $LATEST is expanded by the shell, usually to nothing.
  if (value === "")
    return " (empty: the shell expands an unquoted or double-quoted $LATEST; write '$LATEST' in single quotes)";
  const upper = value.toUpperCase();
  if (upper === "LATEST" || upper === "DEFAULT")
    return ` (with its dollar sign, in single quotes so the shell keeps it: '$${upper}')`;
  if (DOCUMENT_VERSION.test(upper)) return ` (written in capitals: '${upper}')`;
  if (INSTANCE_ID.test(value))
    return " (that is an instance id: did the shell expand an unquoted $LATEST to nothing? write '$LATEST' in single quotes)";
  const digits = /^v?(\d+)$/i.exec(value)?.[1];
  if (digits !== undefined) {
    const number = digits.replace(/^0+/, "");
    if (number === "") return " (versions start at 1)";
    if (DOCUMENT_VERSION.test(number)) return ` (the number alone: ${number})`;
  }
  return "";
}

function invalid(message: string): never {
  throw new CliError(message, EXIT.usage);
}
