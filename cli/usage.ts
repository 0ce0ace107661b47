import { EXIT } from "./errors.js";

/**
 * The usage texts: `launchgate --help` (global) and `launchgate COMMAND --help` (one command's
 * arguments, options, examples and exit codes). The README's CLI section repeats them: change both.
 */

export type CommandName = "status" | "rebootstrap" | "doctor";

const COMMON_OPTIONS = `  --config FILE        launchgate config (default: cdk.json's context, else the built-in cnt-backend default)
  --region NAME        AWS region, such as eu-west-2 (default: the config's region)
  --stack NAME         stack name (default: the config's stack name)
  -h, --help           this help`;

const AWS_FAILED = `  ${EXIT.failed}  AWS said no or could not be reached (credentials, permissions, throttling, network,
     stack not deployed): one explained line on stderr`;
const USAGE_FAILED = `  ${EXIT.usage}  usage error: unknown option, bad argument, malformed instance id or region, unknown
     group, invalid config: explained on stderr, and nothing was sent to AWS`;

export const GLOBAL_USAGE = `launchgate — operate the launch gate (uses your AWS credentials and the stack's region)

usage:
  launchgate status [GROUP] [--json]
      every instance: lifecycle state, target health per target group, gate state and reason, last
      command; and the operations in flight (re-bootstraps, remediations): step, instance, progress
  launchgate rebootstrap INSTANCE-ID | --group GROUP --all  [--phase start|all] [--surge | --force]
                         [--drain-seconds N] [--document-version V] [--batch N|P%] [--dry-run]
                         [--wait] [--json]
  launchgate rebootstrap --operation OPERATION-ID [--json]
      re-run the bootstrap one instance at a time (or --batch at a time), each drained out of its
      target groups first and verified healthy before the next; never the last healthy target unless
      --surge or --force
  launchgate doctor [GROUP] [--json] [--allow-unchecked]
      preflight checks that explain how a gate would fail, and what to change
  launchgate help COMMAND   (or launchgate COMMAND --help)
      one command's arguments, options, examples and exit codes

options (every command):
${COMMON_OPTIONS}

exit codes:
  ${EXIT.ok}  done
  ${EXIT.failed}  failed: an AWS error, a refused or failed re-bootstrap, a doctor check that failed
  ${EXIT.usage}  usage error (bad option, argument, instance id, region, document version or config;
     --surge with --force); nothing was sent to AWS
  ${EXIT.unchecked}  doctor only: a check could not run, so nothing vouches for the deployment`;

const STATUS_USAGE = `usage: launchgate status [GROUP] [options]

Every instance of each configured group: lifecycle state, target health per target group, gate state
and reason, last bootstrap command. Then the operations in flight for those groups (re-bootstraps and
remediations still running): id, kind, group, what it is working on (surging, or each instance of its
wave with its step: starting, draining, running, verifying), progress (instances done of the total),
when it started, and its flags (batch: instances at once, when more than one; surge: scaled out by one
first; force: downtime accepted; the drain limit; the bootstrap document version, when one was asked
for: "document version 3"). Read-only.

arguments:
  GROUP                a configured Auto Scaling group (default: every configured group)

options:
  --json               print one JSON document (an array of groups, each with its instances and its
                       operations in flight, documentVersion among their fields) instead of tables
${COMMON_OPTIONS}

examples:
  launchgate status
  launchgate status cnt-backend-asg --json
  launchgate status --region eu-west-2 --stack launchgate-cnt-backend

exit codes:
  ${EXIT.ok}  printed the status
${AWS_FAILED}
${USAGE_FAILED}`;

