// What the wizard is told about a media file's place while the user types it: the folder, whether it is there and may
// be written, the network share it is on, its free space (or that the share does not report it) against what the media
// needs, and the refusal a run would meet there — by the same rules and codes as the run (OutputPlace, SafeOutput).
// Cheap and harmless: a few stat/access/statfs calls, nothing read, opened or created. The calls that reach the file
// system are asynchronous, so a share that is slow to answer never holds the window's process.
import { constants } from 'node:fs';
import { access, statfs } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { OutputCheck, OutputFileKind } from '../../../shared/ipc.js';
import { InputError, codedInputError, errorMessage } from '../errors.js';
import { freeOfStatfs, shareOf, type OutputVolume } from '../io/OutputVolume.js';
import { imageTargetRefusal, isoTargetRefusal, placeFactsAsync, refuseInsideSources } from './OutputPlace.js';
import { BESIDE_MEDIA_BYTES, spaceRefusal, writeAccessRefusal } from './SafeOutput.js';
import type { Site } from '../site/Site.js';

async function freeOf(folder: string): Promise<{ free: number | null; why: string | null }> {
  try {
    return freeOfStatfs(await statfs(folder));
  } catch (err) {
    return { free: null, why: `its free space cannot be asked (${errorMessage(err)})` };
  }
}

function insideSources(path: string, site: Site, what: string): InputError | null {
  try {
    refuseInsideSources(path, site, what);
    return null;
  } catch (err) {
    if (err instanceof InputError) return err;
    throw err;
  }
}

/**
 * Whether a media file can be written at `path`: `kind` names the rules (an ISO set's first disc, or a USB image),
 * `neededBytes` the media's size when known (the files written beside it are added, as the run adds them). With the
 * open `site`, a file inside what the media is made from is refused too. Free space the file system does not report
 * is not a problem: the run writes and a full share fails with a named error.
 */
export async function checkOutputFile(path: string, kind: OutputFileKind, neededBytes: number | null, site: Site | null = null): Promise<OutputCheck> {
  const what = path;
  const folder = dirname(resolve(path));
  const base = { path, folder, neededBytes };
  if (!isAbsolute(path)) {
    const problem = codedInputError('OUTPUT_PATH_RELATIVE', { path }, `${path}: give the full path of the file (a relative path would depend on the folder tsmedia was started from).`);
    return { ...base, folderExists: false, writable: false, share: null, free: null, freeUnknown: null, fits: null, problem: problem.message, problemDetail: problem.detail };
  }
  const facts = await placeFactsAsync(path);
  const folderExists = facts.folder === 'folder';
  const place = kind === 'iso' ? isoTargetRefusal(path, what, facts) : imageTargetRefusal(path, what, facts);
  const denied = folderExists
    ? await access(folder, constants.W_OK).then(
        () => null,
        (err: unknown) => writeAccessRefusal(err, folder, what),
      )
    : null;
  const { free, why } = folderExists ? await freeOf(folder) : { free: null, why: null };
  const volume: OutputVolume = { folder, free, freeUnknown: why, share: shareOf(folder) };
  const needed = neededBytes === null ? null : neededBytes + BESIDE_MEDIA_BYTES;
  const fits = free === null || needed === null ? null : free >= needed;
  const problem = place ?? denied ?? (site ? insideSources(path, site, what) : null) ?? (needed === null ? null : spaceRefusal(volume, needed, what));
  return {
    ...base,
    folderExists,
    writable: folderExists && denied === null,
    share: volume.share,
    free,
    freeUnknown: why,
    fits,
    problem: problem?.message ?? null,
    problemDetail: problem?.detail ?? null,
  };
}
