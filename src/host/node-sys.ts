// The Sys interface (sys-api.ts) over Node's built-ins: for the unit tests,
// which run the TypeScript under Node, and for the Node build while it is
// still the reference. Node has no *at calls: a descriptor's directory is
// reached through /proc/self/fd/N, which the kernel resolves to that very
// directory (not to a path that could have been swapped since), so
// openat(dirfd, name) here means what it means in C.
import { spawn as nodeSpawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes as nodeRandomBytes } from 'node:crypto';
import { lookup } from 'node:dns';
import * as fs from 'node:fs';
import net from 'node:net';
import { hostname } from 'node:os';
import tls from 'node:tls';
import { gunzipSync, gzipSync } from 'node:zlib';
import { isUtf8 as nodeIsUtf8 } from 'node:buffer';
import {
  O_CLOEXEC, type ConnectOptions, type SpawnOptions, type SpawnResult, type Socket, type Stat, type Sys, type SysError,
} from './sys-api.ts';

const AT_FDCWD = -100;

function sysError(code: string, syscall: string, message: string): SysError {
  const e = new Error(`${syscall}: ${message} (${code})`) as SysError;
  e.code = code;
  e.syscall = syscall;
  return e;
}

/** Node's errors already carry .code; give them our syscall name and keep the message short. */
function wrap<T>(syscall: string, fn: () => T): T {
  try { return fn(); } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    throw sysError(code, syscall, (e as Error).message.replace(/^[A-Z]+: /, ''));
  }
}

// Without /proc (a chroot that did not mount it) a descriptor's directory is
// reached by the path it was opened by: the same walk, without the guarantee
// against a directory renamed between two steps. The shipped C host needs neither.
const haveProc = fs.existsSync('/proc/self/fd');
const openedAs = new Map<number, string>();

/** The path the kernel resolves to (dirfd, path), as openat would. */
function at(dirfd: number, path: string): string {
  if (dirfd === AT_FDCWD || path.startsWith('/')) return path;
  const dir = haveProc ? `/proc/self/fd/${dirfd}` : openedAs.get(dirfd) ?? `/proc/self/fd/${dirfd}`;
  return path === '' ? dir : `${dir}/${path}`;
}

function openat(dirfd: number, path: string, flags: number, mode: number): number {
  const where = at(dirfd, path);
  const fd = fs.openSync(where, flags | O_CLOEXEC, mode);
  if (!haveProc) openedAs.set(fd, dirfd === AT_FDCWD || path.startsWith('/') ? path : `${openedAs.get(dirfd) ?? ''}/${path}`);
  return fd;
}

function toStat(s: fs.Stats): Stat {
  const kind = s.isFile() ? 'file' : s.isDirectory() ? 'dir' : s.isSymbolicLink() ? 'link' : s.isBlockDevice() ? 'block'
    : s.isCharacterDevice() ? 'char' : s.isFIFO() ? 'fifo' : 'socket';
  return {
    kind, perm: s.mode & 0o7777, uid: s.uid, gid: s.gid, size: s.size, nlink: s.nlink,
    dev: s.dev, ino: s.ino, rdev: s.rdev, mtimeMs: s.mtimeMs,
  };
}

function bytes(b: Buffer): Uint8Array { return new Uint8Array(b.buffer, b.byteOffset, b.byteLength); }

// flock(2) is not in Node. A lock belongs to the open file description, so a
// child that locks a descriptor it inherited leaves the lock held by us (until
// we close it): util-linux's flock(1) does that for us.
function flock(fd: number, exclusive: boolean, wait: boolean): boolean {
  const args = [exclusive ? '--exclusive' : '--shared', ...(wait ? [] : ['--nonblock']), '--conflict-exit-code', '75', '3'];
  const r = spawnSync('flock', args, { stdio: ['ignore', 'ignore', 'pipe', fd] });
  if (r.status === 0) return true;
  if (r.status === 75) return false;
  throw sysError('EIO', 'flock', r.error ? r.error.message : `flock(1) failed: ${r.stderr?.toString().trim()}`);
}

