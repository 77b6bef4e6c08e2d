// The one reader of file:// URLs (and bare absolute paths) that user-data and
// datasources name: a #include, a NoCloud seedfrom. The path is a file of
// the root, never of this machine (Files walks it one component at a time),
// %-escapes are decoded, and a URL naming another host is refused.
import type { Files } from '../host/files.ts';
import { decodePath, parseUrl } from './url.ts';

/** The path a file:// URL (or an absolute path) names; throws for another host or a bad escape. */
export function fileUrlPath(url: string): string {
  if (url.startsWith('/')) return url;
  const parsed = parseUrl(url);
  if (parsed.protocol !== 'file:') throw new Error(`not a file URL: ${url}`);
  if (parsed.hostname !== '' && parsed.hostname !== 'localhost') throw new Error('file URL with a remote host');
  return decodePath(parsed.pathname);
}

/** Whether `url` is read by readFileUrl. */
export const isFileUrl = (url: string): boolean => url.startsWith('/') || /^file:\/\//i.test(url);

/**
 * The file a file:// URL names under the root, at most maxBytes (larger: the
 * PathError EFBIG of Files, which the read budgets count); null when absent.
 */
export function readFileUrl(files: Files, url: string, maxBytes: number): Uint8Array | null {
  const path = fileUrlPath(url);
  const st = files.stat(path);
  if (st === null) return null;
  if (st.kind !== 'file') throw new Error(`${path} is not a regular file`);
  return files.read(path, maxBytes);
}
