import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createHttpApp } from './http-app.ts';

describe('HTTP app base', () => {
  it('serves liveness, readiness and the registry at /metrics', async () => {
    const registry = new Registry();
    registry.setDefaultLabels({ function: 'base-test' });
    const { app } = createHttpApp({ name: 'base-test', registry, logLevel: 'silent' });
    expect((await app.inject({ url: '/health/liveness' })).json()).toEqual({ status: 'alive' });
    expect((await app.inject({ url: '/health/readiness' })).json()).toEqual({ status: 'ready' });
    const metrics = await app.inject({ url: '/metrics' });
    expect(metrics.headers['content-type']).toBe(registry.contentType);
    await app.close();
  });

  it('is not ready while its own condition says so', async () => {
    let connected = false;
    const { app } = createHttpApp({ name: 'base-test', registry: new Registry(), logLevel: 'silent', ready: () => connected });
    const before = await app.inject({ url: '/health/readiness' });
    expect([before.statusCode, before.json()]).toEqual([503, { status: 'not ready' }]);
    connected = true;
    expect((await app.inject({ url: '/health/readiness' })).statusCode).toBe(200);
    await app.close();
  });

  it('aborts the closing signal before onClose runs', async () => {
    const seen: boolean[] = [];
    const { app, closing } = createHttpApp({
      name: 'base-test',
      registry: new Registry(),
      logLevel: 'silent',
      onClose: async () => void seen.push(closing.aborted),
    });
    await app.ready();
    expect(closing.aborted).toBe(false);
    await app.close();
    expect(seen).toEqual([true]);
  });
});
