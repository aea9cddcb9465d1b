/**
 * Writes the run's closing line, `N passed, N failed`, to .run/test-summary.txt; `make test`
 * prints it last, after the platform has stopped. A skipped or unfinished test counts as
 * failed, and so does an error outside any test.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = unhandledErrors.length;
    for (const module of testModules) {
      if (module.state() === 'failed' && [...module.children.allTests()].length === 0) failed++;
      for (const test of module.children.allTests()) {
        if (test.result().state === 'passed') passed++;
        else failed++;
      }
    }
    // A run in which nothing ran (the platform did not start, say) has failed.
    if (passed + failed === 0) failed = 1;
    mkdirSync('.run', { recursive: true });
    writeFileSync('.run/test-summary.txt', `${passed} passed, ${failed} failed\n`);
  }
}
