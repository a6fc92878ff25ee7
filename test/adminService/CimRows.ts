// CIM-XML instances (an export's object.xml, the strings of ReferencesInfo.xml) as the administration service's JSON
// rows: every property converted by its CIM TYPE (numbers as numbers, booleans, datetimes as ISO 8601, arrays,
// embedded objects as objects), WMI's system properties (__PATH, __CLASS, …) dropped. The engine's CimXml keeps
// values as text, which is all the folder site needs; the service types them, so the test server must too.
import { child, childrenNamed, localName, parseXml, type XmlElement } from '../../electron/engine/site/xml.js';

export type ODataValue = string | number | boolean | null | ODataValue[] | { [k: string]: ODataValue };
export type Row = { [k: string]: ODataValue };

const NUMERIC = new Set(['uint8', 'sint8', 'uint16', 'sint16', 'uint32', 'sint32', 'uint64', 'sint64', 'real32', 'real64']);

/**
 * A CIM datetime (`yyyymmddHHMMSS.mmmmmmsUUU`, UUU the offset from UTC in minutes) as ISO 8601 UTC
 * (`2025-01-01T00:00:00Z`, fractions only when not zero). Intervals (`…:000`) and malformed text stay as written.
 */
export function cimDateTimeToIso(text: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})\.(\d{6})([+-])(\d{3})$/.exec(text.trim());
  if (!m) return text;
  const [, y, mo, d, h, mi, s, micro, sign, off] = m;
  const ms = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s) - (sign === '+' ? 1 : -1) * Number(off) * 60_000;
  const iso = new Date(ms).toISOString().replace(/\.\d{3}Z$/, '');
  return Number(micro) === 0 ? `${iso}Z` : `${iso}.${micro}Z`;
}

export function cimScalar(text: string, type: string): ODataValue {
  const t = type.toLowerCase();
  if (t === 'boolean') return text.trim().toLowerCase() === 'true';
  if (NUMERIC.has(t)) {
    const n = Number(text.trim());
    return Number.isFinite(n) ? n : null;
  }
  if (t === 'datetime') return cimDateTimeToIso(text);
  return text; // string, char16, reference
}

/** One `<INSTANCE>` element as a row, with its class name. */
export function instanceToRow(el: XmlElement): { className: string; row: Row } {
  const row: Row = {};
  for (const p of el.children) {
    const tag = localName(p.name);
    const name = p.attrs.NAME;
    if (!name || name.startsWith('__')) continue;
    const type = p.attrs.TYPE ?? 'string';
    if (tag === 'PROPERTY') {
      const v = child(p, 'VALUE');
      row[name] = v ? cimScalar(v.text, type) : null;
    } else if (tag === 'PROPERTY.ARRAY') {
      const arr = child(p, 'VALUE.ARRAY');
      row[name] = arr ? childrenNamed(arr, 'VALUE').map((v) => cimScalar(v.text, type)) : null;
    } else if (tag === 'PROPERTY.OBJECT') {
      const vo = child(p, 'VALUE.OBJECT');
      const inst = vo ? child(vo, 'INSTANCE') : child(p, 'INSTANCE');
      row[name] = inst ? instanceToRow(inst).row : null;
    } else if (tag === 'PROPERTY.OBJECTARRAY') {
      const arr = child(p, 'VALUE.OBJECTARRAY');
      row[name] = arr
        ? childrenNamed(arr, 'VALUE.OBJECT')
            .map((vo) => child(vo, 'INSTANCE'))
            .filter((x): x is XmlElement => x !== undefined)
            .map((x) => instanceToRow(x).row)
        : null;
    }
    // PROPERTY.REFERENCE (object paths) is not among the properties the service's JSON carries here.
  }
  return { className: el.attrs.CLASSNAME ?? '', row };
}

/** A document whose root is one `<INSTANCE>` (object.xml). */
export function parseInstanceRow(xml: string, where: { file: string; entry?: string }): { className: string; row: Row } {
  const root = parseXml(xml, where);
  if (localName(root.name) !== 'INSTANCE') throw new Error(`${where.file} (${where.entry ?? ''}): expected a CIM-XML <INSTANCE>, found <${root.name}>`);
  return instanceToRow(root);
}

/** ReferencesInfo.xml / AppReferencesInfo.xml: an `<ArrayOfString>` whose strings are escaped CIM instances. */
export function parseInstanceArrayRows(xml: string, where: { file: string; entry?: string }): { className: string; row: Row }[] {
  const root = parseXml(xml, where);
  if (localName(root.name) !== 'ArrayOfString') throw new Error(`${where.file} (${where.entry ?? ''}): expected <ArrayOfString>, found <${root.name}>`);
  return childrenNamed(root, 'string').map((s) => parseInstanceRow(s.text, where));
}
