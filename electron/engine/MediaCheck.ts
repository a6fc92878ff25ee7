// What the wizard's Media Type page shows before anything is written: the content's size, the disc plan of a CD/DVD
// set, and the 4 GiB report of a USB drive. The same planning code as a real run (prepareMedia, packDiscs,
// measureIso, planLargeFiles), with a log that writes nowhere; a plan the engine refuses becomes `problem`.
import type { MediaCheck, MediaCheckRequest } from '../../shared/ipc.js';
import { DEFAULT_MEDIA_LABEL, discBlocks } from '../../shared/media.js';
import { CmTraceLog } from './CmTraceLog.js';
import { packDiscs, type Disc } from './DiscSet.js';
import { InputError } from './errors.js';
import { ISO_BLOCK, measureIso, type IsoOptions } from './IsoImage.js';
import { planLargeFiles, refuseLargeFiles } from './LargeFiles.js';
import { prepareMedia, type PreparedMedia } from './MediaPreparation.js';
import { packageVersion } from './paths.js';
import type { Site } from './Site.js';

const problemOnly = (err: InputError): MediaCheck => ({
  contentBytes: 0,
  files: 0,
  discs: null,
  largeFiles: null,
  problem: err.message,
  problemDetail: err.detail,
  distributionPoints: [],
  warnings: [],
});

/** Plans the media as a run would (boot files, environment, manifest slot, packages) and measures it. */
export async function checkMedia(site: Site, req: MediaCheckRequest): Promise<MediaCheck> {
  const timestamp = new Date();
  let prepared: PreparedMedia;
  try {
    // The environment's size barely depends on the password, variables or label: the defaults measure it closely.
    prepared = await prepareMedia(
      site,
      {
        site: site.root,
        taskSequenceId: req.taskSequenceId,
        distributionPoints: req.distributionPoints,
        password: null,
        unattended: false,
        startDate: null,
        expireDate: null,
        label: DEFAULT_MEDIA_LABEL,
        autorun: false,
        variables: [],
        prestartCommand: null,
        prestartFiles: null,
        applications: req.applications,
        packages: req.packages,
        driverPackages: req.driverPackages,
        staging: null,
        detectDependencies: req.detectDependencies,
        timestamp: null,
        skipVerify: false,
      },
      { label: DEFAULT_MEDIA_LABEL, start: null, expire: null, timestamp },
      new CmTraceLog([]),
      'media check',
    );
  } catch (err) {
    if (err instanceof InputError) return problemOnly(err);
    throw err;
  }
  const { content, files, manifestIndex } = prepared;
  const result: MediaCheck = {
    contentBytes: files.reduce((n, f) => n + f.size, 0),
    files: files.length,
    discs: null,
    largeFiles: null,
    problem: null,
    problemDetail: null,
    distributionPoints: content.distributionPoints,
    warnings: content.warnings,
  };

  if (req.media === 'iso') {
    const isoOptions = (disc: Disc): IsoOptions => ({
      volumeId: DEFAULT_MEDIA_LABEL,
      files: disc.parts.map((p) => ({ path: p.path, source: files[p.file].source, sourceOffset: p.sourceOffset, size: p.size })),
      directories: disc.directories,
      bootBios: disc.parts.some((p) => p.path === content.bootBios) ? content.bootBios : null,
      bootEfi: disc.parts.some((p) => p.path === content.bootEfi) ? content.bootEfi : null,
      timestamp,
      applicationId: `TSMEDIA ${packageVersion()}`,
    });
    try {
      const discs = packDiscs(files, content.directories, discBlocks(req.size ?? 'unlimited'), (d) => measureIso(isoOptions(d)).blocks, [manifestIndex]);
      result.discs = discs.map((d) => ({ bytes: measureIso(isoOptions(d)).blocks * ISO_BLOCK, files: d.parts.length }));
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      result.problem = err.message;
      result.problemDetail = err.detail;
    }
    return result;
  }

  // USB: the 4 GiB rule. Refused files are listed for the page (and stop this media type), never thrown.
  try {
    const { report } = planLargeFiles(files);
    result.largeFiles = report;
    refuseLargeFiles(report);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    result.problem = err.message;
    result.problemDetail = err.detail;
  }
  return result;
}
