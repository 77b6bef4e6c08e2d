// This process: how it was started (name, arguments, environment), its
// standard output and error, its exit, and signals to processes by id.
import { sys } from './sys.ts';

/** The name it was started under (argv[0]). */
export const invokedAs = (): string => sys.argv0;
/** Its arguments, argv[0] left out. */
export const commandLine = (): readonly string[] => sys.argv;
export const processId = (): number => sys.pid;
export const envVar = (name: string): string | undefined => sys.getenv(name);
export const effectiveUid = (): number => sys.getuid();
export const writeStdout = (data: Uint8Array | string): void => sys.writeStdout(data);
export const writeStderr = (data: Uint8Array | string): void => sys.writeStderr(data);
export const exitProcess = (code: number): never => sys.exit(code);
/** Send `signal` to `pid` (a negative pid: its process group); 0 only asks whether it is alive. False when there is no such process. */
export const signalProcess = (pid: number, signal: string | 0): boolean => sys.kill(pid, signal);
/** The working directory the program was started in. */
export const workingDirectory = (): string => sys.cwd();
