// WMI CIM-XML instances (`<INSTANCE CLASSNAME>` with PROPERTY, PROPERTY.ARRAY, PROPERTY.OBJECT(ARRAY) children), as
// the console writes them in exports (object.xml) and, escaped, inside ReferencesInfo.xml strings.
import { InputError, type ErrorLocation } from '../errors.js';
import { child, childrenNamed, descendants, localName, parseXml, type XmlElement } from './xml.js';

export type CimValue = string | null | string[] | CimInstance | CimInstance[];

export class CimInstance {
  constructor(
    readonly className: string,
    readonly properties: ReadonlyMap<string, CimValue>,
  ) {}

  /** A scalar property as text; null when absent or empty. */
  string(name: string): string | null {
    const v = this.properties.get(name);
    if (typeof v !== 'string') return null;
    return v === '' ? null : v;
  }

  number(name: string): number | null {
    const s = this.string(name);
    if (s === null) return null;
    const n = Number(s);
    return Number.isFinite(n) ? n : null;
  }

  instances(name: string): CimInstance[] {
    const v = this.properties.get(name);
    if (v instanceof CimInstance) return [v];
    if (Array.isArray(v)) return v.filter((x): x is CimInstance => x instanceof CimInstance);
    return [];
  }
}

export function instanceFromElement(el: XmlElement): CimInstance {
  const props = new Map<string, CimValue>();
  for (const p of el.children) {
    const tag = localName(p.name);
    const name = p.attrs.NAME;
    if (!name) continue;
    if (tag === 'PROPERTY') {
      const v = child(p, 'VALUE');
      props.set(name, v ? v.text : null);
    } else if (tag === 'PROPERTY.ARRAY') {
      const arr = child(p, 'VALUE.ARRAY');
      props.set(name, arr ? childrenNamed(arr, 'VALUE').map((v) => v.text) : []);
    } else if (tag === 'PROPERTY.OBJECT') {
      const inst = [...descendants(p)].find((d) => localName(d.name) === 'INSTANCE');
      props.set(name, inst ? instanceFromElement(inst) : null);
    } else if (tag === 'PROPERTY.OBJECTARRAY') {
      const arr = child(p, 'VALUE.OBJECTARRAY');
      const items = arr
        ? childrenNamed(arr, 'VALUE.OBJECT')
            .map((vo) => child(vo, 'INSTANCE'))
            .filter((x): x is XmlElement => x !== undefined)
            .map(instanceFromElement)
        : [];
      props.set(name, items);
    }
  }
  return new CimInstance(el.attrs.CLASSNAME ?? '', props);
}

/** Parses a document whose root is one `<INSTANCE>`. */
export function parseCimInstance(xml: string, where: ErrorLocation): CimInstance {
  const root = parseXml(xml, where);
  if (localName(root.name) !== 'INSTANCE') throw new InputError(`expected a CIM-XML <INSTANCE>, found <${root.name}>.`, where);
  return instanceFromElement(root);
}

/** ReferencesInfo.xml / AppReferencesInfo.xml: an `<ArrayOfString>` whose strings are escaped CIM instances. */
export function parseInstanceArray(xml: string, where: ErrorLocation): CimInstance[] {
  const root = parseXml(xml, where);
  if (localName(root.name) !== 'ArrayOfString') throw new InputError(`expected <ArrayOfString>, found <${root.name}>.`, where);
  return childrenNamed(root, 'string').map((s, i) => parseCimInstance(s.text, { ...where, entry: `${where.entry ?? ''} string ${i + 1}`.trim() }));
}
