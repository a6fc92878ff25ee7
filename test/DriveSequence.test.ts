// The drive sequence on Windows and macOS, whose tools cannot run here: a stand-in CommandRunner answers as the tools'
// documentation shows them (PowerShell's True/False, ConvertTo-Json of Get-Disk/Get-Partition, the Storage cmdlets'
// silence on success and their CIM errors; diskutil's sentences) and records every command, and a stand-in writer
// records the jobs it is given. The order is asserted: rights → (helper) → take the volumes → write exclusively →
// flush → announce → read back, and each step's failure is a named error that says what to do.
import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { describe, test } from 'node:test';
import { DriveAccessError, type CommandResult, type CommandRunner } from '../electron/engine/drives/DriveAccess.js';
import { hasDriveRights, runDriveJob, writeDrive, type DriveHelper, type DriveJob, type DriveSequenceOptions } from '../electron/engine/drives/DriveSequence.js';
import { ELEVATION_CHECK } from '../electron/engine/drives/WindowsDisk.js';
import { deviceOpenFlags, UV_FS_O_EXLOCK_WIN32 } from '../electron/engine/io/deviceFlags.js';
import type { JobResult, WorkerJob } from '../electron/engine/io/ImageJobs.js';

const DISK = '\\\\.\\PhysicalDrive2';
const ok = (stdout = ''): CommandResult => ({ code: 0, stdout, stderr: '' });
/** A PowerShell error as the console prints it: the message, then the position and category lines. */
const psError = (cmdlet: string, message: string, category: string): CommandResult => ({
  code: 1,
  stdout: '',
  stderr: `${cmdlet} : ${message}\r\nAt line:1 char:38\r\n+ $ErrorActionPreference = 'Stop'; ${cmdlet} -Number 2\r\n+ ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\r\n    + CategoryInfo          : ${category}\r\n    + FullyQualifiedErrorId : ${cmdlet}\r\n`,
});
/** Get-Disk and Get-Partition of a USB stick, as ConvertTo-Json -Compress prints the script's object. */
const stickJson = (over: Record<string, unknown> = {}): string =>
  JSON.stringify({
    Number: 2,
    PartitionStyle: 'MBR',
    IsOffline: false,
    IsReadOnly: false,
    IsSystem: false,
    IsBoot: false,
    BusType: 'USB',
    Partitions: [
      { PartitionNumber: 1, DriveLetter: 'E', IsOffline: false },
      { PartitionNumber: 2, DriveLetter: null, IsOffline: false },
    ],
    ...over,
  });

interface Recorder {
  log: string[];
  run: CommandRunner;
  runJobs: NonNullable<DriveSequenceOptions['runJobs']>;
  flushDrive: (p: string) => Promise<void>;
}