const REBOOTSTRAP_USAGE = `usage: launchgate rebootstrap INSTANCE-ID [options]
       launchgate rebootstrap --group GROUP --all [options]
       launchgate rebootstrap --operation OPERATION-ID [--json]

Re-runs the bootstrap on serving instances, one at a time (or --batch), draining each first: it leaves
every target group, the load balancer lets its open requests finish (up to the target group's
deregistration delay, or --drain-seconds), its command runs, it is registered again, and it must
report healthy before the next one starts. A failure stops the operation before the next instance (a
drained instance whose command failed is registered again). Instances waiting at their launch hook
get their launch gate resumed instead.

A rollout over a group (--group GROUP --all) can work on several instances at once: --batch 2, or
--batch 25% (of the instances it covers, rounded down; 1 to 20 instances). Each wave of that many is
drained, commanded and verified together, and the next wave starts once every instance of this one is
healthy. A wave never takes the last healthy target of a target group, not even with --force: an
instance that would be waits for the next wave (so at least one target keeps serving, whatever the
batch). A failure starts no further instance; the rest of its wave is seen through, and the table says
what ran where. --surge adds one instance, so it takes no --batch above one.

Draining the last healthy target of a target group would leave it serving nothing: such a request is
refused (when it is made, and again at that instance's turn) unless it says how to keep serving:
  --surge   keep serving: the group scales out by one first, the new instance passes its launch gate
            and serves, then the work runs, and the desired capacity goes back at the end. For a group
            of one (or any instance that is the only healthy target), or to keep full capacity during
            --all. Needs room: a maximum size above the desired capacity, else the operation stops
            before touching any instance (raise the maximum by one).
  --force   accept downtime: drain the last healthy target anyway (logged as such). When an outage is
            acceptable (a maintenance window, an idle environment) or the group cannot grow.

Rolling back a bad deploy: each deploy that changes the bootstrap adds a version to the group's SSM
document (STACK-GROUP-bootstrap; aws ssm list-document-versions lists them), and a re-bootstrap runs
$LATEST. --document-version runs an earlier one on every instance instead, one at a time as above:
  launchgate rebootstrap --group cnt-backend-asg --all --document-version 3 --wait
It applies to that operation only: instances launched later (the --surge instance included) and
remediations still run $LATEST, so deploy the fix (or revert the bad change) as well. A version the
document does not have is refused by SSM at the first instance, and the operation stops there
(--dry-run does not check it).

arguments:
  INSTANCE-ID          one instance: i- followed by 8 or 17 lowercase hex digits

options:
  --group GROUP        every InService instance of a configured group (needs --all)
  --all                confirms a whole group
  --phase start|all    start (default): secrets, compose up, local health; all: also install and pull
  --surge              scale out by one first, back at the end (see above); not with --force
  --force              drain the last healthy target anyway, downtime accepted (see above)
  --drain-seconds N    wait at most N seconds (0 to 3600) for draining; default: the target group's
                       deregistration delay; 0 starts the command without waiting for open requests
  --batch N|P%         with --group --all: work on N instances at once (1 to 20), or P percent of
                       them (1% to 100%, rounded down, 1 to 20 instances); default 1 (see above)
  --document-version V run version V of the bootstrap document: $LATEST (the default), $DEFAULT (the
                       document's default version) or a version number such as 3 (a rollback, above);
                       in a shell, quote '$LATEST' and '$DEFAULT' with single quotes
  --dry-run            say what would happen, or why it would be refused; change nothing
  --wait               follow the operation: its step per instance (surging, starting, draining,
                       running, verifying) as it changes, each result as it lands, and at the end a
                       table of every instance's outcome and reason
  --operation ID       follow an operation started earlier (its id is printed when it starts)
  --json               print one JSON document at the end, and nothing else on stdout:
                       the plan and the operation ({dryRun, rebootstrap, resumedLaunches,
                       notEligible, operation}); with --operation, {operation}
${COMMON_OPTIONS}

examples:
  launchgate rebootstrap i-0123456789abcdef0 --phase all --wait
  launchgate rebootstrap --group cnt-backend-asg --all --dry-run
  launchgate rebootstrap --group cnt-backend-asg --all --surge --wait
  launchgate rebootstrap --group cnt-backend-asg --all --batch 25% --wait
  launchgate rebootstrap i-0123456789abcdef0 --force --drain-seconds 30
  launchgate rebootstrap --group cnt-backend-asg --all --document-version 3 --wait
  launchgate rebootstrap --group cnt-backend-asg --all --wait --json
  launchgate rebootstrap --operation 0e25976b-1c2d-4e5f-8a9b-0c1d2e3f4a5b

exit codes:
  ${EXIT.ok}  started (or, with --wait / --operation, finished) and every instance succeeded
  ${EXIT.failed}  refused by the function (such as the last healthy target without --surge or --force),
     the operation failed, or an AWS error: explained on stderr
  ${EXIT.usage}  usage error: unknown option, bad argument, malformed instance id or region, unknown
     group, invalid config, --surge with --force, --drain-seconds not 0 to 3600, --document-version
     not $LATEST, $DEFAULT or a version number, --batch not a count or a percentage (or with an
     instance id): explained on stderr, and nothing was sent to AWS`;

const DOCTOR_USAGE = `usage: launchgate doctor [GROUP] [options]

Preflight checks that explain how a gate would fail, and what to change: the lifecycle hook, the
EventBridge rules, the target groups and zones, the health check's timing, SSM agents, the instance
role's permissions (by IAM policy simulation), images, remediation alarms. It fails closed: a check
that could not run (no credentials, AWS unreachable, a permission doctor lacks) is not a pass.

arguments:
  GROUP                a configured Auto Scaling group (default: every configured group)

options:
  --json               print one JSON document: {exitCode, allowUnchecked, counts, groups}, each
                       check with status passed, warned, failed or unchecked (and why)
  --allow-unchecked    count a check that could not run as a warning: exit ${EXIT.ok} unless a check failed
${COMMON_OPTIONS}

examples:
  launchgate doctor
  launchgate doctor cnt-backend-asg --json
  launchgate doctor --allow-unchecked

exit codes:
  ${EXIT.ok}  every check ran, and none failed (warnings allowed)
  ${EXIT.failed}  a check failed (whether or not others ran): its line says what to change
${USAGE_FAILED}
  ${EXIT.unchecked}  none failed, but a check could not run: each is listed on stderr with the reason;
     fix that and run doctor again, or pass --allow-unchecked`;

const COMMAND_USAGE: Readonly<Record<CommandName, string>> = {
  status: STATUS_USAGE,
  rebootstrap: REBOOTSTRAP_USAGE,
  doctor: DOCTOR_USAGE,
};

/** A command's own usage, or the global one. */
export function usageOf(command?: CommandName): string {
  return command === undefined ? GLOBAL_USAGE : COMMAND_USAGE[command];
}

export function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(COMMAND_USAGE, name);
}
