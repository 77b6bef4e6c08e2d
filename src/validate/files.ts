// Validators for tokens of file-system configs: paths under the root, files
// directly in a given directory, the
// six fields of an /etc/fstab line (with fstab's own escapes for space and
// tab), and user and group names.
import { bad, type Checked, controlIn, ok, show, text } from './check.ts';

/**
 * An absolute path inside the root: starts with '/', no control characters,
 * no '.' or '..' component (the root's walker would keep '..' inside the root
 * anyway; here such a path is refused as not meant).
 */
export function pathUnderRoot(v: unknown): Checked<string> {
  const t = text(v);
  if (!t.ok) return t;
  const c = controlIn(t.value);
  if (c) return bad(`${show(t.value)} has ${c}; a path has none`);
  if (!t.value.startsWith('/')) return bad(`${show(t.value)} is not an absolute path`);
  if (t.value.split('/').some((p) => p === '.' || p === '..')) return bad(`${show(t.value)} has a '.' or '..' component`);
  return t;
}

/**
 * A file directly in `dir` (a module's own directory, as apt's
 * sources.list.d): a bare name (no '/', not '.' or '..', no control
 * character), or that file given by its full path. Gives the full path.
 */
export function fileIn(dir: string, v: unknown): Checked<string> {
  const t = text(v);
  if (!t.ok) return t;
  const name = t.value.startsWith(`${dir}/`) ? t.value.slice(dir.length + 1) : t.value;
  const rule = `a file directly in ${dir} is named without '/' (or as ${dir}/NAME), and not '.' or '..'`;
  const c = controlIn(name);
  if (c) return bad(`${show(t.value)} has ${c}; ${rule}`);
  if (name === '' || name === '.' || name === '..' || name.includes('/')) return bad(`${show(t.value)} is not a file in ${dir}: ${rule}`);
  return pathUnderRoot(`${dir}/${name}`);
}

/**
 * A text field of fstab (the device, the mount point, the options): space
 * and tab are written as fstab's \040 and \011, a leading '#' as \043
 * (libmount reads them back);
 * any other control character is refused. A backslash is kept as written,
 * so a field given already escaped (LABEL=my\040disk) reads as before.
 */
function fstabText(v: string, what: string): Checked<string> {
  const c = controlIn(v.replace(/\t/g, ' '));
  if (c) return bad(`${what} ${show(v)} has ${c}, which an fstab line cannot carry`);
  if (v === '') return bad(`${what} is empty`);
  // A '#' first on the line would make it a comment: escaped too (\043), as libmount reads it back.
  return ok(v.replace(/ /g, '\\040').replace(/\t/g, '\\011').replace(/^#/, '\\043'));
}

/** The six fields of an fstab entry as given (strings; 'None' for a missing default), checked and escaped. */
export function fstabEntry(fields: readonly string[]): Checked<string[]> {
  if (fields.length !== 6) return bad(`an fstab entry has 6 fields (device, mount point, type, options, dump, pass), found ${fields.length}`);
  const [spec, file, type, opts, dump, pass] = fields as [string, string, string, string, string, string];
  const out: string[] = [];
  const s = fstabText(spec, 'the device');
  if (!s.ok) return s;
  out.push(s.value);
  if (file !== 'none' && file !== 'swap') {
    const p = pathUnderRoot(file);
    if (!p.ok) return bad(`the mount point ${p.why} (or none, for swap)`);
  }
  const f = fstabText(file, 'the mount point');
  if (!f.ok) return f;
  out.push(f.value);
  if (!/^[A-Za-z0-9_.+-]{1,64}$/.test(type)) return bad(`the type ${show(type)} is not a filesystem type (letters, digits, '_', '.', '+', '-')`);
  out.push(type);
  const o = fstabText(opts, 'the options');
  if (!o.ok) return o;
  out.push(o.value);
  for (const [name, n] of [['dump', dump], ['pass', pass]] as const) {
    if (!/^\d{1,9}$/.test(n)) return bad(`the ${name} field ${show(n)} is not a whole number`);
    out.push(n);
  }
  return ok(out);
}

const ACCOUNT = /^[a-z_][a-z0-9_.-]{0,30}\$?$/i;

/** A user or group name as useradd/groupadd take them (Debian's rule, with upper case allowed as cloud-init passes it on). */
export function accountName(v: unknown): Checked<string> {
  const t = text(v);
  if (!t.ok) return t;
  const c = controlIn(t.value);
  if (c) return bad(`${show(t.value)} has ${c}; a user or group name is 1 to 32 letters, digits, '_', '.', '-' (a final '$' allowed), not starting with a digit, '.' or '-'`);
  return ACCOUNT.test(t.value) ? t : bad(`${show(t.value)}: a user or group name is 1 to 32 letters, digits, '_', '.', '-' (a final '$' allowed), not starting with a digit, '.' or '-'`);
}
