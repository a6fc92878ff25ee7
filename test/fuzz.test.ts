// A fixed-seed slice of the fuzzing (scripts/fuzz.ts runs 10,000+ cases per reader): every generated case — mostly
// mutations of the real fixtures, the sample site and images our writers make — ends in a result or a named error.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ContentLibrary } from '../electron/engine/site/ContentLibrary.js';
import { ContentLibraryWriter } from '../electron/engine/site/ContentLibraryWriter.js';
import { main } from '../electron/cli/tsmedia.js';
import { fuzzTargets, isNamedError, type FuzzTarget } from './support/fuzzTargets.js';

const CASES = 150;
const SEED = 7001;
const CASE_MS = 5000;

describe('fuzz slice: every reader ends in a result or a named error', () => {
  let work = '';
  let targets: FuzzTarget[] = [];
  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'tsmedia-fuzz-test-'));
    targets = await fuzzTargets(work);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  test(`${CASES} cases per reader, seed ${SEED}`, async (t) => {
    assert.ok(targets.length >= 12, 'a target for every reader');
    for (const target of targets) {
      const why = target.skipped;
      if (why !== null) {
        // A skipped subtest: counted and its reason printed, not a pass.
        await t.test(target.name, (s) => s.skip(why));
        continue;
      }
      let named = 0;
      await t.test(target.name, async () => {
        await fc.assert(
          fc.asyncProperty(target.arbitrary, async (c) => {
            const start = Date.now();
            try {
              await target.run(c);
            } catch (err) {
              if (!isNamedError(err)) throw err;
              named++;
            }
            const ms = Date.now() - start;
            assert.ok(ms < CASE_MS, `a case took ${ms} ms`);
          }),
          { numRuns: CASES, seed: SEED, endOnFailure: true },
        );
        if (!target.reportsByResult) assert.ok(named > 0, `${target.name}: mutations reach the reader's checks`);
      });
    }
  });
});

describe('bugs the fuzzing found, kept fixed', () => {
  test('a DataLib file INI whose section name holds a dot reads as that section, not a TypeError', async (t) => {
    const root = mkdtempSync(join(tmpdir(), 'tsmedia-fuzz-ini-'));
    t.after(() => rmSync(root, { recursive: true, force: true }));
    await new ContentLibraryWriter(root).addContent('FUZ00001', 1, [{ relativePath: 'a/b.bin', data: Buffer.from('x') }]);
    const ini = join(root, 'DataLib', 'FUZ00001.1', 'a', 'b.bin.INI');
    writeFileSync(ini, readFileSync(ini, 'utf8').replace('[File]', '[<VALUE.ARRAY>File]'));
    const lib = await ContentLibrary.open(root);
    await assert.rejects(lib.content('FUZ00001.1'), (err: unknown) => isNamedError(err));
  });

  test('a command-line path with a NUL character exits 1 with a message, not 2 with "unexpected error"', async () => {
    const out: string[] = [];
    const code = await main(['analyze', 'a\u0000b.zip'], { out: (s) => out.push(s), err: (s) => out.push(s), isTty: false });
    assert.equal(code, 1);
    assert.match(out.join('\n'), /NUL character/);
  });
});
