/**
 * Schema validation of rendered objects: the kubernetes-models packages for Kubernetes,
 * Knative and KEDA kinds, the project's own schemas (schemas/) for Eventing Kafka.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import * as coreV1 from 'kubernetes-models/v1';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as autoscalingV2 from 'kubernetes-models/autoscaling/v2';
import * as batchV1 from 'kubernetes-models/batch/v1';
import * as networkingV1 from 'kubernetes-models/networking.k8s.io/v1';
import * as policyV1 from 'kubernetes-models/policy/v1';
import * as rbacV1 from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import * as knative from '@kubernetes-models/knative';
import * as keda from '@kubernetes-models/keda/keda.sh/v1alpha1';
import kafkaSourceSchema from './schemas/kafkasource.v1.json' with { type: 'json' };
import kafkaSinkSchema from './schemas/kafkasink.v1alpha1.json' with { type: 'json' };
import { type K8sObject, type Problem, objectId } from './objects.ts';

interface ModelClass {
  apiVersion: string;
  kind: string;
  new (data: unknown): { validate(): void };
}

/** Every model class the packages export (group and version namespaces included), keyed by apiVersion/kind. */
function modelsOf(...modules: object[]): Map<string, ModelClass> {
  const models = new Map<string, ModelClass>();
  const collect = (module: object, depth: number): void => {
    for (const value of Object.values(module)) {
      const statics = value as { apiVersion?: unknown; kind?: unknown } | null;
      if (typeof value === 'function' && typeof statics?.apiVersion === 'string' && typeof statics.kind === 'string') {
        models.set(`${statics.apiVersion}/${statics.kind}`, value as ModelClass);
      } else if (value !== null && typeof value === 'object' && depth < 3) {
        collect(value, depth + 1);
      }
    }
  };
  for (const module of modules) collect(module, 0);
  return models;
}

const models = modelsOf(
  coreV1,
  appsV1,
  autoscalingV2,
  batchV1,
  networkingV1,
  policyV1,
  rbacV1,
  knative,
  keda,
);

// @kubernetes-models/knative has no Eventing Kafka kinds: those use the project's schemas,
// which also reject unknown spec fields (the model schemas let them through).
// strictRequired off: the Destination's anyOf names required fields its parent defines.
const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });
const projectSchemas = new Map<string, ValidateFunction>([
  ['sources.knative.dev/v1/KafkaSource', ajv.compile(kafkaSourceSchema)],
  ['eventing.knative.dev/v1alpha1/KafkaSink', ajv.compile(kafkaSinkSchema)],
]);

/** The apiVersion/kind pairs validateObjects knows, and which schema each uses. */
export function knownKinds(): { kind: string; schema: 'project' | 'models' }[] {
  return [
    ...[...projectSchemas.keys()].map((kind) => ({ kind, schema: 'project' as const })),
    ...[...models.keys()].map((kind) => ({ kind, schema: 'models' as const })),
  ];
}

function describeError(error: Pick<ErrorObject, 'instancePath' | 'keyword' | 'params' | 'message'>): string {
  const path = error.instancePath ? error.instancePath.slice(1).replaceAll('/', '.') : '(object)';
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties':
      return `${path} has unknown field "${String(params['additionalProperty'])}"`;
    case 'enum':
      return `${path} must be one of ${(params['allowedValues'] as unknown[]).join(', ')}`;
    case 'const':
      return `${path} must be ${JSON.stringify(params['allowedValue'])}`;
    default:
      return `${path} ${error.message ?? 'is invalid'}`;
  }
}

/** Each object against its schema; an object of a kind no schema covers is a problem too. */
export function validateObjects(objects: K8sObject[]): Problem[] {
  const problems: Problem[] = [];
  for (const object of objects) {
    const id = objectId(object);
    const key = `${object.apiVersion}/${object.kind}`;
    const validate = projectSchemas.get(key);
    if (validate) {
      if (!validate(object)) for (const e of validate.errors ?? []) problems.push({ object: id, message: describeError(e) });
      continue;
    }
    const Model = models.get(key);
    if (!Model) {
      problems.push({ object: id, message: `unknown kind ${key}: no schema covers it` });
      continue;
    }
    try {
      new Model(object).validate();
    } catch (error) {
      const errors = (error as { errors?: unknown }).errors;
      if (Array.isArray(errors) && errors.length > 0) {
        for (const e of errors as ErrorObject[]) problems.push({ object: id, message: describeError(e) });
      } else {
        problems.push({ object: id, message: error instanceof Error ? error.message : String(error) });
      }
    }
  }
  return problems;
}
