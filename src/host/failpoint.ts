// Crash injection for the crash-safety tests: when EC2_INIT_FAILPOINT names
// a point the run passes, the process kills itself with SIGKILL right there,
// exactly like a power cut. Without the variable this is one string compare.
import { envVar, processId, signalProcess } from './process.ts';

const armed = envVar('EC2_INIT_FAILPOINT') ?? '';

export function failpoint(name: string): void {
  if (armed !== '' && armed === name) signalProcess(processId(), 'SIGKILL');
}
