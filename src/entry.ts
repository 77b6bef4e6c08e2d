// The executable's entry. `ec2-init --version`, what health checks and image
// scripts run most, is answered here, before the rest of the program is read
// from the executable's bytecode; every other command line goes to main.ts.
import { sys } from './host/sys.ts';
import { VERSION } from './version.ts';

const name = sys.argv0.split('/').pop();
if (name !== 'cloud-init' && name !== 'cloud-id' && sys.argv.length === 1 && sys.argv[0] === '--version') {
  sys.writeStdout(`ec2-init ${VERSION}\n`);
  sys.exit(0);
} else {
  await import('./main.ts');
}
