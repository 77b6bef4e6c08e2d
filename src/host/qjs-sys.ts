// The Sys interface (sys-api.ts) over the C host module of the QuickJS
// executable (src/host/native/, imported as 'ec2-init:host'). The C side is
// thin system calls; what is policy lives here, in the same shape as
// node-sys.ts: spawn's capture, timeout and linger, the socket's read/write
// with deadlines, the resolver's timeout. Everything asynchronous is a
// handler on a descriptor or a timer of the C event loop (main.c).
// @ts-expect-error: the C module exists only inside the QuickJS executable.
import * as native from 'ec2-init:host';
import type { ConnectOptions, SpawnOptions, SpawnResult, Socket, Stat, Sys, SysError } from './sys-api.ts';

/** What the C module exports (src/host/native/*.c). */
interface Host {
  AT_FDCWD: number;
  openat(dirfd: number, path: string, flags: number, mode: number): number;
  close(fd: number): void;
  read(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number;
  write(fd: number, buf: Uint8Array, offset: number, length: number): number;
  writeAll(fd: number, data: Uint8Array | string): void;
  fsync(fd: number): void;
  syncfs(fd: number): void;
  fstat(fd: number): Stat;
  fstatat(dirfd: number, path: string, nofollow: boolean): Stat;
  fchmod(fd: number, mode: number): void;
  fchown(fd: number, uid: number, gid: number): void;
  mkdirat(dirfd: number, path: string, mode: number): void;
  unlinkat(dirfd: number, path: string, dir: boolean): void;
  renameat(olddirfd: number, oldpath: string, newdirfd: number, newpath: string): void;
  symlinkat(target: string, dirfd: number, path: string): void;
  readlinkat(dirfd: number, path: string): string;
  readdir(fd: number): string[];
  flock(fd: number, exclusive: boolean, wait: boolean): boolean;
  fstatfs(fd: number): { type: number; bsize: number; blocks: number; bfree: number };
  argv(): string[];
  getenv(name: string): string | undefined;
  getcwd(): string;
  hostname(): string;
  getpid(): number;
  getuid(): number;

  spawn(argv: string[], env: string[], chroot: string | null, cwd: string | null, stdin: boolean, capture: boolean):
    [pid: number, pidfd: number, stdin: number, out: number, err: number] | string;
  waitpid(pid: number): [code: number | null, signal: string | null] | null;
  kill(pid: number, signal: string | 0): boolean;
  spawnDetached(argv: string[], env: string[]): number;
  readNB(fd: number, max: number): Uint8Array | null | false;
  writeNB(fd: number, data: Uint8Array, offset: number): number;

  resolveStart(name: string): number;
  /** mark undefined: none; localPort 0: let the kernel choose. */
  connectStart(address: string, port: number, mark: number | undefined, localPort: number): number;
  connectUnixStart(path: string): number;
  connectFinish(fd: number): void;
  tlsNew(fd: number, servername: string, ca: Uint8Array): number;
  tlsHandshake(h: number): 0 | 1 | 2;
  tlsRead(h: number, max: number): Uint8Array | null | 1 | 2;
  tlsWrite(h: number, data: Uint8Array, offset: number): number;
  tlsFree(h: number): void;

  setReadHandler(fd: number, fn: (() => void) | null): void;
  setWriteHandler(fd: number, fn: (() => void) | null): void;
  setTimer(ms: number, fn: () => void): number;
  cancelTimer(id: number): void;
  now(): number;
  cpuMs(): number;
  exit(code: number): never;

  gunzip(data: Uint8Array, maxBytes: number): Uint8Array;
  gzip(data: Uint8Array): Uint8Array;
  sha256(data: Uint8Array): Uint8Array;
  sha512(data: Uint8Array): Uint8Array;
  randomBytes(n: number): Uint8Array;
  isUtf8(b: Uint8Array): boolean;
  utf8Decode(b: Uint8Array, fatal: boolean): string;
  utf8Encode(s: string): Uint8Array;
  latin1Decode(b: Uint8Array): string;
  latin1Encode(s: string): Uint8Array;
  base64Encode(b: Uint8Array): string;
  base64Decode(s: string): Uint8Array;
}

const host = native as unknown as Host;

// QuickJS throws InternalError("stack overflow") where V8 throws
// RangeError("Maximum call stack size exceeded"); the agent checks for
// RangeError (src/userdata/yaml.ts: a document nested too deeply). QuickJS
// uses InternalError only for such limits (stack, memory, interrupts), so it
// is made a kind of RangeError here, once, for the whole program.
declare const InternalError: ErrorConstructor | undefined;
if (typeof InternalError === 'function' && !(InternalError.prototype instanceof RangeError)) {
  Object.setPrototypeOf(InternalError.prototype, RangeError.prototype);
}

function sysError(code: string, syscall: string, message: string): SysError {
  const e = new Error(`${syscall}: ${message} (${code})`) as SysError;
  e.code = code;
  e.syscall = syscall;
  return e;
}

function envList(env: Record<string, string>): string[] {
  return Object.entries(env).map(([k, v]) => `${k}=${v}`);
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) { out.set(p, off); off += p.length; }
  return out;
}

