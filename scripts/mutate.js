#!/usr/bin/env node
// `npm run mutate [-- [--force] <group>...]`: StrykerJS over each module group of scripts/mutate-groups.js in turn (all when none
// is named; TSMEDIA_MUTATE_GROUPS=a,b works too), then the Markdown summary of every report in dist/mutation/.
// Not part of `npm test`: a group takes minutes to an hour (each mutant reruns the group's test files).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { groups } from './mutate-groups.js';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const force = args.includes('--force');
const named = args.filter((a) => a !== '--force');
const asked = named.length ? named : (process.env.TSMEDIA_MUTATE_GROUPS ?? '').split(',').filter(Boolean);
const unknown = asked.filter((g) => !(g in groups));
if (unknown.length) {
  console.error(`unknown mutation group ${unknown.join(', ')}: use one of ${Object.keys(groups).join(', ')} (scripts/mutate-groups.js)`);
  process.exit(2);
}
const run = (cmd, args, env = {}) => spawnSync(cmd, args, { stdio: 'inherit', cwd: root, env: { ...process.env, ...env } }).status ?? 1;

// The tests read the generated sample site, which Stryker copies into its sandbox with the sources.
if (!existsSync(join(root, 'assets', 'sample-site'))) {
  if (run('npx', ['tsc', '-p', 'tsconfig.json']) !== 0 || run(process.execPath, ['dist/scripts/make-sample-site.js']) !== 0) process.exit(1);
}
let status = 0;
for (const g of asked.length ? asked : Object.keys(groups)) {
  console.log(`\n# mutation group ${g}: ${groups[g].about}`);
  const started = Date.now();
  const s = run('npx', ['stryker', 'run', 'stryker.config.mjs', ...(force ? ['--force'] : [])], { TSMEDIA_MUTATE_GROUP: g });
  console.log(`# mutation group ${g}: ${s === 0 ? 'done' : `stryker exited with ${s}`} in ${Math.round((Date.now() - started) / 1000)} s`);
  if (s !== 0) status = s;
}
run(process.execPath, ['scripts/mutation-summary.js']);
process.exit(status);
