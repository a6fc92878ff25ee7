// A small ordered XML tree over fast-xml-parser: the readers walk elements in document order with their attributes,
// and malformed input becomes an InputError that names the file and line.
import { XMLParser, XMLValidator } from './fastXml.js';
import { InputError, type ErrorLocation } from '../errors.js';

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Concatenated text and CDATA directly inside this element. */
  text: string;
}

const ATTRS = ':@';
const TEXT = '#text';

type OrderedNode = Record<string, unknown>;

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: true,
  htmlEntities: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  commentPropName: false,
});

/** Decodes XML bytes by their byte-order mark (UTF-16LE/BE or UTF-8), dropping the mark. */
export function decodeXmlBytes(buf: Buffer): string {
  if (buf.length >= 2 && buf[0] === 0xff && buf[1] === 0xfe) return buf.subarray(2).toString('utf16le');
  if (buf.length >= 2 && buf[0] === 0xfe && buf[1] === 0xff) {
    const swapped = Buffer.from(buf.subarray(2));
    swapped.swap16();
    return swapped.toString('utf16le');
  }
  const text = buf.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Parses a whole document and returns its root element. */
export function parseXml(text: string, where: ErrorLocation): XmlElement {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (src.trim() === '') throw new InputError('the XML document is empty.', where);
  const valid = XMLValidator.validate(src, { allowBooleanAttributes: true });
  if (valid !== true) {
    throw new InputError(`malformed XML: ${valid.err.msg}`, { ...where, line: valid.err.line, column: valid.err.col });
  }
  let nodes: unknown;
  try {
    nodes = parser.parse(src);
  } catch (err) {
    throw new InputError(`malformed XML: ${(err as Error).message}`, where);
  }
  const roots = toElements(nodes as OrderedNode[]);
  if (roots.length !== 1) throw new InputError(`expected one root element, found ${roots.length}.`, where);
  return roots[0];
}

function toElements(nodes: OrderedNode[]): XmlElement[] {
  const out: XmlElement[] = [];
  for (const node of nodes) {
    for (const key of Object.keys(node)) {
      if (key === ATTRS || key === TEXT) continue;
      const rawAttrs = (node[ATTRS] ?? {}) as Record<string, unknown>;
      const attrs: Record<string, string> = {};
      for (const [k, v] of Object.entries(rawAttrs)) attrs[k] = v === true ? '' : String(v);
      const kids = (node[key] ?? []) as OrderedNode[];
      let text = '';
      for (const kid of kids) if (TEXT in kid) text += String(kid[TEXT]);
      out.push({ name: key, attrs, children: toElements(kids), text });
    }
  }
  return out;
}

/** Local name without a namespace prefix. */
export function localName(name: string): string {
  const i = name.indexOf(':');
  return i < 0 ? name : name.slice(i + 1);
}

export function child(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c) => localName(c.name) === name);
}

export function childrenNamed(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => localName(c.name) === name);
}

/** Every descendant (not the element itself) in document order. */
export function* descendants(el: XmlElement): Generator<XmlElement> {
  for (const c of el.children) {
    yield c;
    yield* descendants(c);
  }
}

// ---- Positions of XML embedded in a CIM property (an export's Sequence, an application's SDMPackageXML) -------------

/**
 * Where the text of the CIM `<PROPERTY NAME="name">`'s `<VALUE>` starts in `doc` (past the property's qualifiers), or
 * null where it is not written that way: then an error can only be placed within the property.
 */
export function propertyValueStart(doc: string, name: string): number | null {
  // Scanned with indexOf, not one regular expression: a damaged document must not make the search slow.
  const nameAttr = new RegExp(`\\sNAME\\s*=\\s*(["'])${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\1`, 'i');
  // CIM-XML's element names are upper case, as XML compares them: exactly.
  let i = 0;
  for (;;) {
    const open = doc.indexOf('<PROPERTY', i);
    if (open < 0) return null;
    const end = doc.indexOf('>', open);
    if (end < 0) return null;
    i = end + 1;
    if (/\s/.test(doc[open + 9] ?? '') && nameAttr.test(doc.slice(open + 9, end))) break;
  }
  // Past the property's qualifiers (whitespace, <QUALIFIER …/> or <QUALIFIER …>…</QUALIFIER>) to its <VALUE>.
  for (;;) {
    while (i < doc.length && /\s/.test(doc[i])) i++;
    if (doc.startsWith('<QUALIFIER', i)) {
      const end = doc.indexOf('>', i);
      if (end < 0) return null;
      if (doc[end - 1] === '/') {
        i = end + 1;
        continue;
      }
      const close = doc.indexOf('</QUALIFIER', end);
      const closeEnd = close < 0 ? -1 : doc.indexOf('>', close);
      if (closeEnd < 0) return null;
      i = closeEnd + 1;
      continue;
    }
    const value = /<VALUE\s*>/y;
    value.lastIndex = i;
    return value.exec(doc) ? value.lastIndex : null;
  }
}

/**
 * The line and column in `doc` of the character at `line`, `column` (1-based, as the validator counts) of the text
 * whose raw form starts at `start`: the raw form is walked decoding entities (`&lt;` is one character, `&#xA;` a new
 * line) and CDATA sections, so an error in the embedded document points into the file a user opens.
 */
export function positionInDocument(doc: string, start: number, line: number, column: number): { line: number; column: number } {
  let rawLine = 1;
  let rawColumn = 1;
  let i = 0;
  const stepRaw = (n: number): void => {
    for (const end = Math.min(i + n, doc.length); i < end; i++) {
      if (doc[i] === '\n') {
        rawLine += 1;
        rawColumn = 1;
      } else rawColumn += 1;
    }
  };
  stepRaw(start);
  let textLine = 1;
  let textColumn = 1;
  const reached = (): boolean => textLine > line || (textLine === line && textColumn >= column);
  const advance = (ch: string): void => {
    if (ch === '\n') {
      textLine += 1;
      textColumn = 1;
    } else textColumn += 1;
  };
  while (i < doc.length && !reached()) {
    if (doc.startsWith('<![CDATA[', i)) {
      stepRaw(9);
      while (i < doc.length && !doc.startsWith(']]>', i) && !reached()) {
        advance(doc[i]);
        stepRaw(1);
      }
      if (!reached()) stepRaw(3);
      continue;
    }
    // The value's end tag: the position asked for is past the text (the validator's "end of input").
    if (doc[i] === '<') break;
    const entity = doc[i] === '&' ? /^&(#x[0-9a-f]+|#[0-9]+|[a-z][a-z0-9]*);/i.exec(doc.slice(i, i + 12)) : null;
    if (entity) {
      const ref = entity[1].toLowerCase();
      const code = ref.startsWith('#x') ? parseInt(ref.slice(2), 16) : ref.startsWith('#') ? parseInt(ref.slice(1), 10) : -1;
      advance(code === 10 ? '\n' : 'x');
      stepRaw(entity[0].length);
      continue;
    }
    advance(doc[i]);
    stepRaw(1);
  }
  return { line: rawLine, column: rawColumn };
}
