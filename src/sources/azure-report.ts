// Azure's ready report: telling the platform the VM is provisioned, once per
// instance, at the end of stage init (search.ts's sourceProvisioned).
//
// When: after stage init's modules made the default user, put its ssh keys
// in place, set its password and the hostname — what Azure's provisioning
// asks for, and what Microsoft's own minimal agent (azure-init) reports on.
// cloud-init 25 reports earlier, while it reads the datasource in
// init-local (before any user exists), so it can never report a user that
// could not be made; ec2-init reports on the finished work (README,
// "Differences from cloud-init").
//
// What: Ready, or NotReady/ProvisioningFailed with a description when the
// provisioning data was broken (azure.ts records why) or a provisioning
// module (users_groups, ssh, set_passwords, set_hostname) reported an
// error. The same line goes to Hyper-V KVP (azure-kvp.ts), then the health
// report to the wireserver (azure-wireserver.ts).
//
// Once: the outcome is recorded in instances/<id>/azure-report.json (0600)
// before it is sent, and marked sent after the wireserver took it. A reboot
// of the same instance sends nothing; a report that could not be sent is
// sent again (the same outcome) by the next boot.
import { layout } from '../state/layout.ts';
import type { Diag } from '../types.ts';
import type { ProvisioningRecord } from './azure.ts';
import { errorReport, successReport, writeKvp } from './azure-kvp.ts';
import { sendHealth, type Health } from './azure-wireserver.ts';
import type { ProvisionedRun } from './source.ts';

const WHERE = 'datasource Azure';
/** The modules whose errors mean the VM is not provisioned as Azure asked. */
const PROVISIONING_MODULES = /^module (users_groups|ssh|set_passwords|set_hostname)\b/;

interface ReportState { health: Health; decidedAt: string; sentAt: string | null }

function readJson<T>(text: string | null): T | null {
  if (text === null) return null;
  try { return JSON.parse(text) as T; } catch { return null; }
}

/** What this instance's provisioning came to, and the KVP line that says so. */
export function outcome(rec: ProvisioningRecord, problems: readonly Diag[]): { health: Health; kvp: string } {
  if (rec.failure) {
    const line = errorReport(rec.failure.reason, rec.failure.data, rec.vmId);
    return { health: { state: 'NotReady', description: line }, kvp: line };
  }
  const failed = problems.filter((d) => d.level === 'error' && PROVISIONING_MODULES.test(d.where));
  if (failed.length) {
    const line = errorReport(`failure to provision: ${failed.map((d) => `${d.where}: ${d.message}`).join('; ')}`, {}, rec.vmId);
    return { health: { state: 'NotReady', description: line }, kvp: line };
  }
  return { health: { state: 'Ready' }, kvp: successReport(rec.vmId) };
}

export async function reportProvisioned(run: ProvisionedRun): Promise<void> {
  const { ctx, instance } = run;
  const { files, log } = ctx;
  const rec = readJson<ProvisioningRecord>(files.readTextIfExists(`${layout.providerCache('azure')}/provisioning.json`));
  if (!rec || rec.instanceId !== instance.id) {
    ctx.report('warning', WHERE, `no provisioning record of instance ${instance.id} from this boot's read: no report sent`);
    return;
  }
  if (rec.skipReport) {
    log.info(`${WHERE}: experimental_skip_ready_report is set: no report sent`);
    return;
  }
  const statePath = `${layout.instance(instance.id)}/azure-report.json`;
  let state = readJson<ReportState>(files.readTextIfExists(statePath));
  if (state?.sentAt) {
    log.info(`${WHERE}: ${state.health.state} was reported for this instance on ${state.sentAt}; nothing sent`);
    return;
  }
  if (!state) {
    const o = outcome(rec, run.problems);
    state = { health: o.health, decidedAt: new Date().toISOString(), sentAt: null };
    writeKvp(files, log, 'PROVISIONING_REPORT', o.kvp);
    files.write(statePath, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
    if (rec.ovfRead) keepOvfEnv(run, rec.dataDir);
  } else {
    log.info(`${WHERE}: the ${state.health.state} report decided on ${state.decidedAt} was not sent yet: sending it now`);
  }
  try {
    const gs = await sendHealth(rec.wireserver, state.health, log);
    state.sentAt = new Date().toISOString();
    files.write(statePath, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
    log.info(`${WHERE}: reported ${state.health.state} to the wireserver ${rec.wireserver} (container ${gs.containerId}, role instance ${gs.instanceId}, incarnation ${gs.incarnation})`);
  } catch (e) {
    ctx.report('error', WHERE, `the ${state.health.state} report did not reach the wireserver ${rec.wireserver}: ${(e as Error).message}; the next boot sends it again`);
  }
}

/**
 * The redacted ovf-env.xml into the agent's data directory (0700, the file
 * 0600), where cloud-init and the Azure Linux agent keep it and where the
 * next boots find it once Azure took the medium away.
 */
function keepOvfEnv(run: ProvisionedRun, dataDir: string): void {
  const copy = run.ctx.files.readIfExists(`${layout.providerCache('azure')}/ovf-env.xml`);
  if (copy === null) return;
  try {
    run.ctx.files.mkdir(dataDir, 0o700);
    run.ctx.files.write(`${dataDir}/ovf-env.xml`, copy, { mode: 0o600 });
  } catch (e) {
    run.ctx.report('warning', WHERE, `keeping ovf-env.xml in ${dataDir}: ${(e as Error).message}`);
  }
}
