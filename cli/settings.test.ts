import { describe, expect, it } from 'vitest';
import { loadConfig } from '../shared/config.ts';
import { ConfigError } from '../shared/errors.ts';
import { choice, flag, isOn, port } from './settings.ts';
import { targetSettings } from './target.ts';

const problemsOf = (run: () => unknown): string[] => {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('no ConfigError');
};

describe('command settings', () => {
  it('a flag is on for 1/true/yes in any case, off for 0/false/no or unset, and anything else is refused', () => {
    const schema = { FORCE: flag() };
    for (const on of ['1', 'true', 'YES', 'Yes']) expect(isOn(loadConfig(schema, { FORCE: on }).FORCE)).toBe(true);
    for (const off of ['0', 'false', 'no', 'NO', '']) expect(isOn(loadConfig(schema, { FORCE: off }).FORCE)).toBe(false);
    expect(isOn(loadConfig(schema, {}).FORCE)).toBe(false);
    expect(problemsOf(() => loadConfig(schema, { FORCE: 'sure' }))).toEqual([expect.stringMatching(/^FORCE must match pattern .*\(got "sure"\)$/)]);
  });

  it('a choice names its words when the value is none of them', () => {
    expect(loadConfig({ TOOL: choice('docker', 'podman') }, { TOOL: 'podman' }).TOOL).toBe('podman');
    expect(problemsOf(() => loadConfig({ TOOL: choice('docker', 'podman') }, { TOOL: 'nerdctl' }))).toEqual(['TOOL must match pattern "^(docker|podman)$" (got "nerdctl")']);
  });

  it('a port is a whole number from 1 to 65535', () => {
    expect(loadConfig({ P: port(8080) }, {}).P).toBe(8080);
    expect(loadConfig({ P: port(8080) }, { P: '9000' }).P).toBe(9000);
    for (const bad of ['abc', '0', '70000', '80.5']) expect(problemsOf(() => loadConfig({ P: port(8080) }, { P: bad }))[0]).toMatch(/^P /);
  });

  it('make load, watch and redrive default to the ports the README lists', () => {
    expect(loadConfig(targetSettings, {})).toEqual({
      KAFKA_PORT: 19092,
      ES_PORT: 19200,
      KUBECTL: 'kubectl',
      CLUSTER_KAFKA_PORT: 39092,
      CLUSTER_ES_PORT: 39200,
      CLUSTER_GENERATE_PORT: 38080,
    });
    expect(problemsOf(() => loadConfig(targetSettings, { TARGET: 'moon' }))).toEqual(['TARGET must match pattern "^(local|cluster)$" (got "moon")']);
  });
});
