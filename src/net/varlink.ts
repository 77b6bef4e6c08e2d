// A varlink client (https://varlink.org: JSON messages, each ended by a NUL
// byte, over a unix stream socket), as systemd's services speak it. One call
// is one request and one reply, in order, on a connection of its own kind:
// calls are spread over at most `maxConnections` connections (a socket
// activated with Accept=yes starts one service process per connection), each
// serving one call at a time.
import type { Files } from '../host/files.ts';
import type { Socket } from '../host/sys.ts';
import { connectUnix } from '../host/sockets.ts';
import { cancelTimer, setTimer } from '../host/clock.ts';
import { utf8Decode, utf8Encode } from '../host/codecs.ts';
import { remaining } from './cancel.ts';

/** A varlink error reply: its interface-qualified name ('io.systemd.InstanceMetadata.KeyNotFound') and parameters. */
export class VarlinkError extends Error {
  readonly error: string;
  readonly parameters: Record<string, unknown>;
  constructor(error: string, parameters: Record<string, unknown>) {
    super(error);
    this.error = error;
    this.parameters = parameters;
  }
}

/** Largest reply accepted (systemd-imds caps its data at 4 MiB, base64 makes that ~5.4). */
const MAX_REPLY_BYTES = 24 * 1024 * 1024;

interface Conn { socket: Socket; chunks: Uint8Array[]; busy: boolean }

export class VarlinkClient {
  private readonly files: Files;
  private readonly path: string;
  private readonly maxConnections: number;
  private readonly conns: Conn[] = [];
  /** Callers waiting for a connection to be free: each is woken to look again. */
  private readonly waiting: Array<() => void> = [];
  private opening = 0;
  private closed = false;

  constructor(files: Files, path: string, maxConnections = 4) {
    this.files = files;
    this.path = path;
    this.maxConnections = maxConnections;
  }

  /** Call `method` with `parameters`; the reply's parameters, or a VarlinkError. Nothing may outlive `deadline` (sys.now() time). */
  async call(method: string, parameters: Record<string, unknown>, deadline: number): Promise<Record<string, unknown>> {
    const conn = await this.take(deadline);
    let ok = false;
    try {
      const request = utf8Encode(JSON.stringify({ method, parameters }));
      const framed = new Uint8Array(request.length + 1);
      framed.set(request);
      await conn.socket.write(framed, left(deadline));
      const reply = await readMessage(conn, deadline);
      ok = true;
      const params = reply['parameters'] && typeof reply['parameters'] === 'object' ? reply['parameters'] as Record<string, unknown> : {};
      if (typeof reply['error'] === 'string') throw new VarlinkError(reply['error'], params);
      return params;
    } finally {
      // A connection that failed mid-call is out of step: closed, never reused.
      conn.busy = false;
      if (!ok || this.closed) {
        conn.socket.close();
        const i = this.conns.indexOf(conn);
        if (i >= 0) this.conns.splice(i, 1);
      }
      this.waiting.shift()?.();
    }
  }

  close(): void {
    this.closed = true;
    for (const c of this.conns.splice(0)) c.socket.close();
    for (const wake of this.waiting.splice(0)) wake();
  }

  /** A connection to the socket in the root (Files.openSocket: links resolved inside the root). */
  private async connect(deadline: number): Promise<Socket> {
    const s = this.files.openSocket(this.path);
    if (s === null) throw new Error(`varlink ${this.path}: no such socket`);
    try { return await connectUnix(s.address, Math.max(1, left(deadline))); } finally { s.close(); }
  }

  private async take(deadline: number): Promise<Conn> {
    for (;;) {
      if (this.closed) throw new Error('varlink client closed');
      const idle = this.conns.find((c) => !c.busy);
      if (idle) { idle.busy = true; return idle; }
      if (this.conns.length + this.opening < this.maxConnections) {
        this.opening++;
        try {
          const conn: Conn = { socket: await this.connect(deadline), chunks: [], busy: true };
          this.conns.push(conn);
          return conn;
        } finally { this.opening--; }
      }
      const woken = await new Promise<boolean>((resolve) => {
        const timer = setTimer(left(deadline), () => {
          const i = this.waiting.indexOf(wake);
          if (i >= 0) this.waiting.splice(i, 1);
          resolve(false);
        });
        const wake = (): void => { cancelTimer(timer); resolve(true); };
        this.waiting.push(wake);
      });
      if (!woken) throw new Error(`varlink ${this.path}: no connection free before the deadline`);
    }
  }
}

function left(deadline: number): number {
  const ms = Math.floor(remaining(deadline));
  if (ms <= 0) throw new Error('varlink: deadline reached');
  return ms;
}

/** The next NUL-terminated message of the connection, parsed (bytes after it stay for the next). */
async function readMessage(conn: Conn, deadline: number): Promise<Record<string, unknown>> {
  let size = conn.chunks.reduce((n, c) => n + c.length, 0);
  let last = conn.chunks.at(-1);
  for (;;) {
    const at = last ? last.indexOf(0) : -1;
    if (last && at >= 0) {
      const all = join(conn.chunks, size);
      const end = size - last.length + at;
      conn.chunks = end + 1 < all.length ? [all.slice(end + 1)] : [];
      let v: unknown;
      try { v = JSON.parse(utf8Decode(all.subarray(0, end))); } catch { throw new Error('varlink: a reply that is not JSON'); }
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('varlink: a reply that is not an object');
      return v as Record<string, unknown>;
    }
    const chunk = await conn.socket.read(65536, left(deadline));
    if (chunk === null) throw new Error('varlink: the service closed the connection');
    conn.chunks.push(chunk);
    size += chunk.length;
    last = chunk;
    if (size > MAX_REPLY_BYTES) throw new Error(`varlink: a reply larger than ${MAX_REPLY_BYTES} bytes`);
  }
}

function join(parts: Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of parts) { out.set(p, off); off += p.length; }
  return out;
}
