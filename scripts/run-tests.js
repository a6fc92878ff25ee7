#!/usr/bin/env node
// Runs every compiled test — unit and command-line tests (dist/test) and end-to-end tests (dist/e2e) — with Node's own
// test runner, then, where Wine is installed, the Windows run of the same files (scripts/test-windows.js: node.exe under
// Wine). `npm test` builds first. Given substrings, only the matching files run, on Linux only.
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
let status = r.status ?? 1;
const hasWine = ['wine', 'wine64'].some((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0);
if (only.length === 0 && process.env.TSMEDIA_SKIP_WINDOWS !== '1') {
  if (hasWine) {
    const w = spawnSync(process.execPath, [join(root, 'scripts', 'test-windows.js')], { stdio: 'inherit', cwd: root });
    if (status === 0) status = w.status ?? 1;
  } else {
    console.log('# skipped: the Windows run (npm run test:windows): Wine is not installed (./scripts/setup.sh installs it as root)');
  }
}
process.exit(status);
