import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { SSMClient } from "@aws-sdk/client-ssm";
import type { GateDeps } from "../../shared/gate/deps.js";

interface Sender {
  send(command: object, ...rest: unknown[]): unknown;
}

/** Records the names of the commands one client instance sends; the class-wide mocks still answer them. */
function recordSends(client: Sender): string[] {
  const names: string[] = [];
  const original = client.send.bind(client);
  client.send = (command, ...rest) => {
    names.push(command.constructor.name);
    return original(command, ...rest);
  };
  return names;
}

/**
 * The harness's deps with poll clients of their own (GateDeps.polls), and which client sent what: the
 * mocks are per class, so only the instance tells a poll (few attempts) from a retried call.
 */
export function withPollClients(deps: GateDeps) {
  const polls = { ssm: new SSMClient({}), elbv2: new ElasticLoadBalancingV2Client({}) };
  const sent = {
    pollSsm: recordSends(polls.ssm),
    pollElbv2: recordSends(polls.elbv2),
    ssm: recordSends(deps.ssm),
    elbv2: recordSends(deps.elbv2),
  };
  return { deps: { ...deps, polls } satisfies GateDeps, sent };
}
