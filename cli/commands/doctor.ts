import type { GroupConfig } from "../../shared/config/schema.js";
import type { CliContext } from "../context.js";
import { EXIT } from "../errors.js";
import { CHECKS, type CheckResult, type CheckStatus } from "./doctor-checks.js";
import { gatherFacts } from "./doctor-facts.js";

export interface GroupDiagnosis {
  readonly group: string;
  readonly results: readonly CheckResult[];
}

export type DoctorCounts = Readonly<Record<CheckStatus, number>>;

/** What `doctor --json` prints: every check's status, and the exit code those statuses give. */
export interface DoctorReport {
  readonly exitCode: number;
  readonly allowUnchecked: boolean;
  readonly counts: DoctorCounts;
  readonly groups: readonly GroupDiagnosis[];
}

export async function diagnose(ctx: CliContext, groups: readonly GroupConfig[]): Promise<GroupDiagnosis[]> {
  return Promise.all(
    groups.map(async (group) => {
      const facts = await gatherFacts(ctx, group);
      return { group: group.name, results: CHECKS.map((check) => check(facts)) };
    }),
  );
}

export function countResults(diagnoses: readonly GroupDiagnosis[]): DoctorCounts {
  const counts = { passed: 0, warned: 0, failed: 0, unchecked: 0 };
  for (const { results } of diagnoses) for (const result of results) counts[result.status] += 1;
  return counts;
}

/**
 * Fails closed: a check that did not run is not a pass, so it exits 3 — unless --allow-unchecked, which
 * counts it as a warning. A failed check (exit 1) outranks checks that did not run: it is known wrong.
 */
export function doctorExitCode(diagnoses: readonly GroupDiagnosis[], allowUnchecked: boolean): number {
  const counts = countResults(diagnoses);
  if (counts.failed > 0) return EXIT.failed;
  if (counts.unchecked > 0 && !allowUnchecked) return EXIT.unchecked;
  return EXIT.ok;
}

export function doctorReport(diagnoses: readonly GroupDiagnosis[], allowUnchecked: boolean): DoctorReport {
  return {
    exitCode: doctorExitCode(diagnoses, allowUnchecked),
    allowUnchecked,
    counts: countResults(diagnoses),
    groups: diagnoses,
  };
}

const MARK: Readonly<Record<CheckStatus, string>> = { passed: "✓", warned: "!", failed: "✗", unchecked: "?" };

export function renderDiagnosis(diagnoses: readonly GroupDiagnosis[], allowUnchecked = false): string[] {
  const lines: string[] = [];
  for (const { group, results } of diagnoses) {
    lines.push(`doctor ${group}`);
    for (const result of results) {
      const message = result.status === "unchecked" ? `did not run: ${result.message}` : result.message;
      lines.push(`  ${MARK[result.status]} ${result.id.padEnd(16)} ${message}`);
    }
    lines.push("");
  }
  const counts = countResults(diagnoses);
  const total = counts.passed + counts.warned + counts.failed + counts.unchecked;
  const unchecked =
    counts.unchecked === 0
      ? ""
      : `, ${counts.unchecked} did not run${allowUnchecked ? " (accepted: --allow-unchecked)" : ""}`;
  lines.push(`${total} checks: ${counts.failed} failed, ${counts.warned} warnings${unchecked}`);
  return lines;
}

/**
 * For stderr, unless --allow-unchecked: which checks did not run and why, one line each, so that a
 * non-zero exit is explained even when stdout is JSON or goes to a file.
 */
export function renderUnchecked(diagnoses: readonly GroupDiagnosis[], allowUnchecked: boolean): string[] {
  if (allowUnchecked) return [];
  const unchecked = diagnoses.flatMap(({ group, results }) =>
    results.filter((result) => result.status === "unchecked").map((result) => ({ group, result })),
  );
  if (unchecked.length === 0) return [];
  const total = diagnoses.reduce((sum, diagnosis) => sum + diagnosis.results.length, 0);
  return [
    `launchgate: doctor fails closed: ${unchecked.length} of ${total} checks did not run, so they vouch for nothing:`,
    ...unchecked.map(({ group, result }) => `  ${group} ${result.id}: ${result.message}`),
    "launchgate: fix that and run doctor again, or pass --allow-unchecked to count checks that did not run as warnings",
  ];
}