function spawn(opts: SpawnOptions): Promise<SpawnResult> {
  const [file, args] = opts.chroot ? ['/usr/sbin/chroot', [opts.chroot, ...opts.argv]] : [opts.argv[0]!, opts.argv.slice(1)];
  const maxCapture = opts.maxCapture ?? 1 << 20;
  const lingerMs = opts.lingerMs ?? 10_000;
  return new Promise((resolve) => {
    const capture = opts.output === 'capture';
    const child = nodeSpawn(file, args, {
      env: opts.env,
      cwd: opts.chroot ? '/' : (opts.cwd ?? '/'),
      // detached: its own process group (and session), so a timeout kills what it started too.
      detached: true,
      stdio: [opts.stdin === undefined ? 'ignore' : 'pipe', 'pipe', capture ? 'pipe' : 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outSize = 0;
    let errSize = 0;
    const sink = (which: 'out' | 'err') => (b: Buffer) => {
      if (!capture) {
        let off = 0;
        try { while (off < b.length) off += fs.writeSync(opts.output as number, b, off, b.length - off); } catch { /* the log is gone: drop output */ }
        return;
      }
      if (which === 'out') { if (outSize < maxCapture) out.push(b.subarray(0, maxCapture - outSize)); outSize += b.length; }
      else { if (errSize < maxCapture) err.push(b.subarray(0, maxCapture - errSize)); errSize += b.length; }
    };
    child.stdout!.on('data', sink('out'));
    child.stderr!.on('data', sink(capture ? 'err' : 'out'));
    if (opts.stdin !== undefined) {
      child.stdin!.on('error', () => { /* the program may exit without reading */ });
      child.stdin!.end(opts.stdin);
    }
    let timedOut = false;
    let exited: { code: number | null; signal: string | null } | null = null;
    let spawnError: string | null = null;
    let streamsOpen = 2;
    const killGroup = () => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } };
    const timer = opts.timeoutMs === undefined ? null : setTimeout(() => { timedOut = true; killGroup(); }, opts.timeoutMs);
    const unstop = opts.stop?.onCancel(() => { if (!exited) killGroup(); });
    let linger: NodeJS.Timeout | null = null;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      unstop?.();
      if (timer) clearTimeout(timer);
      if (linger) clearTimeout(linger);
      child.stdout!.destroy();
      child.stderr!.destroy();
      resolve({
        code: spawnError ? 127 : exited?.code ?? null,
        signal: spawnError ? null : exited?.signal ?? null,
        timedOut,
        stdout: bytes(Buffer.concat(out)),
        stderr: bytes(Buffer.concat(err)),
        spawnError,
      });
    };
    const streamClosed = () => { if (--streamsOpen === 0 && exited) finish(); };
    child.stdout!.on('close', streamClosed);
    child.stderr!.on('close', streamClosed);
    child.on('error', (e) => { spawnError = `${file}: ${e.message}`; exited = { code: 127, signal: null }; finish(); });
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      if (streamsOpen === 0) finish();
      // A program that left something behind holding its output (a daemon) does not hold us forever.
      else linger = setTimeout(finish, lingerMs);
    });
  });
}

function spawnDetached(argv: string[], env: Record<string, string>): number {
  const child = nodeSpawn(argv[0]!, argv.slice(1), { env, cwd: '/', detached: true, stdio: 'ignore' });
  child.unref();
  return child.pid ?? -1;
}

function kill(pid: number, signal: string | 0): boolean {
  try { process.kill(pid, signal as NodeJS.Signals | 0); return true; } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
    if ((e as NodeJS.ErrnoException).code === 'EPERM') return true; // it exists, just not ours
    throw e;
  }
}

function resolve(name: string, timeoutMs: number): Promise<string[]> {
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(sysError('ETIMEDOUT', 'getaddrinfo', `${name}: no answer within ${timeoutMs} ms`)), timeoutMs);
    lookup(name, { all: true }, (e, addresses) => {
      clearTimeout(timer);
      if (e) fail(sysError('ENOTFOUND', 'getaddrinfo', `${name}: ${e.code ?? e.message}`));
      else ok(addresses.map((a) => a.address));
    });
  });
}

