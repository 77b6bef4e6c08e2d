// Integration: the C host of the QuickJS executable (src/host/native/, through
// src/host/qjs-sys.ts), doing what a user relies on: a timeout kills what a
// script started, a script's background writer is waited for (and a daemon is
// not), a planted link is refused, a gzip bomb stops at the limit, TLS refuses
// a wrong name, text survives the codecs as Node would decode it.
// Each case is a small TypeScript program bundled with qjs-sys.ts and run by
// dist/ec2-init-harness: the same C sources and event loop as the shipped
// dist/ec2-init, running a module given on its command line (build/build.ts
// builds both; the harness is not shipped). Last, the build itself: two
// builds at different paths give the same bytes.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { build } from 'esbuild';
import { TOP } from '../helpers/paths.ts';
import { needCommands, unavailable } from '../helpers/needs.ts';

const HARNESS = process.env['EC2_INIT_QJS_HARNESS'] ?? join(TOP, 'dist', 'ec2-init-harness');
const skip = existsSync(HARNESS) ? false : unavailable(`${HARNESS} is missing: run npm run build`);

let work = '';
before(() => { work = mkdtempSync(join(tmpdir(), 'ec2-init-qjs-host-')); });
after(() => { if (work) rmSync(work, { recursive: true, force: true }); });

