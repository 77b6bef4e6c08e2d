// ca_certs (cloud-init's cc_ca_certs, Debian flavour): each `trusted`
// certificate becomes /usr/local/share/ca-certificates/cloud-init-ca-cert-N.crt;
// `remove_defaults` deselects every certificate listed in
// /etc/ca-certificates.conf (a "!" before each); then the root's own
// update-ca-certificates rebuilds /etc/ssl/certs, chrooted. A root without
// update-ca-certificates gets a clear error and no change.
import { fileContent } from '../bytes.ts';
import { which } from '../host/root-facts.ts';
import type { Action } from '../host/actions.ts';
import { isMapping } from './helpers.ts';
import { actionModule, type Report, type Schema } from './module.ts';

const LOCAL_DIR = '/usr/local/share/ca-certificates';
const CONF = '/etc/ca-certificates.conf';
const HEADER = '# Modified by ec2-init to deselect certs due to user-data';
/** cloud-init's header, recognized so a file it already edited is not edited twice. */
const CLOUD_INIT_HEADER = '# Modified by cloud-init to deselect certs due to user-data';
const certFile = (i: number) => `${LOCAL_DIR}/cloud-init-ca-cert-${i}.crt`;

/** Prefix each selected certificate line with '!' (cloud-init's disable_system_ca_certs). */
export function deselectAll(text: string): string {
  let header = false;
  const out: string[] = [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const line of lines) {
    if (line === HEADER || line === CLOUD_INIT_HEADER) { header = true; out.push(line); }
    else if (line === '' || line.startsWith('#') || line.startsWith('!')) out.push(line);
    else {
      if (!header) { out.push(HEADER); header = true; }
      out.push(`!${line}`);
    }
  }
  return out.join('\n') + '\n';
}

const BODY: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    remove_defaults: { type: 'boolean', description: 'deselect every certificate the distribution ships' },
    'remove-defaults': { type: 'boolean', deprecated: "use 'remove_defaults'" },
    trusted: { type: 'array', items: { type: 'string' }, minItems: 1, description: 'PEM certificates to trust' },
  },
};

interface CaCerts {
  removeDefaults: boolean;
  /** The certificates, as given (a !!binary one as its bytes). */
  trusted: Array<string | Uint8Array>;
}

/** ca_certs (or the old ca-certs), read once: deprecated spellings warned about, a bad `trusted` reported and left out. */
export function checkCaCerts(config: Record<string, unknown>, report: Report): CaCerts | null {
  if (config['ca-certs'] !== undefined) report('warning', "'ca-certs' is deprecated: use 'ca_certs'");
  const key = config['ca_certs'] !== undefined ? 'ca_certs' : 'ca-certs';
  const v = config[key];
  if (v === null || v === undefined) return { removeDefaults: false, trusted: [] };
  if (!isMapping(v)) { report('error', `${key}: must be a mapping (remove_defaults, trusted); nothing changed`); return null; }
  if (v['remove-defaults'] !== undefined) report('warning', "'remove-defaults' is deprecated: use 'remove_defaults'");
  const t = v['trusted'];
  let trusted: CaCerts['trusted'] = [];
  if (Array.isArray(t)) {
    t.forEach((c, i) => {
      if (typeof c === 'string' || c instanceof Uint8Array) trusted.push(c);
      else report('error', `${key}.trusted[${i}]: expected a PEM certificate (a string); left out`);
    });
  } else if (t !== undefined && t !== null) {
    report('error', `${key}.trusted: must be a list of certificates; none added`);
    trusted = [];
  }
  return { removeDefaults: Boolean(v['remove_defaults'] ?? v['remove-defaults']), trusted };
}

export const caCerts = actionModule<CaCerts>({
  name: 'ca_certs',
  stage: 'init',
  frequency: 'per-instance',
  keys: ['ca_certs', 'ca-certs'],
  schema: { ca_certs: BODY, 'ca-certs': { ...BODY, deprecated: "use 'ca_certs'" } },
  check: checkCaCerts,
  actions({ removeDefaults, trusted }, { files, report }): Action[] {
    const update = which(files, 'update-ca-certificates');
    if (update === null) {
      report('error', 'update-ca-certificates not found under the root (install the ca-certificates package): no certificate was changed');
      return [];
    }
    const actions: Action[] = [];
    if (removeDefaults) {
      const conf = files.readTextIfExists(CONF);
      if (conf) actions.push({ kind: 'write', path: CONF, content: deselectAll(conf), mode: 0o644, why: 'deselect the default certificates' });
      // New certificates of later ca-certificates upgrades stay deselected too (a failure here is reported; the rest goes on).
      const debconf = which(files, 'debconf-set-selections');
      if (debconf) actions.push({ kind: 'run', argv: [debconf, '-'], input: 'ca-certificates ca-certificates/trust_new_crts select no\n', timeoutMs: 60_000, unit: 'debconf', why: 'new certificates stay deselected' });
    }
    // A !!binary certificate is written as its bytes (cloud-init writes Python's b'…' text of them).
    trusted.forEach((cert, i) => actions.push({ kind: 'write', path: certFile(i + 1), content: fileContent(cert), mode: 0o644 }));
    actions.push({ kind: 'run', argv: [update], timeoutMs: 300_000 });
    return actions;
  },
});
