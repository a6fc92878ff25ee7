// The OData side of the test AdminService: the request path (`wmi/<Class>`, `wmi/<Class>('<key>')`, `wmi/<Class>(<n>)`,
// `wmi/$metadata`), the query options the contract names ($filter with one `eq`, $select, $top, the server's own
// $skiptoken) and the reply envelope. Anything else is a 400 with an OData error body, so a client relying on more than
// the contract fails here rather than on a real site.
import type { ClassTable, ODataValue, Row } from './AdminServiceData.js';

export class ODataError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const errorBody = (code: string, message: string): string => JSON.stringify({ error: { code, message } });

export type Target = { kind: 'metadata' } | { kind: 'class'; className: string; key: { value: string | number } | null };

/** The part after `/AdminService/` (already known to start so), decoded; null when not a `wmi/…` path. */
export function parseTarget(rest: string): Target | null {
  let path: string;
  try {
    path = decodeURIComponent(rest);
  } catch {
    throw new ODataError(400, 'BadRequest', `The request path "${rest}" is not validly encoded.`);
  }
  const m = /^wmi\/(.+?)\/?$/i.exec(path);
  if (!m) return null;
  if (m[1] === '$metadata') return { kind: 'metadata' };
  const k = /^(\w+)(?:\((?:'((?:[^']|'')*)'|(-?\d+))\))?$/.exec(m[1]);
  if (!k) throw new ODataError(400, 'BadRequest', `The request path segment "${m[1]}" is not <Class>, <Class>('<key>') or <Class>(<number>).`);
  const key = k[2] !== undefined ? { value: k[2].replace(/''/g, "'") } : k[3] !== undefined ? { value: Number(k[3]) } : null;
  return { kind: 'class', className: k[1], key };
}

export interface Query {
  filter: { property: string; value: string | number | boolean } | null;
  select: string[] | null;
  top: number | null;
  skip: number;
}

const SUPPORTED = new Set(['$filter', '$select', '$top', '$skiptoken']);

export function parseQuery(params: URLSearchParams): Query {
  for (const k of params.keys()) {
    if (k.startsWith('$') && !SUPPORTED.has(k)) throw new ODataError(400, 'BadRequest', `The query option ${k} is not supported (the contract uses $filter, $select, $top).`);
  }
  let filter: Query['filter'] = null;
  const f = params.get('$filter');
  if (f !== null) {
    const m = /^\s*(\w+)\s+eq\s+(?:'((?:[^']|'')*)'|(true|false)|(-?\d+(?:\.\d+)?))\s*$/.exec(f);
    if (!m) throw new ODataError(400, 'BadRequest', `The $filter "${f}" is not supported: only <Property> eq '<text>' | true | false | <number>.`);
    filter = { property: m[1], value: m[2] !== undefined ? m[2].replace(/''/g, "'") : m[3] !== undefined ? m[3] === 'true' : Number(m[4]) };
  }
  const s = params.get('$select');
  const select = s === null ? null : s.split(',').map((x) => x.trim());
  if (select && select.some((x) => !/^\w+$/.test(x))) throw new ODataError(400, 'BadRequest', `The $select "${s}" is not a comma-separated list of property names.`);
  const t = params.get('$top');
  let top: number | null = null;
  if (t !== null) {
    if (!/^\d+$/.test(t)) throw new ODataError(400, 'BadRequest', `The $top "${t}" is not a whole number.`);
    top = Number(t);
  }
  const token = params.get('$skiptoken');
  let skip = 0;
  if (token !== null) {
    const m = /^o(\d+)$/.exec(token);
    if (!m) throw new ODataError(400, 'BadRequest', `The $skiptoken "${token}" was not made by this server.`);
    skip = Number(m[1]);
  }
  return { filter, select, top, skip };
}

/** The properties a class's rows have (dropped ones left out by the caller), in first-seen order. */
export function propertiesOf(table: ClassTable, rows: readonly Row[]): string[] {
  const seen = new Set<string>(table.key ? [table.key] : []);
  for (const r of rows) for (const k of Object.keys(r)) seen.add(k);
  for (const l of table.lazy) seen.add(l);
  return [...seen];
}

