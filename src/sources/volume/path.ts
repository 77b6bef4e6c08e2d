// A path inside a volume, as the readers walk it: its components, '.' and
// empty ones dropped, '..' resolved lexically and never above the root.

export function components(path: string): string[] {
  const out: string[] = [];
  for (const c of path.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') out.pop(); else out.push(c);
  }
  return out;
}
