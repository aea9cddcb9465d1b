import { describe, expect, it } from 'vitest';
import { deferred, type Deferred } from '../../test/helpers.ts';
import { settle } from './fakes.ts';
import { SingleFlight } from './single-flight.ts';

/** A task whose runs the test finishes one by one. */
function controlledTask() {
  const runs: Deferred<string>[] = [];
  const task = () => {
    const run = deferred<string>();
    runs.push(run);
    return run.promise;
  };
  return { runs, task };
}

describe('SingleFlight', () => {
  it('runs a lone call at once and forgets the key when it ends', async () => {
    const flights = new SingleFlight<number, string>();
    const { runs, task } = controlledTask();
    const answer = flights.run(1, task);
    expect(runs).toHaveLength(1);
    expect(flights.running).toBe(1);
    runs[0]!.resolve('first');
    expect(await answer).toBe('first');
    await settle();
    expect(flights.running).toBe(0);
  });

  it('answers every call that arrives during a run with one shared follow-up, started after the run', async () => {
    const flights = new SingleFlight<number, string>();
    const { runs, task } = controlledTask();
    const first = flights.run(1, task);
    const second = flights.run(1, task);
    const third = flights.run(1, task);
    await settle();
    expect(runs).toHaveLength(1); // the follow-up waits for the run under way

    runs[0]!.resolve('first');
    await settle();
    expect(runs).toHaveLength(2);
    const fourth = flights.run(1, task); // arrives while the follow-up runs: a new follow-up
    runs[1]!.resolve('follow-up');
    expect(await first).toBe('first');
    expect(await second).toBe('follow-up');
    expect(await third).toBe('follow-up');

    await settle();
    expect(runs).toHaveLength(3);
    runs[2]!.resolve('after that');
    expect(await fourth).toBe('after that');
  });

  it('keeps keys apart', async () => {
    const flights = new SingleFlight<number, string>();
    const { runs, task } = controlledTask();
    const a = flights.run(1, task);
    const b = flights.run(2, task);
    expect(runs).toHaveLength(2);
    runs[1]!.resolve('two');
    runs[0]!.resolve('one');
    expect([await a, await b]).toEqual(['one', 'two']);
  });

  it('runs the follow-up after a failed run, and a failed follow-up fails only its own callers', async () => {
    const flights = new SingleFlight<number, string>();
    const { runs, task } = controlledTask();
    const first = flights.run(1, task);
    const second = flights.run(1, task);
    runs[0]!.reject(new Error('down'));
    await expect(first).rejects.toThrow('down');
    await settle();
    expect(runs).toHaveLength(2);
    runs[1]!.reject(new Error('still down'));
    await expect(second).rejects.toThrow('still down');
    await settle();
    expect(flights.running).toBe(0);

    const third = flights.run(1, task);
    runs[2]!.resolve('back');
    expect(await third).toBe('back');
  });
});
