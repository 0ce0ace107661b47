import { describe, expect, it } from "vitest";
import {
  elbv2,
  POLL_ATTEMPTS,
  pollClients,
  SDK_RETRY,
  ssm,
  ssmCommands,
} from "../../../shared/aws/clients.js";

describe("the SDK clients' retries", () => {
  it("polls make fewer attempts than other calls (a throttle is the step's 'not yet'); SendCommand one", async () => {
    expect(POLL_ATTEMPTS).toBeLessThan(SDK_RETRY.maxAttempts);
    expect(await pollClients().ssm.config.maxAttempts()).toBe(POLL_ATTEMPTS);
    expect(await pollClients().elbv2.config.maxAttempts()).toBe(POLL_ATTEMPTS);
    expect(await ssm().config.maxAttempts()).toBe(SDK_RETRY.maxAttempts);
    expect(await elbv2().config.maxAttempts()).toBe(SDK_RETRY.maxAttempts);
    expect(SDK_RETRY.maxAttempts).toBeGreaterThan(1);
    expect(await ssmCommands().config.maxAttempts()).toBe(1);
  });

  it("keeps each client for the life of the container", () => {
    expect(pollClients()).toBe(pollClients());
    expect(pollClients().ssm).not.toBe(ssm());
  });
});
