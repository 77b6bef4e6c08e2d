// What the agent inside the .deb can do, so that a scenario whose feature is
// still being built skips with that reason instead of failing: asked of the
// executable itself (its `plan` of a cloud-config naming every module the
// scenarios use), and for the datasources, whether the executable carries
// their markers ("cidata" for NoCloud volumes, "config-2" for config drives, the IMDSv2 token path for Ec2).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './image.ts';

export interface Features {
  /** cloud-config modules the agent's plan lists. */
  modules: Set<string>;
  /** Reads a NoCloud seed from a volume labelled cidata. */
  cidataVolume: boolean;
  /** Reads a config drive from a volume labelled config-2. */
  configDrive: boolean;
  /** Has the EC2 metadata service datasource. */
  ec2: boolean;
  /** Has the Azure datasource (its wireserver goal state request). */
  azure: boolean;
  /** Reads UDF volumes (the recognition sequence's NSR02 marker). */
  udf: boolean;
}

const PROBE = `#cloud-config
users: [default, {name: probe}]
power_state: {mode: poweroff}
bootcmd: [true]
write_files: [{path: /probe, content: x}]
runcmd: [true]
`;

export function agentFeatures(deb: string): Features {
  const dir = mkdtempSync(join(tmpdir(), 'ec2-init-e2e-probe-'));
  try {
    run('sh', ['-c', 'dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" ./usr/bin/ec2-init', 'sh', deb, dir], { timeout: 120_000 });
    const exe = join(dir, 'usr/bin/ec2-init');
    const root = join(dir, 'root');
    mkdirSync(join(root, 'var/lib/cloud/seed/nocloud'), { recursive: true });
    writeFileSync(join(root, 'var/lib/cloud/seed/nocloud/meta-data'), 'instance-id: i-probe\n');
    writeFileSync(join(root, 'var/lib/cloud/seed/nocloud/user-data'), PROBE);
    const plan = run('env', ['-i', exe, '--root', root, 'plan'], { allowFail: true, timeout: 60_000 });
    const modules = new Set<string>();
    for (const m of plan.stdout.matchAll(/^\S+\s+module\s+\S+\s+(\S+)/gm)) modules.add(m[1]);
    // Never fewer checks by accident: a plan this cannot read is an error, not "no modules".
    if (!modules.has('runcmd') || !modules.has('write_files')) {
      throw new Error(`cannot read the modules from the agent's plan (exit ${plan.status}):\n${plan.stdout}\n${plan.stderr}`);
    }
    const bytes = readFileSync(exe).toString('latin1');
    return { modules, cidataVolume: /cidata/i.test(bytes), configDrive: /config-2/i.test(bytes), ec2: bytes.includes('latest/api/token'),
      azure: bytes.includes('comp=goalstate'), udf: bytes.includes('NSR02') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
