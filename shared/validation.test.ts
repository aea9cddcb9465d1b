import Ajv from 'ajv';
import { describe, expect, it, vi } from 'vitest';
import { Type } from '@sinclair/typebox';
import { toIssues, validator } from './validation.ts';

describe('validator', () => {
  const Point = Type.Object({ x: Type.Integer(), y: Type.Integer({ minimum: 0 }) }, { additionalProperties: false });
  const isPoint = validator(Point);

  it('is a type guard that accepts a valid value', () => {
    const value: unknown = { x: 1, y: 2 };
    expect(isPoint(value)).toBe(true);
    expect(isPoint.issues(value)).toEqual([]);
  });

  it('gives the path and a message of every problem', () => {
    const issues = isPoint.issues({ x: 'one', y: -1 });
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: '/x', message: 'must be integer' },
        { path: '/y', message: 'must be >= 0' },
      ]),
    );
  });

  it('names a missing property by its own path', () => {
    expect(isPoint.issues({ x: 1 })).toEqual([{ path: '/y', message: 'is required' }]);
  });

  it('names an extra property in the message, at the object path', () => {
    expect(isPoint.issues({ x: 1, y: 1, z: 3 })).toEqual([{ path: '/', message: 'must NOT have additional properties: z' }]);
  });

  it('uses "/" as the path of a problem with the whole value', () => {
    expect(isPoint.issues('nope')).toEqual([{ path: '/', message: 'must be object' }]);
  });

  it('compiles a schema once, however many validators use it', () => {
    const Size = Type.Object({ bytes: Type.Integer({ minimum: 0 }) });
    const compile = vi.spyOn(Ajv.prototype, 'compile');
    try {
      const [a, b] = [validator(Size), validator(Size)];
      expect(a({ bytes: 1 }) && b({ bytes: 2 })).toBe(true);
      expect(compile).toHaveBeenCalledTimes(1);
    } finally {
      compile.mockRestore();
    }
  });
});

describe('toIssues', () => {
  it('is empty for no errors', () => {
    expect(toIssues(null)).toEqual([]);
    expect(toIssues(undefined)).toEqual([]);
  });

  it('lists the allowed values of an enum', () => {
    expect(
      toIssues([
        {
          instancePath: '/region',
          schemaPath: '#/properties/region/enum',
          keyword: 'enum',
          params: { allowedValues: ['US', 'EU'] },
          message: 'must be equal to one of the allowed values',
        },
      ]),
    ).toEqual([{ path: '/region', message: 'must be equal to one of the allowed values (US, EU)' }]);
  });

  it('puts a nested missing property under its parent', () => {
    expect(
      toIssues([
        { instancePath: '/data', schemaPath: '#/required', keyword: 'required', params: { missingProperty: 'id' }, message: 'x' },
      ]),
    ).toEqual([{ path: '/data/id', message: 'is required' }]);
  });
});
