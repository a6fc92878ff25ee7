// Why Next is disabled on a page. The rules themselves come from shared/ (media label, variable names and values,
// disc sizes, drive confirmations, blocking findings) and from what the engine reported (analysis, media check, drive
// evaluation); this file only collects them per page, as translation keys with the shared sentence as detail (and
// its code, so the detail is translated too).
import { isBlocking } from '../../shared/analysis.js';
import type { AnalysisResult, CatalogItem, DistributionPointStatus, MissingContent } from '../../shared/analysis.js';
import { confirmationsSatisfied } from '../../shared/drives.js';
import type { ListedDrive, MediaCheck, OutputCheck } from '../../shared/ipc.js';
import { mediaLabelIssue, parseDiscSize, type ExistingMedia } from '../../shared/media.js';
import { variableNameIssue, variableValueIssue } from '../../shared/variables.js';
import { fromEngine, fromRule, type Coded } from './messages.js';
import type { Answers, PageId } from './stores/answers.js';
import { discSize, imageSizeBytes, outputCheckRequest, refreshChosen } from './request.js';

export { refreshChosen };
import { existingKey, type Loadable } from './stores/site.js';

export interface Blocker {
  /** i18n key under "blocker.". */
  key: string;
  params?: Record<string, string | number>;
  /** A sentence from shared/ or the engine, shown inside the translated frame: in English as it comes… */
  detail?: string;
  /** …or in the page's language, when it has a code the resources know. */
  coded?: Coded | null;
}

export interface SiteView {
  info: Loadable<unknown>;
  analysis: Loadable<AnalysisResult>;
  check: Loadable<MediaCheck>;
  drives: Loadable<ListedDrive[]>;
  catalog: Loadable<CatalogItem[]>;
  output: Loadable<OutputCheck>;
  existing: Loadable<ExistingMedia>;
}


/** The chosen drive's tsmedia media, when the answer is for it (this drive, this "show all drives"); null otherwise. */
export function existingFor(a: Answers, existing: Loadable<ExistingMedia>): ExistingMedia | null {
  const m = a.mediaType;
  if (!m.drive || existing.key !== existingKey({ device: m.drive, showAll: m.showAllDrives })) return null;
  return existing.value;
}

/** Why a refresh of the chosen drive cannot be done (with the task sequence chosen so far), or null. */
function refreshBlockers(a: Answers, site: SiteView): Blocker[] {
  if (!refreshChosen(a)) return [];
  const e = existingFor(a, site.existing);
  if (!e) return [{ key: 'refreshChecking', params: { device: a.mediaType.drive ?? '' } }];
  if (!e.found) return [{ key: 'refreshNoMedia', params: { device: e.device }, detail: e.reason }];
  const chosen = a.taskSequence.id;
  if (chosen && (e.taskSequenceId ?? '').toUpperCase() !== chosen.toUpperCase()) return [{ key: 'refreshOtherSequence', params: { device: e.device, media: e.taskSequenceId ?? '—', chosen } }];
  return [];
}

export function selectedDrive(a: Answers, drives: ListedDrive[] | null): ListedDrive | null {
  if (!a.mediaType.drive || !drives) return null;
  return drives.find((d) => d.drive.device === a.mediaType.drive) ?? null;
}

export interface DpView {
  status: DistributionPointStatus;
  /** What it lacks: from the analysis, and extra content chosen on the Applications/Packages/Driver pages. */
  lacks: (MissingContent | { packageId: string; reason: 'extra'; have: number[]; want: number | null })[];
  selectable: boolean;
}

export function distributionPointViews(a: Answers, analysis: AnalysisResult | null, catalog: CatalogItem[] | null): DpView[] {
  if (!analysis) return [];
  const extras = [...a.applications.selected, ...a.packages.selected, ...a.driverPackages.selected];
  const byId = new Map((catalog ?? []).map((c) => [c.packageId, c]));
  return analysis.distributionPoints.map((status) => {
    const lacks: DpView['lacks'] = [...status.details];
    for (const id of extras) {
      if (status.details.some((d) => d.packageId === id)) continue;
      const item = byId.get(id);
      if (item && !item.distributionPoints.includes(status.name)) lacks.push({ packageId: id, reason: 'extra', have: [], want: item.sourceVersion });
    }
    for (const id of status.missing) if (!lacks.some((l) => l.packageId === id)) lacks.push({ packageId: id, reason: 'absent', have: [], want: null });
    return { status, lacks, selectable: status.hasAllContent && status.error === null && lacks.length === 0 };
  });
}

