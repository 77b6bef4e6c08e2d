// Build multipart/mixed user-data that ec2-init, cloud-init and Python's email
// package all read back to the same parts. Text that is plain 7-bit ASCII is
// written as is (readable); anything else is base64, so bytes round-trip exactly.
import { base64, fromLatin1, latin1, utf8 } from '../bytes.ts';
import { isUtf8, randomBytes } from '../host/codecs.ts';

export interface MimeInput {
  content: Uint8Array;
  /** 'main/sub', e.g. text/x-shellscript. */
  type: string;
  filename: string;
  /** Extra headers (e.g. 'Merge-Type', 'Launch-Index'); CR and LF are replaced by spaces. */
  headers?: Record<string, string>;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_NAME = /^[!-9;-~]+$/;

/** Multipart user-data from parts; throws on a type that is not 'main/sub'. */
export function makeMime(parts: { content: Uint8Array; type: string; filename: string }[]): Uint8Array {
  return buildMime(parts);
}

/** makeMime with extra headers per part (used for the expanded user-data). */
export function buildMime(parts: MimeInput[]): Uint8Array {
  for (const p of parts) if (!TOKEN.test(p.type)) throw new Error(`not a MIME type: ${JSON.stringify(p.type)}`);
  const encoded = parts.map((p) => encodePart(p));
  let boundary = newBoundary();
  while (encoded.some((e) => e.plain && e.text.includes('--' + boundary))) boundary = newBoundary();
  const chunks: string[] = [
    `Content-Type: multipart/mixed; boundary="${boundary}"\n`,
    'MIME-Version: 1.0\n',
    '\n',
  ];
  for (const e of encoded) chunks.push(`--${boundary}\n`, e.head, '\n', e.text, '\n');
  chunks.push(`--${boundary}--\n`);
  return fromLatin1(chunks.join(''));
}

function newBoundary(): string {
  let digits = '';
  for (const b of randomBytes(19)) digits += String(b % 10);
  return `===============${digits}==`;
}

function encodePart(p: MimeInput): { head: string; text: string; plain: boolean } {
  const isText = p.type.toLowerCase().startsWith('text/');
  const plain = isText && isPlain7bit(p.content);
  const lines: string[] = [];
  const charset = isText ? (plain ? 'us-ascii' : isUtf8(p.content) ? 'utf-8' : null) : null;
  lines.push(`Content-Type: ${p.type}${charset ? `; charset="${charset}"` : ''}`);
  lines.push('MIME-Version: 1.0');
  lines.push(`Content-Transfer-Encoding: ${plain ? '7bit' : 'base64'}`);
  lines.push(`Content-Disposition: attachment; ${filenameParam(p.filename)}`);
  for (const [name, value] of Object.entries(p.headers ?? {})) {
    if (!HEADER_NAME.test(name)) throw new Error(`not a header name: ${JSON.stringify(name)}`);
    lines.push(`${name}: ${toLatin1Safe(value.replace(/[\r\n]+/g, ' '))}`);
  }
  const head = lines.map((l) => l + '\n').join('');
  const text = plain ? latin1(p.content) : wrap(base64(p.content), 76);
  return { head, text, plain };
}

/** ASCII text without CR or other control bytes, lines ≤ 998, no line starting with '--'. */
function isPlain7bit(b: Uint8Array): boolean {
  const text = latin1(b);
  return !/[^\t\n\x20-\x7e]/.test(text) && !/(?:^|\n)[^\n]{999}/.test(text) && !/(?:^|\n)--/.test(text);
}

function wrap(s: string, width: number): string {
  const out: string[] = [];
  for (let i = 0; i < s.length; i += width) out.push(s.slice(i, i + width));
  return out.join('\n');
}

/** filename="…" for printable ASCII, else RFC 2231 filename*=utf-8''…. */
function filenameParam(name: string): string {
  if (/^[\x20-\x7e]*$/.test(name)) return `filename="${name.replace(/[\\"]/g, (c) => '\\' + c)}"`;
  const enc = Array.from(utf8(name))
    .map((c) => (/[A-Za-z0-9!#$&+.^_`|~-]/.test(String.fromCharCode(c)) ? String.fromCharCode(c) : '%' + c.toString(16).toUpperCase().padStart(2, '0')))
    .join('');
  return `filename*=utf-8''${enc}`;
}

function toLatin1Safe(v: string): string {
  return /^[\x20-\x7e\t]*$/.test(v) ? v : latin1(utf8(v));
}
