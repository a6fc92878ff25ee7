// Adding files to a volume another tool formatted ("use the drive as already formatted") through the journal
// (formats/fat32/Fat32AppendJournal): until the commit the volume is exactly as it was — fsck-clean, every old file
// whole, the one being replaced too — and from the commit the journal is applied again from the start by the next run.
// After every step, and when the journal or its application is cut short: fsck.fat, mtools and the reader agree.
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openFat32 } from '../electron/engine/formats/fat32/Fat32Reader.js';
import { planFat32Append } from '../electron/engine/formats/fat32/Fat32Append.js';
import { journalAppend } from '../electron/engine/formats/fat32/Fat32AppendJournal.js';
import { planFat32Repair, refreshState } from '../electron/engine/formats/fat32/Fat32Refresh.js';
import type { FatFile } from '../electron/engine/formats/fat32/Fat32Volume.js';
import { requireOrSkip, tempDir } from './helpers.js';
import { fsckVolume, missingFatTools, must, MT_ENV, mtoolsHash, pattern, sha256, volumeHashes, writeStep } from './support/fat32Tools.js';

const T = new Date('2026-03-01T08:00:00Z');
const buf = (data: Buffer, label: string): FatFile['source'] => ({ kind: 'buffer', data, label });



function clean(img: string, dir: string, what: string): void {
  const r = fsckVolume(img, 0, dir);
  assert.ok(r, `${what}: fsck.fat could not run`);
  assert.equal(r.status, 0, `${what}: ${r.output}`);
  assert.doesNotMatch(r.output, /Leaving filesystem unchanged|wrong|Orphan|FATs differ|Reclaimed|Free cluster summary wrong/i, `${what}: ${r.output}`);
}

const stateOf = (img: string): string => {
  const v = openFat32(img);
  try {
    return refreshState(v).state;
  } finally {
    v.close();
  }
};

test('files added through the journal: the volume as it was until the commit, then finished from the journal; clean after every step and every cut', async (t) => {
  const missing = missingFatTools();
  if (!requireOrSkip(t, missing.length === 0, `missing ${missing.join(', ')}`)) return;
  const dir = tempDir(t);
  const img = join(dir, 'stick.img');
  // Another tool's volume (mkfs.fat, files by mtools), with a file the append replaces.
  must('mkfs.fat', ['-C', '-F', '32', '-n', 'THEIRS', img, String(96 * 1024)]);
  const theirs: Record<string, Buffer> = { 'notes.txt': Buffer.from('mine\n'), 'photos/a.bin': pattern(700_000, 3), 'SMS/data/old.ini': pattern(5000, 4) };
  must('mmd', ['-i', img, '::/photos', '::/SMS', '::/SMS/data'], MT_ENV);
  for (const [p, data] of Object.entries(theirs)) {
    const f = join(dir, p.replace(/\//g, '_'));
    writeFileSync(f, data);
    must('mcopy', ['-i', img, f, `::/${p}`], MT_ENV);
  }
  clean(img, dir, 'as made');
  const original = join(dir, 'original.img');
  copyFileSync(img, original);
  const before = volumeHashes(img);

  const added: FatFile[] = [
    { path: 'SMS/data/old.ini', source: buf(pattern(9000, 5), 'ini') }, // replaced
    { path: 'SMS/PKG/P1/big.cab', source: buf(pattern(3 * 1024 * 1024 + 7, 6), 'cab') },
    { path: 'photos/b.bin', source: buf(pattern(4321, 7), 'b') },
    { path: 'Ordner mit Ümlauten/datei.txt', source: buf(Buffer.from('hallo'), 'txt') },
  ];
  const v = openFat32(img);
  const plan = planFat32Append(v, added, [], T, true);
  const j = journalAppend(v, plan);
  v.close();
  assert.ok(j.steps, j.why);
  assert.deepEqual(j.steps.map((s) => s.name), ['content', 'journal', 'commit', 'rewrite', 'clear']);
  const after = new Map(before);
  for (const f of added) after.set(f.path, sha256((f.source as { data: Buffer }).data));

  const cuts: { what: string; copy: string; holds: 'old' | 'new' }[] = [];
  for (const s of j.steps) {
    if (s.name === 'content' || s.name === 'rewrite') {
      const copy = join(dir, `cut-${s.name}.img`);
      copyFileSync(img, copy);
      const half = { ...s.layout, regions: s.layout.regions.slice(0, Math.ceil(s.layout.regions.length / 2)), extents: s.layout.extents.slice(0, Math.ceil(s.layout.extents.length / 2)) };
      writeStep(copy, half);
      cuts.push({ what: `${s.name} cut short`, copy, holds: s.name === 'content' ? 'old' : 'new' });
    }
    writeStep(img, s.layout);
    const committed = s.name === 'commit' || s.name === 'rewrite';
    assert.equal(stateOf(img), committed ? 'rewrite' : 'old', `after ${s.name}`);
    // Clean after every step; only inside the rewrite (a cut below) may it be in between, until the journal is applied.
    clean(img, dir, `after ${s.name}`);
    const holds = s.name === 'content' || s.name === 'journal' || s.name === 'commit' ? 'old' : 'new';
    assert.deepEqual(volumeHashes(img), holds === 'old' ? before : after, `after ${s.name}: the ${holds} files`);
    if (s.name !== 'clear') {
      const copy = join(dir, `after-${s.name}.img`);
      copyFileSync(img, copy);
      cuts.push({ what: `after ${s.name}`, copy, holds: committed ? 'new' : 'old' });
    }
  }
  for (const [p, h] of after) assert.equal(await mtoolsHash(img, 0, p), h, `mtools reads ${p}`);
  // Nothing of theirs moved: their files' bytes and the boot sector are as they were.
  const o = readFileSync(original);
  const n = readFileSync(img);
  assert.ok(o.subarray(0, 11).equals(n.subarray(0, 11)) && o.subarray(36, 90).equals(n.subarray(36, 90)), 'the BPB is unchanged');

  for (const c of cuts) {
    const w = openFat32(c.copy);
    const repair = planFat32Repair(w);
    w.close();
    for (const s of repair.steps) writeStep(c.copy, s.layout);
    clean(c.copy, dir, `${c.what}, then finished`);
    assert.equal(stateOf(c.copy), 'old', c.what);
    assert.deepEqual(volumeHashes(c.copy), c.holds === 'old' ? before : after, `${c.what}: the ${c.holds} files`);
  }
});
