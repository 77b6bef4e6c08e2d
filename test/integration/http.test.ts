// The HTTP client (src/net/http.ts) against raw TCP servers on 127.0.0.1 that
// answer with hand-written bytes: what a well-formed answer gives, and that a
// malformed one (status line, chunk framing, header lines, Content-Length,
// Transfer-Encoding) is refused rather than read some other way than every
// other parser would. Last, the built executable: a seed URL whose answer is
// not a 200 is not run as user-data.
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { HttpError, request } from '../../src/net/http.ts';
import { agentAsync, cannotRun, newRoot, statusProblems } from '../helpers/agent.ts';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeIn } from '../helpers/files.ts';

/** What the server answers, by request path: raw bytes, written as they are, then the connection closes. */
const answers = new Map<string, string>();
let server: Server;
let base = '';

before(async () => {
  server = createServer((socket: Socket) => {
    let got = '';
    socket.on('data', (b) => {
      got += b.toString('latin1');
      if (!got.includes('\r\n\r\n')) return;
      const path = /^[A-Z]+ (\S+)/.exec(got)?.[1] ?? '';
      socket.end(Buffer.from(answers.get(path) ?? 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n', 'latin1'));
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => { server.close(); });

let n = 0;
/** request() of an answer; the HttpError's kind and message when it is refused. */
async function ask(raw: string): Promise<{ status: number; body: string; headers: Record<string, string> } | { refused: string }> {
  const path = `/a${++n}`;
  answers.set(path, raw);
  try {
    const r = await request(`${base}${path}`, { timeoutMs: 3000, maxBytes: 1 << 20 });
    return { status: r.status, body: Buffer.from(r.body).toString('latin1'), headers: r.headers };
  } catch (e) {
    if (!(e instanceof HttpError)) throw e;
    return { refused: `${e.kind}: ${e.message}` };
  }
}

describe('status line', () => {
  test('a status of exactly three digits, 100 to 599, with or without a reason', async () => {
    assert.deepEqual(await ask('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi'), { status: 200, body: 'hi', headers: { 'content-length': '2' } });
    assert.equal(((await ask('HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n')) as { status: number }).status, 404);
    assert.equal(((await ask('HTTP/1.0 503 Service Unavailable\r\n\r\nlater')) as { status: number }).status, 503);
  });

  for (const line of ['HTTP/1.1 2000000000000000000 OK', 'HTTP/1.1 200000 OK', 'HTTP/1.1 2000', 'HTTP/1.1 20 OK', 'HTTP/1.1 099 Nine',
    'HTTP/1.1 600 Six', 'HTTP/1.1 200OK', 'HTTP/1.1  200 OK', 'HTTP/2 200 OK', 'HTTP/1.1 +20 OK', 'HTTP/1.1 200 O\x00K']) {
    test(`${JSON.stringify(line)} is not an answer`, async () => {
      const r = await ask(`${line}\r\nContent-Length: 2\r\n\r\nhi`);
      assert.match((r as { refused?: string }).refused ?? `taken as HTTP ${(r as { status: number }).status}`, /^other: not an HTTP answer/);
    });
  }
});

describe('chunked bodies', () => {
  test('well-formed: sizes in hex (leading zeros, extensions), trailers', async () => {
    const r = await ask('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n007;ext=1\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n');
    assert.deepEqual(r, { status: 200, body: 'hello, world', headers: { 'transfer-encoding': 'chunked' } });
  });

  for (const [what, chunks] of [
    ['a chunk not followed by CRLF (a wrong size)', '3\r\nhello\r\n0\r\n\r\n'],
    ['a chunk followed by two other bytes', '5\r\nhelloXY0\r\n\r\n'],
    ['garbage after the size', '5zz\r\nhello\r\n0\r\n\r\n'],
    ['a 0x prefix', '0x5\r\nhello\r\n0\r\n\r\n'],
    ['a signed size', '+5\r\nhello\r\n0\r\n\r\n'],
    ['no size', '\r\nhello\r\n0\r\n\r\n'],
  ]) {
    test(`${what}: refused`, async () => {
      const r = await ask(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}`);
      assert.match((r as { refused?: string }).refused ?? `read as ${JSON.stringify((r as { body: string }).body)}`, /^other: (bad chunk size|a chunk is not followed by CRLF)/);
    });
  }

  test('a size past any cap (and past 2^53) is too large, never rounded into range', async () => {
    for (const size of ['ffffffffffffffffffffffff', '10000000000001', '100001']) {
      const r = await ask(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${size}\r\nhello\r\n0\r\n\r\n`);
      assert.match((r as { refused?: string }).refused ?? 'read', /^too-large/, size);
    }
  });

  test('endless trailers stop at the header cap', async () => {
    const r = await ask(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n${'X-T: 1234567890\r\n'.repeat(5000)}\r\n`);
    assert.match((r as { refused?: string }).refused ?? 'read', /^too-large: answer trailers/);
  });
});

describe('header lines, Content-Length, Transfer-Encoding', () => {
  test('Content-Length: digits only; repeated copies must agree', async () => {
    assert.deepEqual(await ask('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi'), { status: 200, body: 'hi', headers: { 'content-length': '2, 2' } });
    for (const cl of ['0x2', '2e0', '+2', '2.0', '', '2, 3', '-1', '2 2']) {
      const r = await ask(`HTTP/1.1 200 OK\r\nContent-Length: ${cl}\r\n\r\nhi`);
      assert.match((r as { refused?: string }).refused ?? `read as ${JSON.stringify((r as { body: string }).body)}`, /^other: bad Content-Length/, cl);
    }
    const two = await ask('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\nhello');
    assert.match((two as { refused?: string }).refused ?? 'read', /^other: bad Content-Length/);
  });

  test('a header line that is not `token: value` makes the answer malformed', async () => {
    for (const line of ['Content-Length : 5', 'No colon here', ': empty name', 'Bad Name: x', 'X-A: a\x00b', 'X-A: a\rContent-Length: 9']) {
      const r = await ask(`HTTP/1.1 200 OK\r\n${line}\r\nContent-Length: 2\r\n\r\nhi`);
      assert.match((r as { refused?: string }).refused ?? 'read', /^other: malformed header line/, line);
    }
  });

  test('an obsolete folded line continues the header before it, never starts one', async () => {
    const r = await ask('HTTP/1.1 200 OK\r\nX-Long: one\r\n Content-Length: 5\r\nContent-Length: 2\r\n\r\nhi');
    assert.deepEqual(r, { status: 200, body: 'hi', headers: { 'x-long': 'one Content-Length: 5', 'content-length': '2' } });
  });

  test('Transfer-Encoding: only chunked; chunked wins over a Content-Length', async () => {
    for (const te of ['gzip, chunked', 'notchunked', 'chunked, gzip', 'identity']) {
      const r = await ask(`HTTP/1.1 200 OK\r\nTransfer-Encoding: ${te}\r\n\r\n2\r\nhi\r\n0\r\n\r\n`);
      assert.match((r as { refused?: string }).refused ?? 'read', /^other: unsupported Transfer-Encoding/, te);
    }
    const both = await ask('HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n');
    assert.equal((both as { body: string }).body, 'hi');
  });

  test('a header named like an Object property is just a header', async () => {
    const r = await ask('HTTP/1.1 200 OK\r\n__proto__: x\r\nConstructor: y\r\nContent-Length: 0\r\n\r\n');
    assert.equal((r as { headers: Record<string, string> }).headers['constructor'], 'y');
    assert.equal(Object.getPrototypeOf((r as { headers: object }).headers), Object.prototype);
    assert.equal(Object.getOwnPropertyDescriptor((r as { headers: object }).headers, '__proto__')?.value, 'x');
  });
});

describe('the built executable', { skip: cannotRun() ?? false }, () => {
  test('a seed URL answering "HTTP/1.1 2000000000000000000 OK" is not a 200: its body is never run as user-data', async () => {
    answers.set('/seed/meta-data', 'HTTP/1.1 200 OK\r\nContent-Length: 24\r\n\r\ninstance-id: iid-status\n');
    answers.set('/seed/user-data', 'HTTP/1.1 2000000000000000000 OK\r\nContent-Length: 40\r\n\r\n#!/bin/sh\ntouch /from-a-bad-status-ran\n');
    const root = newRoot();
    writeIn(root, 'proc/cmdline', `ds=nocloud;s=${base}/seed/\n`);
    const r = await agentAsync(root, ['boot']);
    assert.equal(existsSync(join(root, 'from-a-bad-status-ran')), false, r.stderr);
    assert.ok(statusProblems(root).some((p) => /datasource NoCloud: .*not an HTTP answer/.test(p)), statusProblems(root).join('\n'));
  });
});
