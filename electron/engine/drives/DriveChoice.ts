// The engine's own judgement of the drive a request names, whoever sent it (the wizard, the engine API, the command
// line): the drive as the operating system lists it now, evaluated by the shared rules with the request's own "show all
// drives", and the user's confirmations counted — each must name this drive, and there must be as many as the wizard
// shows (evaluateDrive's needsConfirmation; more stay accepted). A system or read-only drive is refused whatever was
// sent; the privileged writer refuses a system drive again on its side.
import { confirmationTimes, evaluateDrive, type DriveEvaluation, type DriveInfo } from '../../../shared/drives.js';
import type { UsbDriveTarget } from '../../../shared/media.js';
import { codedInputError } from '../errors.js';
import { findDrive } from './Drives.js';

export interface DriveChoiceOptions {
  /** Bytes the media needs on the drive (0 before the plan is known). */
  neededBytes: number;
  /** What the drive must not hold: OutputPlace.sourceFolders(site). */
  sourcePaths: string[];
}

export interface DriveChoice {
  drive: DriveInfo;
  evaluation: DriveEvaluation;
}

/** Whether a confirmation names this drive (its device or raw device, as findDrive matches them). */
const names = (drive: DriveInfo, name: string): boolean => findDrive([drive], name) !== undefined;

/** The drive and its evaluation when the request may write it; else an InputError naming the drive and what is missing. */
export function checkDriveChoice(target: UsbDriveTarget, drives: DriveInfo[], options: DriveChoiceOptions): DriveChoice {
  const device = target.device;
  const drive = findDrive(drives, device);
  if (!drive) throw codedInputError('DRIVE_NOT_CONNECTED', { device }, `drive ${device} is not connected (any more; see "tsmedia drives --all").`);
  const evaluation = evaluateDrive(drive, { neededBytes: options.neededBytes, sourcePaths: options.sourcePaths, showAll: target.showAll });
  const hard = evaluation.constraints.filter((c) => c.severity === 'error');
  // evaluateDrive refuses system and read-only drives already; checked here too, so no change of the rules lets one through.
  if (hard.length > 0 || drive.isSystem || drive.isReadOnly) {
    const codes = hard.length > 0 ? hard.map((c) => c.code) : [drive.isSystem ? 'SYSTEM_DRIVE' : 'READ_ONLY'];
    const why = hard.length > 0 ? hard.map((c) => c.message).join(' ') : `${device} is a ${drive.isSystem ? 'system' : 'read-only'} drive.`;
    throw codedInputError('DRIVE_REFUSED', { device, constraints: codes }, `drive ${device} cannot be written: ${why}`);
  }
  const other = target.confirmations.find((c) => !names(drive, c));
  if (other !== undefined) {
    throw codedInputError(
      'DRIVE_CONFIRMATION_MISMATCH',
      { device, named: other },
      `drive ${device}: a confirmation names ${other === '' ? 'no drive' : other}, not the drive to write. Nothing was written; confirm the drive you chose.`,
    );
  }
  const needed = evaluation.needsConfirmation;
  const given = target.confirmations.length;
  if (given < needed) {
    const warnings = evaluation.constraints.map((c) => ` ${c.message}`).join('');
    throw codedInputError(
      'DRIVE_UNCONFIRMED',
      { device, count: needed, given },
      `drive ${device}: writing it erases everything on it, and it must be confirmed ${confirmationTimes(needed)}, naming it (${given} given).${warnings}`,
    );
  }
  return { drive, evaluation };
}
