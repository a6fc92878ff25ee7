// A WIM too large for the volume is split into .swm parts on the way from the content library to the USB volume;
// wimlib reads the parts back into the original files. (The real limit is 4 GiB − 1; the test lowers it so a small
// WIM is split the same way: WimSplit.test.ts splits a WIM over 4 GiB at the real limit.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Site } from '../electron/engine/site/Site.js';
import { createUsbMedia } from '../electron/engine/media/UsbMediaBuilder.js';
import type { UsbMediaRequest } from '../shared/media.js';
import { hasCommand, requireOrSkip, runCli, tempDir } from './helpers.js';
import { addPackage, copySampleSite } from './support/sites.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const MT = { ...process.env, MTOOLS_SKIP_CHECK: '1' };

describe('USB media with a large WIM', () => {
  test('install.wim is split into install000.swm … on the volume, and wimlib applies the parts back', async (t) => {
    if (!requireOrSkip(t, ['wimlib-imagex', 'mcopy'].every(hasCommand), 'missing wimlib-imagex or mcopy (./scripts/setup.sh installs wimtools, mtools)')) return;
    const dir = tempDir(t);
    const src = join(dir, 'src');
    mkdirSync(src);
    const originals = new Map<string, string>();
    for (const [name, size] of [['a.bin', 3_000_000], ['b.bin', 2_500_000], ['c.bin', 2_800_000]] as const) {
      const b = Buffer.alloc(size);
      randomFillSync(b);
      writeFileSync(join(src, name), b);
      originals.set(name, sha(b));
    }
    const wim = join(dir, 'install.wim');
    assert.equal(spawnSync('wimlib-imagex', ['capture', src, wim, '--compress=none'], { encoding: 'utf8' }).status, 0);
    const site = copySampleSite(join(dir, 'site'));
    await addPackage(site, 'SMP00097', [{ relativePath: 'install.wim', sourcePath: wim }], 'Windows 11 (large image)');

    const req: UsbMediaRequest = {
      site,
      taskSequenceId: 'SMP00010',
      distributionPoints: [],
      password: null,
      unattended: false,
      startDate: null,
      expireDate: null,
      label: 'WIM test',
      autorun: false, i386Binaries: false,
      variables: [],
      prestartCommand: null,
      prestartFiles: null,
      applications: [],
      packages: ['SMP00097'],
      driverPackages: [],
      staging: null,
      detectDependencies: true,
      timestamp: null,
      skipVerify: false,
      target: { kind: 'image', path: join(dir, 'usb.img'), sizeBytes: 128 * 1024 * 1024, replace: null },
      format: true,
    };
    const result = await createUsbMedia(await Site.open(site), req, { maxFileBytes: 4 * 1024 * 1024, userLogDir: null });
    assert.equal(result.verified, true);
    assert.deepEqual(result.largeFiles.wims.map((w) => w.path), ['SMS/PKG/SMP00097/install.wim']);
    const parts = result.largeFiles.wims[0].parts;
    assert.ok(parts.length >= 3, `split into ${parts.length} parts`);
    assert.deepEqual(parts, parts.map((_, i) => `SMS/PKG/SMP00097/install${String(i).padStart(3, '0')}.swm`));
    const inManifest = result.manifest.files.filter((f) => f.packageId === 'SMP00097').map((f) => f.path);
    assert.deepEqual(inManifest, parts, 'the manifest lists the parts, not the WIM');

    const x = join(dir, 'x');
    mkdirSync(x);
    assert.equal(spawnSync('mcopy', ['-s', '-n', '-i', `${join(dir, 'usb.img')}@@1M`, '::/SMS/PKG/SMP00097', x], { env: MT }).status, 0);
    const got = readdirSync(join(x, 'SMP00097')).sort();
    assert.deepEqual(got, parts.map((p) => p.split('/').pop()));
    for (const p of got) assert.ok(readFileSync(join(x, 'SMP00097', p)).length < 4 * 1024 * 1024, `${p} under the limit`);
    const first = join(x, 'SMP00097', 'install000.swm');
    const verify = spawnSync('wimlib-imagex', ['verify', first, `--ref=${join(x, 'SMP00097', 'install*.swm')}`], { encoding: 'utf8' });
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
    const out = join(dir, 'applied');
    const apply = spawnSync('wimlib-imagex', ['apply', first, '1', out, `--ref=${join(x, 'SMP00097', 'install*.swm')}`], { encoding: 'utf8' });
    assert.equal(apply.status, 0, apply.stdout + apply.stderr);
    for (const [name, h] of originals) assert.equal(sha(readFileSync(join(out, name))), h, name);
    assert.equal(runCli(['verify', join(dir, 'usb.img')]).status, 0);
  });
});
