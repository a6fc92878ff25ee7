#!/usr/bin/env node
// Turns Stryker's JSON reports (mutation-testing-report-schema) into one Markdown table: per module file, the mutants
// killed, survived, without coverage and timed out, and the score (killed + timeout over all valid mutants, as Stryker
// counts it). Usage: node scripts/mutation-summary.js [--survivors] [report.json...]; with no report, every
// dist/mutation/*.json. --survivors also lists each surviving or uncovered mutant (line, mutator, replacement).
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, basename } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const survivors = process.argv.includes('--survivors');
let reports = process.argv.slice(2).filter((a) => !a.startsWith('--'));
if (reports.length === 0) {
  const dir = join(root, 'dist', 'mutation');
  reports = existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.json')).sort().map((n) => join(dir, n)) : [];
}
if (reports.length === 0) {
  console.error('no mutation reports: run `npm run mutate` first (reports go to dist/mutation/<group>.json)');
  process.exit(1);
}

// Keyed by file, so partial runs of one file (Stryker's --mutate file:lines) add up; a mutant seen twice counts once.
const byFile = new Map();
for (const path of reports) {
  const report = JSON.parse(readFileSync(path, 'utf8'));
  if (!report.files) {
    console.error(`${path}: not a Stryker JSON report (no "files"); give the files Stryker wrote to dist/mutation/`);
    process.exit(1);
  }
  for (const [file, { mutants }] of Object.entries(report.files)) {
    const entry = byFile.get(file) ?? { group: basename(path, '.json'), mutants: new Map() };
    for (const m of mutants) {
      const { start, end } = m.location;
      entry.mutants.set(`${start.line}:${start.column}-${end.line}:${end.column}:${m.mutatorName}:${m.replacement ?? ''}`, m);
    }
    byFile.set(file, entry);
  }
}
const rows = [];
const left = [];
for (const [file, { group, mutants }] of byFile) {
  const c = { Killed: 0, Survived: 0, NoCoverage: 0, Timeout: 0, CompileError: 0, RuntimeError: 0, Ignored: 0 };
  for (const m of mutants.values()) {
    c[m.status] = (c[m.status] ?? 0) + 1;
    if (m.status === 'Survived' || m.status === 'NoCoverage') {
      const oneLine = (m.replacement ?? '').replace(/\s+/g, ' ').slice(0, 80);
      left.push(`- ${file}:${m.location.start.line} ${m.status} ${m.mutatorName}: \`${oneLine}\``);
    }
  }
  // Compile and runtime errors and ignored mutants are not valid mutants, so they do not count toward the score.
  const valid = c.Killed + c.Survived + c.NoCoverage + c.Timeout;
  const detected = c.Killed + c.Timeout;
  rows.push({ group, file, ...c, score: valid ? (100 * detected) / valid : null });
}

console.log('| group | module | killed | survived | no coverage | timeout | score |');
console.log('|---|---|---:|---:|---:|---:|---:|');
for (const r of rows) {
  const score = r.score === null ? '—' : `${r.score.toFixed(1)} %`;
  console.log(`| ${r.group} | \`${r.file}\` | ${r.Killed} | ${r.Survived} | ${r.NoCoverage} | ${r.Timeout} | ${score} |`);
}
if (survivors && left.length) console.log(`\n${left.join('\n')}`);
