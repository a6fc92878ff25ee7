// StrykerJS over one module group of scripts/mutate-groups.js, chosen by TSMEDIA_MUTATE_GROUP (scripts/mutate.js sets
// it; `npm run mutate` runs every group). The TypeScript sources are mutated in a sandbox under dist/ (ignored by git
// and lint), compiled there with the project's own tsconfig (Stryker adds @ts-nocheck to mutated files, so the main
// build's settings stay as they are), and the group's compiled test files run with the TAP runner: a file run with
// plain `node` prints TAP from Node's test runner.
import { groups, testFile } from './scripts/mutate-groups.js';

// Test-runner processes inherit this: the few tests of tens of seconds skip per mutant (test/helpers.ts).
process.env.TSMEDIA_MUTATING = '1';

const name = process.env.TSMEDIA_MUTATE_GROUP ?? 'drives';
const group = groups[name];
if (!group) {
  throw new Error(`TSMEDIA_MUTATE_GROUP=${name} is not a group of scripts/mutate-groups.js; use one of: ${Object.keys(groups).join(', ')}`);
}

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'tap',
  tap: { testFiles: group.tests.map(testFile), forceBail: true },
  mutate: group.mutate,
  buildCommand: 'npx tsc -p tsconfig.json',
  coverageAnalysis: 'perTest',
  // Two cores, shared with other work: one test process at a time.
  concurrency: Number(process.env.TSMEDIA_MUTATE_CONCURRENCY ?? 1),
  timeoutMS: 20000,
  tempDirName: 'dist/.stryker-tmp',
  // A rerun keeps the result of a mutant whose code and covering tests did not change. The TAP runner reports whole test
  // files without their source, so after test files are added or changed nearly every mutant runs again (a fat32 rerun
  // reused 29 of 1,153 here); `npm run mutate -- --force <group>` tests every mutant again in any case.
  incremental: true,
  incrementalFile: `dist/mutation/${name}.incremental.json`,
  ignorePatterns: ['dist', 'release', 'test-results', 'playwright-report', 'reports'],
  reporters: ['json', 'html', 'clear-text', 'progress-append-only'],
  jsonReporter: { fileName: `dist/mutation/${name}.json` },
  htmlReporter: { fileName: `dist/mutation/${name}.html` },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  thresholds: { high: 90, low: 80, break: null },
};
