// Host keys made early: stage init-local starts ssh-keygen for the default
// key types at its very beginning, all at once, detached (stage init is a
// later process), into a staging directory; the ssh module (stage init) waits
// for what is still running and adopts the keys its config asks to generate,
// discarding the rest. So the keys (RSA alone takes seconds) are made while
// init-local waits for devices and the network comes up, not while sshd waits.
// Started only where the image has no host keys and the system config asks
// for generated keys (no ssh_keys); user-data is not known yet.
// A key counts only once its ssh-keygen exited 0 (a status file, written
// after the key, by rename): a boot cut short leaves no half key in place,
// and the staging directory is made anew on the next boot.
import type { Context } from '../context.ts';
import { now } from '../host/clock.ts';
import { signalProcess } from '../host/process.ts';
import { describeExit, spawnDetached } from '../host/run.ts';
import { sleep } from '../net/cancel.ts';
import { layout } from '../state/layout.ts';
import { moduleSem } from '../state/semaphore.ts';
import { SSHD_CONFIG } from './ssh-keys.ts';
import { commaList } from './helpers.ts';

export const STAGING = '/etc/ssh/ec2-init-hostkeys';
/** What init-local started ({types}); under /run, so a reboot forgets it. */
const MARKER = '/run/ec2-init/hostkeys-early.json';
/** The worker's pid, written by the worker's starter. */
const PID_FILE = '/run/ec2-init/hostkeys-early.pid';
/** Key types ssh-keygen can be asked for here (the ssh module's schema). */
const KNOWN_TYPES = new Set(['rsa', 'ecdsa', 'ed25519', 'dsa', 'ecdsa-sk', 'ed25519-sk']);
export const DEFAULT_TYPES = ['rsa', 'ecdsa', 'ed25519'];
/** The longest wait for keys still being made (an RSA key under emulation: ~20 s). */
const WAIT_MS = 300_000;

/** ssh_genkeytypes as the ssh module reads it (a list, a comma list, or the defaults). */
export function genKeyTypes(config: Record<string, unknown>): string[] {
  const v = config['ssh_genkeytypes'];
  if (v === undefined || v === null) return DEFAULT_TYPES;
  if (typeof v === 'string') return commaList(v);
  if (Array.isArray(v)) return v.map(String);
  throw new Error(`ssh_genkeytypes: expected a list of key types, found ${typeof v}`);
}

/** The root's host keys (what ssh_deletekeys deletes). */
export function imageHostKeys(ctx: Context): string[] {
  return ctx.files.list('/etc/ssh').filter((n) => n.startsWith('ssh_host_') && n.includes('key'));
}

/** The comment ssh-keygen gives a key made now: root@ the root's /etc/hostname (another root), or its own root@<hostname>. */
export function keyComment(ctx: Context): string | null {
  if (ctx.root !== '/') return `root@${ctx.files.readTextIfExists('/etc/hostname')?.trim().split(/\s/)[0] || 'localhost'}`;
  return null;
}

/** Why no early keys this boot, or null to start them. */
function notNow(ctx: Context, system: Record<string, unknown>): string | null {
  if (system['ssh_keys'] !== undefined) return 'the system config gives ssh_keys';
  if (!ctx.files.exists(SSHD_CONFIG) && system['ssh_genkeytypes'] === undefined) return `no ${SSHD_CONFIG}`;
  if (imageHostKeys(ctx).length) return 'the image has host keys';
  if (ctx.files.exists(`${layout.instanceLink}/sem/${moduleSem('ssh')}`)) return 'the ssh module already ran for the last instance';
  return null;
}

/**
 * Start ssh-keygen for the system config's key types, detached: a worker,
 * chrooted into the root, makes them side by side in STAGING and writes each
 * one's exit status after it. Never fails the stage: a problem only means
 * the ssh module makes the keys itself, as without this.
 */
