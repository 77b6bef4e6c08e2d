// The executable's entry. `ec2-init --version`, what health checks and image
// scripts run most, is answered here, before the rest of the program is read
// from the executable's bytecode; every other command line goes to main.ts.
import { commandLine, exitProcess, invokedAs, writeStdout } from './host/process.ts';
import { VERSION } from './version.ts';

const name = invokedAs().split('/').pop();
if (name !== 'cloud-init' && name !== 'cloud-id' && commandLine().length === 1 && commandLine()[0] === '--version') {
  writeStdout(`ec2-init ${VERSION}\n`);
  exitProcess(0);
} else {
  await import('./main.ts');
}