function writeFully(fd: number, b: Uint8Array): void {
  let off = 0;
  while (off < b.length) off += host.write(fd, b, off, b.length - off);
}

function spawn(opts: SpawnOptions): Promise<SpawnResult> {
  const maxCapture = opts.maxCapture ?? 1 << 20;
  const lingerMs = opts.lingerMs ?? 10_000;
  const capture = opts.output === 'capture';
  return new Promise((resolve) => {
    let started: ReturnType<Host['spawn']>;
    try {
      started = host.spawn(opts.argv, envList(opts.env), opts.chroot ?? null, opts.cwd ?? null, opts.stdin !== undefined, capture);
    } catch (e) {
      started = `${(e as SysError).syscall ?? 'spawn'}: ${(e as Error).message}`;
    }
    if (typeof started === 'string') {
      resolve({ code: 127, signal: null, timedOut: false, stdout: new Uint8Array(0), stderr: new Uint8Array(0), spawnError: started });
      return;
    }
    const [pid, pidfd, stdinFd, outFd, errFd] = started;
    const out: Uint8Array[] = [];
    const err: Uint8Array[] = [];
    let outSize = 0;
    let errSize = 0;
    let open = 0;
    let timedOut = false;
    let exited: [number | null, string | null] | null = null;
    let finished = false;
    let timer: number | null = null;
    let linger: number | null = null;
    let poll: number | null = null;

    let unstop = () => {};
    const finish = () => {
      if (finished) return;
      finished = true;
      unstop();
      if (timer !== null) host.cancelTimer(timer);
      if (linger !== null) host.cancelTimer(linger);
      if (poll !== null) host.cancelTimer(poll);
      for (const fd of [outFd, errFd]) {
        if (fd >= 0 && streams.has(fd)) { host.setReadHandler(fd, null); host.close(fd); streams.delete(fd); }
      }
      stopStdin();
      resolve({
        code: exited?.[0] ?? null, signal: exited?.[1] ?? null, timedOut,
        stdout: concat(out, Math.min(outSize, maxCapture)), stderr: concat(err, Math.min(errSize, maxCapture)), spawnError: null,
      });
    };

    // ---- output: drained as it comes; the end of both pipes plus the exit is the end ----
    const streams = new Set<number>();
    const drain = (fd: number, which: 'out' | 'err') => () => {
      // At most 1 MiB per wake-up: a program that writes without pause must not starve the timers (its timeout).
      for (let i = 0; i < 16; i++) {
        let b: Uint8Array | null | false;
        try { b = host.readNB(fd, 65536); } catch { b = null; }
        if (b === false) return;
        if (b === null) {
          host.setReadHandler(fd, null);
          host.close(fd);
          streams.delete(fd);
          open--;
          if (open === 0 && exited) finish();
          return;
        }
        if (!capture) {
          try { writeFully(opts.output as number, b); } catch { /* the log is gone: drop output */ }
        } else if (which === 'out') {
          if (outSize < maxCapture) out.push(b.length <= maxCapture - outSize ? b : b.subarray(0, maxCapture - outSize));
          outSize += b.length;
        } else {
          if (errSize < maxCapture) err.push(b.length <= maxCapture - errSize ? b : b.subarray(0, maxCapture - errSize));
          errSize += b.length;
        }
      }
    };
    for (const [fd, which] of [[outFd, 'out'], [errFd, 'err']] as const) {
      if (fd < 0) continue;
      streams.add(fd);
      open++;
      host.setReadHandler(fd, drain(fd, which));
    }

    // ---- stdin: written as the program takes it, then closed ----
    let stdinOff = 0;
    const stopStdin = () => {
      if (stdinFd >= 0 && stdinOpen) { stdinOpen = false; host.setWriteHandler(stdinFd, null); host.close(stdinFd); }
    };
    let stdinOpen = stdinFd >= 0;
    if (stdinOpen) {
      const data = opts.stdin!;
      const feed = () => {
        try {
          while (stdinOff < data.length) {
            const n = host.writeNB(stdinFd, data, stdinOff);
            if (n < 0) return; // full: wait for the next writable
            stdinOff += n;
          }
        } catch { /* EPIPE: the program exits without reading all */ }
        stopStdin();
      };
      if (data.length === 0) stopStdin(); else host.setWriteHandler(stdinFd, feed);
    }

    // ---- the exit ----
    const reap = () => {
      if (exited) return;
      let r: [number | null, string | null] | null;
      try { r = host.waitpid(pid); } catch { r = [null, null]; } // ECHILD: reaped elsewhere; nothing more to learn
      if (r === null) return;
      exited = r;
      if (pidfd >= 0) { host.setReadHandler(pidfd, null); host.close(pidfd); }
      if (poll !== null) { host.cancelTimer(poll); poll = null; }
      if (open === 0) finish();
      // A program that left something behind holding its output (a daemon) does not hold us forever.
      else linger = host.setTimer(lingerMs, finish);
    };
    if (pidfd >= 0) host.setReadHandler(pidfd, reap);
    else {
      // No pidfd (a kernel before 5.3): look every 10 ms.
      const tick = () => { reap(); if (!exited) poll = host.setTimer(10, tick); };
      poll = host.setTimer(10, tick);
    }
    if (opts.timeoutMs !== undefined) {
      timer = host.setTimer(opts.timeoutMs, () => {
        timer = null;
        if (exited && open === 0) return;
        timedOut = true;
        host.kill(-pid, 'SIGKILL');
      });
    }
    if (opts.stop) unstop = opts.stop.onCancel(() => { if (!exited) host.kill(-pid, 'SIGKILL'); });
  });
}

