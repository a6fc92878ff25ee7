// A small ordered XML tree over fast-xml-parser: the readers walk elements in document order with their attributes,
// and malformed input becomes an InputError that names the file and line.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
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
