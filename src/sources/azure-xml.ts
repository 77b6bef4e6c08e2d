// A small XML reader for the two documents Azure hands the agent: ovf-env.xml
// (from the provisioning medium) and the wireserver's goal state. Elements,
// attributes, text, CDATA, comments and processing instructions, with
// namespace prefixes resolved to their URIs (ovf-env.xml's elements are
// found by namespace, as cloud-init finds them, whatever prefix the file
// uses). Hostile input is bounded: no DOCTYPE (so no entity expansion: only
// the five predefined entities and character references), a size cap and a
// depth cap; an error says the line and column, never the text around it
// (ovf-env.xml carries a password).

export interface XmlElement {
  /** The local name (without prefix). */
  name: string;
  /** The namespace URI ('' for none). */
  ns: string;
  /** Attributes by their name as written (prefix included). */
  attrs: Record<string, string>;
  children: XmlElement[];
  /** The element's own text (CDATA included), children's text left out. */
  text: string;
}

const MAX_BYTES = 4 * 1024 * 1024;
const MAX_DEPTH = 64;
const NAME = /^[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?/;
const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };

export class XmlError extends Error {}

export function parseXml(input: string): XmlElement {
  if (input.length > MAX_BYTES) throw new XmlError(`larger than ${MAX_BYTES} bytes`);
  let pos = input.charCodeAt(0) === 0xfeff ? 1 : 0;
  const fail = (what: string): never => {
    const before = input.slice(0, pos);
    const line = before.split('\n').length;
    throw new XmlError(`${what} at line ${line}, column ${pos - before.lastIndexOf('\n')}`);
  };
  const skipSpace = (): void => { while (pos < input.length && /\s/.test(input[pos]!)) pos++; };
  const until = (end: string, what: string): string => {
    const at = input.indexOf(end, pos);
    if (at < 0) fail(`unterminated ${what}`);
    const s = input.slice(pos, at);
    pos = at + end.length;
    return s;
  };
  const decode = (raw: string): string => raw.replace(/&(#x[0-9A-Fa-f]+|#\d+|\w+);?/g, (m, ref: string) => {
    if (!m.endsWith(';')) fail('an & that starts no entity');
    if (ref.startsWith('#')) {
      const code = ref[1] === 'x' ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
      if (!(code > 0 && code <= 0x10ffff)) fail('a bad character reference');
      return String.fromCodePoint(code);
    }
    return ENTITIES[ref] ?? fail(`an unknown entity &${ref}; (only the predefined ones are read)`);
  });
  /** Comments, processing instructions and white space between elements. */
  const skipMisc = (): void => {
    for (;;) {
      skipSpace();
      if (input.startsWith('<!--', pos)) { pos += 4; until('-->', 'comment'); }
      else if (input.startsWith('<?', pos)) { pos += 2; until('?>', 'processing instruction'); }
      else if (input.startsWith('<!DOCTYPE', pos)) fail('a DOCTYPE (not accepted: no entities are expanded)');
      else return;
    }
  };

  const element = (scopes: Map<string, string>, depth: number): XmlElement => {
    if (depth > MAX_DEPTH) fail(`elements nested deeper than ${MAX_DEPTH}`);
    pos++; // '<'
    const qname = NAME.exec(input.slice(pos, pos + 256))?.[0] ?? fail('an element name expected');
    pos += qname.length;
    const attrs: Record<string, string> = {};
    for (;;) {
      skipSpace();
      if (input.startsWith('/>', pos) || input[pos] === '>') break;
      const an = NAME.exec(input.slice(pos, pos + 256))?.[0] ?? fail('an attribute name expected');
      pos += an.length;
      skipSpace();
      if (input[pos] !== '=') fail(`'=' expected after attribute ${an}`);
      pos++;
      skipSpace();
      const quote = input[pos];
      if (quote !== '"' && quote !== "'") fail(`a quoted value expected for attribute ${an}`);
      pos++;
      const value = until(quote!, 'attribute value');
      if (value.includes('<')) fail(`'<' in the value of attribute ${an}`);
      if (an in attrs) fail(`attribute ${an} given twice`);
      attrs[an] = decode(value);
    }
    const ns = new Map(scopes);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'xmlns') ns.set('', v);
      else if (k.startsWith('xmlns:')) ns.set(k.slice(6), v);
    }
    const colon = qname.indexOf(':');
    const prefix = colon < 0 ? '' : qname.slice(0, colon);
    const uri = ns.get(prefix);
    if (uri === undefined && prefix !== '') fail(`undeclared namespace prefix '${prefix}'`);
    const el: XmlElement = { name: qname.slice(colon + 1), ns: uri ?? '', attrs, children: [], text: '' };
    if (input.startsWith('/>', pos)) { pos += 2; return el; }
    pos++; // '>'
    for (;;) {
      const lt = input.indexOf('<', pos);
      if (lt < 0) fail(`element ${qname} is not closed`);
      el.text += decode(input.slice(pos, lt));
      pos = lt;
      if (input.startsWith('</', pos)) {
        pos += 2;
        const close = until('>', 'end tag').trim();
        if (close !== qname) fail(`</${close}> closes <${qname}>`);
        return el;
      }
      if (input.startsWith('<![CDATA[', pos)) { pos += 9; el.text += until(']]>', 'CDATA section'); }
      else if (input.startsWith('<!--', pos)) { pos += 4; until('-->', 'comment'); }
      else if (input.startsWith('<?', pos)) { pos += 2; until('?>', 'processing instruction'); }
      else if (input.startsWith('<!', pos)) fail('a declaration inside an element');
      else el.children.push(element(ns, depth + 1));
    }
  };

  skipMisc();
  if (input[pos] !== '<') fail('an element expected');
  const root = element(new Map([['xml', 'http://www.w3.org/XML/1998/namespace']]), 0);
  skipMisc();
  if (pos < input.length) fail('content after the root element');
  return root;
}

/** The children of `el` named `name` in namespace `ns`. */
export function childrenNamed(el: XmlElement, ns: string, name: string): XmlElement[] {
  return el.children.filter((c) => c.name === name && c.ns === ns);
}

/** The element at a path of names (one namespace), the first match at each step; null when absent. */
export function find(el: XmlElement, ns: string, ...path: string[]): XmlElement | null {
  let at: XmlElement | undefined = el;
  for (const name of path) {
    at = at.children.find((c) => c.name === name && c.ns === ns);
    if (!at) return null;
  }
  return at;
}

/** Text as an XML document carries it: &, <, >, quotes escaped. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[c]!};`);
}
