// The XML inside Variables.dat and Policy.xml, TsmBootstrap.ini, and dates as ConfigMgr writes them in variables.
import { createHash } from 'node:crypto';
import { XMLValidator } from '../../site/fastXml.js';
import { InputError } from '../../errors.js';
import { child, descendants, localName, parseXml } from '../../site/xml.js';

/** The Version attribute of <MediaVarList> on real media. */
export const MEDIA_VAR_LIST_VERSION = '4.00.5345.0000';

export interface MediaVariable {
  name: string;
  value: string;
}

export interface SecretMediaVariable extends MediaVariable {
  /** "Do not display this value": never logged. */
  secret: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// XML of the two files

const XML_DECLARATION = '<?xml version="1.0" ?>';

/** Characters XML 1.0 cannot carry at all, not even in CDATA. */
export function xmlCharProblem(s: string): string | null {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++;
        continue;
      }
      return `an unpaired UTF-16 surrogate at position ${i + 1}`;
    }
    if (c >= 0xdc00 && c <= 0xdfff) return `an unpaired UTF-16 surrogate at position ${i + 1}`;
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0xfffe || c === 0xffff) {
      return `the control character U+${c.toString(16).toUpperCase().padStart(4, '0')} at position ${i + 1}`;
    }
  }
  return null;
}

function escapeAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * CDATA sections holding any text exactly: "]]>" is split across two sections, and a carriage return is written as
 * &#13; between sections (XML parsers turn a raw CR or CR LF, even inside CDATA, into LF).
 */
function cdata(s: string): string {
  return s
    .split('\r')
    .map((part) => '<![CDATA[' + part.split(']]>').join(']]]]><![CDATA[>') + ']]>')
    .join('&#13;');
}

/**
 * The decrypted Variables.dat: `<?xml version="1.0" ?><MediaVarList Version="4.00.5345.0000"><var name="N"><![CDATA[v]]></var>…`.
 * The declaration matters: hashcat mode 19850 recognises the right password by the first block decrypting to
 * UTF-16LE "<?xml ve", and lxml (PXEThief) detects UTF-16 from its first bytes.
 */
export function buildVariablesXml(vars: readonly MediaVariable[]): string {
  let out = XML_DECLARATION + `<MediaVarList Version="${MEDIA_VAR_LIST_VERSION}">`;
  for (const v of vars) {
    const badName = xmlCharProblem(v.name);
    if (badName) throw new InputError(`A variable name holds ${badName}.`);
    const bad = xmlCharProblem(v.value);
    if (bad) throw new InputError(`Variable "${v.name}": its value holds ${bad}, which media variables cannot carry.`);
    out += `<var name="${escapeAttr(v.name)}">${cdata(v.value)}</var>`;
  }
  return out + '</MediaVarList>';
}

export function parseVariablesXml(xml: string): MediaVariable[] {
  const where = { file: 'Variables.dat' };
  const root = parseXml(xml, where);
  if (localName(root.name) !== 'MediaVarList') throw new InputError(`the root element is <${root.name}>, expected <MediaVarList>.`, where);
  const out: MediaVariable[] = [];
  for (const el of root.children) {
    if (localName(el.name) !== 'var') continue;
    const name = el.attrs.name;
    if (name === undefined) throw new InputError('a <var> element has no name attribute.', where);
    out.push({ name, value: el.text });
  }
  return out;
}

export interface TaskSequencePolicyInput {
  packageId: string;
  name: string;
  advertisementId: string;
  /** The task sequence XML (<sequence …>), as in SMS_TaskSequencePackage.Sequence. */
  sequenceXml: string;
  siteCode?: string;
  bootImageId?: string | null;
  /** TS_Type: 2 for an operating system deployment task sequence (SMS_TaskSequencePackage.Type), 1 generic. */
  type?: number;
  /** PRG_ProgramID: task sequences use "*". */
  programId?: string;
}

export interface TaskSequencePolicy {
  packageId: string;
  name: string;
  advertisementId: string;
  sequenceXml: string;
  /** Every property of the CCM_TaskSequence instance, by name. */
  properties: Record<string, string>;
}

/** The plain <sequence …> element: a byte-order mark, leading blanks and an XML declaration are removed. */
export function normalizeSequenceXml(sequenceXml: string): string {
  let s = sequenceXml.charCodeAt(0) === 0xfeff ? sequenceXml.slice(1) : sequenceXml;
  s = s.trimStart();
  if (s.startsWith('<?xml')) {
    const end = s.indexOf('?>');
    if (end < 0) throw new InputError('The task sequence XML has an unterminated XML declaration.');
    s = s.slice(end + 2).trimStart();
  }
  if (!/^<sequence[\s>/]/.test(s)) throw new InputError('The task sequence XML must have <sequence> as its root element.');
  const bad = xmlCharProblem(s);
  if (bad) throw new InputError(`The task sequence XML holds ${bad}.`);
  const valid = XMLValidator.validate(s);
  if (valid !== true) throw new InputError(`The task sequence XML is malformed: ${valid.err.msg} (line ${valid.err.line}).`);
  // Line ends as any XML parser reads them; the sequence means the same and carries no &#13; references.
  return s.trimEnd().replace(/\r\n?/g, '\n');
}

