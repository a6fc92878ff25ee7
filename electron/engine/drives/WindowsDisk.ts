// The Windows steps around a whole-drive write, through PowerShell's Storage module (Windows 8 and later), each with
// its own named error: administrator rights (checked before anything else), the disk's facts, taking every volume of
// the disk out of Windows' hands for the whole write, and announcing the new layout afterwards.
//
// How the volumes are taken away, and why:
// - Writing the whole drive (format): the layout is CLEARED first (Clear-Disk -RemoveData -RemoveOEM, as diskpart
//   "clean", which balenaEtcher's SDK uses). With no partition table there is no volume, with or without a letter, for
//   Windows to mount while tsmedia writes; the new MBR goes out last, and Update-Disk then announces it. Clearing works
//   on removable sticks, where Windows refuses to take the whole disk offline ("Set-Disk : Not Supported. Removable
//   media cannot be set to offline."), and needs no handle kept open: locking each volume (FSCTL_LOCK_VOLUME) would,
//   and Node cannot send that control code without a native addon.
// - Adding to the existing volume (--no-format): the layout must stay, so every partition, with or without a letter,
//   is taken OFFLINE (Set-Partition -IsOffline, MSFT_Partition.Offline: "the partition remains offline until explicitly
//   brought back online"). Its volume is dismounted and not mounted again while tsmedia writes: Windows allows raw
//   writes to sectors of a volume that is not mounted (KB 942448). Afterwards each partition is brought online again,
//   which mounts its volume.
// Windows refuses writes to a drive that another handle holds; the writer opens \\.\PhysicalDriveN with no sharing
// (io/deviceFlags.ts), so nothing else can open it during the write either.
import { DriveAccessError, windowsDiskNumber, type CommandRunner, type RereadResult } from './DriveAccess.js';

export const POWERSHELL = 'powershell.exe';

/** PowerShell without profile or prompts; errors stop the script and end it with exit code 1. */
export function powershellArgs(script: string): string[] {
  return ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-Command', `$ErrorActionPreference = 'Stop'; ${script}`];
}

/** The first line of a PowerShell error ("Get-Disk : No MSFT_Disk objects found ..."), without the position lines. */
export function powershellError(r: { stdout: string; stderr: string; code: number }): string {
  const lines = (r.stderr || r.stdout).split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !/^(At line:|\+ |CategoryInfo|FullyQualifiedErrorId)/.test(l));
  return lines.slice(0, 2).join(' ') || `exit code ${r.code}`;
}

function diskNumberOf(device: string): number {
  const n = windowsDiskNumber(device);
  if (n === null) throw new DriveAccessError(`${device} is not a Windows physical drive (\\\\.\\PhysicalDriveN): choose the drive from "tsmedia drives".`, 'ENOENT', device);
  return n;
}

async function powershell(run: CommandRunner, script: string, device: string, step: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await run(POWERSHELL, powershellArgs(script));
  if (r.code === 127) throw new DriveAccessError(`${step} ${device}: powershell.exe was not found. tsmedia needs Windows PowerShell (Windows 8 or later) to prepare drives.`, 'ENOENT', device);
  return r;
}

/** What a failed Storage cmdlet said, as the error for the step. */
function cmdletError(r: { code: number; stdout: string; stderr: string }, device: string, what: string, todo: string): DriveAccessError {
  const said = powershellError(r);
  if (/No MSFT_Disk objects found|No MSFT_Partition objects found/i.test(said)) return new DriveAccessError(`${device} does not exist: the drive was removed, or the device name is wrong.`, 'ENOENT', device);
  if (/Access to a CIM resource was not available|Access denied|40001/i.test(said)) return new DriveAccessError(`${what} ${device} needs administrator rights (${said}). Start tsmedia as administrator, or accept the Windows prompt.`, 'EACCES', device);
  return new DriveAccessError(`${what} ${device} failed: ${said} ${todo}`, 'EBUSY', device);
}

// ---- Rights ---------------------------------------------------------------------------------------------------------

/** The check PowerShell runs: whether this process's token is in the Administrators role (elevated under UAC). */
export const ELEVATION_CHECK = '([Security.Principal.WindowsPrincipal][Security.Principal.WindowsIdentity]::GetCurrent()).IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)';