const typeOf = (v: ODataValue): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

export function checkProperty(table: ClassTable, known: readonly string[], name: string, rows: readonly Row[]): void {
  // An empty class has no rows to learn its properties from: anything is accepted and nothing matches.
  if (rows.length === 0 && known.length <= (table.key ? 1 : 0) + table.lazy.length) return;
  if (!known.includes(name)) throw new ODataError(400, 'BadRequest', `Could not find a property named '${name}' on type 'AdminService.${table.name}'.`);
}

/** Rows matching the query's filter (WMI compares strings without regard to case). */
export function filterRows(table: ClassTable, rows: readonly Row[], known: readonly string[], q: Query): Row[] {
  if (!q.filter) return [...rows];
  const { property, value } = q.filter;
  checkProperty(table, known, property, rows);
  const sample = rows.find((r) => r[property] !== null && r[property] !== undefined)?.[property];
  if (sample !== undefined && typeOf(sample) !== typeof value) {
    throw new ODataError(400, 'BadRequest', `A binary operator with incompatible types was detected: ${property} is ${typeOf(sample)}, the literal ${typeof value}.`);
  }
  return rows.filter((r) => {
    const v = r[property];
    if (typeof v === 'string' && typeof value === 'string') return v.toLowerCase() === value.toLowerCase();
    return v === value;
  });
}

/** A row as sent: lazy properties only on single reads, then $select. */
export function project(table: ClassTable, row: Row, q: Query, single: boolean): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(row)) {
    if (!single && table.lazy.includes(k)) continue;
    if (q.select && !q.select.includes(k)) continue;
    out[k] = v;
  }
  return out;
}

/**
 * The URL of the next page: the request's own query as the client wrote it (its encoding kept), with the server's
 * $skiptoken in place of any earlier one.
 */
export function nextLink(requestUrl: URL, offset: number): string {
  const parts = requestUrl.search
    .slice(1)
    .split('&')
    .filter((p) => p !== '' && !/^(\$|%24)skiptoken=/i.test(p));
  parts.push(`$skiptoken=o${offset}`);
  return `${requestUrl.origin}${requestUrl.pathname}?${parts.join('&')}`;
}

function edmType(v: ODataValue | undefined): string {
  if (typeof v === 'number') return 'Edm.Int64';
  if (typeof v === 'boolean') return 'Edm.Boolean';
  if (Array.isArray(v)) return v.length > 0 && typeof v[0] !== 'object' ? `Collection(${edmType(v[0])})` : 'Collection(Edm.Untyped)';
  if (v !== null && typeof v === 'object') return 'Edm.Untyped';
  return 'Edm.String';
}

/** A minimal CSDL document: one entity type and entity set per class served, its properties typed from its rows. */
export function metadataXml(tables: readonly { table: ClassTable; rows: readonly Row[]; properties: readonly string[] }[]): string {
  const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  let x = '<?xml version="1.0" encoding="utf-8"?><edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"><edmx:DataServices>';
  x += '<Schema Namespace="AdminService" xmlns="http://docs.oasis-open.org/odata/ns/edm">';
  for (const { table, rows, properties } of tables) {
    x += `<EntityType Name="${esc(table.name)}">`;
    if (table.key) x += `<Key><PropertyRef Name="${esc(table.key)}"/></Key>`;
    for (const p of properties) {
      const sample = rows.find((r) => r[p] !== null && r[p] !== undefined)?.[p];
      x += `<Property Name="${esc(p)}" Type="${edmType(sample)}"/>`;
    }
    x += '</EntityType>';
  }
  x += '<EntityContainer Name="Container">';
  for (const { table } of tables) x += `<EntitySet Name="${esc(table.name)}" EntityType="AdminService.${esc(table.name)}"/>`;
  x += '</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>';
  return x;
}
