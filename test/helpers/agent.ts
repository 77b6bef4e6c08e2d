// Run the built executable (dist/ec2-init, never the TypeScript source)
// against throw-away roots. Each root lives under the system temp dir and
// gets this machine's /usr read-only in a private mount namespace
// (with-root.sh), so chrooted scripts have a shell and coreutils.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { read, removeLater } from './files.ts';
import { needRoot, unavailable } from './needs.ts';
import { TOP } from './paths.ts';

export const AGENT = process.env['EC2_INIT_AGENT'] ?? join(TOP, 'dist', 'ec2-init');
export const WITH_ROOT = join(TOP, 'test', 'helpers', 'with-root.sh');

/**
 * Why integration tests of the executable cannot run here, or null when they
 * can. Without CI a skip reason; under CI (the build ran just before) not
 * being root or a missing executable is a failure (needs.ts).
 */
export function cannotRun(): string | null {
  return needRoot('mount namespaces, chroot')
    ?? (spawnSync(AGENT, ['--version']).status === 0 ? null : unavailable(`${AGENT} does not run: run npm run build`));
}

export function makeRoot(): string {
  return mkdtempSync(join(tmpdir(), 'ec2-init-root-'));
}

export function removeRoot(root: string): void {
  // The bind mounts lived in the agent's own namespace: only plain files remain.
  rmSync(root, { recursive: true, force: true });
}

/** A throw-away root, removed when this test file's tests are done. */
export function newRoot(): string {
  return removeLater(makeRoot());
}

/** Write a NoCloud seed (meta-data and user-data) into the root. */
export function seed(root: string, metaData: string, userData: string | Uint8Array | null, dir = 'nocloud'): void {
  const seedDir = join(root, 'var/lib/cloud/seed', dir);
  mkdirSync(seedDir, { recursive: true });
  writeFileSync(join(seedDir, 'meta-data'), metaData);
  if (userData !== null) writeFileSync(join(seedDir, 'user-data'), userData);
}

export function agent(root: string, args: string[], env: Record<string, string> = {}): SpawnSyncReturns<string> {
  // env -i: the executable must not need anything from the caller's environment.
  return spawnSync('env', ['-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), WITH_ROOT, root, AGENT, '--root', root, ...args], {
    encoding: 'utf8',
    // stdin from /dev/null: a socket there makes bash read ~/.bashrc (its rsh heuristic).
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
  });
}

/** agent() without blocking the event loop: for tests that serve the agent from this process (the IMDS simulator). */
export function agentAsync(root: string, args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('env', ['-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), WITH_ROOT, root, AGENT, '--root', root, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (status) => { clearTimeout(timer); resolve({ status, stdout, stderr }); });
  });
}

/** Every error and warning `status` lists for the last boot of `root` (cloud-init 25's status --format json). */
export function statusProblems(root: string): string[] {
  const r = agent(root, ['status', '--format', 'json']);
  const s = JSON.parse(r.stdout) as { errors: string[]; recoverable_errors: Record<string, string[]> };
  return [...s.errors, ...Object.values(s.recoverable_errors).flat()];
}

/** The problems (errors and warnings) a module reported in the last boot of `root` (result.json, written at the end of final). */
export function moduleProblems(root: string, module: string): string[] {
  const result = JSON.parse(read(root, 'var/lib/cloud/data/result.json')) as { v1: { errors: string[]; recoverable_errors: string[] } };
  return [...result.v1.errors, ...result.v1.recoverable_errors].filter((e) => e.startsWith(`module ${module}`));
}

/** agent() with the executable started by the name cloud-init (as the .deb links it): cloud-init's command line. */
export function asCloudInit(root: string, args: string[]): SpawnSyncReturns<string> {
  const dir = removeLater(mkdtempSync(join(tmpdir(), 'ec2-init-as-cloud-init-')));
  symlinkSync(AGENT, join(dir, 'cloud-init'));
  return spawnSync('env', ['-i', WITH_ROOT, root, join(dir, 'cloud-init'), '--root', root, ...args], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000,
  });
}
