// `npm run fuzz [-- --cases N --seed S --only NAME --timeout MS --rss MB]`: mutation fuzzing of every reader
// (issue 7 item 1). Each reader runs in its own child process under NODE_V8_COVERAGE, so that a hang can be killed
// (a case over --timeout ms, default 5000), memory watched (rss over --rss MiB, default 1536, is a failure) and the
// reader's line coverage measured. Every case must end in a result or a named error (InputError,
// ContentIntegrityError); a failure is saved to test-results/fuzz/ with the seed and case index to reproduce it:
//   npm run fuzz -- --only "ISO image" --seed S --case I
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { fuzzTargets, isNamedError, type FuzzTarget } from '../test/support/fuzzTargets.js';
import { packageRoot } from '../electron/engine/paths.js';

const ROOT = packageRoot();
const OUT = join(ROOT, 'test-results', 'fuzz');
const DIST = join(ROOT, 'dist');

interface CaseMessage {
  type: 'start' | 'done' | 'ready' | 'skipped' | 'end';
  index?: number;
  outcome?: 'result' | 'named' | 'failure';
  error?: string;
  reason?: string;
}

const slug = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}\n${err.stack ?? ''}`.slice(0, 4000);
  return String(err);
}

// ---------------------------------------------------------------------------------------------------------------------
// Child: runs cases [from, to) of one reader.

async function child(name: string, seed: number, from: number, to: number, rssLimit: number): Promise<void> {
  const send = (m: CaseMessage): Promise<void> => new Promise((resolve) => process.send?.(m, () => resolve()));
  const work = mkdtempSync(join(tmpdir(), 'tsmedia-fuzz-'));
  try {
    const target = (await fuzzTargets(work)).find((t) => t.name === name);
    if (!target) throw new Error(`no reader named "${name}"`);
    if (target.skipped) {
      await send({ type: 'skipped', reason: target.skipped });
      return;
    }
    const cases = fc.sample(target.arbitrary, { seed, numRuns: to });
    await send({ type: 'ready' });
    for (let i = from; i < to; i++) {
      process.send?.({ type: 'start', index: i } satisfies CaseMessage);
      let outcome: CaseMessage['outcome'] = 'result';
      let error: string | undefined;
      try {
        await target.run(cases[i]);
      } catch (err) {
        if (isNamedError(err)) outcome = 'named';
        else {
          outcome = 'failure';
          error = describeError(err);
        }
      }
      const rss = process.memoryUsage().rss;
      if (outcome !== 'failure' && rss > rssLimit * 1024 * 1024) {
        outcome = 'failure';
        error = `memory: rss ${Math.round(rss / 1048576)} MiB over the ${rssLimit} MiB bound after the case`;
      }
      if (outcome === 'failure') {
        const base = join(OUT, `${slug(name)}-seed${seed}-case${i}`);
        writeFileSync(`${base}.input`, target.input(cases[i]));
        writeFileSync(`${base}.json`, JSON.stringify({ reader: name, seed, case: i, error, generated: cases[i] }, null, 2));
      }
      process.send?.({ type: 'done', index: i, outcome, error } satisfies CaseMessage);
    }
    await send({ type: 'end' });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Coverage: c8-style line counting of the V8 JSON (NODE_V8_COVERAGE) for the reader's compiled modules.

interface V8Range {
  startOffset: number;
  endOffset: number;
  count: number;
}
interface V8Script {
  url: string;
  functions: { ranges: V8Range[] }[];
}

/** Lines of the compiled module that hold code (not blank, not only a comment or a brace), and those run. */
function lineCoverage(dir: string, modules: readonly string[]): { covered: number; total: number } {
  let covered = 0;
  let total = 0;
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
  const reports = files.map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as { result: V8Script[] });
  for (const m of modules) {
    const path = join(DIST, m);
    const url = `file://${path}`;
    const source = readFileSync(path, 'utf8');
    const hit = new Uint8Array(source.length);
    for (const r of reports) {
      const script = r.result.find((s) => s.url === url);
      if (!script) continue;
      const counts = new Int32Array(source.length);
      const ranges = script.functions.flatMap((f) => f.ranges).sort((a, b) => b.endOffset - b.startOffset - (a.endOffset - a.startOffset));
      for (const rg of ranges) counts.fill(rg.count, rg.startOffset, Math.min(rg.endOffset, source.length));
      for (let i = 0; i < source.length; i++) if (counts[i] > 0) hit[i] = 1;
    }
    let offset = 0;
    for (const line of source.split('\n')) {
      const t = line.trim();
      const code = t !== '' && !t.startsWith('//') && !t.startsWith('/*') && !t.startsWith('*') && !/^[})\];,]+$/.test(t);
      if (code) {
        total++;
        if (hit[offset + line.indexOf(t[0])]) covered++;
      }
      offset += line.length + 1;
    }
  }
  return { covered, total };
}

