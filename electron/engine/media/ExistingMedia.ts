// Whether a drive holds tsmedia media, for the wizard's "refresh the media on this drive" (issue 20): the FAT32
// volume's manifest (SMS/data/tsmedia-manifest.json) is read — its label, task sequence and date — and nothing else.
// Read only and cheap (the boot sector, the FAT sectors of two folders, the manifest). Any error means "not tsmedia
// media", with the reason in English; the wizard then offers only the whole write.
import { evaluateDrive, type DriveInfo } from '../../../shared/drives.js';
import type { ExistingMedia } from '../../../shared/media.js';
import { driveIoPath } from '../drives/DriveAccess.js';
import { findDrive } from '../drives/Drives.js';
import { errorMessage } from '../errors.js';
import { openFat32 } from '../formats/fat32/Fat32Reader.js';
import { linuxSectorSize } from '../io/SectorIo.js';
import { MANIFEST_PATH, parseManifest } from './Manifest.js';

/** The manifest of the volume at `path` (a drive's device or an image file), or why there is none. */
export function readMediaManifestAt(path: string, device: string, sectorSize?: number): ExistingMedia {
  try {
    const vol = openFat32(path, sectorSize ? { sectorSize } : {});
    try {
      const entry = vol.find(MANIFEST_PATH);
      if (!entry) return { device, found: false, reason: `${device}: no ${MANIFEST_PATH} on its FAT32 volume: it was not made by tsmedia.` };
      const m = parseManifest(vol.readFileBuffer(entry.path).toString('utf8').trimEnd(), `${device}:${MANIFEST_PATH}`);
      return { device, found: true, label: m.label, taskSequenceId: m.taskSequence.packageId, taskSequenceName: m.taskSequence.name, created: m.created, mediaGuid: m.mediaGuid, files: m.files.length };
    } finally {
      vol.close();
    }
  } catch (err) {
    // The reader's messages name the volume already; the device is said once.
    const m = errorMessage(err);
    return { device, found: false, reason: m.startsWith(`${device}: `) || m.includes(device) ? m : `${device}: ${m}` };
  }
}

/**
 * For a drive of the listing: the drive must be listed, and selectable as the wizard would list it (a system or
 * read-only drive is never read for this: it could not be refreshed anyway).
 */
export function readDriveMedia(device: string, drives: DriveInfo[], options: { showAll: boolean; sourcePaths: string[] }): ExistingMedia {
  const drive = findDrive(drives, device);
  if (!drive) return { device, found: false, reason: `${device} is not connected.` };
  const ev = evaluateDrive(drive, { neededBytes: 0, sourcePaths: options.sourcePaths, showAll: options.showAll });
  if (ev.hidden || !ev.selectable) return { device, found: false, reason: `${device} cannot be chosen: ${ev.constraints.filter((c) => c.severity === 'error').map((c) => c.message).join(' ') || 'it is hidden without "show all drives".'}` };
  return readMediaManifestAt(driveIoPath(drive.device), drive.device, linuxSectorSize(drive.device) ?? drive.logicalBlockSize ?? undefined);
}