let n = 0;
/** Run `body` (TypeScript with `sys` in scope; it ends by calling `out(value)`) in the harness; returns that value. */
async function inQjs<T>(body: string, env: Record<string, string> = {}): Promise<T> {
  const file = join(work, `case-${++n}.js`);
  await build({
    stdin: {
      contents: `import { sys } from '../src/host/qjs-sys.ts';\n` +
        `const out = (v: unknown) => { sys.writeStdout(JSON.stringify(v) + '\\n'); sys.exit(0); };\n` +
        `(async () => {\n${body}\n})().catch((e) => { sys.writeStderr(String(e) + ' ' + (e.code ?? '') + '\\n'); sys.exit(3); });\n`,
      resolveDir: join(TOP, 'test'), loader: 'ts', sourcefile: 'case.ts',
    },
    bundle: true, format: 'esm', platform: 'neutral', outfile: file, external: ['ec2-init:host'], logLevel: 'error',
  });
  const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(HARNESS, [file], { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (status) => { clearTimeout(timer); resolve({ status, stdout, stderr }); });
  });
  assert.equal(r.status, 0, `harness: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

describe('the QuickJS C host (src/host/native)', { skip }, () => {
  test('spawn: a timeout SIGKILLs the whole process group, a background child included', async () => {
    const pidFile = join(work, 'bg.pid');
    const r = await inQjs<{ timedOut: boolean; signal: string; ms: number; pid: number }>(`
      const t0 = sys.now();
      const r = await sys.spawn({ argv: ['sh', '-c', 'sleep 30 & echo $! > ${pidFile}; sleep 30'], env: { PATH: '/usr/bin:/bin' }, output: 'capture', timeoutMs: 300 });
      const ms = sys.now() - t0;
      const pid = Number(sys.utf8Decode(readFile('${pidFile}')));
      out({ timedOut: r.timedOut, signal: r.signal, ms, pid });
      function readFile(p: string) { const fd = sys.openat(sys.AT_FDCWD, p, 0, 0); const b = new Uint8Array(64); const k = sys.read(fd, b, 0, 64, -1); sys.close(fd); return b.subarray(0, k); }
    `);
    assert.equal(r.timedOut, true);
    assert.equal(r.signal, 'SIGKILL');
    assert.ok(r.ms < 5000, `returned after ${r.ms} ms`);
    // Killed with its group: gone, or a zombie until whoever inherited it reaps it.
    const alive = () => { try { return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${r.pid}/stat`, 'utf8')); } catch { return false; } };
    for (let i = 0; i < 40 && alive(); i++) await new Promise((ok) => setTimeout(ok, 50));
    assert.equal(alive(), false, 'the backgrounded sleep was killed with its group');
  });

  test('spawn: a stop that fires SIGKILLs the process group at once, and is not a timeout', async () => {
    const r = await inQjs<{ timedOut: boolean; signal: string; ms: number }>(`
      let fire = () => {};
      const stop = { onCancel(fn: () => void) { fire = fn; return () => { fire = () => {}; }; } };
      const t0 = sys.now();
      const running = sys.spawn({ argv: ['sleep', '30'], env: { PATH: '/usr/bin:/bin' }, output: 'capture', stop });
      sys.setTimer(200, () => fire());
      const r = await running;
      out({ timedOut: r.timedOut, signal: r.signal, ms: sys.now() - t0 });
    `);
    assert.deepEqual([r.timedOut, r.signal], [false, 'SIGKILL']);
    assert.ok(r.ms < 5000, `returned after ${r.ms} ms`);
  });

  test('spawn: waits for a script\'s background writer (| tee) to finish, but a daemon only for lingerMs', async () => {
    const r = await inQjs<{ out: string; code: number; daemonMs: number; daemonCode: number }>(`
      const a = await sys.spawn({ argv: ['sh', '-c', '(sleep 0.4; echo tail) & echo head'], env: { PATH: '/usr/bin:/bin' }, output: 'capture' });
      const t0 = sys.now();
      const d = await sys.spawn({ argv: ['sh', '-c', 'sleep 30 &'], env: { PATH: '/usr/bin:/bin' }, output: 'capture', lingerMs: 300 });
      out({ out: sys.utf8Decode(a.stdout), code: a.code, daemonMs: sys.now() - t0, daemonCode: d.code });
    `);
    assert.equal(r.out, 'head\ntail\n', 'the background writer finished before spawn returned');
    assert.equal(r.code, 0);
    assert.equal(r.daemonCode, 0);
    assert.ok(r.daemonMs >= 250 && r.daemonMs < 5000, `a daemon holding the pipe kept us ${r.daemonMs} ms`);
  });

  test('spawn: a bash script\'s `| tee` output is complete when spawn returns', async () => {
    const r = await inQjs<{ out: string; ms: number }>(`
      const t0 = sys.now();
      const a = await sys.spawn({ argv: ['bash', '-c', 'exec > >(sleep 0.3; cat); echo one; echo two'], env: { PATH: '/usr/bin:/bin' }, output: 'capture' });
      out({ out: sys.utf8Decode(a.stdout), ms: sys.now() - t0 });
    `);
    assert.equal(r.out, 'one\ntwo\n');
    assert.ok(r.ms >= 250, `${r.ms} ms`);
  });

  test('spawn: stdin, separate capture, output to a descriptor, exit codes, a program that is missing', async () => {
    const log = join(work, 'spawn.log');
    const r = await inQjs<{ echoed: number; same: boolean; err: string; code: number; logged: string; missing: [number | null, string | null]; sig: string | null }>(`
      const big = new Uint8Array(3 << 20); for (let i = 0; i < big.length; i++) big[i] = i * 7 & 255;
      const c = await sys.spawn({ argv: ['cat'], env: {}, stdin: big, output: 'capture', maxCapture: 4 << 20 });
      let same = c.stdout.length === big.length; for (let i = 0; same && i < big.length; i++) same = c.stdout[i] === big[i];
      const e = await sys.spawn({ argv: ['sh', '-c', 'echo oops >&2; exit 7'], env: { PATH: '/usr/bin:/bin' }, output: 'capture' });
      const fd = sys.openat(sys.AT_FDCWD, '${log}', 0o1 | 0o100 | 0o1000, 0o600);
      await sys.spawn({ argv: ['sh', '-c', 'echo to-out; echo to-err >&2'], env: { PATH: '/usr/bin:/bin' }, output: fd });
      sys.close(fd);
      const rd = sys.openat(sys.AT_FDCWD, '${log}', 0, 0); const b = new Uint8Array(100); const k = sys.read(rd, b, 0, 100, 0); sys.close(rd);
      const m = await sys.spawn({ argv: ['no-such-program-here'], env: { PATH: '/usr/bin:/bin' }, output: 'capture' });
      const s = await sys.spawn({ argv: ['sh', '-c', 'kill -TERM $$'], env: { PATH: '/usr/bin:/bin' }, output: 'capture' });
      out({ echoed: c.stdout.length, same, err: sys.utf8Decode(e.stderr), code: e.code, logged: sys.utf8Decode(b.subarray(0, k)), missing: [m.code, m.spawnError], sig: s.signal });
    `);
    assert.equal(r.echoed, 3 << 20);
    assert.ok(r.same);
    assert.equal(r.err, 'oops\n');
    assert.equal(r.code, 7);
    assert.equal(r.logged, 'to-out\nto-err\n');
    assert.equal(r.missing[0], 127);
    assert.match(r.missing[1] ?? '', /^execvp: No such file or directory/);
    assert.equal(r.sig, 'SIGTERM');
  });

  test('spawn fails closed: a chroot that cannot be converted whole (out of memory, a NUL byte, not a string) runs nothing', async () => {
    // Each program below would create `ran` if it ran on this machine's /; inside the jail (no shell there) it cannot run at all.
    const ran = join(work, 'ran-unconfined');
    const jail = join(work, 'jail');
    mkdirSync(jail);
    const r = await inQjs<{ nul: string | null; notString: string | null; cwdNul: string | null; argNul: string | null; oom: string | null }>(`
      // @ts-expect-error: the C module exists only inside the QuickJS executable.
      const host = await import('ec2-init:host');
      const argv = ['/bin/sh', '-c', 'echo ran >> ${ran}'];
      const env = { PATH: '/usr/bin:/bin' };
      const nul = await sys.spawn({ argv, env, chroot: '/\\u0000${jail}', output: 'capture' });
      let notString: string | null = null;
      try { host.spawn(argv, ['PATH=/usr/bin:/bin'], { toString: () => '${jail}' }, null, false, true); } catch (e) { notString = String(e); }
      const cwdNul = await sys.spawn({ argv, env, chroot: '${jail}', cwd: '/\\u0000/tmp', output: 'capture' });
      const argNul = await sys.spawn({ argv: ['/bin/sh', '-c', 'echo ran >> ${ran}\\u0000 and the rest'], env, output: 'capture' });
      // Out of memory while converting: a path of 96 Mi non-ASCII latin-1 characters needs 192 MiB as UTF-8,
      // more than is left once the address space is capped 64 MiB above what the process has now.
      const big = 'é'.repeat(96 << 20) + '${jail}';
      const fd = sys.openat(sys.AT_FDCWD, '/proc/self/status', 0, 0); const b = new Uint8Array(8192); const k = sys.read(fd, b, 0, b.length, -1); sys.close(fd);
      const vmKiB = Number(/VmSize:\\s+(\\d+)/.exec(sys.utf8Decode(b.subarray(0, k)))![1]);
      const capped = await sys.spawn({ argv: ['prlimit', '--pid', String(sys.pid), '--as=' + (vmKiB + (64 << 10)) * 1024], env, output: 'capture' });
      if (capped.code !== 0) throw new Error('prlimit: ' + sys.utf8Decode(capped.stderr));
      const oom = await sys.spawn({ argv, env, chroot: big, output: 'capture' });
      out({ nul: nul.spawnError, notString, cwdNul: cwdNul.spawnError, argNul: argNul.spawnError, oom: oom.spawnError });
    `);
    assert.equal(existsSync(ran), false, `a program ran outside its chroot: ${existsSync(ran) ? readFileSync(ran, 'utf8') : ''}`);
    assert.match(r.nul ?? '', /spawn chroot: a NUL byte/);
    assert.match(r.notString ?? '', /spawn chroot: not a string/);
    assert.match(r.cwdNul ?? '', /spawn cwd: a NUL byte/);
    assert.match(r.argNul ?? '', /argument: a NUL byte/);
    assert.match(r.oom ?? '', /out of memory/i);
  });

  test('integers are taken exactly: a descriptor that would wrap to AT_FDCWD, a NaN, pid 0 or -1 are refused', async () => {
    const dir = join(work, 'ints');
    mkdirSync(dir);
    writeFileSync(join(dir, 'inside'), 'x');
    const r = await inQjs<Record<string, string>>(`
      const code = (f: () => unknown) => { try { f(); return 'ok'; } catch (e) { return (e as Error).name + ' ' + ((e as { code?: string }).code ?? ''); } };
      const d = sys.openat(sys.AT_FDCWD, '${dir}', 0o200000, 0);
      out({
        // 2^32 - 100 wraps to AT_FDCWD (-100) in C: 'inside' would then be looked up in this process's directory.
        wrapped: code(() => sys.openat(2 ** 32 - 100, 'inside', 0, 0)),
        nan: code(() => sys.openat(NaN, 'inside', 0, 0)),
        fraction: code(() => sys.openat(d + 0.5, 'inside', 0, 0)),
        exact: code(() => sys.close(sys.openat(d, 'inside', 0, 0))),
        killGroup0: code(() => sys.kill(0, 0)),
        killAll: code(() => sys.kill(-1, 0)),
        chownNaN: code(() => sys.fchown(d, NaN, NaN)),
      });
    `);
    assert.equal(r['wrapped'], 'RangeError ');
    assert.equal(r['nan'], 'RangeError ');
    assert.equal(r['fraction'], 'RangeError ');
    assert.equal(r['exact'], 'ok');
    assert.equal(r['killGroup0'], 'Error EINVAL');
    assert.equal(r['killAll'], 'Error EINVAL');
    assert.equal(r['chownNaN'], 'RangeError ');
  });

  test('files: O_NOFOLLOW refuses a planted link, O_EXCL an existing file; *at calls stay on the descriptor', async () => {
    const dir = join(work, 'files');
    mkdirSync(dir);
    const r = await inQjs<Record<string, string | number | string[] | boolean>>(`
      const O_WRONLY = 0o1, O_CREAT = 0o100, O_EXCL = 0o200, O_DIRECTORY = 0o200000, O_NOFOLLOW = 0o400000;
      const code = (f: () => unknown) => { try { f(); return 'ok'; } catch (e) { return (e as { code: string }).code; } };
      const d = sys.openat(sys.AT_FDCWD, '${dir}', O_DIRECTORY, 0);
      sys.symlinkat('/etc/passwd', d, 'link');
      const fd = sys.openat(d, 'file', O_WRONLY | O_CREAT | O_EXCL, 0o640);
      sys.write(fd, sys.utf8Encode('hello'), 0, 5); sys.fsync(fd); sys.fchmod(fd, 0o600); sys.close(fd);
      sys.mkdirat(d, 'sub', 0o700);
      sys.renameat(d, 'file', d, 'sub/moved');
      const st = sys.fstatat(d, 'sub/moved', true);
      const lst = sys.fstatat(d, 'link', true);
      const l1 = sys.openat(d, 'lock', O_WRONLY | O_CREAT, 0o600), l2 = sys.openat(d, 'lock', O_WRONLY, 0);
      const names = sys.readdir(d).sort();
      const again = sys.readdir(d).length;
      let lockedTwice = true;
      const first = sys.flock(l1, true, false); lockedTwice = sys.flock(l2, true, false);
      out({
        nofollow: code(() => sys.openat(d, 'link', O_NOFOLLOW, 0)),
        excl: code(() => sys.openat(d, 'sub/moved', O_WRONLY | O_CREAT | O_EXCL, 0o600)),
        missing: code(() => sys.fstatat(d, 'nope', true)),
        nul: code(() => sys.openat(d, 'a\\u0000b', 0, 0)),
        rmdirFull: code(() => sys.unlinkat(d, 'sub', true)),
        size: st.size, perm: st.perm, kind: lst.kind, target: sys.readlinkat(d, 'link'), names, again, first, lockedTwice,
        fsType: sys.fstatfs(d).type > 0,
      });
    `);
    assert.equal(r['nofollow'], 'ELOOP');
    assert.equal(r['excl'], 'EEXIST');
    assert.equal(r['missing'], 'ENOENT');
    assert.equal(r['nul'], 'EINVAL');
    assert.equal(r['rmdirFull'], 'ENOTEMPTY');
    assert.equal(r['size'], 5);
    assert.equal(r['perm'], 0o600);
    assert.equal(r['kind'], 'link');
    assert.equal(r['target'], '/etc/passwd');
    assert.deepEqual(r['names'], ['link', 'lock', 'sub']);
    assert.equal(r['again'], 3, 'readdir leaves the descriptor usable');
    assert.equal(r['first'], true);
    assert.equal(r['lockedTwice'], false, 'a second open file description cannot take the lock');
    assert.equal(r['fsType'], true);
  });

  test('gunzip: a bomb stops with E2BIG at the limit; members are concatenated; corrupt data is EINVAL; gzip is deterministic', async () => {
    const zeros = gzipSync(Buffer.alloc(8 << 20));
    const two = Buffer.concat([gzipSync('one '), gzipSync('two')]);
    const r = await inQjs<Record<string, string | number | boolean>>(`
      const code = (f: () => unknown) => { try { f(); return 'ok'; } catch (e) { return (e as { code: string }).code; } };
      const bomb = sys.base64Decode('${zeros.toString('base64')}');
      const two = sys.base64Decode('${two.toString('base64')}');
      const text = new Uint8Array(100000); for (let i = 0; i < text.length; i++) text[i] = 97 + (i * 31 % 26);
      const z1 = sys.gzip(text), z2 = sys.gzip(text);
      const back = sys.gunzip(z1, 1 << 20);
      let same = back.length === text.length; for (let i = 0; same && i < text.length; i++) same = back[i] === text[i];
      const corrupt = z1.slice(); corrupt[20] ^= 0xff;
      out({
        bomb: code(() => sys.gunzip(bomb, 1 << 20)),
        exact: sys.gunzip(bomb, 8 << 20).length,
        two: sys.utf8Decode(sys.gunzip(two, 100)),
        corrupt: code(() => sys.gunzip(corrupt, 1 << 20)),
        truncated: code(() => sys.gunzip(z1.subarray(0, 30), 1 << 20)),
        deterministic: sys.base64Encode(z1) === sys.base64Encode(z2), same,
        gz: sys.base64Encode(z1),
      });
    `);
    assert.equal(r['bomb'], 'E2BIG');
    assert.equal(r['exact'], 8 << 20);
    assert.equal(r['two'], 'one two');
    assert.equal(r['corrupt'], 'EINVAL');
    assert.equal(r['truncated'], 'EINVAL');
    assert.equal(r['deterministic'], true);
    assert.equal(r['same'], true);
    const gz = Buffer.from(r['gz'] as string, 'base64');
    assert.equal(gunzipSync(gz).length, 100000, 'Node reads what the host wrote');
    assert.deepEqual([...gz.subarray(0, 10)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3], 'no name, mtime 0, OS unix');
  });

  test('codecs: UTF-8 (U+FFFD where invalid, fatal mode), latin-1, base64 and sha256 (every padding case) agree with Node', async () => {
    const samples = [
      [0x68, 0xc3, 0xa9], [0xff, 0xfe, 0x41], [0xe2, 0x82], [0xf0, 0x9f, 0x98, 0x80], [0xed, 0xa0, 0x80], [0xc0, 0xaf],
      [0xf4, 0x90, 0x80, 0x80], [0xe0, 0x80, 0x41], [0xef, 0xbb, 0xbf, 0x61], [0x00, 0x7f, 0x80], [0xf0, 0x9f, 0x98],
    ];
    const strings = ['plain', 'héllo wörld', '日本語', '😀 emoji', 'lone \ud800 high', 'lone \udc00 low', '\u0000nul', 'ÿ\u0100\u20ac'];
    const r = await inQjs<{ dec: string[]; fatal: string[]; valid: boolean[]; enc: string[]; l1: string[]; l1d: string; b64: string[]; bad64: string; sha: string; shas: string[]; ws64: string }>(`
      const samples: number[][] = ${JSON.stringify(samples)};
      const strings: string[] = ${JSON.stringify(strings)};
      const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
      const all = new Uint8Array(256); for (let i = 0; i < 256; i++) all[i] = i;
      out({
        dec: samples.map((s) => sys.utf8Decode(new Uint8Array(s))),
        fatal: samples.map((s) => { try { sys.utf8Decode(new Uint8Array(s), true); return 'ok'; } catch (e) { return (e as { code: string }).code; } }),
        valid: samples.map((s) => sys.isUtf8(new Uint8Array(s))),
        enc: strings.map((s) => hex(sys.utf8Encode(s))),
        l1: strings.map((s) => hex(sys.latin1Encode(s))),
        l1d: sys.latin1Decode(all),
        b64: [0, 1, 2, 3, 4, 5, 255].map((k) => sys.base64Encode(all.subarray(0, k))),
        bad64: (() => { try { sys.base64Decode('ab$c'); return 'ok'; } catch (e) { return (e as { code: string }).code; } })(),
        ws64: hex(sys.base64Decode(' aGVs\\nbG8 = ')),
        sha: hex(sys.sha256(sys.utf8Encode('abc'))),
        shas: [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 1 << 20].map((k) => { const b = new Uint8Array(k); for (let i = 0; i < k; i++) b[i] = i * 13 + 7 & 255; return hex(sys.sha256(b)); }),
      });
    `);
    assert.deepEqual(r.dec, samples.map((s) => Buffer.from(s).toString('utf8')));
    assert.deepEqual(r.valid, samples.map((s) => isUtf8(Buffer.from(s))));
    assert.deepEqual(r.fatal, r.valid.map((v) => (v ? 'ok' : 'EILSEQ')));
    assert.deepEqual(r.enc, strings.map((s) => Buffer.from(s, 'utf8').toString('hex')));
    assert.deepEqual(r.l1, strings.map((s) => Buffer.from(s, 'latin1').toString('hex')));
    assert.equal(r.l1d, Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString('latin1'));
    assert.deepEqual(r.b64, [0, 1, 2, 3, 4, 5, 255].map((k) => Buffer.from(Array.from({ length: k }, (_, i) => i)).toString('base64')));
    assert.equal(r.bad64, 'EINVAL');
    assert.equal(r.ws64, Buffer.from('hello').toString('hex'));
    assert.equal(r.sha, 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.deepEqual(r.shas, [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 1 << 20].map((k) =>
      createHash('sha256').update(Uint8Array.from({ length: k }, (_, i) => i * 13 + 7 & 255)).digest('hex')));
  });

  test('deep recursion (nested YAML) has the large stack; past it is a RangeError, not a crash', async () => {
    const r = await inQjs<{ deep: number; over: string }>(`
      const f = (n: number): number => (n === 0 ? 0 : 1 + f(n - 1));
      let over = 'none';
      try { f(1e8); } catch (e) { over = e instanceof RangeError ? 'RangeError' : (e as Error).name; }
      out({ deep: f(50000), over });
    `);
    assert.equal(r.deep, 50000, 'Node\'s default stack holds about 10 000 of these frames');
    assert.equal(r.over, 'RangeError');
  });

  test('engine differences handled on purpose: BigInt in radix 2/16 (patched), no Intl, Error.stack without the message', async () => {
    const big = [1n << 127n, (1n << 128n) - 1n, 1n << 63n, -(1n << 127n), 0xffffn << 112n];
    const r = await inQjs<{ hex: string[]; bin: number[]; intl: string; stack: string }>(`
      const big = [1n << 127n, (1n << 128n) - 1n, 1n << 63n, -(1n << 127n), 0xffffn << 112n];
      const e = new Error('the message');
      out({ hex: big.map((b) => b.toString(16)), bin: big.map((b) => b.toString(2).length), intl: typeof (globalThis as { Intl?: unknown }).Intl, stack: e.stack ?? '' });
    `);
    assert.deepEqual(r.hex, big.map((b) => b.toString(16)));
    assert.deepEqual(r.bin, big.map((b) => b.toString(2).length));
    assert.equal(r.intl, 'undefined', 'QuickJS has no Intl: the agent must not need it');
    assert.doesNotMatch(r.stack, /the message/, 'QuickJS\'s stack has no message line (src/log.ts describeError adds it)');
  });

  test('timers and the clock: in order, cancellable; the program ends when nothing is pending', async () => {
    const r = await inQjs<{ order: number[]; elapsed: number }>(`
      const order: number[] = [];
      const t0 = sys.now();
      await new Promise((ok) => {
        sys.setTimer(60, () => order.push(3));
        sys.setTimer(20, () => order.push(1));
        const c = sys.setTimer(40, () => order.push(99));
        sys.setTimer(40, () => order.push(2));
        sys.cancelTimer(c);
        sys.setTimer(80, () => ok(null));
      });
      out({ order, elapsed: sys.now() - t0 });
    `);
    assert.deepEqual(r.order, [1, 2, 3]);
    assert.ok(r.elapsed >= 75 && r.elapsed < 2000, `${r.elapsed}`);
  });
});

