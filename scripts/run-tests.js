#!/usr/bin/env node
// Runs every compiled test — unit and command-line tests (dist/test) and end-to-end tests (dist/e2e) — with Node's own
// test runner. `npm test` builds first.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const testDirs = [join(root, 'dist', 'test'), join(root, 'dist', 'e2e')];
const files = [];
const walk = (dir) => {
  for (const n of readdirSync(dir).sort()) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) walk(p);
    else if (n.endsWith('.test.js')) files.push(p);
  }
};
for (const d of testDirs) if (statSync(d, { throwIfNoEntry: false })?.isDirectory()) walk(d);
const only = process.argv.slice(2);
const selected = only.length ? files.filter((f) => only.some((o) => f.includes(o))) : files;
if (selected.length === 0) {
  console.error(`no test files found under ${testDirs.join(', ')}${only.length ? ` matching ${only.join(', ')}` : ''}`);
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...selected], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
