// What the wizard's Media Type page shows before anything is written: the content's size, the disc plan of a CD/DVD
// set, and the 4 GiB report of a USB drive. The same planning code as a real run (prepareMedia, packDiscSet,
// measureIso, planLargeFiles), with a log that writes nowhere; a plan the engine refuses becomes `problem`.
import type { MediaCheck, MediaCheckRequest } from '../../../shared/ipc.js';
import { DEFAULT_MEDIA_LABEL, discBlocks, type MediaRequestBase } from '../../../shared/media.js';
import { CmTraceLog } from './CmTraceLog.js';
import { discIsoBase, discIsoOptions, packDiscSet } from './DiscSetPlan.js';
import { InputError } from '../errors.js';
import { ISO_BLOCK, measureIso } from '../formats/iso/IsoImage.js';
import { planLargeFiles, refuseLargeFiles } from './LargeFiles.js';
import { prepareMedia, type PreparedMedia } from './MediaPreparation.js';
import type { Site } from '../site/Site.js';

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
  // The environment's size barely depends on the password, variables or label: the defaults measure it closely.
  const request: MediaRequestBase = {
    site: site.root,
    taskSequenceId: req.taskSequenceId,
    distributionPoints: req.distributionPoints,
    password: null,
    unattended: false,
    startDate: null,
    expireDate: null,
    label: DEFAULT_MEDIA_LABEL,
    autorun: false,
    i386Binaries: req.i386Binaries,
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
  };
  let prepared: PreparedMedia;
  try {
    prepared = await prepareMedia(
      site,
      request,
      { label: DEFAULT_MEDIA_LABEL, start: null, expire: null, timestamp },
      new CmTraceLog([]),
      'media check',
    );
  } catch (err) {
    if (err instanceof InputError) return problemOnly(err);
    throw err;
  }
  const { content, files } = prepared;
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
    const iso = discIsoBase(DEFAULT_MEDIA_LABEL, timestamp, content);
    try {
      const discs = packDiscSet(prepared, request, discBlocks(req.size ?? 'unlimited'), iso);
      result.discs = discs.map((d) => ({ bytes: measureIso(discIsoOptions(d, files, iso)).blocks * ISO_BLOCK, files: d.parts.length }));
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
