import type { GroupConfig } from "../../shared/config/schema.js";
import type { CliContext } from "../context.js";
import { CHECKS, type CheckResult } from "./doctor-checks.js";
import { gatherFacts } from "./doctor-facts.js";

export interface GroupDiagnosis {
  readonly group: string;
  readonly results: readonly CheckResult[];
}

export async function diagnose(ctx: CliContext, groups: readonly GroupConfig[]): Promise<GroupDiagnosis[]> {
  return Promise.all(
    groups.map(async (group) => {
      const facts = await gatherFacts(ctx, group);
      return { group: group.name, results: CHECKS.map((check) => check(facts)) };
    }),
  );
}

const MARK = { pass: "✓", warn: "!", fail: "✗" } as const;

export function renderDiagnosis(diagnoses: readonly GroupDiagnosis[]): string[] {
  const lines: string[] = [];
  for (const { group, results } of diagnoses) {
    lines.push(`doctor ${group}`);
    for (const result of results)
      lines.push(`  ${MARK[result.status]} ${result.id.padEnd(16)} ${result.message}`);
    lines.push("");
  }
  const all = diagnoses.flatMap((d) => d.results);
  const failed = all.filter((r) => r.status === "fail").length;
  const warned = all.filter((r) => r.status === "warn").length;
  lines.push(`${all.length} checks: ${failed} failed, ${warned} warnings`);
  return lines;
}
