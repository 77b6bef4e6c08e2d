// Host keys made early: ec2-init-hostkeys.service (`ec2-init
// early-host-keys`, as soon as systemd starts units: it reads the root and
// writes only under /run), or else stage
// init-local at its very beginning, starts ssh-keygen for the default key
// types, all at once, detached (stage init is a later process), into a staging directory; the ssh module (stage init) waits
// for what is still running and adopts the keys its config asks to generate,
// discarding the rest. So the keys (RSA alone takes seconds) are made while
// init-local waits for devices and the network comes up, not while sshd waits.
// Started only where the image has no host keys and the system config asks
// for generated keys (no ssh_keys); user-data is not known yet.
// A key counts only once its ssh-keygen exited 0 (a status file, written
// after the key, by rename): a boot cut short leaves no half key in place,
// and the staging directory is made anew on the next boot.
import type { Context } from '../context.ts';
import type { Action } from '../host/actions.ts';
import type { Files } from '../host/files.ts';
import type { Logger } from '../log.ts';
import type { ReadFiles } from './module.ts';
import { now } from '../host/clock.ts';
import { signalProcess } from '../host/process.ts';
import { describeExit, spawnDetached } from '../host/run.ts';
import { sleep } from '../net/cancel.ts';
import { layout } from '../state/layout.ts';
import { moduleSem } from '../state/semaphore.ts';
import { SSHD_CONFIG } from './ssh-keys.ts';
import { commaList } from './helpers.ts';

// Under /run: writable before the root is (the unit runs before systemd-remount-fs), and a key
// made there never reaches the disk until the ssh module adopts it; a reboot forgets a cut-short boot's.
export const STAGING = '/run/ec2-init/hostkeys';
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
export function imageHostKeys(files: Pick<Files, 'list'>): string[] {
  return files.list('/etc/ssh').filter((n) => n.startsWith('ssh_host_') && n.includes('key'));
}

/** The comment ssh-keygen gives a key made now: root@ the root's /etc/hostname (another root), or its own root@<hostname>. */
export function keyComment(files: Pick<Files, 'readTextIfExists'>, root: string): string | null {
  if (root !== '/') return `root@${files.readTextIfExists('/etc/hostname')?.trim().split(/\s/)[0] || 'localhost'}`;
  return null;
}

/** Why no early keys this boot, or null to start them. */
function notNow(ctx: Context, system: Record<string, unknown>): string | null {
  if (system['ssh_keys'] !== undefined) return 'the system config gives ssh_keys';
  if (!ctx.files.exists(SSHD_CONFIG) && system['ssh_genkeytypes'] === undefined) return `no ${SSHD_CONFIG}`;
  if (imageHostKeys(ctx.files).length) return 'the image has host keys';
  if (ctx.files.exists(`${layout.instanceLink}/sem/${moduleSem('ssh')}`)) return 'the ssh module already ran for the last instance';
  return null;
}

/**
 * Start ssh-keygen for the system config's key types, detached: a worker,
 * chrooted into the root, makes them side by side in STAGING and writes each
 * one's exit status after it. Never fails the stage: a problem only means
 * the ssh module makes the keys itself, as without this.
 */