export function startEarlyHostKeys(ctx: Context, system: Record<string, unknown>): void {
  try {
    // What an earlier, cut-short boot left is never used.
    ctx.files.remove(STAGING);
    ctx.files.remove(MARKER);
    ctx.files.remove(PID_FILE);
    const why = notNow(ctx, system);
    if (why) { ctx.log.debug(`host keys: none made early: ${why}`); return; }
    let types: string[];
    try { types = genKeyTypes(system); } catch { return; }
    // Each type becomes a command-line word of the worker: only the names ssh-keygen knows.
    types = [...new Set(types)].filter((t) => KNOWN_TYPES.has(t));
    if (!types.length) return;
    ctx.files.mkdir('/etc/ssh');
    ctx.files.mkdir(STAGING, 0o700);
    ctx.files.write(MARKER, `${JSON.stringify({ types })}\n`, { mode: 0o600 });
    const comment = keyComment(ctx) ?? '';
    // Values reach the script as its arguments, never as its text.
    const script = [
      'd=$1; c=$2; p=$3; shift 3',
      '(',
      '  for t in "$@"; do',
      '    (',
      '      k="$d/ssh_host_${t}_key"',
      '      if [ -n "$c" ]; then ssh-keygen -t "$t" -N "" -C "$c" -f "$k"; else ssh-keygen -t "$t" -N "" -f "$k"; fi >"$d/$t.out" 2>&1',
      '      echo $? >"$d/$t.status.new" && mv -f "$d/$t.status.new" "$d/$t.status"',
      '    ) &',
      '  done',
      '  wait',
      ') &',
      // The worker's pid, and its process group (this starter's session).
      'echo "$! $$" >"$p.new" && mv -f "$p.new" "$p"',
    ].join('\n');
    const argv = ['/bin/sh', '-c', script, 'ec2-init-keygen', STAGING, comment, PID_FILE, ...types];
    spawnDetached(ctx.root === '/' ? argv : ['chroot', ctx.files.hostPath('/'), ...argv],
      { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' });
    ctx.log.info(`host keys: making ${types.join(', ')} early, in the background`);
  } catch (e) {
    ctx.log.info(`host keys: none made early: ${(e as Error).message}`);
  }
}

export interface EarlyKey { type: string; priv: Uint8Array; pub: string; out: string }

/**
 * The keys init-local started, once none is still being made (waited for
 * as long as the worker lives), each made whole; null when none was started
 * this boot. The staging directory stays until discardEarlyHostKeys.
 */
export async function collectEarlyHostKeys(ctx: Context, where: string, wanted: string[]): Promise<Map<string, EarlyKey> | null> {
  const marker = ctx.files.readTextIfExists(MARKER);
  if (marker === null) {
    // A staging directory without this boot's marker is a cut-short boot's.
    ctx.files.remove(STAGING);
    return null;
  }
  let types: string[];
  // Only what will be adopted is waited for.
  try { types = (JSON.parse(marker) as { types: string[] }).types.filter((t) => KNOWN_TYPES.has(t) && wanted.includes(t)); } catch { return new Map(); }
  const started = now();
  const done = (t: string) => ctx.files.exists(`${STAGING}/${t}.status`);
  let pid: number | null = null;
  let logged = false;
  while (!types.every(done)) {
    const waited = now() - started;
    pid ??= Number.parseInt(ctx.files.readTextIfExists(PID_FILE) ?? '', 10) || null;
    // The worker's starter writes its pid at once; none after a while: it never ran.
    if (pid === null ? waited > 5_000 : !signalProcess(pid, 0)) break;
    if (waited > WAIT_MS) { ctx.log.info(`${where}: the early host keys took over ${WAIT_MS / 1000} s; making them here`); break; }
    if (!logged) { ctx.log.info(`${where}: waiting for the host keys still being made (${types.filter((t) => !done(t)).join(', ')})`); logged = true; }
    await sleep(20);
  }
  if (logged) ctx.log.info(`${where}: waited ${((now() - started) / 1000).toFixed(1)} s for the early host keys`);
  const keys = new Map<string, EarlyKey>();
  for (const type of types) {
    const status = ctx.files.readTextIfExists(`${STAGING}/${type}.status`)?.trim();
    const file = `${STAGING}/ssh_host_${type}_key`;
    const priv = ctx.files.readIfExists(file);
    const pub = ctx.files.readTextIfExists(`${file}.pub`);
    if (status !== '0' || priv === null || pub === null) continue;
    keys.set(type, { type, priv, pub, out: ctx.files.readTextIfExists(`${STAGING}/${type}.out`) ?? '' });
  }
  return keys;
}

/**
 * Put an early key in place as ssh-keygen would have made it now: its
 * comment made the current one (the hostname may have changed since), the
 * public half written before the private one (a private key never stands
 * without its public half). Returns the fingerprint line, or null when
 * the key could not be adopted (the caller makes one).
 */
export async function adoptEarlyHostKey(ctx: Context, where: string, key: EarlyKey, file: string): Promise<string | null> {
  const staged = `${STAGING}/ssh_host_${key.type}_key`;
  const comment = keyComment(ctx) ?? `root@${ctx.files.readTextIfExists('/proc/sys/kernel/hostname')?.trim() || 'localhost'}`;
  let pub = key.pub;
  let priv = key.priv;
  if (pub.trim().split(/\s+/).slice(2).join(' ') !== comment) {
    const r = await ctx.capture(['ssh-keygen', '-c', '-C', comment, '-P', '', '-f', staged], { env: { LANG: 'C' } });
    if (r.code !== 0) {
      ctx.log.info(`${where}: the early ${key.type} key's comment could not be set (${describeExit(r)}): ${r.stderr.trim()}; making it here`);
      return null;
    }
    pub = ctx.files.readText(`${staged}.pub`);
    priv = ctx.files.read(staged);
  }
  ctx.files.write(`${file}.pub`, pub, { mode: 0o644 });
  ctx.files.write(file, priv, { mode: 0o600 });
  const sha = /SHA256:\S+/.exec(key.out)?.[0] ?? '';
  return sha ? `${sha} ${comment}` : '';
}

/** Forget this boot's early keys: what was not adopted is deleted, a worker still making keys nobody takes is stopped. */
export function discardEarlyHostKeys(ctx: Context): void {
  const [pid, group] = (ctx.files.readTextIfExists(PID_FILE) ?? '').trim().split(' ').map((n) => Number.parseInt(n, 10));
  if (pid && group && group > 1 && signalProcess(pid, 0)) {
    try { signalProcess(-group, 'SIGTERM'); } catch { /* gone */ }
  }
  ctx.files.remove(STAGING);
  ctx.files.remove(MARKER);
  ctx.files.remove(PID_FILE);
}