/** Whether this process runs with administrator rights (an elevated token): the first step, before the drive is touched. */
export async function windowsIsElevated(run: CommandRunner, device = 'the drive'): Promise<boolean> {
  const r = await powershell(run, ELEVATION_CHECK, device, 'checking for the administrator rights writing needs');
  const said = r.stdout.trim();
  if (r.code !== 0 || !/^(True|False)$/.test(said)) throw new DriveAccessError(`cannot tell whether tsmedia runs as administrator, before writing ${device} (PowerShell said: ${powershellError(r)}). Start tsmedia with "Run as administrator" and try again; nothing was written.`, 'EPERM', device);
  return said === 'True';
}

// ---- The disk's facts ---------------------------------------------------------------------------------------------------

export interface WindowsPartition {
  partitionNumber: number;
  driveLetter: string | null;
  isOffline: boolean;
}

export interface WindowsDiskFacts {
  number: number;
  partitionStyle: string;
  isOffline: boolean;
  isReadOnly: boolean;
  isSystem: boolean;
  isBoot: boolean;
  busType: string;
  partitions: WindowsPartition[];
}

/** Get-Disk and Get-Partition's properties of one disk as compact JSON (letters as strings; none as null). */
export function diskFactsScript(n: number): string {
  return (
    `$d = Get-Disk -Number ${n}; ` +
    `$p = @(Get-Partition -DiskNumber ${n} -ErrorAction SilentlyContinue | ForEach-Object { [pscustomobject]@{ PartitionNumber = $_.PartitionNumber; DriveLetter = $(if ([string]$_.DriveLetter -match '^[A-Za-z]$') { [string]$_.DriveLetter } else { $null }); IsOffline = $_.IsOffline } }); ` +
    `[pscustomobject]@{ Number = $d.Number; PartitionStyle = [string]$d.PartitionStyle; IsOffline = $d.IsOffline; IsReadOnly = $d.IsReadOnly; IsSystem = $d.IsSystem; IsBoot = $d.IsBoot; BusType = [string]$d.BusType; Partitions = $p } | ConvertTo-Json -Depth 3 -Compress`
  );
}

export async function windowsDiskFacts(device: string, run: CommandRunner): Promise<WindowsDiskFacts> {
  const n = diskNumberOf(device);
  const r = await powershell(run, diskFactsScript(n), device, 'reading the layout of');
  if (r.code !== 0) throw cmdletError(r, device, 'reading the layout of', 'Check that the drive is connected.');
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(r.stdout.trim()) as Record<string, unknown>;
  } catch {
    throw new DriveAccessError(`reading the layout of ${device}: PowerShell's answer is not JSON (${r.stdout.trim().slice(0, 80)}). Nothing was written; unplug the drive, plug it in again and retry, or check that Windows PowerShell runs (Get-Disk) on this computer.`, 'EPROTO', device);
  }
  // ConvertTo-Json writes a one-element array as the element itself.
  const raw = j.Partitions === null || j.Partitions === undefined ? [] : Array.isArray(j.Partitions) ? j.Partitions : [j.Partitions];
  return {
    number: Number(j.Number),
    partitionStyle: String(j.PartitionStyle ?? 'RAW'),
    isOffline: j.IsOffline === true,
    isReadOnly: j.IsReadOnly === true,
    isSystem: j.IsSystem === true,
    isBoot: j.IsBoot === true,
    busType: String(j.BusType ?? ''),
    partitions: (raw as Record<string, unknown>[]).map((p) => ({
      partitionNumber: Number(p.PartitionNumber),
      driveLetter: typeof p.DriveLetter === 'string' && /^[A-Za-z]$/.test(p.DriveLetter) ? p.DriveLetter.toUpperCase() : null,
      isOffline: p.IsOffline === true,
    })),
  };
}

// ---- Taking the volumes away, and giving them back ---------------------------------------------------------------------

export interface WindowsTaken {
  /** 'cleared': the layout was removed; 'offline': these partitions were taken offline; 'none': nothing to take. */
  how: 'cleared' | 'offline' | 'none';
  disk: number;
  /** Partitions taken offline (to bring online again). */
  partitions: number[];
  /** Drive letters and partitions Windows no longer has, for the log. */
  released: string[];
}

