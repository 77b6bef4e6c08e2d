// ca_certs (cloud-init's cc_ca_certs, Debian flavour): each `trusted`
// certificate becomes /usr/local/share/ca-certificates/cloud-init-ca-cert-N.crt;
// `remove_defaults` deselects every certificate listed in
// /etc/ca-certificates.conf (a "!" before each); then the root's own
// update-ca-certificates rebuilds /etc/ssl/certs, chrooted. A root without
// update-ca-certificates gets a clear error and no change.
import { fileContent } from '../bytes.ts';
import { which } from '../host/root-facts.ts';
import type { Module, Schema } from './module.ts';

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

function settings(config: Record<string, unknown>): Record<string, unknown> {
  const v = config['ca_certs'] ?? config['ca-certs'];
  if (v === null || v === undefined) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new Error(`'ca_certs' must be a mapping`);
  return v as Record<string, unknown>;
}

export const caCerts: Module = {
  name: 'ca_certs',
  stage: 'init',
  frequency: 'per-instance',
  keys: ['ca_certs', 'ca-certs'],
  schema: { ca_certs: BODY, 'ca-certs': { ...BODY, deprecated: "use 'ca_certs'" } },
  describe: ({ config }) => {
    const s = settings(config);
    const trusted = Array.isArray(s['trusted']) ? s['trusted'].length : 0;
    return [
      ...(s['remove_defaults'] ?? s['remove-defaults'] ? [`deselect the default certificates in ${CONF}`] : []),
      `add ${trusted} certificate(s) to ${LOCAL_DIR}, run update-ca-certificates`,
    ];
  },
  async run({ ctx, config, where }) {
    if (config['ca-certs'] !== undefined) ctx.report('warning', where, "'ca-certs' is deprecated: use 'ca_certs'");
    const s = settings(config);
    if (s['remove-defaults'] !== undefined) ctx.report('warning', where, "'remove-defaults' is deprecated: use 'remove_defaults'");
    const trusted = s['trusted'] === undefined || s['trusted'] === null ? [] : s['trusted'];
    if (!Array.isArray(trusted)) throw new Error("'trusted' must be a list of certificates");
    const update = which(ctx.files, 'update-ca-certificates');
    if (update === null) {
      throw new Error('update-ca-certificates not found under the root (install the ca-certificates package): no certificate was changed');
    }
    if (s['remove_defaults'] ?? s['remove-defaults']) {
      const conf = ctx.files.readTextIfExists(CONF);
      if (conf) ctx.files.write(CONF, deselectAll(conf), { mode: 0o644 });
      // New certificates of later ca-certificates upgrades stay deselected too.
      const debconf = which(ctx.files, 'debconf-set-selections');
      if (debconf) await ctx.runChecked(where, [debconf, '-'], { input: 'ca-certificates ca-certificates/trust_new_crts select no\n', timeoutMs: 60_000 });
      ctx.log.info(`${where}: default certificates deselected in ${CONF}`);
    }
    // A !!binary certificate is written as its bytes (cloud-init writes Python's b'…' text of them).
    trusted.forEach((cert, i) => ctx.files.write(certFile(i + 1), fileContent(cert), { mode: 0o644 }));
    if (trusted.length) ctx.log.info(`${where}: ${trusted.length} certificate(s) in ${LOCAL_DIR}`);
    await ctx.runChecked(where, [update], { timeoutMs: 300_000 });
  },
};