/** A Windows that answers the scripts tsmedia sends; `answer` may replace an answer (by a word of the script). */
function windows(elevated: boolean, answer: (script: string) => CommandResult | null = () => null): Recorder {
  const log: string[] = [];
  const run: CommandRunner = async (cmd, args) => {
    assert.equal(cmd, 'powershell.exe');
    assert.deepEqual(args.slice(0, 5), ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-Command']);
    const script = args[5];
    assert.match(script, /^\$ErrorActionPreference = 'Stop'; /, 'errors stop the script (no "noerr")');
    const body = script.replace(/^\$ErrorActionPreference = 'Stop'; /, '');
    const name = body.startsWith(ELEVATION_CHECK) ? 'IsInRole(Administrator)' : body.startsWith('$d = Get-Disk') ? 'Get-Disk+Get-Partition' : body;
    log.push(name);
    const special = answer(body);
    if (special) return special;
    if (name === 'IsInRole(Administrator)') return ok(elevated ? 'True\r\n' : 'False\r\n');
    if (name === 'Get-Disk+Get-Partition') return ok(`${stickJson()}\r\n`);
    return ok(); // Clear-Disk, Set-Partition and Update-Disk print nothing on success
  };
  const runJobs = async (jobs: WorkerJob[]): Promise<JobResult[]> =>
    jobs.map((j) => {
      if (j.kind === 'write') log.push(`write ${j.path} (${j.target}, gaps ${j.gaps})`);
      else if (j.kind === 'compare') log.push(`read back ${j.path} (gaps ${j.gaps})`);
      return { sha256: j.kind === 'compare' ? 'ab'.repeat(32) : null, bytes: j.kind === 'write' || j.kind === 'compare' ? j.layout.size : 0 };
    });
  return { log, run, runJobs, flushDrive: async (p) => void log.push(`flush ${p}`) };
}

const job = (mode: DriveJob['mode'], device = DISK): DriveJob => ({
  device,
  mode,
  writes: [{ layout: { size: 4096, regions: [{ offset: 0, data: Buffer.alloc(512, 1) }], extents: [] }, gaps: mode === 'erase' ? 'zero' : 'skip' }],
  readBack: false,
});

/** The privileged writer stand-in: it runs the same job with the same tools, as the elevated helper process would. */
function helperOf(w: Recorder, platform: NodeJS.Platform): (device: string) => Promise<DriveHelper> {
  return async (device) => {
    w.log.push(`start the privileged writer for ${device}`);
    return {
      runDriveJob: (j, o) => runDriveJob(j, { platform, run: w.run, runJobs: w.runJobs, flushDrive: w.flushDrive, ...o }),
      close: async () => void w.log.push('close the privileged writer'),
      dispose: async () => undefined,
    };
  };
}

describe('Windows: the drive sequence', () => {
  test('without administrator rights the helper starts first and does everything else itself, reading every byte back', async () => {
    const w = windows(false);
    const r = await writeDrive(job('erase'), { platform: 'win32', run: w.run, runJobs: w.runJobs, flushDrive: w.flushDrive, startHelper: helperOf(w, 'win32') });
    assert.deepEqual(w.log, [
      'IsInRole(Administrator)',
      `start the privileged writer for ${DISK}`,
      'Get-Disk+Get-Partition',
      'Clear-Disk -Number 2 -RemoveData -RemoveOEM -Confirm:$false',
      `write ${DISK} (device, gaps zero)`,
      `flush ${DISK}`,
      'Update-Disk -Number 2',
      `read back ${DISK} (gaps skip)`,
      'close the privileged writer',
    ]);
    assert.equal(r.elevated, true);
    assert.deepEqual(r.taken.released, ['E:', 'partition 2 (no drive letter)'], 'every volume, with or without a letter');
    assert.equal(r.taken.tool, 'Clear-Disk');
    assert.deepEqual(r.announced, { ok: true, tool: 'powershell', warning: null });
    assert.deepEqual(r.readBack, { bytes: 4096, sha256: 'ab'.repeat(32) });
  });

  test('elevated: no helper; the layout is cleared, written, announced (read back when asked)', async () => {
    const w = windows(true);
    const r = await writeDrive({ ...job('erase'), readBack: true }, { platform: 'win32', run: w.run, runJobs: w.runJobs, flushDrive: w.flushDrive, startHelper: async () => assert.fail('no helper when elevated') });
    assert.deepEqual(w.log, ['IsInRole(Administrator)', 'Get-Disk+Get-Partition', 'Clear-Disk -Number 2 -RemoveData -RemoveOEM -Confirm:$false', `write ${DISK} (device, gaps zero)`, `flush ${DISK}`, 'Update-Disk -Number 2', `read back ${DISK} (gaps skip)`]);
    assert.equal(r.elevated, false);
  });

  test('a RAW disk (no partition table) has nothing to take: it is written and announced', async () => {
    const w = windows(true, (s) => (s.startsWith('$d = Get-Disk') ? ok(stickJson({ PartitionStyle: 'RAW', Partitions: null })) : null));
    await runDriveJob(job('erase'), { platform: 'win32', run: w.run, runJobs: w.runJobs, flushDrive: w.flushDrive });
    assert.deepEqual(w.log, ['Get-Disk+Get-Partition', `write ${DISK} (device, gaps zero)`, `flush ${DISK}`, 'Update-Disk -Number 2']);
  });

  test('adding files (--no-format): every partition offline for the whole write, gaps skipped, then online again', async () => {
    const w = windows(true);
    const r = await runDriveJob(job('append'), { platform: 'win32', run: w.run, runJobs: w.runJobs, flushDrive: w.flushDrive });
    assert.deepEqual(w.log, [
      'Get-Disk+Get-Partition',
      'Set-Partition -DiskNumber 2 -PartitionNumber 1 -IsOffline $true',
      'Set-Partition -DiskNumber 2 -PartitionNumber 2 -IsOffline $true',
      `write ${DISK} (device, gaps skip)`,
      `flush ${DISK}`,
      'Set-Partition -DiskNumber 2 -PartitionNumber 1 -IsOffline $false',
      'Set-Partition -DiskNumber 2 -PartitionNumber 2 -IsOffline $false',
      'Update-Disk -Number 2',
    ]);
    assert.equal(r.taken.tool, 'Set-Partition -IsOffline');
  });

  test('a failed write gives the offline partitions back; the write error is what is reported', async () => {
    const w = windows(true);
    const failing = async (jobs: WorkerJob[]): Promise<JobResult[]> => {
      await w.runJobs(jobs, {});
      throw new Error('\\\\.\\PhysicalDrive2 disappeared while writing it');
    };
    await assert.rejects(runDriveJob(job('append'), { platform: 'win32', run: w.run, runJobs: failing, flushDrive: w.flushDrive }), /disappeared while writing/);
    assert.deepEqual(w.log.slice(-3), [`write ${DISK} (device, gaps skip)`, 'Set-Partition -DiskNumber 2 -PartitionNumber 1 -IsOffline $false', 'Set-Partition -DiskNumber 2 -PartitionNumber 2 -IsOffline $false']);
  });

  test('each step fails with a named error that says what to do, and nothing after it runs', async () => {
    const fails = async (answer: (s: string) => CommandResult | null, mode: DriveJob['mode'], check: (e: DriveAccessError) => boolean): Promise<string[]> => {
      const w = windows(true, answer);
      await assert.rejects(runDriveJob(job(mode), { platform: 'win32', run: w.run, runJobs: w.runJobs, flushDrive: w.flushDrive }), (e: unknown) => e instanceof DriveAccessError && check(e));
      assert.ok(!w.log.some((l) => l.startsWith('write ')), 'nothing was written');
      return w.log;
    };
    // The disk is gone (Get-Disk's documented "not found" error).
    await fails((s) => (s.startsWith('$d = Get-Disk') ? psError('Get-Disk', "No MSFT_Disk objects found with property 'Number' equal to '2'.  Verify the value of the property and retry.", 'ObjectNotFound: (2:UInt32) [Get-Disk], CimJobException') : null), 'erase', (e) => e.code === 'ENOENT' && /does not exist: the drive was removed/.test(e.message));
    // Not elevated after all (CIM access denied).
    await fails((s) => (s.startsWith('Clear-Disk') ? psError('Clear-Disk', 'Access to a CIM resource was not available to the client.', 'PermissionDenied: (StorageWMI:ROOT/Microsoft/...MSFT_Disk) [Clear-Disk], CimException') : null), 'erase', (e) => e.code === 'EACCES' && /needs administrator rights .*Start tsmedia as administrator/.test(e.message));
    // Clearing refused while a program holds a volume: the message names the drive letters to close.
    await fails((s) => (s.startsWith('Clear-Disk') ? psError('Clear-Disk', 'The disk is in use.', 'NotSpecified: (StorageWMI:ROOT/Microsoft/...MSFT_Disk) [Clear-Disk], CimException') : null), 'erase', (e) => e.code === 'EBUSY' && /clearing the layout of .* failed: Clear-Disk : The disk is in use\. Close the programs and Explorer windows using E:, partition 2/.test(e.message));
    // The system disk and a read-only disk are refused before anything is done to them.
    await fails((s) => (s.startsWith('$d = Get-Disk') ? ok(stickJson({ IsSystem: true, IsBoot: true })) : null), 'erase', (e) => e.code === 'EREFUSED' && /holds Windows itself/.test(e.message));
    await fails((s) => (s.startsWith('$d = Get-Disk') ? ok(stickJson({ IsReadOnly: true })) : null), 'append', (e) => e.code === 'EROFS' && /read-only .*Make it writable/.test(e.message));
    // The second partition cannot go offline: the first comes online again, and the error says nothing was written.
    const log = await fails((s) => (/PartitionNumber 2 -IsOffline \$true/.test(s) ? psError('Set-Partition', 'Not Supported', 'NotSpecified: (StorageWMI:ROOT/Microsoft/...MSFT_Partition) [Set-Partition], CimException') : null), 'append', (e) => /taking partition 2 \(no drive letter\) offline on .* failed: Set-Partition : Not Supported .*nothing was written/.test(e.message));
    assert.deepEqual(log.slice(-1), ['Set-Partition -DiskNumber 2 -PartitionNumber 1 -IsOffline $false']);
    // PowerShell missing altogether: the rights check says so.
    const none: CommandRunner = async () => ({ code: 127, stdout: '', stderr: 'powershell.exe: not found' });
    await assert.rejects(hasDriveRights(DISK, { platform: 'win32', run: none }), (e: unknown) => e instanceof DriveAccessError && /powershell\.exe was not found/.test(e.message));
  });

  test('the layout not announced is a warning with the command to run; the write stands', async () => {
    const w = windows(true, (s) => (s.startsWith('Update-Disk') ? psError('Update-Disk', 'The device is not ready.', 'NotSpecified') : /IsOffline \$false/.test(s) && s.includes('PartitionNumber 2') ? psError('Set-Partition', 'Failed', 'NotSpecified') : null));
    const r = await runDriveJob(job('append'), { platform: 'win32', run: w.run, runJobs: w.runJobs, flushDrive: w.flushDrive });
    assert.equal(r.announced.ok, false);
    assert.match(r.announced.warning ?? '', /did not bring partition 2 \(Set-Partition : Failed\) .* online again: the files are written.*Set-Partition -DiskNumber 2 -PartitionNumber 2 -IsOffline \$false/);
  });

  test('the drive is opened with no sharing on Windows (libuv UV_FS_O_EXLOCK), O_EXCL on Linux', () => {
    assert.equal(UV_FS_O_EXLOCK_WIN32, 0x10000000);
    assert.equal(deviceOpenFlags('win32'), constants.O_RDWR | 0x10000000);
    assert.equal(deviceOpenFlags('linux'), constants.O_RDWR | constants.O_EXCL | (process.platform === 'linux' ? constants.O_DIRECT : 0), 'O_DIRECT: uncached, whole aligned sectors');
    assert.equal(deviceOpenFlags('darwin'), constants.O_RDWR);
  });
});

describe('macOS: the drive sequence', () => {
  function mac(answer: (args: string[]) => CommandResult | null = () => null): Recorder {
    const w = windows(true);
    w.run = async (cmd, args) => {
      assert.equal(cmd, 'diskutil');
      w.log.push(`diskutil ${args.join(' ')}`);
      const special = answer(args);
      if (special) return special;
      if (args[0] === 'unmountDisk') return ok(`Unmount of all volumes on ${args[1].replace('/dev/', '')} was successful\n`);
      return ok(`${args[1]} (external, physical):\n   #:                       TYPE NAME                    SIZE       IDENTIFIER\n   0:     FDisk_partition_scheme                        *16.0 GB    disk4\n   1:                 DOS_FAT_32 CONFIGMGR               16.0 GB    disk4s1\n`);
    };
    return w;
  }

  test('either name: diskutil unmountDisk on /dev/diskN, then every read and write on the raw /dev/rdiskN', async () => {
    for (const device of ['/dev/disk4', '/dev/rdisk4']) {
      const w = mac();
      const r = await runDriveJob({ ...job('erase', device), readBack: true }, { platform: 'darwin', run: w.run, runJobs: w.runJobs, flushDrive: w.flushDrive });
      assert.deepEqual(w.log, ['diskutil unmountDisk /dev/disk4', 'write /dev/rdisk4 (device, gaps zero)', 'flush /dev/rdisk4', 'diskutil list /dev/disk4', 'read back /dev/rdisk4 (gaps skip)'], device);
      assert.equal(r.ioPath, '/dev/rdisk4');
      assert.deepEqual(r.taken.released, ['/dev/disk4']);
    }
  });

  test('a volume a program holds: diskutil says who dissented, and nothing is written', async () => {
    const w = mac((args) => (args[0] === 'unmountDisk' ? { code: 1, stdout: '', stderr: 'Unmount of disk4 failed: at least one volume could not be unmounted\nUnmount was dissented by PID 812 (/System/Library/CoreServices/Finder.app)\n' } : null));
    await assert.rejects(runDriveJob(job('append', '/dev/rdisk4'), { platform: 'darwin', run: w.run, runJobs: w.runJobs, flushDrive: w.flushDrive }), (e: unknown) => e instanceof DriveAccessError && e.code === 'EBUSY' && /diskutil could not unmount \/dev\/disk4: .*dissented by PID 812.*close it and try again/.test(e.message));
    assert.deepEqual(w.log, ['diskutil unmountDisk /dev/disk4']);
  });
});
