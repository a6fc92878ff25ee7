// The FAT32 geometry for any drive size and both sector sizes (fast-check): what fatgen103 and the Rufus/Windows
// table require of the result, checked from the numbers alone — the partition at 1 MiB and inside the MBR's 32-bit
// limit, the data area on a 1 MiB boundary, the smallest FAT that describes every cluster, the table's cluster size
// unless it leaves too few clusters, and the cluster count FAT32 allows.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { InputError } from '../electron/engine/errors.js';
import {
  FAT32_MAX_CLUSTERS,
  FAT32_MIN_CLUSTERS,
  PARTITION_OFFSET,
  alignUp,
  clusterSizeFor,
  fat32Geometry,
  minimumFat32DiskBytes,
  type Fat32Geometry,
} from '../electron/engine/formats/fat32/FatGeometry.js';

const MiB = 1024 * 1024;
const TiB = 1024 * 1024 * MiB;

/** Clusters left beside a FAT of `fat` sectors, by fatgen103's layout: 32 reserved sectors at least, two FATs, data on 1 MiB. */
function clustersBeside(fat: number, partitionSectors: number, spc: number, ss: number): number {
  const dataStart = alignUp(32 + 2 * fat, MiB / ss);
  return Math.max(0, Math.floor((partitionSectors - dataStart) / spc));
}

/** The rules every planned volume meets, and a refusal only for drives below the smallest FAT32 drive. Returns the
 * geometry, or null for a refused drive. */
function checkGeometry(ss: number, diskBytes: number): Fat32Geometry | null {
  let g: Fat32Geometry;
  try {
    g = fat32Geometry(diskBytes, ss);
  } catch (e) {
    assert.ok(e instanceof InputError, String(e));
    assert.match(e.message, /too small for FAT32/);
    assert.ok(diskBytes < minimumFat32DiskBytes(ss), `${diskBytes} refused though the minimum is ${minimumFat32DiskBytes(ss)}`);
    return null;
  }
  assert.ok(diskBytes >= minimumFat32DiskBytes(ss), `${diskBytes} planned below the minimum`);
  const start = PARTITION_OFFSET / ss;
  assert.equal(g.sectorSize, ss);
  assert.equal(g.diskBytes, diskBytes);
  assert.equal(g.partitionStartSector, start);
  // The whole drive after 1 MiB, unless that would end past LBA 2^32 − 1.
  assert.equal(g.partitionSectors, Math.min(Math.floor(diskBytes / ss) - start, 0xffffffff - start));
  assert.ok(start + g.partitionSectors <= 0xffffffff);
  assert.equal(g.clusterSize, g.sectorsPerCluster * ss);
  assert.ok(Number.isInteger(Math.log2(g.sectorsPerCluster)), `${g.sectorsPerCluster} sectors a cluster`);
  // Data area on a 1 MiB boundary; reserved sectors fill the gap before it, 32 at least.
  assert.equal((g.dataStartSector * ss) % MiB, 0);
  assert.equal(g.dataStartSector, g.reservedSectors + 2 * g.fatSectors);
  assert.ok(g.reservedSectors >= 32 && g.reservedSectors < 32 + MiB / ss, `reserved ${g.reservedSectors}`);
  // Every cluster that fits after the data start, each with its FAT entry (plus the two reserved entries) ...
  assert.equal(g.clusters, Math.floor((g.partitionSectors - g.dataStartSector) / g.sectorsPerCluster));
  assert.ok(g.fatSectors * (ss / 4) >= g.clusters + 2, 'the FAT describes every cluster');
  // ... and the smallest such FAT: one sector less would not describe the clusters it leaves room for.
  if (g.fatSectors > 1) {
    assert.ok((g.fatSectors - 1) * (ss / 4) < clustersBeside(g.fatSectors - 1, g.partitionSectors, g.sectorsPerCluster, ss) + 2, `FAT of ${g.fatSectors} sectors is larger than needed`);
  }
  assert.ok(g.clusters >= FAT32_MIN_CLUSTERS && g.clusters <= FAT32_MAX_CLUSTERS, `${g.clusters} clusters`);
  // The table's cluster size (at least a sector), or a smaller one only where the table's leaves < 65,525 clusters.
  const table = Math.max(ss, clusterSizeFor(g.partitionSectors * ss));
  assert.ok(g.clusterSize <= table);
  if (g.clusterSize < table) {
    const bigger = g.sectorsPerCluster * 2;
    let fat = 1;
    while (fat * (ss / 4) < clustersBeside(fat, g.partitionSectors, bigger, ss) + 2) fat++;
    assert.ok(clustersBeside(fat, g.partitionSectors, bigger, ss) < FAT32_MIN_CLUSTERS, `${g.clusterSize}-byte clusters though ${bigger * ss} would do`);
  }
return g;
}

