export {
  groupsWithHookInside,
  REFERENCE_REDIS_ENDPOINT,
  withReferenceRedis,
} from "./gate-config.js";
export { imageCacheRoute, throughImageCache, withReferenceImages } from "./image-routes.js";
export {
  addReferenceEnvironment,
  ReferenceEnvironment,
  type ReferenceEnvironmentProps,
} from "./reference-environment.js";