function resolveName(name: string, timeoutMs: number): Promise<string[]> {
  return new Promise((ok, fail) => {
    let fd: number;
    try { fd = host.resolveStart(name); } catch (e) { fail(sysError('ENOTFOUND', 'getaddrinfo', `${name}: ${(e as Error).message}`)); return; }
    const parts: Uint8Array[] = [];
    let size = 0;
    const done = () => { host.cancelTimer(timer); host.setReadHandler(fd, null); host.close(fd); };
    const timer = host.setTimer(timeoutMs, () => {
      host.setReadHandler(fd, null);
      host.close(fd); // the thread's late answer goes into a closed pipe
      fail(sysError('ETIMEDOUT', 'getaddrinfo', `${name}: no answer within ${timeoutMs} ms`));
    });
    host.setReadHandler(fd, () => {
      for (;;) {
        let b: Uint8Array | null | false;
        try { b = host.readNB(fd, 65536); } catch { b = null; }
        if (b === false) return;
        if (b !== null) { parts.push(b); size += b.length; continue; }
        done();
        const text = host.utf8Decode(concat(parts, size), false);
        const lines = text.split('\n').filter((l) => l !== '');
        if (lines.length === 0 || lines[0]!.startsWith('!')) {
          fail(sysError('ENOTFOUND', 'getaddrinfo', `${name}: ${lines[0]?.slice(1) ?? 'no address'}`));
        } else ok(lines);
        return;
      }
    });
  });
}

/**
 * Wait until fd is readable ('r') or writable ('w'), at most ms (then ETIMEDOUT).
 * `aborts` collects a function that ends the wait early with ECANCELED (Socket.close).
 */
function waitFd(fd: number, which: 'r' | 'w', ms: number, aborts?: Set<() => void>): Promise<void> {
  return new Promise((ok, fail) => {
    const set = which === 'r' ? host.setReadHandler : host.setWriteHandler;
    const stop = () => { set(fd, null); host.cancelTimer(timer); aborts?.delete(abort); };
    const abort = () => { stop(); fail(sysError('ECANCELED', which === 'r' ? 'read' : 'write', 'closed')); };
    const timer = host.setTimer(ms, () => { stop(); fail(sysError('ETIMEDOUT', which === 'r' ? 'read' : 'write', `nothing within ${ms} ms`)); });
    aborts?.add(abort);
    set(fd, () => { stop(); ok(); });
  });
}

function connect(opts: ConnectOptions): Promise<Socket> {
  return connected(() => host.connectStart(opts.address, opts.port, opts.mark, opts.localPort ?? 0), opts.timeoutMs, opts.tls);
}

function connectUnix(path: string, timeoutMs: number): Promise<Socket> {
  return connected(() => host.connectUnixStart(path), timeoutMs);
}