function connect(opts: ConnectOptions): Promise<Socket> {
  return new Promise((ok, fail) => {
    const sock: net.Socket = opts.tls
      ? tls.connect({
        host: opts.address, port: opts.port, servername: net.isIP(opts.tls.servername) ? undefined : opts.tls.servername,
        ca: Buffer.from(opts.tls.ca).toString('latin1'), minVersion: 'TLSv1.2',
        checkServerIdentity: (_host, cert) => tls.checkServerIdentity(opts.tls!.servername, cert),
      })
      : net.connect({ host: opts.address, port: opts.port, ...(opts.localPort ? { localPort: opts.localPort } : {}) });
    const timer = setTimeout(() => { sock.destroy(); fail(sysError('ETIMEDOUT', 'connect', `no connection within ${opts.timeoutMs} ms`)); }, opts.timeoutMs);
    const onError = (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const certCode = (e as { code?: string }).code;
      const isCert = opts.tls && (certCode?.startsWith('ERR_TLS_CERT') || /CERT|SELF_SIGNED|UNABLE_TO|HOSTNAME|VERIFY/.test(certCode ?? ''));
      fail(sysError(isCert ? 'ECERT' : (e.code ?? 'EIO'), 'connect', e.message));
    };
    sock.once('error', onError);
    sock.once(opts.tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      sock.off('error', onError);
      ok(wrapSocket(sock, opts.localPort !== undefined));
    });
  });
}

function connectUnix(path: string, timeoutMs: number): Promise<Socket> {
  return new Promise((ok, fail) => {
    if (Buffer.byteLength(path) > 107) return fail(sysError('ENAMETOOLONG', 'connect', `${path}: longer than a unix socket address`));
    const sock = net.connect({ path });
    const timer = setTimeout(() => { sock.destroy(); fail(sysError('ETIMEDOUT', 'connect', `no connection within ${timeoutMs} ms`)); }, timeoutMs);
    const onError = (e: NodeJS.ErrnoException) => { clearTimeout(timer); fail(sysError(e.code ?? 'EIO', 'connect', e.message)); };
    sock.once('error', onError);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.off('error', onError);
      ok(wrapSocket(sock));
    });
  });
}

/** A pull-style socket (read what you ask for, when you ask) over Node's push-style one. */
function wrapSocket(sock: net.Socket, reset = false): Socket {
  const chunks: Buffer[] = [];
  let ended = false;
  let failure: SysError | null = null;
  let waiter: (() => void) | null = null;
  const wake = () => { const w = waiter; waiter = null; w?.(); };
  sock.on('data', (b: Buffer) => { chunks.push(b); sock.pause(); wake(); });
  sock.on('end', () => { ended = true; wake(); });
  sock.on('error', (e: NodeJS.ErrnoException) => { failure = sysError(e.code ?? 'EIO', 'read', e.message); wake(); });
  sock.on('close', () => { ended = true; wake(); });
  sock.pause();
  return {
    write(data, timeoutMs) {
      return new Promise((ok, fail) => {
        if (failure) return fail(failure);
        const timer = setTimeout(() => fail(sysError('ETIMEDOUT', 'write', `not written within ${timeoutMs} ms`)), timeoutMs);
        sock.write(data, (e) => { clearTimeout(timer); if (e) fail(sysError((e as NodeJS.ErrnoException).code ?? 'EIO', 'write', e.message)); else ok(); });
      });
    },
    read(max, timeoutMs) {
      return new Promise((ok, fail) => {
        const attempt = () => {
          if (chunks.length > 0) {
            const first = chunks[0]!;
            if (first.length <= max) chunks.shift(); else chunks[0] = first.subarray(max);
            if (chunks.length === 0 && !ended) sock.resume();
            return ok(bytes(first.subarray(0, max)));
          }
          if (failure) return fail(failure);
          if (ended) return ok(null);
          sock.resume();
          const timer = setTimeout(() => { waiter = null; fail(sysError('ETIMEDOUT', 'read', `nothing within ${timeoutMs} ms`)); }, timeoutMs);
          waiter = () => { clearTimeout(timer); attempt(); };
        };
        attempt();
      });
    },
    close() {
      failure ??= sysError('ECANCELED', 'read', 'closed');
      ended = true;
      if (reset) sock.resetAndDestroy(); else sock.destroy();
      wake();
    },
  };
}

function gunzip(data: Uint8Array, maxBytes: number): Uint8Array {
  try { return bytes(gunzipSync(data, { maxOutputLength: Math.max(1, maxBytes) })); } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) throw sysError('E2BIG', 'gunzip', `more than ${maxBytes} bytes`);
    throw sysError('EINVAL', 'gunzip', (e as Error).message);
  }
}

