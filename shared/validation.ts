import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { Static, TSchema } from '@sinclair/typebox';

const ajv = new Ajv({
  allErrors: true,
  strict: false,
  // `multipleOf: 0.01` on prices: compare with a tolerance instead of an exact float remainder.
  multipleOfPrecision: 6,
});
addFormats.default(ajv, ['date-time', 'uuid']);

export interface ValidationIssue {
  path: string;
  message: string;
}

export interface Validator<T> {
  (value: unknown): value is T;
  issues(value: unknown): ValidationIssue[];
}

const cache = new WeakMap<TSchema, ValidateFunction>();

function compiled(schema: TSchema): ValidateFunction {
  let fn = cache.get(schema);
  if (!fn) {
    fn = ajv.compile(schema);
    cache.set(schema, fn);
  }
  return fn;
}

export function toIssues(errors: ErrorObject[] | null | undefined): ValidationIssue[] {
  return (errors ?? []).map((e) => {
    if (e.params && 'missingProperty' in e.params) {
      return { path: `${e.instancePath}/${String(e.params.missingProperty)}`, message: 'is required' };
    }
    return {
    path: e.instancePath || '/',
    message: e.params && 'allowedValues' in e.params
      ? `${e.message} (${(e.params.allowedValues as unknown[]).join(', ')})`
      : e.params && 'additionalProperty' in e.params
        ? `${e.message}: ${String(e.params.additionalProperty)}`
        : (e.message ?? 'is invalid'),
    };
  });
}

export function validator<S extends TSchema>(schema: S): Validator<Static<S>> {
  const fn = compiled(schema);
  const check = ((value: unknown) => fn(value)) as Validator<Static<S>>;
  check.issues = (value: unknown) => (fn(value) ? [] : toIssues(fn.errors));
  return check;
}
