// The recorded drivelist outputs of test/fixtures/drives (SOURCES.md says where each comes from), normalized as the
// engine lists drives: what the drive tests judge, and what listings are shaped from where a test needs a drive of a
// kind this machine has none of.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { drivesFromLsblk, findDrive, normalizeDrive, type LsblkOutput, type RawDrive } from '../../electron/engine/drives/Drives.js';
import type { DriveInfo } from '../../shared/drives.js';
import { ROOT } from '../helpers.js';

export const DRIVE_FIXTURES = join(ROOT, 'test', 'fixtures', 'drives');

export interface Fixture {
  file: string;
  platform: 'linux' | 'darwin' | 'win32';
  format: 'drivelist' | 'drivelist-legacy' | 'lsblk-json';
  drives: DriveInfo[];
}

export async function loadFixtures(): Promise<Fixture[]> {
  const out: Fixture[] = [];
  for (const file of readdirSync(DRIVE_FIXTURES).filter((f) => f.endsWith('.json')).sort()) {
    const j = JSON.parse(readFileSync(join(DRIVE_FIXTURES, file), 'utf8')) as { platform: Fixture['platform']; format: Fixture['format']; output: unknown };
    const raw = j.format === 'lsblk-json' ? await drivesFromLsblk(j.output as LsblkOutput, () => null) : (j.output as RawDrive[]);
    const windowsSystemDrive = j.platform === 'win32' ? 'C:' : null;
    out.push({ file, platform: j.platform, format: j.format, drives: raw.map((d) => normalizeDrive(d, { windowsSystemDrive })) });
  }
  return out;
}

/** One recorded drive, by fixture file and device. */
export async function fixtureDrive(file: string, device: string): Promise<DriveInfo> {
  const f = (await loadFixtures()).find((x) => x.file === file);
  const d = f && findDrive(f.drives, device);
  if (!d) throw new Error(`${file}: no drive ${device}`);
  return d;
}

/** A 16 GB USB stick, unmounted; `over` changes what a case needs. */
export function usbStick(over: Partial<DriveInfo> = {}): DriveInfo {
  return {
    device: '/dev/sdx',
    rawDevice: null,
    description: 'Kingston DataTraveler',
    sizeBytes: 16e9,
    busType: 'USB',
    isRemovable: true,
    isUSB: true,
    isCard: false,
    isSystem: false,
    isReadOnly: false,
    isVirtual: false,
    mountpoints: [],
    partitionTableType: 'mbr',
    logicalBlockSize: 512,
    ...over,
  };
}
