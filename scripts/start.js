#!/usr/bin/env node
// `npm start`: runs the product on the bundled sample site. Until the wizard lands (issue 5), that is the command
// line: the task sequences the sample site offers and the analysis of the one meant for stand-alone media.
import { spawnSync } from 'node:child_process';

const cli = new URL('../bin/tsmedia.js', import.meta.url).pathname;
const run = (...args) => {
  console.log(`\n$ tsmedia ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit' });
  return r.status ?? 1;
};
let status = run('sequences');
status ||= run('analyze', '--task-sequence', 'SMP00010');
process.exit(status);
