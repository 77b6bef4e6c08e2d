// The pure parts of apt configuration (cloud-init's cc_apt_configure): which
// mirror applies to an architecture, the built-in Debian sources templates
// (one-line and deb822), cloud-init's disable_suites, and turning an
// ASCII-armored OpenPGP key into the binary keyring apt reads (what
// `gpg --dearmor` does), so inline keys need no gpg on the image.
import { concat, fromBase64 } from '../bytes.ts';
import type { Config } from '../config/merge.ts';
import { isMapping } from './helpers.ts';

export type Mirrors = { PRIMARY: string; SECURITY: string; MIRROR: string };

/** Debian's failsafe mirrors (cloud-init's cloud.cfg for variant debian). */
export const DEBIAN_MIRRORS = {
  primary: 'https://deb.debian.org/debian',
  security: 'https://deb.debian.org/debian-security',
};


/**
 * cloud-init's get_arch_mirrorconfig: the entry of `primary`/`security`
 * whose arches name this architecture, else the last one with 'default'.
 */
export function archMirrorConfig(list: unknown, arch: string): Record<string, unknown> | null {
  if (!Array.isArray(list)) return null;
  let fallback: Record<string, unknown> | null = null;
  for (const entry of list) {
    if (!isMapping(entry)) continue;
    const arches = Array.isArray(entry['arches']) ? entry['arches'] : [];
    if (arches.includes(arch)) return entry;
    if (arches.includes('default')) fallback = entry;
  }
  return fallback;
}

/** The distro's package_mirrors (system_info), failsafe entries only: Debian's when absent. */
export function distroMirrors(config: Config, arch: string): { primary: string; security: string } {
  const info = isMapping(config['system_info']) ? config['system_info'] : {};
  const entry = archMirrorConfig(info['package_mirrors'], arch);
  const failsafe = entry && isMapping(entry['failsafe']) ? entry['failsafe'] : {};
  const primary = typeof failsafe['primary'] === 'string' ? failsafe['primary'] : DEBIAN_MIRRORS.primary;
  const security = typeof failsafe['security'] === 'string' ? failsafe['security'] : DEBIAN_MIRRORS.security;
  return { primary, security };
}

/** Debian's security suite: codename/updates up to buster, codename-security after. */
export function securitySuite(codename: string): string {
  return ['buster', 'stretch'].includes(codename) ? `${codename}/updates` : `${codename}-security`;
}

const HEADER = (file: string) => `## Note, this file is written by ec2-init on first boot of an instance
## modifications made here will not survive a re-bundle.
## if you wish to make changes you can:
## a.) add 'apt: {preserve_sources_list: true}' to /etc/cloud/cloud.cfg
##     or do the same in user-data
## b.) add sources in /etc/apt/sources.list.d
## c.) give your own template as 'apt: {sources_list: ...}' (${file})
`;

/** Debian's one-line sources.list (the content of cloud-init's sources.list.debian.tmpl). */
export function debianSourcesList(m: { mirror: string; security: string; codename: string }): string {
  const sec = securitySuite(m.codename);
  const backports = m.codename === 'bullseye' ? ''
    : `deb ${m.mirror} ${m.codename}-backports main\ndeb-src ${m.mirror} ${m.codename}-backports main\n`;
  return `${HEADER('/etc/apt/sources.list')}
deb ${m.mirror} ${m.codename} main
deb-src ${m.mirror} ${m.codename} main

## Major bug fix updates produced after the final release of the
## distribution.
deb ${m.security} ${sec} main
deb-src ${m.security} ${sec} main
deb ${m.mirror} ${m.codename}-updates main
deb-src ${m.mirror} ${m.codename}-updates main

## Software from the backports repository may not have been tested as
## extensively as that contained in the main release.
${backports}`;
}

const DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

/** Debian's deb822 debian.sources (cloud-init's sources.list.debian.deb822.tmpl). */
export function debianSources(m: { mirror: string; security: string; codename: string; primaryKey?: string; securityKey?: string }): string {
  return `${HEADER('/etc/apt/sources.list.d/debian.sources')}
Types: deb deb-src
URIs: ${m.mirror}
Suites: ${m.codename} ${m.codename}-updates ${m.codename}-backports
Components: main
Signed-By: ${m.primaryKey || DEBIAN_KEYRING}

## Major bug fix updates produced after the final release of the distribution.
Types: deb deb-src
URIs: ${m.security}
Suites: ${securitySuite(m.codename)}
Components: main
Signed-By: ${m.securityKey || m.primaryKey || DEBIAN_KEYRING}
`;
}

/** Whether a sources text is deb822 (stanzas of `Field: value`) rather than one-line entries. */
export function isDeb822(text: string): boolean {
  return /^\s*(Types|URIs|Suites|Components)\s*:/im.test(text);
}

/** cloud-init's map_known_suites: short names for the usual suites. */
function mapKnownSuite(suite: string): string {
  const known: Record<string, string> = {
    updates: '$RELEASE-updates', backports: '$RELEASE-backports', security: '$RELEASE-security',
    proposed: '$RELEASE-proposed', release: '$RELEASE',
  };
  return known[suite] ?? suite;
}

