// systemd's unit-file syntax (systemd.syntax(7)) as its parser reads it, for
// counting the sections and keys of a .network/.netdev file: '#' and ';'
// comment lines, "[Section]" headers, "Key=value" with whitespace around
// both trimmed, and a final backslash joining the next line. The real
// networkd reads the same files in the tests (real-parsers.ts networkd); this
// says how many entries it found, which networkd does not print.

export interface IniSection { name: string; keys: Array<[string, string]> }

export function readIni(text: string): { sections: IniSection[]; errors: string[] } {
  const sections: IniSection[] = [];
  const errors: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    while (line.endsWith('\\') && i + 1 < lines.length) line = `${line.slice(0, -1)} ${lines[++i]!}`;
    const t = line.trim();
    if (t === '' || t.startsWith('#') || t.startsWith(';')) continue;
    if (t.startsWith('[')) {
      if (!t.endsWith(']')) { errors.push(`line ${i + 1}: bad section header ${JSON.stringify(t)}`); continue; }
      sections.push({ name: t.slice(1, -1), keys: [] });
      continue;
    }
    const eq = t.indexOf('=');
    if (eq === -1) { errors.push(`line ${i + 1}: no '=' in ${JSON.stringify(t)}`); continue; }
    if (!sections.length) { errors.push(`line ${i + 1}: a key before any section`); continue; }
    sections.at(-1)!.keys.push([t.slice(0, eq).trim(), t.slice(eq + 1).trim()]);
  }
  return { sections, errors };
}