describe('the QuickJS C host: sockets and TLS', { skip: skip || (needCommands(['openssl'], 'openssl') ?? false) }, () => {
  let pki = '';
  let server: ReturnType<typeof spawn> | null = null;
  let port = 0;
  before(async () => {
    pki = join(work, 'pki');
    mkdirSync(pki);
    const ssl = (...args: string[]) => {
      const r = spawnSync('openssl', args, { cwd: pki, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    };
    ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=test CA');
    ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'other.key', '-out', 'other.pem', '-days', '2', '-subj', '/CN=other CA');
    ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=good.example');
    writeFileSync(join(pki, 'san.cnf'), 'subjectAltName=DNS:good.example,IP:127.0.0.1\n');
    ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.cnf');
    // A free port: ask the kernel through a throw-away Node server, then hand the port to s_server.
    const net = await import('node:net');
    port = await new Promise<number>((ok) => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => ok(p)); }); });
    server = spawn('openssl', ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', 'server.pem', '-key', 'server.key', '-www', '-quiet'], { cwd: pki, stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      const up = await new Promise<boolean>((ok) => { const c = net.connect(port, '127.0.0.1', () => { c.destroy(); ok(true); }); c.on('error', () => ok(false)); });
      if (up) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  after(() => { if (server?.pid) process.kill(server.pid, 'SIGTERM'); });

  const tlsCase = (servername: string, caFile: string) => inQjs<{ ok: boolean; code?: string; message?: string; head?: string }>(`
    const ca = (() => { const fd = sys.openat(sys.AT_FDCWD, '${join(work, 'pki')}/${caFile}', 0, 0); const b = new Uint8Array(65536); const k = sys.read(fd, b, 0, b.length, -1); sys.close(fd); return b.slice(0, k); })();
    try {
      const s = await sys.connect({ address: '127.0.0.1', port: ${port}, timeoutMs: 5000, tls: { servername: '${servername}', ca } });
      await s.write(sys.utf8Encode('GET / HTTP/1.0\\r\\n\\r\\n'), 5000);
      let text = '';
      for (;;) { const b = await s.read(65536, 5000); if (b === null) break; text += sys.utf8Decode(b); }
      s.close();
      out({ ok: true, head: text.split('\\r\\n')[0] });
    } catch (e) { out({ ok: false, code: (e as { code: string }).code, message: (e as Error).message }); }
  `);

  test('TLS: the right name and CA connect and talk HTTP', async () => {
    const r = await tlsCase('good.example', 'ca.pem');
    assert.equal(r.ok, true, r.message);
    assert.match(r.head ?? '', /^HTTP\/1\.0 200/);
    const ip = await tlsCase('127.0.0.1', 'ca.pem');
    assert.equal(ip.ok, true, `an IP address in the certificate: ${ip.message}`);
  });

  test('TLS: a wrong host name is refused (ECERT)', async () => {
    const r = await tlsCase('wrong.example', 'ca.pem');
    assert.equal(r.ok, false);
    assert.equal(r.code, 'ECERT', r.message);
  });

  test('TLS: a certificate from another CA is refused (ECERT)', async () => {
    const r = await tlsCase('good.example', 'other.pem');
    assert.equal(r.ok, false);
    assert.equal(r.code, 'ECERT', r.message);
  });

  test('sockets: refused, localhost resolved (from /etc/hosts: no DNS traffic), a read times out, close() cancels a pending read', async () => {
    const r = await inQjs<{ refused: string; local: string[]; cancelled: string; timeout: string }>(`
      const code = async (f: () => Promise<unknown>) => { try { await f(); return 'ok'; } catch (e) { return (e as { code: string }).code; } };
      // A port nobody listens on (1: tcpmux, never served here).
      const refused = await code(() => sys.connect({ address: '127.0.0.1', port: 1, timeoutMs: 2000 }));
      const local = await sys.resolve('localhost', 2000);
      const s = await sys.connect({ address: '127.0.0.1', port: ${port}, timeoutMs: 2000 });
      const timeout = await code(() => s.read(10, 100));
      const pending = code(() => s.read(10, 5000));
      sys.setTimer(50, () => s.close());
      const cancelled = await pending;
      out({ refused, local, cancelled, timeout });
    `);
    assert.equal(r.refused, 'ECONNREFUSED');
    assert.ok(r.local.some((a) => a === '127.0.0.1' || a === '::1'), r.local.join(' '));
    assert.equal(r.timeout, 'ETIMEDOUT');
    assert.equal(r.cancelled, 'ECANCELED');
  });
});