function suiteName(suite: string, release: string): string {
  return mapKnownSuite(suite).replace(/\$\{?RELEASE\}?/g, release);
}

/**
 * cloud-init's disable_suites. One-line format: each entry whose suite is
 * disabled is commented out ("# suite disabled by cloud-init: …"). deb822:
 * the suite leaves its stanza's Suites; a stanza left with none is commented
 * out whole.
 */
export function disableSuites(disabled: unknown, text: string, release: string): string {
  if (!Array.isArray(disabled) || disabled.length === 0) return text;
  const names = new Set(disabled.map((s) => suiteName(String(s), release)));
  if (isDeb822(text)) return disableSuitesDeb822(names, text);
  return text.split(/(?<=\n)/).map((line) => {
    if (line.startsWith('#')) return line;
    const cols = line.trim().split(/\s+/);
    if (cols.length < 3) return line;
    let at = 2;
    if (cols[1]!.startsWith('[')) {
      // Options in brackets may hold spaces: the suite follows the closing ']'.
      for (const col of cols.slice(1)) { at += 1; if (col.endsWith(']')) break; }
    }
    return cols[at] !== undefined && names.has(cols[at]!) ? `# suite disabled by cloud-init: ${line}` : line;
  }).join('');
}

function disableSuitesDeb822(names: Set<string>, text: string): string {
  const stanzas = text.split(/\n(?=\s*\n)/);
  return stanzas.map((stanza) => {
    const m = /^(\s*Suites\s*:)(.*)$/im.exec(stanza);
    if (!m) return stanza;
    const kept = m[2]!.trim().split(/\s+/).filter((s) => s && !names.has(s));
    if (kept.length > 0) return stanza.replace(m[0], `${m[1]} ${kept.join(' ')}`);
    return stanza.split('\n').map((l) => (l.trim() === '' || l.startsWith('#') ? l : `# disabled by cloud-init: ${l}`)).join('\n');
  }).join('\n');
}

// ---------------------------------------------------------------------------
// OpenPGP armor (RFC 4880 §6)

function crc24(data: Uint8Array): number {
  let crc = 0xb704ce;
  for (const byte of data) {
    crc ^= byte << 16;
    for (let i = 0; i < 8; i++) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x1864cfb;
    }
  }
  return crc & 0xffffff;
}

/**
 * The binary form of an ASCII-armored public key (what `gpg --dearmor`
 * writes, and what apt reads from trusted.gpg.d/*.gpg and signed-by files).
 * Several armored blocks become one keyring. Throws on anything that is not
 * an armored public key: a missing block, bad base64, a wrong checksum, or a
 * private key.
 */
export function dearmor(text: string): Uint8Array {
  const lines = text.replace(/\r/g, '').split('\n').map((l) => l.trim());
  const parts: Uint8Array[] = [];
  for (let i = 0; i < lines.length; i++) {
    const begin = /^-----BEGIN PGP ([A-Z ]+)-----$/.exec(lines[i]!);
    if (!begin) continue;
    if (begin[1] !== 'PUBLIC KEY BLOCK') {
      throw new Error(`the key is a '${begin[1]}', not a 'PUBLIC KEY BLOCK'${begin[1]!.includes('PRIVATE') ? ' (never put a private key in user-data)' : ''}`);
    }
    i++;
    const end = lines.indexOf('-----END PGP PUBLIC KEY BLOCK-----', i);
    if (end === -1) throw new Error("the key has no '-----END PGP PUBLIC KEY BLOCK-----' line");
    // Armor headers (Version:, Comment:) end at an empty line; keys pasted
    // into YAML often lost that line (cloud-init's own example has), so a
    // header is also recognized without it.
    while (i < end && /^[A-Za-z-]+: /.test(lines[i]!)) i++;
    let body = '';
    let checksum: string | null = null;
    for (const line of lines.slice(i, end)) {
      if (line === '') continue;
      if (/^=[A-Za-z0-9+/]{4}$/.test(line)) { checksum = line.slice(1); continue; }
      if (!/^[A-Za-z0-9+/]+=*$/.test(line)) throw new Error(`the key's armor has a line that is not base64: '${line.slice(0, 40)}'`);
      body += line;
    }
    const data = fromBase64(body);
    if (data.length === 0) throw new Error('the key block is empty');
    if (checksum !== null) {
      const sum = fromBase64(checksum);
      const want = sum.length >= 3 ? (sum[0]! << 16) | (sum[1]! << 8) | sum[2]! : -1;
      if (crc24(data) !== want) throw new Error('the key armor checksum does not match: the key was damaged (copied incompletely?)');
    }
    const first = data[0]!;
    const tag = first & 0x40 ? first & 0x3f : (first >> 2) & 0x0f;
    if (!(first & 0x80) || tag !== 6) throw new Error('the key block does not start with a public key packet');
    parts.push(data);
    i = end;
  }
  if (parts.length === 0) throw new Error("not an ASCII-armored OpenPGP key (no '-----BEGIN PGP PUBLIC KEY BLOCK-----' line)");
  return concat(parts);
}