function checkBlockers(check: Loadable<MediaCheck>, media: 'usb' | 'iso' | null): Blocker[] {
  if (check.loading) return [{ key: 'checking' }];
  if (check.error) return [{ key: 'checkFailed', detail: check.error, coded: fromEngine(check.errorDetail) }];
  const c = check.value;
  if (!c) return [];
  const out: Blocker[] = [];
  const refused = media === 'usb' && c.largeFiles ? c.largeFiles.refused.length : 0;
  if (refused > 0) out.push({ key: 'largeFiles', params: { count: refused } });
  // The engine's problem sentence repeats the refusal then; it stays on the page, not twice beside Next.
  else if (c.problem) out.push({ key: 'checkProblem', detail: c.problem, coded: fromEngine(c.problemDetail) });
  return out;
}

/**
 * The media file's place, as the engine judged it (checkOutput): Next waits for its answer to the path now typed, and
 * stays disabled when it cannot be written there. Free space a share does not report does not block.
 */
function outputBlockers(a: Answers, site: SiteView): Blocker[] {
  const req = outputCheckRequest(a, site.check.value);
  if (!req) return [];
  const o = site.output;
  if (o.key !== JSON.stringify(req) || (!o.value && !o.error)) return [{ key: 'checkingOutput' }];
  if (!o.value) return [{ key: 'outputCheckFailed', detail: o.error ?? undefined, coded: fromEngine(o.errorDetail) }];
  if (o.value.problem) return [{ key: 'outputProblem', detail: o.value.problem, coded: fromEngine(o.value.problemDetail) }];
  return [];
}

