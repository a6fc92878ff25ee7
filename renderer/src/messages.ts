// Engine errors, shared rules and drive constraints in the wizard's language: by their code, with i18next
// interpolation of their values. What has no code (or a code this page does not know) is shown as the engine's
// English sentence, inside the translated frame (components/EngineMessage.tsx).
import type { DriveConstraint } from '../../shared/drives.js';
import type { ErrorDetail, MessageParams, RuleIssue } from '../../shared/messages.js';
import { formatBytes, formatDriveBytes, formatNumber } from './format.js';
import { i18n } from './i18n.js';

/** A message the resources may hold: its key and the values to put in it. */
export interface Coded {
  key: string;
  params: MessageParams;
}

/** An engine error's code and values (ErrorDetail from the API) as a resource key under "engineError.". */
export function fromEngine(detail: ErrorDetail | null | undefined): Coded | null {
  if (!detail || typeof detail.code !== 'string' || !/^[A-Z][A-Z0-9_]*$/.test(detail.code)) return null;
  return { key: `engineError.${detail.code}`, params: detail.params ?? {} };
}

export type RuleKind = 'variableName' | 'variableValue' | 'mediaLabel';

/** A shared rule's issue (shared/variables.ts, shared/media.ts) as a resource key under "rule.". */
export function fromRule<C extends string>(kind: RuleKind, issue: RuleIssue<C> | null): Coded | null {
  return issue ? { key: `rule.${kind}.${issue.code}`, params: issue.params } : null;
}

/** Engine codes whose `issue` value names a shared rule's code: the rule's sentence becomes `{{problem}}`. */
const RULE_OF: Record<string, RuleKind> = {
  MEDIA_LABEL_INVALID: 'mediaLabel',
  VARIABLE_NAME_INVALID: 'variableName',
  VARIABLE_VALUE_INVALID: 'variableValue',
};

type Shown = Record<string, string | number>;

/** Values as the page shows them: numbers and sizes in the page's language, lists joined, codes translated. */
function shown(params: MessageParams): Shown {
  const out: Shown = {};
  for (const [k, v] of Object.entries(params)) {
    if (Array.isArray(v)) {
      if (k === 'findings') out[k] = v.map((c) => i18n.t(`finding.${c}`, { defaultValue: c })).join('; ');
      else if (k === 'constraints') out[k] = v.map((c) => i18n.t(`driveConstraint.${c}`, { defaultValue: c })).join(', ');
      else out[k] = v.join(k === 'lacking' ? '; ' : ', ');
    } else if (typeof v === 'number') {
      // `count` stays a number: i18next picks the plural form with it.
      out[k] = k === 'count' ? v : /Bytes$/.test(k) ? `${formatBytes(v)} (${i18n.t('units.bytes', { n: formatNumber(v) })})` : formatNumber(v);
    } else {
      out[k] = v;
    }
  }
  return out;
}

/** The translated sentence, or null when the resources do not hold it (the English sentence is shown then). */
export function translateCoded(coded: Coded | null | undefined): string | null {
  // A message with a `count` may exist only in plural forms (KEY_one, KEY_other): looked up with it.
  if (!coded || !i18n.exists(coded.key, typeof coded.params.count === 'number' ? { count: coded.params.count } : undefined)) return null;
  const values = shown(coded.params);
  const code = coded.key.startsWith('engineError.') ? coded.key.slice('engineError.'.length) : null;
  const kind = code ? RULE_OF[code] : undefined;
  if (kind && typeof coded.params.issue === 'string') {
    const rule = `rule.${kind}.${coded.params.issue}`;
    if (!i18n.exists(rule)) return null;
    values.problem = i18n.t(rule, values);
  }
  return i18n.t(coded.key, values);
}

/**
 * A drive's failed write in a several-drive run (DRIVE_WRITE_FAILED: the system's error code, what was being done, what
 * the drive is now) as the engine's sentence in the page's language, or null (a code the resources do not know).
 */
export function driveErrorText(detail: ErrorDetail | null | undefined): string | null {
  if (detail?.code !== 'DRIVE_WRITE_FAILED') return null;
  const { device, error, during, now } = detail.params;
  if (typeof device !== 'string' || typeof error !== 'string' || !i18n.exists(`driveError.${error}`) || !i18n.exists(`driveError.during_${String(during)}`)) return null;
  const parts = [i18n.t(`driveError.${error}`, { device, during: i18n.t(`driveError.during_${String(during)}`) })];
  if (now === 'gone' || now === 'readOnly') parts.push(i18n.t(`driveError.now_${now}`, { device }));
  parts.push(i18n.t('driveError.incomplete'));
  return parts.join(' ');
}

/** A drive constraint's sentence (shared/drives.ts evaluateDrive) from its code and values, or null. */
export function driveConstraintText(c: DriveConstraint): string | null {
  const p = c.params;
  if (!p) return null;
  const drive = p.description ? `${p.device} (${p.description})` : p.device;
  // Decimal units, as the drive list beside it shows the drive's size.
  const size = (n: number | null | undefined): string => (typeof n === 'number' ? formatDriveBytes(n) : i18n.t('common.unknown'));
  let key: string;
  switch (c.code) {
    case 'SYSTEM_DRIVE':
    case 'READ_ONLY':
      key = p.card ? `${c.code}_card` : c.code;
      break;
    case 'TOO_SMALL':
      key = p.hasBytes === null || p.hasBytes === undefined ? ((p.neededBytes ?? 0) > 0 ? 'TOO_SMALL_noSize_needs' : 'TOO_SMALL_noSize') : 'TOO_SMALL';
      break;
    default:
      key = c.code;
  }
  if (!i18n.exists(`driveMessage.${key}`)) return null;
  const text = i18n.t(`driveMessage.${key}`, {
    drive,
    needed: size(p.neededBytes),
    has: size(p.hasBytes),
    mountpoints: (p.mountpoints ?? []).join(', '),
    sources: (p.sourcePaths ?? []).join(', '),
  });
  return p.showAllHint ? `${text} ${i18n.t(`driveMessage.hint_${p.showAllHint}`)}` : text;
}
