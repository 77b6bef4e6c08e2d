// An IMDS simulator for one test: started on demand, closed after each test
// of the file that imports this (so a failing test leaves no server behind).
import { afterEach } from 'node:test';
import { startImdsSimulator, type ImdsSimulator, type ImdsSimulatorOptions } from './imds-simulator.ts';

const running: ImdsSimulator[] = [];
afterEach(async () => { for (const sim of running.splice(0)) await sim.close(); });

export async function simulator(o: ImdsSimulatorOptions = {}): Promise<ImdsSimulator> {
  const sim = await startImdsSimulator(o);
  running.push(sim);
  return sim;
}
