// The write progress of writes that leave gaps alone (a refresh, an addition to a volume): it counts the bytes written,
// every step of a several-step write, and ends at the total it announced. It used to count positions in the volume
// (a 50 MB refresh of a 2 GiB image reported gigabytes) and, on a drive, only the first step.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { MediaProgress, UsbMediaRequest } from '../shared/media.js';
import { createUsbMedia } from '../electron/engine/media/UsbMediaBuilder.js';
import { refreshUsbMedia } from '../electron/engine/media/UsbRefresh.js';
import { Site } from '../electron/engine/site/Site.js';
import { tempDir } from './helpers.js';
import { checkWritePhase } from './support/progressChecks.js';
import { baseRequest } from './support/hostClient.js';
import { addPackage, copySampleSite, randomFile, updatePackage } from './support/sites.js';

describe('write progress', () => {
  test('a refresh and an addition to an image count the bytes they write, every step, up to their total', async (t) => {
    const dir = tempDir(t);
    const sitePath = copySampleSite(join(dir, 'site'));
    const v1 = join(dir, 'v1.bin');
    randomFile(v1, 3 * 1024 * 1024);
    await addPackage(sitePath, 'SMP00091', [{ relativePath: 'drivers.cab', sourcePath: v1 }], 'Drivers');
    const img = join(dir, 'stick.img');
    const req: UsbMediaRequest = { ...baseRequest({ packages: ['SMP00091'] }), target: { kind: 'image', path: img, sizeBytes: 256 * 1024 * 1024, replace: null }, format: true };
    await createUsbMedia(await Site.open(sitePath), req, { userLogDir: null });

    // A changed package: written beside the old files, in seven steps.
    const v2 = join(dir, 'v2.bin');
    randomFile(v2, 3 * 1024 * 1024 + 7);
    await updatePackage(sitePath, 'SMP00091', [{ relativePath: 'drivers.cab', sourcePath: v2 }]);
    const beside: MediaProgress[] = [];
    const r1 = await refreshUsbMedia(await Site.open(sitePath), { ...req, format: false }, { userLogDir: null, onProgress: (p) => beside.push(p), progressIntervalMs: 0 });
    assert.equal(r1.changes.method, 'beside');
    const total1 = checkWritePhase(beside, 'refresh beside');
    assert.equal(total1, r1.bytesWritten);
    assert.ok(total1 > 3 * 1024 * 1024 && total1 < 8 * 1024 * 1024, `a 3 MiB package refreshed writes ${total1} bytes`);

    // A new password: rewritten in place, through the journal.
    const inPlace: MediaProgress[] = [];
    const r2 = await refreshUsbMedia(await Site.open(sitePath), { ...req, format: false, password: 'An0ther-Passw0rd' }, { userLogDir: null, onProgress: (p) => inPlace.push(p), progressIntervalMs: 0 });
    assert.equal(r2.changes.method, 'rewrite');
    assert.equal(checkWritePhase(inPlace, 'refresh in place'), r2.bytesWritten);

    // A new package added to the volume as it is (create --no-format): journalled steps too.
    const v3 = join(dir, 'v3.bin');
    randomFile(v3, 2 * 1024 * 1024);
    await addPackage(sitePath, 'SMP00092', [{ relativePath: 'apps.cab', sourcePath: v3 }], 'Apps');
    const added: MediaProgress[] = [];
    const r3 = await createUsbMedia(await Site.open(sitePath), { ...req, packages: ['SMP00091', 'SMP00092'], format: false, password: 'An0ther-Passw0rd' }, { userLogDir: null, onProgress: (p) => added.push(p), progressIntervalMs: 0 });
    const total3 = checkWritePhase(added, 'create --no-format');
    assert.equal(total3, r3.bytesWritten);
    assert.ok(total3 > 2 * 1024 * 1024 && total3 < 64 * 1024 * 1024, `adding a 2 MiB package writes ${total3} bytes`);
  });
});