export function pageBlockers(page: PageId, a: Answers, site: SiteView): Blocker[] {
  const out: Blocker[] = [];
  switch (page) {
    case 'selectMediaType':
      if (site.info.loading) out.push({ key: 'siteLoading' });
      else if (site.info.error) out.push({ key: 'siteError', detail: site.info.error, coded: fromEngine(site.info.errorDetail) });
      else if (!site.info.value) out.push({ key: 'siteLoading' });
      break;
    case 'mediaType': {
      const m = a.mediaType;
      if (!m.media) {
        out.push({ key: 'chooseMedia' });
        break;
      }
      if (m.media === 'usb') {
        if (m.usbTarget === 'drive' && m.severalDrives) {
          // Each ticked drive is judged and confirmed as a single drive is.
          if (m.drives.length === 0) out.push({ key: 'chooseDrives' });
          for (const device of m.drives) {
            const d = site.drives.value?.find((x) => x.drive.device === device) ?? null;
            if (!d) out.push({ key: 'driveGone', params: { device } });
            else if (!d.evaluation.selectable) out.push({ key: 'driveRefused', params: { device } });
            else if (!confirmationsSatisfied(d.evaluation, m.drivesConfirmations[device] ?? 0)) out.push({ key: 'confirmDrive', params: { device } });
          }
        } else if (m.usbTarget === 'drive') {
          const d = selectedDrive(a, site.drives.value);
          if (!m.drive) out.push({ key: 'chooseDrive' });
          else if (!d) out.push({ key: 'driveGone', params: { device: m.drive } });
          else if (!d.evaluation.selectable) out.push({ key: 'driveRefused', params: { device: m.drive } });
          // A refresh is confirmed in the change list's dialog, once the user has seen what it writes.
          // Media for another task sequence is said here but blocks on the Task Sequence page, where it is put right.
          else if (refreshChosen(a)) out.push(...refreshBlockers(a, site).filter((b) => b.key !== 'refreshOtherSequence'));
          else if (!confirmationsSatisfied(d.evaluation, m.driveConfirmations)) out.push({ key: 'confirmDrive', params: { device: m.drive } });
        } else {
          if (m.imagePath.trim() === '') out.push({ key: 'imagePath' });
          else out.push(...outputBlockers(a, site));
          if (m.format && imageSizeBytes(m) === null) out.push({ key: 'imageSize' });
        }
      } else {
        const size = discSize(m);
        if (size === null || (typeof size === 'number' && parseDiscSize(String(size)) === null)) out.push({ key: 'customSize' });
        if (m.out.trim() === '') out.push({ key: 'mediaFile' });
        else out.push(...outputBlockers(a, site));
      }
      const label = mediaLabelIssue(m.label);
      if (label) out.push({ key: 'label', detail: label.message, coded: fromRule('mediaLabel', label) });
      if (a.taskSequence.id) out.push(...checkBlockers(site.check, m.media));
      break;
    }
    case 'security': {
      const s = a.security;
      if (s.protect) {
        if (s.password === '') out.push({ key: 'passwordEmpty' });
        else if (s.password !== s.confirm) out.push({ key: 'passwordMismatch' });
      }
      if (s.startDate && s.expireDate && s.expireDate <= s.startDate) out.push({ key: 'dateOrder' });
      break;
    }
    case 'taskSequence': {
      if (!a.taskSequence.id) {
        out.push({ key: 'chooseTaskSequence' });
        break;
      }
      // The drive's media is for one task sequence: a refresh keeps it.
      const other = refreshBlockers(a, site).find((b) => b.key === 'refreshOtherSequence');
      if (other) out.push(other);
      const an = site.analysis;
      if (an.loading || (!an.value && !an.error)) out.push({ key: 'analyzing' });
      else if (an.error) out.push({ key: 'analysisFailed', detail: an.error, coded: fromEngine(an.errorDetail) });
      else if (an.value) {
        const errors = an.value.findings.filter(isBlocking);
        if (errors.length > 0) out.push({ key: 'blockingFindings', params: { count: errors.length } });
        else if (an.value.findings.some((f) => f.severity === 'warning') && !a.taskSequence.acknowledged) out.push({ key: 'acknowledge' });
      }
      break;
    }
    case 'applications':
    case 'packages':
    case 'driverPackages':
      if (site.catalog.error) out.push({ key: 'catalogFailed', detail: site.catalog.error, coded: fromEngine(site.catalog.errorDetail) });
      break;
    case 'distributionPoints': {
      const views = distributionPointViews(a, site.analysis.value, site.catalog.value);
      if (a.distributionPoints.selected.length === 0) out.push({ key: 'chooseDistributionPoint' });
      for (const name of a.distributionPoints.selected) {
        const v = views.find((x) => x.status.name === name);
        if (!v || !v.selectable) out.push({ key: 'distributionPointLacks', params: { name } });
      }
      break;
    }
    case 'customization': {
      const c = a.customization;
      const seen = new Set<string>();
      c.variables.forEach((v, i) => {
        const n = v.name.trim();
        const p = variableNameIssue(n);
        if (p) out.push({ key: 'variableName', params: { row: i + 1 }, detail: p.message, coded: fromRule('variableName', p) });
        else if (seen.has(n.toLowerCase())) out.push({ key: 'variableDuplicate', params: { row: i + 1, name: n } });
        seen.add(n.toLowerCase());
        const vp = variableValueIssue(n, v.value);
        if (vp) out.push({ key: 'variableValue', params: { row: i + 1 }, detail: vp.message, coded: fromRule('variableValue', vp) });
      });
      if (c.prestart && c.prestartCommand.trim() === '') out.push({ key: 'prestartCommand' });
      if (c.prestart && c.prestartFilesEnabled && c.prestartFiles.trim() === '') out.push({ key: 'prestartFiles' });
      break;
    }
    case 'summary':
      out.push(...checkBlockers(site.check, a.mediaType.media));
      if (!site.check.value && !site.check.loading && !site.check.error) out.push({ key: 'checking' });
      break;
    case 'progress':
    case 'completion':
      break;
  }
  return out;
}

/** The first page before `page` that has blockers (answers changed on a later page can make an earlier one invalid). */
export function firstInvalidPage(pages: readonly PageId[], upTo: PageId, a: Answers, site: SiteView): PageId | null {
  for (const p of pages) {
    if (p === upTo) return null;
    if (pageBlockers(p, a, site).length > 0) return p;
  }
  return null;
}
