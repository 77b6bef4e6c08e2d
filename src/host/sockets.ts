// Name resolution and connections, for the HTTP client and varlink (net/):
// the socket itself is the C host's, these open it.
import { sys, type ConnectOptions, type Socket } from './sys.ts';

/** The addresses a host name resolves to (getaddrinfo, in a thread of the host), within timeoutMs. */
export const resolveName = (name: string, timeoutMs: number): Promise<string[]> => sys.resolve(name, timeoutMs);
export const connectTcp = (opts: ConnectOptions): Promise<Socket> => sys.connect(opts);
export const connectUnix = (path: string, timeoutMs: number): Promise<Socket> => sys.connectUnix(path, timeoutMs);