const named = (p: WindowsPartition): string => (p.driveLetter ? `${p.driveLetter}:` : `partition ${p.partitionNumber} (no drive letter)`);

/** Takes every volume of the disk out of Windows' hands for the write: cleared for a whole-drive write, offline to add files. */
export async function takeWindowsDisk(device: string, mode: 'erase' | 'append', run: CommandRunner): Promise<WindowsTaken> {
  const facts = await windowsDiskFacts(device, run);
  const n = facts.number;
  if (facts.isSystem || facts.isBoot) throw new DriveAccessError(`refused: ${device} holds Windows itself (a system or boot disk); tsmedia never writes it.`, 'EREFUSED', device);
  if (facts.isReadOnly) throw new DriveAccessError(`${device} is read-only (Windows reports it so: a write-protect switch, or a policy). Make it writable and try again.`, 'EROFS', device);
  const volumes = facts.partitions.filter((p) => !p.isOffline);
  if (mode === 'erase') {
    if (facts.partitionStyle.toUpperCase() === 'RAW') return { how: 'none', disk: n, partitions: [], released: [] };
    const r = await powershell(run, `Clear-Disk -Number ${n} -RemoveData -RemoveOEM -Confirm:$false`, device, 'clearing the layout of');
    if (r.code !== 0) {
      throw cmdletError(r, device, 'clearing the layout of', `Close the programs and Explorer windows using ${volumes.map(named).join(', ') || 'the drive'}, then try again.`);
    }
    return { how: 'cleared', disk: n, partitions: [], released: facts.partitions.map(named) };
  }
  if (volumes.length === 0) return { how: 'none', disk: n, partitions: [], released: [] };
  const done: number[] = [];
  for (const p of volumes) {
    const r = await powershell(run, `Set-Partition -DiskNumber ${n} -PartitionNumber ${p.partitionNumber} -IsOffline $true`, device, 'taking a volume offline on');
    if (r.code !== 0) {
      await bringOnline(n, done, run);
      throw cmdletError(r, device, `taking ${named(p)} offline on`, `Close the programs and Explorer windows using it, then try again; nothing was written.`);
    }
    done.push(p.partitionNumber);
  }
  return { how: 'offline', disk: n, partitions: done, released: volumes.map(named) };
}

async function bringOnline(n: number, partitions: number[], run: CommandRunner): Promise<string[]> {
  const failed: string[] = [];
  for (const p of partitions) {
    const r = await run(POWERSHELL, powershellArgs(`Set-Partition -DiskNumber ${n} -PartitionNumber ${p} -IsOffline $false`));
    if (r.code !== 0) failed.push(`partition ${p} (${powershellError(r)})`);
  }
  return failed;
}

/** Gives back what was taken when the write did not happen or failed: offline partitions come online again. */
export async function releaseWindowsDisk(taken: WindowsTaken, run: CommandRunner): Promise<void> {
  if (taken.how === 'offline') await bringOnline(taken.disk, taken.partitions, run);
}

/**
 * Announces the new layout so the volume appears without replugging: offline partitions come online again (which
 * mounts their volumes), and Update-Disk makes Windows read the disk's partition table again.
 */
export async function announceWindowsDisk(device: string, taken: WindowsTaken, run: CommandRunner): Promise<RereadResult> {
  const failed = await bringOnline(taken.disk, taken.partitions, run);
  const r = await run(POWERSHELL, powershellArgs(`Update-Disk -Number ${taken.disk}`));
  if (failed.length > 0) {
    const fix = taken.partitions.map((p) => `Set-Partition -DiskNumber ${taken.disk} -PartitionNumber ${p} -IsOffline $false`).join('; ');
    return { ok: false, tool: 'powershell', warning: `Windows did not bring ${failed.join(', ')} of ${device} online again: the files are written, but its drive letter is missing until you unplug the drive and plug it in again, or run (as administrator) ${fix}.` };
  }
  if (r.code !== 0) return { ok: false, tool: 'powershell', warning: `Windows did not read the new layout of ${device} (Update-Disk: ${powershellError(r)}): unplug the drive and plug it in again to see the new volume.` };
  return { ok: true, tool: 'powershell', warning: null };
}