/** A GUID-shaped id derived from text, so that the same media gives the same policy bytes. */
function stableGuid(...parts: string[]): string {
  const h = createHash('sha1').update(parts.join('\u0000'), 'utf8').digest('hex');
  return `{${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}}`;
}

/**
 * The decrypted Policy.xml: a ConfigMgr policy (`<Policy>` / `<PolicyRule>` / `<PolicyAction PolicyActionType="WMI-XML">`)
 * holding one `<instance class="CCM_TaskSequence">` whose properties are `<property name="…" type="…"><value>…</value>`.
 * Decoders read PKG_Name, ADV_AdvertisementID and TS_Sequence as `//*[@name='…']/value`; TS_Sequence must begin with
 * "<sequence" (PXEThief checks its first nine characters). No line breaks inside tags: PXEThief removes every
 * non-printable character (tabs and line breaks included) before parsing.
 */
export function buildPolicyXml(p: TaskSequencePolicyInput): string {
  const sequence = normalizeSequenceXml(p.sequenceXml);
  for (const [what, v] of [['package ID', p.packageId], ['name', p.name], ['advertisement ID', p.advertisementId]] as const) {
    if (v.length === 0) throw new InputError(`The task sequence ${what} cannot be empty.`);
    const bad = xmlCharProblem(v);
    if (bad) throw new InputError(`The task sequence ${what} holds ${bad}.`);
  }
  const props: [string, number, string][] = [
    ['ADV_AdvertisementID', 8, p.advertisementId],
    ['PKG_PackageID', 8, p.packageId],
    ['PKG_Name', 8, p.name],
    ['PRG_ProgramID', 8, p.programId ?? '*'],
  ];
  if (p.bootImageId) props.push(['TS_BootImageID', 8, p.bootImageId]);
  props.push(['TS_Type', 19, String(p.type ?? 2)]);
  props.push(['TS_Sequence', 8, sequence]);
  const source = p.siteCode ? `SMS:${p.siteCode}` : 'SMS';
  const nl = '\r\n';
  const lines = [
    XML_DECLARATION,
    `<Policy PolicyType="Machine" SchemaVersion="1.00" PolicyID="${escapeAttr(`${p.advertisementId}-${p.packageId}-6F6BCC28`)}" PolicyVersion="1.00" PolicySource="${escapeAttr(source)}">`,
    `<PolicyRule PolicyRuleID="${stableGuid(p.advertisementId, p.packageId)}">`,
    '<PolicyAction PolicyActionType="WMI-XML">',
    '<instance class="CCM_TaskSequence">',
    ...props.map(([name, type, value]) => `<property name="${name}" type="${type}"><value>${cdata(value)}</value></property>`),
    '</instance>',
    '</PolicyAction>',
    '</PolicyRule>',
    '</Policy>',
  ];
  return lines.join(nl) + nl;
}

export function parsePolicyXml(xml: string): TaskSequencePolicy {
  const where = { file: 'Policy.xml' };
  const root = parseXml(xml, where);
  const properties: Record<string, string> = {};
  for (const el of descendants(root)) {
    if (localName(el.name) !== 'property' || el.attrs.name === undefined) continue;
    const value = child(el, 'value');
    if (value && !(el.attrs.name in properties)) properties[el.attrs.name] = value.text.trim();
  }
  const need = (name: string): string => {
    const v = properties[name];
    if (v === undefined) throw new InputError(`the policy has no ${name} property.`, where);
    return v;
  };
  return {
    packageId: need('PKG_PackageID'),
    name: need('PKG_Name'),
    advertisementId: need('ADV_AdvertisementID'),
    sequenceXml: need('TS_Sequence'),
    properties,
  };
}

/**
 * SMS\data\TsmBootstrap.ini. Public readers (PXEThiefUp) read exactly these three keys of [MediaInfo]; nothing
 * public shows other keys (no media GUID or date range there), so the date range travels in Variables.dat.
 */
export function buildTsmBootstrapIni(o: { passwordRequired: boolean; unattended: boolean }): string {
  return ['[MediaInfo]', 'MediaType=FullMedia', `PasswordRequired=${o.passwordRequired}`, `Unattended=${o.unattended}`, ''].join('\r\n');
}

// ---------------------------------------------------------------------------------------------------------------
// Dates as ConfigMgr writes them in variables

const FILETIME_EPOCH_OFFSET_MS = 11_644_473_600_000n;

/**
 * A date as "<high>;<low>": the two 32-bit halves, in decimal, of the Windows FILETIME (100 ns since 1601, UTC).
 * This is how _SMSTSMEDIAEXPIRE reads on real media (a public prestart script rebuilds the date as (high << 32) + low).
 */
export function mediaDateValue(d: Date): string {
  const ft = (BigInt(d.getTime()) + FILETIME_EPOCH_OFFSET_MS) * 10_000n;
  return `${ft >> 32n};${ft & 0xffffffffn}`;
}

export function parseMediaDateValue(v: string): Date {
  const m = /^(\d+);(\d+)$/.exec(v.trim());
  if (!m) throw new InputError(`"${v}" is not a media date (expected "<high>;<low>" of a FILETIME).`);
  const ft = (BigInt(m[1]) << 32n) + BigInt(m[2]);
  return new Date(Number(ft / 10_000n - FILETIME_EPOCH_OFFSET_MS));
}