/** A socket once `start`'s connect (and the TLS handshake, when asked) is done. */
function connected(start: () => number, timeoutMs: number, tlsOpts?: ConnectOptions['tls']): Promise<Socket> {
  const end = host.now() + timeoutMs;
  const left = () => Math.max(0, end - host.now());
  const timeoutError = () => sysError('ETIMEDOUT', 'connect', `no connection within ${timeoutMs} ms`);
  return (async () => {
    const fd = start();
    let tls = -1;
    try {
      try { await waitFd(fd, 'w', left()); } catch { throw timeoutError(); }
      host.connectFinish(fd);
      if (tlsOpts) {
        tls = host.tlsNew(fd, tlsOpts.servername, tlsOpts.ca);
        for (;;) {
          const r = host.tlsHandshake(tls);
          if (r === 0) break;
          try { await waitFd(fd, r === 1 ? 'r' : 'w', left()); } catch { throw timeoutError(); }
        }
      }
    } catch (e) {
      if (tls >= 0) host.tlsFree(tls);
      host.close(fd);
      throw e;
    }
    return makeSocket(fd, tls);
  })();
}

function makeSocket(fd: number, tls: number): Socket {
  let closed = false;
  const aborts = new Set<() => void>();
  const cancelled = () => sysError('ECANCELED', 'read', 'closed');
  const wait = (which: 'r' | 'w', ms: number) => (closed ? Promise.reject(cancelled()) : waitFd(fd, which, ms, aborts));
  return {
    async write(data, timeoutMs) {
      const end = host.now() + timeoutMs;
      let off = 0;
      while (off < data.length) {
        if (closed) throw cancelled();
        const n = tls >= 0 ? host.tlsWrite(tls, data, off) : host.writeNB(fd, data, off);
        if (n >= 0) { off += n; continue; }
        const ms = end - host.now();
        if (ms <= 0) throw sysError('ETIMEDOUT', 'write', `not written within ${timeoutMs} ms`);
        try { await wait(n === -1 && tls >= 0 ? 'r' : 'w', ms); } catch (e) {
          if ((e as SysError).code === 'ETIMEDOUT') throw sysError('ETIMEDOUT', 'write', `not written within ${timeoutMs} ms`);
          throw e;
        }
      }
    },
    async read(max, timeoutMs) {
      const end = host.now() + timeoutMs;
      for (;;) {
        if (closed) throw cancelled();
        const r = tls >= 0 ? host.tlsRead(tls, max) : host.readNB(fd, max);
        if (r === null || r instanceof Uint8Array) return r;
        const ms = end - host.now();
        if (ms <= 0) throw sysError('ETIMEDOUT', 'read', `nothing within ${timeoutMs} ms`);
        await wait(r === 2 ? 'w' : 'r', ms);
      }
    },
    close() {
      if (closed) return;
      closed = true;
      host.setReadHandler(fd, null);
      host.setWriteHandler(fd, null);
      if (tls >= 0) host.tlsFree(tls);
      for (const abort of [...aborts]) abort();
      host.close(fd);
    },
  };
}

const [argv0 = 'ec2-init', ...args] = host.argv();

export const sys: Sys = {
  AT_FDCWD: host.AT_FDCWD,
  openat: host.openat,
  close: host.close,
  read: host.read,
  write: host.write,
  fsync: host.fsync,
  syncfs: host.syncfs,
  fstat: host.fstat,
  fstatat: host.fstatat,
  fchmod: host.fchmod,
  fchown: host.fchown,
  mkdirat: host.mkdirat,
  unlinkat: host.unlinkat,
  renameat: host.renameat,
  symlinkat: host.symlinkat,
  readlinkat: host.readlinkat,
  readdir: host.readdir,
  flock: host.flock,
  fstatfs: host.fstatfs,

  spawn,
  spawnDetached: (argv, env) => host.spawnDetached(argv, envList(env)),
  kill: host.kill,
  pid: host.getpid(),
  getuid: host.getuid,
  hostname: host.hostname,

  resolve: resolveName,
  connect,
  connectUnix,

  now: host.now,
  cpuMs: host.cpuMs,
  setTimer: host.setTimer,
  cancelTimer: host.cancelTimer,

  gunzip: host.gunzip,
  gzip: host.gzip,
  randomBytes: host.randomBytes,
  sha256: host.sha256,
  sha512: host.sha512,
  utf8Encode: host.utf8Encode,
  utf8Decode: (b, fatal) => host.utf8Decode(b, fatal === true),
  isUtf8: host.isUtf8,
  latin1Encode: host.latin1Encode,
  latin1Decode: host.latin1Decode,
  base64Encode: host.base64Encode,
  base64Decode: host.base64Decode,

  argv0,
  argv: args,
  cwd: host.getcwd,
  getenv: host.getenv,
  writeStdout: (data) => host.writeAll(1, data),
  writeStderr: (data) => host.writeAll(2, data),
  exit: host.exit,
};
