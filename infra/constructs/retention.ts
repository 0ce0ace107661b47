import { RetentionDays } from "aws-cdk-lib/aws-logs";

/** Maps validated config days (see LOG_RETENTION_DAYS in the schema) to CDK's enum. */
export function retentionDays(days: number): RetentionDays {
  const match = Object.values(RetentionDays).find((value) => value === days);
  if (match === undefined) throw new Error(`logRetentionDays ${days} has no CloudWatch Logs equivalent`);
  return match as RetentionDays;
}
