// update_etc_hosts (cloud-init's cc_update_etc_hosts, Debian flavour), every
// boot. `manage_etc_hosts: true` rewrites /etc/hosts from a template (the
// root's /etc/cloud/templates/hosts.debian.tmpl when it has one, else the
// built-in copy of Debian's layout); `localhost` only makes sure a
// "127.0.1.1 fqdn hostname" line exists and keeps the rest; false: untouched.
import type { Action } from '../host/actions.ts';
import { checkedNames } from './hostname.ts';
import { isTrue, makeHeader } from './helpers.ts';
import { renderTemplate } from './template.ts';
import { actionModule, type Schema } from './module.ts';

const HOSTS = '/etc/hosts';
const USER_TEMPLATE = '/etc/cloud/templates/hosts.debian.tmpl';
/** Debian's 127.0.1.1 convention for the host's own name. */
const LOCAL_IP = '127.0.1.1';

const DEBIAN_TEMPLATE = `## template:jinja
# Your system has configured 'manage_etc_hosts' as True.
# As a result, if you wish for changes to this file to persist
# then you will need to either
# a.) make changes to the master file in ${USER_TEMPLATE}
# b.) change or remove the value of 'manage_etc_hosts' in
#     /etc/cloud/cloud.cfg or cloud-config from user-data
#
127.0.1.1 {{fqdn}} {{hostname}}
127.0.0.1 localhost

# The following lines are desirable for IPv6 capable hosts
::1 localhost ip6-localhost ip6-loopback
ff02::1 ip6-allnodes
ff02::2 ip6-allrouters

`;

type Mode = 'template' | 'localhost' | 'off';

function modeOf(value: unknown): Mode {
  if (isTrue(value, ['template'])) return 'template';
  return value === 'localhost' ? 'localhost' : 'off';
}

/**
 * cloud-init's HostsConf + update_etc_hosts: keep every line, re-emit address
 * lines tab-separated; unless a 127.0.1.1 entry already names fqdn and
 * hostname, the 127.0.1.1 entries move to the end, the new one after them.
 * cloud-init writes the result followed by one more newline (its
 * `"%s\n" % hosts`), so the file ends in a blank line; kept, so `echo >>`
 * and the next rewrite see the same file cloud-init leaves. Returns null
 * when nothing needs to change.
 */
export function ensureLocalEntry(old: string | null, hostname: string, fqdn: string): string | null {
  type Line = { kind: 'other'; text: string } | { kind: 'entry'; pieces: string[]; tail: string };
  const text = old ?? '';
  // Python's str.splitlines: no empty last line for a final newline.
  const raw = text === '' ? [] : text.replace(/(\r\n|\n|\r)$/, '').split(/\r\n|\n|\r/);
  const lines: Line[] = raw.map((text): Line => {
    if (!text.trim()) return { kind: 'other', text };
    const stripped = text.trim();
    const hash = stripped.indexOf('#');
    const head = hash === -1 ? stripped : stripped.slice(0, hash);
    if (!head.trim()) return { kind: 'other', text };
    return { kind: 'entry', pieces: head.trim().split(/\s+/), tail: hash === -1 ? '' : stripped.slice(hash) };
  });
  const isMine = (l: Line): l is Extract<Line, { kind: 'entry' }> => l.kind === 'entry' && l.pieces[0] === LOCAL_IP;
  const mine = lines.filter(isMine);
  if (mine.some((l) => l.pieces[1] === fqdn && l.pieces.slice(2).includes(hostname))) return null;
  const kept: Line[] = lines.filter((l) => !isMine(l));
  // The old 127.0.1.1 names stay (without their comments), then the new line.
  for (const l of mine) if (l.pieces.length > 1) kept.push({ kind: 'entry', pieces: l.pieces, tail: '' });
  kept.push({ kind: 'entry', pieces: [LOCAL_IP, fqdn, hostname], tail: '' });
  const body = kept.map((l) => (l.kind === 'other' ? l.text : l.pieces.join('\t') + l.tail) + '\n').join('');
  return `${body}\n`;
}

/** The header of an /etc/hosts made new, up to its time (cloud-init's make_header). */
const HEADER = makeHeader('Added');

const SCHEMA: Schema = {
  oneOf: [
    { type: 'boolean' },
    { enum: ['localhost'] },
    { enum: ['template'], deprecated: "'template' is the old spelling of true: use manage_etc_hosts: true" },
  ],
  description: `true: rewrite ${HOSTS} every boot from ${USER_TEMPLATE} (or the built-in Debian layout); localhost: only keep a ${LOCAL_IP} line for the hostname; false: leave it alone`,
};

export const updateEtcHosts = actionModule<'template' | 'localhost'>({
  name: 'update_etc_hosts',
  stage: 'init',
  frequency: 'per-boot',
  keys: ['manage_etc_hosts'],
  schema: { manage_etc_hosts: SCHEMA },
  check(config, report) {
    const value = config['manage_etc_hosts'];
    const mode = modeOf(value);
    // false (or anything else): /etc/hosts is left alone.
    if (mode === 'off') return null;
    if (value === 'template') report('warning', "manage_etc_hosts: 'template' is deprecated: use true");
    return mode;
  },
  actions(mode, run): Action[] {
    const { files, log, where, report } = run;
    const n = checkedNames(run, run.config, run.source);
    if (!n) return [];
    if (!n.hostname) { report('warning', 'manage_etc_hosts is set, but no hostname was found'); return []; }
    if (mode === 'template') {
      const template = files.readTextIfExists(USER_TEMPLATE) ?? DEBIAN_TEMPLATE;
      return [{ kind: 'write', path: HOSTS, content: renderTemplate(template, { hostname: n.hostname, fqdn: n.fqdn }), mode: 0o644, why: `for ${n.fqdn} (${n.hostname})` }];
    }
    const old = files.readTextIfExists(HOSTS) ?? null;
    const updated = ensureLocalEntry(old ?? '', n.hostname, n.fqdn);
    if (updated === null) { log.info(`${where}: ${HOSTS} already has ${LOCAL_IP} ${n.fqdn} ${n.hostname}`); return []; }
    const why = `${LOCAL_IP} ${n.fqdn} ${n.hostname}`;
    if (old !== null) return [{ kind: 'write', path: HOSTS, content: updated, mode: 0o644, why }];
    // A new file's header carries the time it is written: put in when applied, out of the digest.
    return [{ kind: 'write', path: HOSTS, content: `${HEADER}\n${updated}`, stampAt: HEADER.length, mode: 0o644, why }];
  },
});
