#!/usr/bin/env node
// Merges a rerun of a group's surviving mutants into the group's full report, so a group need not run whole again after
// tests are added: node scripts/mutation-merge.js <full.json> <rerun.json> <out.json>.
// The full run's killed and timed-out mutants stand (tests were only added); each of its survivors and uncovered
// mutants takes its status from the rerun, matched by file, mutator, replacement and location. Rerun the survivors
// with Stryker's --mutate "file:line:col-line:col,..." (`--ranges` prints that list from a full report, columns as
// Stryker's --mutate counts them: one less than the report's).
import { readFileSync, writeFileSync } from 'node:fs';

const open = (s) => s === 'Survived' || s === 'NoCoverage';
const key = (file, m) => [file, m.mutatorName, m.replacement ?? '', m.location.start.line, m.location.start.column, m.location.end.line, m.location.end.column].join('|');
const [first, ...rest] = process.argv.slice(2);

if (first === '--ranges') {
  const report = JSON.parse(readFileSync(rest[0], 'utf8'));
  const ranges = new Set();
  for (const [file, { mutants }] of Object.entries(report.files)) {
    for (const m of mutants) if (open(m.status)) ranges.add(`${file}:${m.location.start.line}:${m.location.start.column - 1}-${m.location.end.line}:${m.location.end.column - 1}`);
  }
  console.log([...ranges].join(','));
  process.exit(0);
}
const [rerunPath, outPath] = rest;
if (!first || !rerunPath || !outPath) {
  console.error('usage: node scripts/mutation-merge.js <full.json> <rerun.json> <out.json> | --ranges <full.json>');
  process.exit(2);
}
const full = JSON.parse(readFileSync(first, 'utf8'));
const rerun = JSON.parse(readFileSync(rerunPath, 'utf8'));
const again = new Map();
for (const [file, { mutants }] of Object.entries(rerun.files)) for (const m of mutants) again.set(key(file, m), m);

let reran = 0;
let missing = 0;
for (const [file, entry] of Object.entries(full.files)) {
  entry.mutants = entry.mutants.map((m) => {
    if (!open(m.status)) return m;
    const r = again.get(key(file, m));
    if (!r) {
      missing++;
      return m;
    }
    reran++;
    return { ...m, status: r.status, statusReason: r.statusReason, killedBy: r.killedBy, coveredBy: r.coveredBy, testsCompleted: r.testsCompleted };
  });
}
writeFileSync(outPath, JSON.stringify(full));
console.log(`${reran} survivors taken from the rerun${missing ? `; ${missing} not in the rerun (kept as they were)` : ''}: ${outPath}`);
