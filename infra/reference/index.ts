export {
  groupsWithHookInside,
  REFERENCE_REDIS_ENDPOINT,
  withReferenceRedis,
} from "./gate-config.js";
export {
  addReferenceEnvironment,
  ReferenceEnvironment,
  type ReferenceEnvironmentProps,
} from "./reference-environment.js";
