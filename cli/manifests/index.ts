/**
 * The single reader of the pipeline's topology. knative/ and keda/ (kustomize) are the
 * source of truth; this model renders them with `kubectl kustomize` (objects.ts), validates
 * every object against its schema (validate.ts), cross-checks the numbers that must agree
 * with each other (cross-check.ts) and turns the manifests into typed values for the local
 * runtime (`make dev`) and the deploy tool (topology.ts). Nothing else parses those folders.
 */
export { type K8sObject, ManifestError, PIPELINE_NAMESPACE, type Problem, dig, objectId, parseObjects, render, repoRoot } from './objects.ts';
export { knownKinds, validateObjects } from './validate.ts';
export { crossCheck, imagePinProblem } from './cross-check.ts';
export {
  type DeliverySpec,
  type KafkaSinkSpec,
  type KafkaSourceSpec,
  type PingSourceSpec,
  type ServiceSpec,
  type Topology,
  loadTopology,
  topologyOf,
} from './topology.ts';
