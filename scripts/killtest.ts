// `npm run killtest [-- --kills N --sigints N --cancels N --seed S --only iso|usb --payload MIB --json FILE --keep]`:
// interrupted writes (issue 7 item 3). For ISO sets and USB images in turn: a good earlier output, then `tsmedia
// create` writing over it killed with SIGKILL at --kills byte offsets spread over the whole write (default 20 per
// kind), each followed by a run that must succeed, leave no temporary file and verify; then Ctrl+C (SIGINT) of the
// command line and cancelMedia through the loopback host at random offsets (default 3 each). The earlier output must
// stay byte for byte as it was after every interruption. Prints a table; --json FILE writes every offset and failure.
// Exit 0 when nothing failed, 1 otherwise. The logic lives in test/support/killer.ts (npm test runs a slice of it).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatKillTable, runKillCampaign, type OutputKind } from '../test/support/killer.js';

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '20' },
    sigints: { type: 'string', default: '3' },
    cancels: { type: 'string', default: '3' },
    seed: { type: 'string' },
    only: { type: 'string' },
    payload: { type: 'string', default: '256' },
    json: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});

function count(name: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) {
    console.error(`killtest: --${name} must be a whole number, not "${v}"`);
    process.exit(2);
  }
  return n;
}

const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : count('seed', values.seed);
const kinds: OutputKind[] = values.only === undefined ? ['iso', 'usb'] : values.only === 'iso' || values.only === 'usb' ? [values.only] : (console.error('killtest: --only is iso or usb'), process.exit(2));
const payloadMiB = count('payload', values.payload);
if (payloadMiB < 16) {
  console.error('killtest: --payload must be at least 16 (MiB), so that there is a write to aim at');
  process.exit(2);
}
const work = mkdtempSync(join(tmpdir(), 'tsmedia-killtest-'));
console.log(`killtest: seed ${seed}, ${kinds.join(' and ')}, ${values.kills} kills, ${values.sigints} Ctrl+C and ${values.cancels} cancelMedia per kind, payload ${payloadMiB} MiB; work folder ${work}`);
try {
  const report = await runKillCampaign({
    work,
    kinds,
    kills: count('kills', values.kills),
    sigints: count('sigints', values.sigints),
    apiCancels: count('cancels', values.cancels),
    seed,
    payloadBytes: payloadMiB * 1024 * 1024,
    log: (line) => console.log(line),
  });
  console.log('');
  console.log(formatKillTable(report));
  console.log('');
  for (const k of report.kinds) {
    console.log(`${k.kind}: ${k.kills} kills (${k.killsDuringWrite} while writing, landed ${k.spread ? `${(k.spread[0] * 100).toFixed(1)}%–${(k.spread[1] * 100).toFixed(1)}%` : '—'} of ${k.expectedBytes} bytes), ${k.recoveryRuns} next runs, ${k.sigints} Ctrl+C, ${k.apiCancels} cancelMedia, ${k.failures.length} failures, ${k.seconds.toFixed(1)} s`);
  }
  console.log(`${report.failures.length === 0 ? 'PASS' : 'FAIL'}: ${report.failures.length} failures in ${report.seconds.toFixed(1)} s (seed ${seed}; rerun with --seed ${seed})`);
  for (const f of report.failures) console.log(`  ${f}`);
  if (values.json) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
  process.exitCode = report.failures.length === 0 ? 0 : 1;
} finally {
  if (values.keep) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