// ---------------------------------------------------------------------------------------------------------------------
// Parent

interface Row {
  reader: string;
  cases: number;
  results: number;
  named: number;
  failures: number;
  hangs: number;
  seconds: number;
  coverage: string;
  skipped?: string;
  failureFiles: string[];
}

function runReader(t: FuzzTarget, seed: number, cases: number, from: number, timeoutMs: number, rss: number, covDir: string): Promise<Row> {
  const row: Row = { reader: t.name, cases: 0, results: 0, named: 0, failures: 0, hangs: 0, seconds: 0, coverage: '', failureFiles: [] };
  const started = Date.now();
  const script = fileURLToPath(import.meta.url);
  const firstFailures = new Map<string, number>();
  return new Promise((resolve) => {
    let next = from;
    const launch = (): void => {
      if (next >= cases) {
        row.seconds = (Date.now() - started) / 1000;
        resolve(row);
        return;
      }
      let current = -1;
      let timer: NodeJS.Timeout | null = null;
      let finished = false;
      const proc: ChildProcess = fork(script, ['--child', t.name, '--seed', String(seed), '--from', String(next), '--cases', String(cases), '--rss', String(rss)], {
        env: { ...process.env, NODE_V8_COVERAGE: covDir },
        execArgv: ['--max-old-space-size=2048'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      const arm = (ms: number): void => {
        if (timer) clearTimeout(timer);
        timer = setTimeout(() => {
          // A hang: kill the child, count the case, go on with the next one.
          row.hangs++;
          row.failures++;
          row.cases++;
          const base = join(OUT, `${slug(t.name)}-seed${seed}-case${current}`);
          writeFileSync(`${base}.json`, JSON.stringify({ reader: t.name, seed, case: current, error: `hang: over ${ms} ms`, generated: fc.sample(t.arbitrary, { seed, numRuns: current + 1 })[current] }, null, 2));
          row.failureFiles.push(`${base}.json`);
          finished = true;
          next = current + 1;
          proc.kill('SIGKILL');
        }, ms);
      };
      arm(120_000); // setting up the reader's inputs
      proc.on('message', (m: CaseMessage) => {
        if (m.type === 'skipped') {
          row.skipped = m.reason;
          finished = true;
          next = cases;
        } else if (m.type === 'ready') arm(timeoutMs);
        else if (m.type === 'start') {
          current = m.index ?? -1;
          arm(timeoutMs);
        } else if (m.type === 'done') {
          row.cases++;
          next = (m.index ?? 0) + 1;
          if (m.outcome === 'result') row.results++;
          else if (m.outcome === 'named') row.named++;
          else {
            row.failures++;
            const key = (m.error ?? '').split('\n')[0].slice(0, 160);
            if (!firstFailures.has(key)) {
              firstFailures.set(key, m.index ?? -1);
              console.log(`  ${t.name}: failure at seed ${seed} case ${m.index}: ${key}`);
            }
            row.failureFiles.push(join(OUT, `${slug(t.name)}-seed${seed}-case${m.index}.json`));
          }
        } else if (m.type === 'end') finished = true;
      });
      proc.on('exit', (code, signal) => {
        if (timer) clearTimeout(timer);
        if (!finished) {
          // The child died in a case (out of memory, a native crash): a failure of that case.
          row.failures++;
          row.cases++;
          const base = join(OUT, `${slug(t.name)}-seed${seed}-case${current}`);
          writeFileSync(`${base}.json`, JSON.stringify({ reader: t.name, seed, case: current, error: `child exited (${code ?? signal ?? '?'})` }, null, 2));
          row.failureFiles.push(`${base}.json`);
          next = current + 1;
        }
        launch();
      });
    };
    launch();
  });
}

async function parent(): Promise<number> {
  const { values } = parseArgs({
    options: {
      cases: { type: 'string', default: '10000' },
      seed: { type: 'string', default: '20251125' },
      only: { type: 'string', multiple: true },
      case: { type: 'string' },
      timeout: { type: 'string', default: '5000' },
      rss: { type: 'string', default: '1536' },
    },
  });
  const cases = Number(values.cases);
  const seed = Number(values.seed);
  const timeoutMs = Number(values.timeout);
  const rss = Number(values.rss);
  if (!Number.isInteger(cases) || cases < 1 || !Number.isInteger(seed) || !(timeoutMs > 0) || !(rss > 0)) {
    console.error('fuzz: --cases, --seed, --timeout and --rss take whole numbers.');
    return 1;
  }
  const only = values.case !== undefined ? Number(values.case) : null;
  mkdirSync(OUT, { recursive: true });
  const covRoot = join(OUT, 'coverage');
  rmSync(covRoot, { recursive: true, force: true });
  const work = mkdtempSync(join(tmpdir(), 'tsmedia-fuzz-list-'));
  let targets: FuzzTarget[];
  try {
    targets = await fuzzTargets(work);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (values.only?.length) targets = targets.filter((t) => values.only?.includes(t.name));
  console.log(`fuzz: ${targets.length} readers, ${only !== null ? `case ${only}` : `${cases} cases each`}, seed ${seed}, ${timeoutMs} ms per case, rss bound ${rss} MiB`);
  const rows: Row[] = [];
  const t0 = Date.now();
  for (const t of targets) {
    const covDir = join(covRoot, slug(t.name));
    const row = await runReader(t, seed, only !== null ? only + 1 : cases, only ?? 0, timeoutMs, rss, covDir);
    const cov = lineCoverage(covDir, t.modules);
    row.coverage = cov.total ? `${((100 * cov.covered) / cov.total).toFixed(1)}% (${cov.covered}/${cov.total})` : '-';
    if (row.skipped) console.log(`  ${t.name}: skipped: ${row.skipped}`);
    rows.push(row);
    console.log(`  ${t.name}: ${row.cases} cases, ${row.failures} failures, ${row.seconds.toFixed(1)} s, coverage ${row.coverage}`);
  }
  const head = ['reader', 'cases', 'results', 'named errors', 'failures', 'hangs', 'seconds', 'line coverage (compiled module)'];
  const table = [head, ...rows.map((r) => [r.reader, String(r.cases), String(r.results), String(r.named), String(r.failures), String(r.hangs), r.seconds.toFixed(1), r.skipped ? `skipped: ${r.skipped}` : r.coverage])];
  const widths = head.map((_, i) => Math.max(...table.map((row) => row[i].length)));
  const lines = table.map((row) => `| ${row.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`);
  lines.splice(1, 0, `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  console.log(`\n${lines.join('\n')}\n\ntotal ${((Date.now() - t0) / 1000).toFixed(1)} s; coverage: lines of the reader's compiled modules run at least once (V8 block coverage).`);
  writeFileSync(join(OUT, 'summary.json'), JSON.stringify({ seed, cases, timeoutMs, rssMiB: rss, rows }, null, 2));
  const failures = rows.reduce((n, r) => n + r.failures, 0);
  if (failures) console.log(`${failures} failures; reproducers in ${OUT}`);
  return failures ? 1 : 0;
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') {
  const { values } = parseArgs({
    args: argv.slice(2),
    options: { seed: { type: 'string' }, from: { type: 'string' }, cases: { type: 'string' }, rss: { type: 'string' } },
  });
  child(argv[1], Number(values.seed), Number(values.from), Number(values.cases), Number(values.rss)).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(`fuzz child (${argv[1]}): ${describeError(err)}`);
      process.exit(3);
    },
  );
} else {
  parent().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(describeError(err));
      process.exit(2);
    },
  );
}