describe('the QuickJS C host: unix sockets', { skip: skip || (needCommands(['python3'], 'python3') ?? false) }, () => {
  test('connectUnix: talks to a listening socket (also through /proc/self/fd/N of an O_PATH descriptor); ENOENT, ECONNREFUSED, ENAMETOOLONG', async () => {
    const net = await import('node:net');
    const dir = mkdtempSync(join(work, 'unix-'));
    const live = join(dir, 'live.sock');
    const server = net.createServer((c) => c.on('data', (b) => c.end(`echo:${b.toString()}`)));
    await new Promise<void>((ok) => server.listen(live, ok));
    // A socket node nobody listens on any more: bound, then the binder is gone.
    const stale = join(dir, 'stale.sock');
    assert.equal(spawnSync('python3', ['-c', `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(stale)})`]).status, 0);
    try {
      const r = await inQjs<{ direct: string; viaFd: string; missing: string; refused: string; long: string }>(`
        const code = async (f: () => Promise<unknown>) => { try { await f(); return 'ok'; } catch (e) { return (e as { code: string }).code; } };
        const talk = async (path: string) => {
          const s = await sys.connectUnix(path, 2000);
          await s.write(sys.utf8Encode('ping'), 2000);
          let text = '';
          for (;;) { const b = await s.read(100, 2000); if (b === null) break; text += sys.utf8Decode(b); }
          s.close();
          return text;
        };
        const direct = await talk(${JSON.stringify(live)});
        const fd = sys.openat(sys.AT_FDCWD, ${JSON.stringify(live)}, 0o10000000 | 0o400000, 0);
        const viaFd = await talk('/proc/self/fd/' + fd);
        sys.close(fd);
        const missing = await code(() => sys.connectUnix(${JSON.stringify(join(dir, 'absent.sock'))}, 2000));
        const refused = await code(() => sys.connectUnix(${JSON.stringify(stale)}, 2000));
        const long = await code(() => sys.connectUnix('/' + 'x'.repeat(200), 2000));
        out({ direct, viaFd, missing, refused, long });
      `);
      assert.deepEqual(r, { direct: 'echo:ping', viaFd: 'echo:ping', missing: 'ENOENT', refused: 'ECONNREFUSED', long: 'ENAMETOOLONG' });
    } finally { await new Promise<void>((ok) => server.close(() => ok())); }
  });
});

