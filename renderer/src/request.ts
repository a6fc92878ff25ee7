// Turns the wizard's answers into the typed requests of shared/ (media check, start media, answer file). A mapping
// only: what is valid is decided by shared/ and the engine.
import type { MediaCheck, MediaCheckRequest, OutputCheckRequest, SiteInfo, StartMediaRequest } from '../../shared/ipc.js';
import type { DiscSizeName, IsoMediaRequest, MediaRequestBase, UsbDriveTarget, UsbMediaRequest } from '../../shared/media.js';
import type { Answers } from './stores/answers.js';

const MB = 1_000_000;
const UNIT: Record<Answers['mediaType']['imageUnit'], number> = { MiB: 1024 ** 2, GiB: 1024 ** 3 };

/** A number typed by the user ("300", "1.5", "1,5"), or null. */
export function typedNumber(text: string): number | null {
  const t = text.trim().replace(',', '.');
  if (!/^\d+(\.\d+)?$/.test(t)) return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : null;
}

/** The image file's size in bytes (whole MiB), or null when what was typed is no size. */
export function imageSizeBytes(a: Answers['mediaType']): number | null {
  const n = typedNumber(a.imageSize);
  if (n === null || n <= 0) return null;
  return Math.round((n * UNIT[a.imageUnit]) / UNIT.MiB) * UNIT.MiB;
}

/** The disc size for the request: a size name, or a custom size in bytes (null when it cannot be read). */
export function discSize(a: Answers['mediaType']): DiscSizeName | number | null {
  if (a.size !== 'custom') return a.size;
  const n = typedNumber(a.customSize);
  return n === null ? null : Math.round(n * MB);
}

const list = (xs: string[]): string[] => [...xs];

export function mediaCheckRequest(a: Answers): MediaCheckRequest | null {
  if (!a.taskSequence.id || !a.mediaType.media) return null;
  return {
    taskSequenceId: a.taskSequence.id,
    detectDependencies: a.taskSequence.detectDependencies,
    distributionPoints: list(a.distributionPoints.selected),
    applications: list(a.applications.selected),
    packages: list(a.packages.selected),
    driverPackages: list(a.driverPackages.selected),
    media: a.mediaType.media,
    size: a.mediaType.media === 'iso' ? discSize(a.mediaType) : null,
    i386Binaries: a.mediaType.i386Binaries,
  };
}

/**
 * What to ask about the media file's place: the ISO's or the image's path as typed, and the bytes the media check says
 * the media needs (the planned discs; the USB content, when the image is formatted — else it is written in place).
 */
export function outputCheckRequest(a: Answers, check: MediaCheck | null): OutputCheckRequest | null {
  const m = a.mediaType;
  if (m.media === 'iso' && m.out.trim() !== '') {
    return { path: m.out.trim(), kind: 'iso', neededBytes: check?.discs ? check.discs.reduce((n, d) => n + d.bytes, 0) : null };
  }
  if (m.media === 'usb' && m.usbTarget === 'image' && m.imagePath.trim() !== '') {
    return { path: m.imagePath.trim(), kind: 'usb-image', neededBytes: m.format && check ? check.contentBytes : null };
  }
  return null;
}

const orNull = (s: string): string | null => (s.trim() === '' ? null : s.trim());

export function baseRequest(a: Answers, site: SiteInfo | null): MediaRequestBase {
  const c = a.customization;
  return {
    site: site && !site.isSample ? site.root : null,
    taskSequenceId: a.taskSequence.id ?? '',
    distributionPoints: list(a.distributionPoints.selected),
    password: a.security.protect && a.security.password !== '' ? a.security.password : null,
    unattended: a.selectMediaType.unattended,
    startDate: orNull(a.security.startDate),
    expireDate: orNull(a.security.expireDate),
    label: a.mediaType.label,
    autorun: a.mediaType.autorun,
    i386Binaries: a.mediaType.i386Binaries,
    variables: c.variables.filter((v) => v.name.trim() !== '').map((v) => ({ name: v.name.trim(), value: v.value, secret: v.secret })),
    prestartCommand: c.prestart ? orNull(c.prestartCommand) : null,
    prestartFiles: c.prestart && c.prestartFilesEnabled ? orNull(c.prestartFiles) : null,
    applications: list(a.applications.selected),
    packages: list(a.packages.selected),
    driverPackages: list(a.driverPackages.selected),
    staging: orNull(a.mediaType.staging),
    detectDependencies: a.taskSequence.detectDependencies,
    timestamp: null,
    skipVerify: false,
  };
}

/** "Refresh the media on this drive" is the choice: one drive, refresh ticked (whether it can be done is checked apart). */
export function refreshChosen(a: Answers): boolean {
  const m = a.mediaType;
  return m.media === 'usb' && m.usbTarget === 'drive' && !m.severalDrives && m.refresh && m.drive !== null;
}

export function startRequest(a: Answers, site: SiteInfo | null): StartMediaRequest | null {
  const base = baseRequest(a, site);
  const m = a.mediaType;
  if (m.media === 'iso') {
    const size = discSize(m);
    if (size === null) return null;
    const request: IsoMediaRequest = { ...base, size, out: m.out.trim() };
    return { kind: 'iso', request };
  }
  if (m.media === 'usb') {
    let target: UsbMediaRequest['target'];
    if (m.usbTarget === 'image') {
      const path = m.imagePath.trim();
      // A confirmation to replace names the file it was given for: it lapses when the path changes.
      target = { kind: 'image', path, sizeBytes: imageSizeBytes(m) ?? 0, replace: m.replaceImage !== '' && m.replaceImage === path ? path : null };
    } else if (m.severalDrives) {
      if (m.drives.length === 0) return null;
      // Several drives: the first ticked is the target, the others go with it; each keeps its own confirmations, and
      // several drives are always formatted.
      const [first, ...more] = m.drives.map((device): UsbDriveTarget => ({ kind: 'drive', device, showAll: m.showAllDrives, confirmations: Array<string>(m.drivesConfirmations[device] ?? 0).fill(device) }));
      const request: UsbMediaRequest = { ...base, target: first, format: true, ...(more.length > 0 ? { moreDrives: more } : {}) };
      return { kind: 'usb', request };
    } else if (refreshChosen(a) && m.drive) {
      // A refresh: first its dry run (the change list); the run itself is started with the confirmations the user
      // gives in the change list's dialog (withRefreshConfirmations).
      const request: UsbMediaRequest = { ...base, target: { kind: 'drive', device: m.drive, showAll: m.showAllDrives, confirmations: [] }, format: false };
      return { kind: 'refresh', request, dryRun: true };
    } else {
      if (!m.drive) return null;
      // Each ticked confirmation names the drive it was ticked for; the engine counts them again.
      target = { kind: 'drive', device: m.drive, showAll: m.showAllDrives, confirmations: Array<string>(m.driveConfirmations).fill(m.drive) };
    }
    const request: UsbMediaRequest = { ...base, target, format: m.format };
    return { kind: 'usb', request };
  }
  return null;
}

/** The refresh itself after its dry run: the same request, written, with the confirmations ticked in the change list's dialog. */
export function withRefreshConfirmations(req: StartMediaRequest, confirmations: number): StartMediaRequest {
  if (req.kind !== 'refresh' || req.request.target.kind !== 'drive') return req;
  const device = req.request.target.device;
  return { kind: 'refresh', dryRun: false, request: { ...req.request, target: { ...req.request.target, confirmations: Array<string>(confirmations).fill(device) } } };
}