describe('FAT32 geometry, for any drive', () => {
  const drives = fc.record({
    sectorSize: fc.constantFrom(512, 4096),
    // From just below the smallest FAT32 drive to past the MBR's 2 TiB limit, weighted towards small sizes.
    diskBytes: fc.oneof(fc.integer({ min: 30 * MiB, max: 600 * MiB }), fc.integer({ min: 30 * MiB, max: 40 * TiB / 8 })),
  });

  test('every planned volume meets the rules; every refused drive is too small for FAT32', () => {
    fc.assert(
      fc.property(drives, ({ sectorSize: ss, diskBytes }) => {
        checkGeometry(ss, diskBytes);
      }),
      { numRuns: 400 },
    );
  });

  test('consecutive drive sizes: FATs that fit exactly, and 65,525 clusters of the table size exactly', () => {
    // Drives a cluster apart near 8 GiB: the clusters step by one, so within 128 steps (1,024 with 4096-byte sectors)
    // a FAT describes its clusters to the last entry; it must still be that FAT, not one a sector larger.
    let exact = 0;
    for (const ss of [512, 4096]) {
      const base = checkGeometry(ss, 8 * 1024 * MiB) as Fat32Geometry;
      for (let i = 0; i < (ss === 512 ? 300 : 2100); i++) {
        const g = checkGeometry(ss, 8 * 1024 * MiB + i * base.clusterSize) as Fat32Geometry;
        if (g.fatSectors * (ss / 4) === g.clusters + 2) exact++;
      }
    }
    assert.ok(exact >= 2, `FATs that fit exactly: ${exact}`);
    // Between 65 and 66 MiB the table's 1 KiB clusters first number 65,525: that size keeps them, one sector less
    // halves them.
    let atMinimum = 0;
    for (let size = 65 * MiB; size <= 66 * MiB; size += 512) {
      const g = checkGeometry(512, size) as Fat32Geometry;
      if (g.clusterSize === 1024 && g.clusters === FAT32_MIN_CLUSTERS) atMinimum++;
    }
    assert.ok(atMinimum >= 1, 'a drive with exactly 65,525 clusters of 1 KiB');
  });

  test('the smallest drive: exactly 65,525 one-sector clusters, and one sector less is refused', () => {
    for (const ss of [512, 4096]) {
      const min = minimumFat32DiskBytes(ss);
      assert.equal(min % ss, 0);
      const g = fat32Geometry(min, ss);
      assert.equal(g.clusters, FAT32_MIN_CLUSTERS, `${ss}-byte sectors`);
      assert.equal(g.sectorsPerCluster, 1);
      assert.throws(() => fat32Geometry(min - ss, ss), (e: unknown) => e instanceof InputError && e.message.includes(`smallest drive is ${min} bytes`));
    }
    // Sizes that are not whole positive byte counts, and sector sizes FAT32 is not laid out for, are refused by value.
    for (const bad of [0, -512, 1.5, Number.NaN, 2 ** 60]) {
      assert.throws(() => fat32Geometry(bad), (e: unknown) => e instanceof InputError && e.message.startsWith(`drive size ${bad}:`));
    }
    for (const ss of [1024, 2048, 520]) {
      assert.throws(() => fat32Geometry(1024 * MiB, ss), (e: unknown) => e instanceof InputError && e.message.includes(`sector size of ${ss} bytes`));
      assert.throws(() => minimumFat32DiskBytes(ss), InputError);
    }
  });
});