describe('the build, end to end', { skip: (existsSync(join(TOP, 'node_modules', 'esbuild')) ? null : unavailable('no node_modules: run npm ci'))
  ?? needCommands(['dpkg-buildpackage', 'dh'], 'dpkg-dev debhelper') ?? false }, () => {
  test('is reproducible: two `npm run deb` from copies at different paths give the same executable and .deb bytes', () => {
    const sums: string[][] = [];
    const version = (JSON.parse(readFileSync(join(TOP, 'package.json'), 'utf8')) as { version: string }).version.replace('-', '~');
    for (const name of ['a', 'copy-b']) {
      const dir = join(work, 'repro', name);
      mkdirSync(dir, { recursive: true });
      // The second copy is made from the first: both build the very same sources.
      const from = name === 'a' ? TOP : join(work, 'repro', 'a');
      for (const part of ['src', 'build', 'debian', 'package.json']) cpSync(join(from, part), join(dir, part), { recursive: true });
      symlinkSync(join(TOP, 'node_modules'), join(dir, 'node_modules'));
      // What `npm run deb` runs: the build, then the package.
      for (const step of ['build.ts', 'deb.ts']) {
        const r = spawnSync(process.execPath, [join(dir, 'build', step)], { cwd: dir, encoding: 'utf8', timeout: 600_000 });
        assert.equal(r.status, 0, `${name}: ${step}: ${r.stderr}`);
      }
      const sha = (f: string) => createHash('sha256').update(readFileSync(join(dir, 'dist', f))).digest('hex');
      sums.push([sha('ec2-init'), sha(`ec2-init_${version}_amd64.deb`)]);
    }
    assert.equal(sums[0]![0], sums[1]![0], 'the executables differ');
    assert.equal(sums[0]![1], sums[1]![1], 'the .debs differ');
  });
});
