// `tsmedia refresh DEVICE|IMAGE [create's options]`: the media prepared from the site as `create` would, compared with
// what the drive or image holds, and only what changed written. The change list is printed before anything is written;
// --dry-run stops there. A drive is confirmed with --yes-refresh DEVICE (a refresh keeps the media working at every
// moment, but it still writes to the drive).
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { RefreshChanges, UsbMediaRequest } from '../../shared/media.js';
import { confirmationTimes, evaluateDrive, formatDriveSize } from '../../shared/drives.js';
import { InputError } from '../engine/errors.js';
import { CancelledError } from '../engine/io/ImageWriter.js';
import { findDrive, listDrives } from '../engine/drives/Drives.js';
import { sameDriveName } from '../engine/drives/DriveAccess.js';
import { sourceFolders } from '../engine/media/OutputPlace.js';
import { refreshUsbMedia } from '../engine/media/UsbRefresh.js';
import { prepareMediaKeyPair } from '../engine/media/TsEnvironment.js';
import type { Site } from '../engine/site/Site.js';
import { parseCreateArgs, withCancel, type Io } from './create.js';
import { formatBytes } from './format.js';
import type { SiteArgs } from './siteOptions.js';

/** A target is an image when it names an existing file; anything else is a drive (/dev/sdX, \\.\PhysicalDriveN, diskN). */
function isImageFile(target: string): boolean {
  try {
    return existsSync(target) && statSync(target).isFile();
  } catch {
    return false;
  }
}

export function parseRefreshArgs(args: string[]): { parsed: ReturnType<typeof parseCreateArgs>; dryRun: boolean } {
  const [target, ...rest] = args;
  if (!target || target.startsWith('--')) throw new InputError('refresh needs the drive or image file first: tsmedia refresh DEVICE|IMAGE --site … --task-sequence ID [create\'s options].');
  const dryRun = rest.includes('--dry-run');
  const others: string[] = [];
  const confirmations: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '--dry-run') continue;
    if (a === '--yes-refresh' || a.startsWith('--yes-refresh=')) {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : rest[++i];
      if (!v) throw new InputError('--yes-refresh needs the drive it confirms.');
      confirmations.push(v);
      continue;
    }
    for (const o of ['--drive', '--image', '--image-size', '--no-format', '--yes-erase', '--media', '--replace', '--out', '--size']) {
      if (a === o || a.startsWith(`${o}=`)) throw new InputError(`${o} does not go with refresh: the drive or image to refresh comes first (tsmedia refresh DEVICE|IMAGE), and ISO sets are not refreshed (a disc image is rewritten whole: use create).`);
    }
    others.push(a);
  }
  const image = isImageFile(target);
  if (image && /\.iso$/i.test(target)) throw new InputError(`${target}: ISO sets are not refreshed; a disc image is rewritten whole. Use "tsmedia create --media iso".`);
  if (image && confirmations.length) throw new InputError('--yes-refresh confirms a drive; an image file needs no confirmation.');
  const other = confirmations.find((c) => !sameDriveName(c, target));
  if (other !== undefined) throw new InputError(`--yes-refresh names ${other}, but the drive to refresh is ${target}: confirm the drive you chose.`);
  const parsed = parseCreateArgs(['--media', 'usb', ...(image ? ['--image', resolve(target), '--no-format'] : ['--drive', target, '--no-format', ...confirmations.flatMap((c) => ['--yes-erase', c])]), ...others]);
  return { parsed, dryRun };
}

function printChanges(c: RefreshChanges, io: Io): void {
  const pct = c.fullBytes > 0 ? ` (${((c.bytesToWrite / c.fullBytes) * 100).toFixed(1)} % of the ${formatBytes(c.fullBytes)} a whole write would write)` : '';
  io.out(`refresh of ${c.target}: media "${c.oldLabel}", task sequence ${c.taskSequence}`);
  if (c.interrupted !== 'none') io.out(`  an earlier refresh was interrupted: it is ${c.interrupted === 'roll-back' ? 'rolled back' : 'finished'} first`);
  io.out(`  ${c.added.length} added, ${c.replaced.length} replaced, ${c.removed.length} removed, ${c.keptFiles} kept in place (${formatBytes(c.keptBytes)}); ${formatBytes(c.bytesToWrite)} to write${pct}`);
  if (c.method === 'rewrite') io.out('  the changed files are rewritten in their own clusters (through a journal); folders and the FAT stay as they are');
  for (const f of c.added) io.out(`  + ${f.path} (${formatBytes(f.size)})`);
  for (const f of c.replaced) io.out(`  ~ ${f.path} (${formatBytes(f.size)})`);
  for (const f of c.removed) io.out(`  - ${f.path}`);
}

export async function runRefresh(args: string[], io: Io, openSite: (spec: string | undefined, args: SiteArgs) => Promise<Site>): Promise<number> {
  const { parsed, dryRun } = parseRefreshArgs(args);
  const req = parsed.usb as UsbMediaRequest;
  prepareMediaKeyPair();
  const site = await openSite(parsed.site, parsed.siteArgs);
  if (req.target.kind === 'drive') {
    const t = req.target;
    const drive = findDrive(await listDrives({ showAll: true }), t.device);
    if (!drive) throw new InputError(`drive ${t.device} is not connected (see "tsmedia drives --all"), and no image file has that name.`);
    const ev = evaluateDrive(drive, { neededBytes: 0, sourcePaths: sourceFolders(site), showAll: t.showAll });
    if (!ev.selectable) throw new InputError(`drive ${drive.device} cannot be chosen: ${ev.constraints.filter((c) => c.severity === 'error').map((c) => c.message).join(' ')}`);
    if (!dryRun && t.confirmations.length < ev.needsConfirmation) {
      throw new InputError(`refreshing ${drive.device} (${drive.description || 'no description'}, ${formatDriveSize(drive.sizeBytes)}) writes to it. Confirm it ${confirmationTimes(ev.needsConfirmation)} with ${Array(ev.needsConfirmation).fill(`--yes-refresh ${drive.device}`).join(' ')}, or look first with --dry-run.`);
    }
  }
  try {
    const r = await withCancel(io, (signal) =>
      refreshUsbMedia(site, req, {
        signal,
        dryRun,
        progressIntervalMs: 0,
        onChanges: (c) => printChanges(c, io),
      }),
    );
    if (parsed.json) io.out(JSON.stringify(r, (k, val: unknown) => (k === 'manifest' ? undefined : val), 2));
    else if (!r.written) io.out('dry run: nothing was written.');
    else {
      io.out(`refreshed ${r.target}${r.verified ? ', verified' : ''}: ${formatBytes(r.bytesWritten)} written`);
      if (r.reportFiles.length) io.out(`report: ${r.reportFiles.join(', ')}`);
      io.out(`log: ${r.logFiles.join(', ')}`);
    }
    return 0;
  } catch (err) {
    if (err instanceof CancelledError) {
      io.err('cancelled: the media is the old one, the new one, or an interrupted refresh that the next "tsmedia refresh" finishes or rolls back.');
      return 130;
    }
    throw err;
  }
}
