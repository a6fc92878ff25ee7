// `tsmedia drives [--json] [--all] [--site DIR]`: the drives media can be written to, and why the others cannot.
// It only lists: it never chooses a drive.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { confirmationTimes, evaluateDrive, formatDriveSize, type DriveEvaluation, type DriveInfo } from '../../shared/drives.js';
import { listDrives } from '../engine/drives/Drives.js';
import { errorMessage } from '../engine/errors.js';
import { packageRoot } from '../engine/paths.js';
import { formatTable } from './format.js';

export interface DrivesIo {
  out(s: string): void;
  err(s: string): void;
}

export interface DrivesCommandOptions {
  /** Replaces the drive listing (tests). */
  list?: (options: { showAll: boolean }) => Promise<DriveInfo[]>;
}

/** Short words for a drive's kind. */
export function driveFlags(d: DriveInfo): string {
  const f: string[] = [];
  if (d.isUSB) f.push('usb');
  if (d.isCard) f.push('card');
  if (d.isRemovable) f.push('removable');
  if (d.isSystem) f.push('system');
  if (d.isReadOnly) f.push('read-only');
  if (d.isVirtual) f.push('virtual');
  return f.join(',') || '-';
}

/** Whether the drive may be chosen, and how often `create` then needs `--yes-erase DEVICE` (the wizard's confirmations). */
function status(e: DriveEvaluation): string {
  return e.selectable ? `confirm ${confirmationTimes(e.needsConfirmation)}` : 'refused';
}

/** Lists the drives; exit 0, 1 for a usage error, 2 when the drives cannot be listed. */
export async function runDrives(args: string[], io: DrivesIo, options: DrivesCommandOptions = {}): Promise<number> {
  let values: { json?: boolean; all?: boolean; site?: string };
  try {
    ({ values } = parseArgs({ args, options: { json: { type: 'boolean' }, all: { type: 'boolean' }, site: { type: 'string' } }, strict: true, allowPositionals: false }));
  } catch (err) {
    io.err(`tsmedia: ${errorMessage(err).replace(/\. To specify.*$/s, '.')}\nRun "tsmedia help" for usage.`);
    return 1;
  }
  const showAll = values.all === true;
  let drives: DriveInfo[];
  try {
    drives = await (options.list ?? listDrives)({ showAll });
  } catch (err) {
    io.err(`tsmedia: ${errorMessage(err)}`);
    return 2;
  }
  // The application itself and the site must never be overwritten.
  const sourcePaths = [packageRoot(), resolve(process.execPath), ...(values.site ? [resolve(values.site)] : [])];
  const rows = drives.map((drive) => ({ drive, evaluation: evaluateDrive(drive, { neededBytes: 0, sourcePaths, showAll }) }));
  const shown = rows.filter((r) => !r.evaluation.hidden);
  const hiddenCount = rows.length - shown.length;

  if (values.json) {
    io.out(JSON.stringify(shown.map((r) => ({ ...r.drive, ...r.evaluation })), null, 2));
    return 0;
  }
  if (shown.length === 0) {
    io.out(hiddenCount > 0 ? 'No removable drive found.' : 'No drive found.');
  } else {
    io.out(
      formatTable(
        ['DEVICE', 'SIZE', 'BUS', 'FLAGS', 'MOUNTPOINTS', 'STATUS', 'DESCRIPTION'],
        shown.map(({ drive: d, evaluation: e }) => [
          d.rawDevice ? `${d.device} (${d.rawDevice})` : d.device,
          formatDriveSize(d.sizeBytes),
          d.busType,
          driveFlags(d),
          d.mountpoints.map((m) => m.path).join(' ') || '-',
          status(e),
          d.description || '-',
        ]),
      ),
    );
    const reasons = shown.flatMap(({ drive, evaluation }) => evaluation.constraints.map((c) => `  ${drive.device}: ${c.severity === 'error' ? 'refused' : 'warning'}: ${c.code}: ${c.message}`));
    if (reasons.length > 0) io.out(`\nReasons:\n${reasons.join('\n')}`);
  }
  if (hiddenCount > 0) io.out(`\n${hiddenCount} system, internal or virtual drive(s) not shown: "tsmedia drives --all" lists them.`);
  return 0;
}
