// Exoscale datasource: an EC2-style metadata service and CloudStack's password server.
//
//   GET {url}/1.0/meta-data/instance-id     waited for (up to 120 s, each try `timeout`)
//   GET {url}/1.0/user-data                 404: none
//   GET {url}/1.0/meta-data/…               the tree (instance-id, local-hostname, public-keys, availability-zone, …)
//   GET {host}:8080/1.0/  DomU_Request: send_my_password  → a password, '' or saved_password
//   GET {host}:8080/1.0/  DomU_Request: saved_password    (the acknowledgement, once a password came)
// {url}: http://169.254.169.254.
//
// As cloud-init's DataSourceExoscale: asked in init (after networking) where
// DMI's product_name starts with Exoscale; `datasource: {Exoscale:
// {metadata_url, api_version, password_server_port, timeout, retries}}`
// (defaults 1.0, 8080, 10 s, 6). A password becomes the source's config
// ({password, chpasswd: {expire: false}, ssh_pwauth: true}) and set_passwords
// runs on every boot (cloud-init clears its semaphore), so that a password
// reset in Exoscale's console takes effect at the next reboot: on other boots
// the server answers saved_password and there is nothing to set. The
// password is never logged and kept only in the owner-only datasource.json.
// A password server that fails costs the password only, not the source.
//
// Where ec2-init differs: the password server's URL is the metadata URL's
// host with the password port (cloud-init appends ":8080" to metadata_url,
// which breaks a metadata_url that has a port of its own).
import { now } from '../host/clock.ts';
import { parseUrl } from '../net/url.ts';
import type { SourceData } from '../types.ts';
import { askPassword, readEc2Style, routerData, waitFor } from './cloudstack.ts';
import { count, seconds, text, type Source, type SourceRun } from './source.ts';

export const EXOSCALE_URL = 'http://169.254.169.254';

/** The password server's URL: the metadata service's host, the password port, the API version. */
export function passwordUrl(metadataUrl: string, port: number, version: string): string {
  const u = parseUrl(metadataUrl);
  const host = u.hostname.includes(':') ? `[${u.hostname}]` : u.hostname;
  return `${u.protocol}//${host}:${port}/${version}/`;
}

async function readExoscale(run: SourceRun): Promise<SourceData | null> {
  const { ctx, cfg, log, deadline } = run;
  const readOnly = ctx.planning;
  const base = (text(cfg['metadata_url']) ?? EXOSCALE_URL).replace(/\/+$/, '');
  const version = typeof cfg['api_version'] === 'string' || typeof cfg['api_version'] === 'number' ? String(cfg['api_version']) : '1.0';
  const port = count(cfg['password_server_port'], 8080);
  const timeoutMs = seconds(cfg['timeout'], 10);
  const retries = count(cfg['retries'], 6);
  const until = Math.min(deadline, now() + 120_000);
  if (!await waitFor(`${base}/${version}/meta-data/instance-id`, timeoutMs, until, log, 'datasource Exoscale')) {
    log.warn('datasource Exoscale: no answer from the metadata service');
    return null;
  }
  const read = await readEc2Style(base, version, {
    timeoutMs, retries, deadline, log, what: 'datasource Exoscale', budget: run.budget, report: (m) => ctx.report('error', 'datasource Exoscale', m),
  });
  const pwUrl = passwordUrl(base, port, version);
  let password: string | null = null;
  try {
    password = await askPassword({ url: pwUrl, timeoutMs, retries, deadline, log, readOnly });
  } catch (e) {
    log.warn(`datasource Exoscale: no password from ${pwUrl}: ${(e as Error).message}`);
  }
  return {
    name: 'Exoscale',
    provider: 'exoscale',
    ...routerData('Exoscale', `${base}/${version}`, read, password, readOnly, log),
    cloudName: 'exoscale',
    platform: 'exoscale',
    everyBoot: ['set_passwords'],
  };
}

export const exoscale: Source = {
  name: 'Exoscale',
  reach: 'network',
  detect: (p) => p.dmi.product_name.startsWith('Exoscale'),
  notDetected: "DMI's product_name does not start with Exoscale",
  detectWhenForced: true,
  read: readExoscale,
};