export const sys: Sys = {
  AT_FDCWD,
  openat: (dirfd, path, flags, mode) => wrap('openat', () => openat(dirfd, path, flags, mode)),
  close: (fd) => wrap('close', () => { openedAs.delete(fd); fs.closeSync(fd); }),
  read: (fd, buf, offset, length, position) => wrap('read', () => fs.readSync(fd, buf, offset, length, position >= 0 ? position : null)),
  write: (fd, buf, offset, length) => wrap('write', () => fs.writeSync(fd, buf, offset, length)),
  fsync: (fd) => wrap('fsync', () => fs.fsyncSync(fd)),
  // Node has no syncfs: coreutils' `sync -f` makes the same call on the filesystem holding this descriptor.
  syncfs: (fd) => wrap('syncfs', () => {
    const r = spawnSync('sync', ['-f', `/proc/${process.pid}/fd/${fd}`], { stdio: 'ignore' });
    if (r.status !== 0) throw sysError('EIO', 'syncfs', `sync -f exited ${r.status ?? r.signal}`);
  }),
  fstat: (fd) => wrap('fstat', () => toStat(fs.fstatSync(fd))),
  fstatat: (dirfd, path, nofollow) => wrap('fstatat', () => toStat((nofollow ? fs.lstatSync : fs.statSync)(at(dirfd, path)))),
  fchmod: (fd, mode) => wrap('fchmod', () => fs.fchmodSync(fd, mode)),
  fchown: (fd, uid, gid) => wrap('fchown', () => fs.fchownSync(fd, uid, gid)),
  mkdirat: (dirfd, path, mode) => wrap('mkdirat', () => fs.mkdirSync(at(dirfd, path), { mode })),
  unlinkat: (dirfd, path, dir) => wrap('unlinkat', () => (dir ? fs.rmdirSync : fs.unlinkSync)(at(dirfd, path))),
  renameat: (olddirfd, oldpath, newdirfd, newpath) => wrap('renameat', () => fs.renameSync(at(olddirfd, oldpath), at(newdirfd, newpath))),
  symlinkat: (target, dirfd, path) => wrap('symlinkat', () => fs.symlinkSync(target, at(dirfd, path))),
  readlinkat: (dirfd, path) => wrap('readlinkat', () => fs.readlinkSync(at(dirfd, path), 'utf8')),
  readdir: (fd) => wrap('readdir', () => fs.readdirSync(at(fd, ''))),
  flock,
  fstatfs: (fd) => wrap('fstatfs', () => {
    const s = fs.statfsSync(at(fd, ''));
    return { type: s.type, bsize: s.bsize, blocks: s.blocks, bfree: s.bfree };
  }),

  spawn,
  spawnDetached,
  kill,
  pid: process.pid,
  getuid: () => process.getuid?.() ?? 0,
  hostname: () => hostname(),

  resolve,
  connect,
  connectUnix,

  now: () => performance.now(),
  cpuMs: () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; },
  setTimer: (ms, fn) => setTimeout(fn, ms) as unknown as number,
  cancelTimer: (handle) => clearTimeout(handle as unknown as NodeJS.Timeout),

  gunzip,
  gzip: (data) => bytes(gzipSync(data)),
  randomBytes: (n) => bytes(nodeRandomBytes(n)),
  sha256: (data) => bytes(createHash('sha256').update(data).digest()),
  sha512: (data) => bytes(createHash('sha512').update(data).digest()),
  utf8Encode: (text) => bytes(Buffer.from(text, 'utf8')),
  utf8Decode: (b, fatal) => {
    if (fatal && !nodeIsUtf8(b)) throw sysError('EILSEQ', 'utf8Decode', 'not UTF-8');
    return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
  },
  isUtf8: (b) => nodeIsUtf8(b),
  latin1Encode: (text) => bytes(Buffer.from(text, 'latin1')),
  latin1Decode: (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1'),
  base64Encode: (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64'),
  base64Decode: (text) => {
    const clean = text.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) throw sysError('EINVAL', 'base64Decode', 'not base64');
    return bytes(Buffer.from(clean, 'base64'));
  },

  argv0: process.argv0,
  argv: process.argv.slice(2),
  cwd: () => process.cwd(),
  getenv: (name) => process.env[name],
  writeStdout: (data) => { writeAll(1, data); },
  writeStderr: (data) => { writeAll(2, data); },
  exit: (code) => process.exit(code),
};

function writeAll(fd: number, data: Uint8Array | string): void {
  const b = typeof data === 'string' ? Buffer.from(data) : data;
  let off = 0;
  while (off < b.length) {
    try { off += fs.writeSync(fd, b, off, b.length - off); } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue; // a non-blocking pipe: try again
      return;
    }
  }
}