export function startEarlyHostKeys(ctx: Context, system: Record<string, unknown>, by: 'own unit' | 'init-local'): void {
  try {
    // ec2-init-hostkeys.service started them this boot (the marker is under /run): init-local leaves them be.
    if (by === 'init-local' && ctx.files.exists(MARKER)) { ctx.log.debug('host keys: already being made early (ec2-init-hostkeys.service)'); return; }
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
    ctx.files.mkdir(STAGING, 0o700);
    ctx.files.write(MARKER, `${JSON.stringify({ types })}\n`, { mode: 0o600 });
    const comment = keyComment(ctx.files, ctx.root) ?? '';
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

export interface EarlyKey { type: string; priv: Uint8Array; pub: string }

/**
 * The keys init-local started, once none is still being made (waited for
 * as long as the worker lives), each made whole; null when none was started
 * this boot (a staging directory then is a cut-short boot's: the caller
 * removes it). The staging directory stays until discardEarlyHostKeys.
 */
export async function collectEarlyHostKeys(files: ReadFiles, log: Logger, where: string, wanted: string[]): Promise<Map<string, EarlyKey> | null> {
  const marker = files.readTextIfExists(MARKER);
  if (marker === null) return null;
  let types: string[];
  // Only what will be adopted is waited for.
  try { types = (JSON.parse(marker) as { types: string[] }).types.filter((t) => KNOWN_TYPES.has(t) && wanted.includes(t)); } catch { return new Map(); }
  const started = now();
  const done = (t: string) => files.exists(`${STAGING}/${t}.status`);
  let pid: number | null = null;
  let logged = false;
  while (!types.every(done)) {
    const waited = now() - started;
    pid ??= Number.parseInt(files.readTextIfExists(PID_FILE) ?? '', 10) || null;
    // The worker's starter writes its pid at once; none after a while: it never ran.
    if (pid === null ? waited > 5_000 : !signalProcess(pid, 0)) break;
    if (waited > WAIT_MS) { log.info(`${where}: the early host keys took over ${WAIT_MS / 1000} s; making them here`); break; }
    if (!logged) { log.info(`${where}: waiting for the host keys still being made (${types.filter((t) => !done(t)).join(', ')})`); logged = true; }
    await sleep(20);
  }
  if (logged) log.info(`${where}: waited ${((now() - started) / 1000).toFixed(1)} s for the early host keys`);
  const keys = new Map<string, EarlyKey>();
  for (const type of types) {
    const status = files.readTextIfExists(`${STAGING}/${type}.status`)?.trim();
    const file = `${STAGING}/ssh_host_${type}_key`;
    const priv = files.readIfExists(file);
    const pub = files.readTextIfExists(`${file}.pub`);
    if (status !== '0' || priv === null || pub === null) continue;
    keys.set(type, { type, priv, pub });
  }
  return keys;
}

/**
 * Put an early key in place as ssh-keygen would have made it now: its
 * comment made the current one (the hostname may have changed since: a run
 * of ssh-keygen -c on the staged key, whose result leads to the writes), the
 * public half written before the private one (a private key never stands
 * without its public half). `placed` follows the writes (the log line);
 * `instead` follows when the comment could not be set (the key made anew).
 */
export function adoptEarlyHostKey(files: ReadFiles, root: string, where: string, key: EarlyKey, file: string,
  placed: (pub: string) => Action[], instead: () => Action[]): Action[] {
  const staged = `${STAGING}/ssh_host_${key.type}_key`;
  const comment = keyComment(files, root) ?? `root@${files.readTextIfExists('/proc/sys/kernel/hostname')?.trim() || 'localhost'}`;
  const put = (pub: string, priv: Uint8Array): Action[] => [
    { kind: 'write', path: `${file}.pub`, content: pub, mode: 0o644, why: `the ${key.type} key made early` },
    { kind: 'write', path: file, content: priv, mode: 0o600 },
    ...placed(pub),
  ];
  if (key.pub.trim().split(/\s+/).slice(2).join(' ') === comment) return put(key.pub, key.priv);
  return [{
    // Each type's at once (RunAction.together): a program start costs a tenth of a second or more under emulation.
    kind: 'run', argv: ['ssh-keygen', '-c', '-C', comment, '-P', '', '-f', staged], env: { LANG: 'C' }, failure: 'ignore', together: true, why: `the comment of the ${key.type} key made early`,
    then: (r) => (r.code === 0
      ? put(files.readText(`${staged}.pub`), files.read(staged))
      : [{ kind: 'log', text: `${where}: the early ${key.type} key's comment could not be set (${describeExit(r)}): ${r.stderr.trim()}; making it here` }, ...instead()]),
  }];
}

/** Forget this boot's early keys: what was not adopted is deleted, a worker still making keys nobody takes is stopped. */
export function discardEarlyHostKeys(files: ReadFiles): Action[] {
  const [pid, group] = (files.readTextIfExists(PID_FILE) ?? '').trim().split(' ').map((n) => Number.parseInt(n, 10));
  const stop: Action[] = pid && group && group > 1 && signalProcess(pid, 0)
    ? [{ kind: 'run', argv: ['/bin/sh', '-c', 'kill -TERM -- "-$1"', 'sh', String(group)], failure: 'ignore', why: 'stop the early host key worker' }]
    : [];
  return [...stop, { kind: 'remove', path: STAGING, tree: true }, { kind: 'remove', path: MARKER }, { kind: 'remove', path: PID_FILE }];
}
