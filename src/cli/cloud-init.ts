// The command line of cloud-init 25 and cloud-id, for ec2-init started by
// those names (the .deb links /usr/bin/cloud-init and /usr/bin/cloud-id to
// it): the verbs, flags, output and exit codes that Packer templates,
// Terraform provisioners and image build scripts depend on. Errors in the
// command line exit 2 with argparse's wording, as cloud-init's do.
// ec2-init's own --root works here too (tests, offline images).
import { parseFlags, plotBoot, statusTimeout, UsageError, type Action, type FlagSpec, type Invocation } from './invocation.ts';

/** The cloud-init release whose command line this follows. */
export const CLOUD_INIT_VERSION = '25.1';

const USAGE = `usage: cloud-init [-h] [--version] [--debug] [--force] [--all-stages]
                  {init,modules,single,query,features,analyze,devel,collect-logs,clean,status,schema} ...
(ec2-init answering as cloud-init: see ec2-init --help)
`;
const CLOUD_ID_USAGE = 'usage: cloud-id [-h] [-j] [-l] [-i INSTANCE_DATA]\n';

const GLOBAL: Record<string, FlagSpec> = {
  '--version': { short: '-v' }, '--debug': { short: '-d' }, '--force': {}, '--all-stages': {}, '--help': { short: '-h' },
  '--root': { value: true },
};
const FILE: Record<string, FlagSpec> = { '--file': { value: true, short: '-f', many: true } };

const COMMANDS: Record<string, Record<string, FlagSpec>> = {
  init: { '--local': { short: '-l' }, ...FILE },
  modules: { '--mode': { value: true, short: '-m', choices: ['init', 'config', 'final'] }, ...FILE },
  single: { '--name': { value: true, short: '-n' }, '--frequency': { value: true, choices: ['always', 'instance', 'once'] }, '--report': {}, ...FILE },
  query: {
    '--debug': { short: '-d' }, '--instance-data': { value: true, short: '-i' }, '--list-keys': { short: '-l' },
    '--user-data': { value: true, short: '-u' }, '--vendor-data': { value: true, short: '-v' }, '--all': { short: '-a' }, '--format': { value: true, short: '-f' },
  },
  status: { '--format': { value: true, choices: ['json', 'tabular', 'yaml'] }, '--long': { short: '-l' }, '--wait': { short: '-w' }, '--timeout': { value: true } },
  schema: { '--config-file': { value: true, short: '-c' }, '--schema-type': { value: true, short: '-t' }, '--system': {}, '--annotate': {}, '--format': { value: true, choices: ['text', 'json'] } },
  analyze: { '--boot': { value: true }, '--outfile': { value: true, short: '-o' } },
  clean: {
    '--logs': { short: '-l' }, '--seed': { short: '-s' }, '--machine-id': {}, '--reboot': { short: '-r' },
    '--configs': { value: true, short: '-c', many: true, choices: ['all', 'ssh_config', 'network'] },
  },
  'collect-logs': { '--verbose': { short: '-v' }, '--tarfile': { value: true, short: '-t' }, '--include-userdata': { short: '-u' }, '--redact-sensitive': { short: '-r' } },
  features: {},
};

function usage(program: string) {
  return (message: string) => new UsageError(`${program}: error: ${message}`, program === 'cloud-id' ? CLOUD_ID_USAGE : USAGE, 2);
}

function splitGlobal(argv: readonly string[]): { global: string[]; rest: string[] } {
  let i = 0;
  while (i < argv.length && argv[i]!.startsWith('-')) {
    const name = argv[i]!.split('=')[0]!;
    i += name === '--root' && !argv[i]!.includes('=') ? 2 : 1;
  }
  return { global: argv.slice(0, i), rest: argv.slice(i) };
}

export function parseCloudInit(argv0: string, argv: readonly string[]): Invocation {
  const fail = usage('cloud-init');
  const { global, rest } = splitGlobal(argv);
  const g = parseFlags(global, GLOBAL, fail).flags;
  const base = {
    program: 'cloud-init',
    root: String(g.get('--root') ?? '/'),
    level: g.has('--debug') ? 'debug' as const : 'info' as const,
    configFile: null as string | null,
  };
  if (g.has('--version')) return { ...base, action: { kind: 'print', text: `${argv0} ${CLOUD_INIT_VERSION}` } };
  if (g.has('--help')) return { ...base, action: { kind: 'print', text: USAGE } };
  const [command, ...args] = rest;
  if (command === undefined) throw fail('the following arguments are required: subcommand');
  if (command === 'devel') {
    if (args[0] !== 'make-mime') throw fail(`devel: '${args[0] ?? ''}' is not available in ec2-init (it has make-mime)`);
    return { ...base, action: { kind: 'make-mime', args: args.slice(1) } };
  }
  const spec = COMMANDS[command];
  if (!spec) throw fail(`argument subcommand: invalid choice: '${command}'`);
  const { flags, positional } = parseFlags(args, spec, fail);
  const files = (flags.get('--file') as string[] | undefined) ?? [];
  if (files.length > 1) throw fail('ec2-init takes one --file per run');
  if (files[0]) base.configFile = files[0];
  if (positional.length > (command === 'query' || command === 'analyze' ? 1 : 0)) throw fail(`unrecognized arguments: ${positional.join(' ')}`);
  return { ...base, action: action(command, flags, positional[0], fail) };
}

function action(command: string, flags: Map<string, string | true | string[]>, word: string | undefined, fail: (m: string) => Error): Action {
  const str = (name: string) => { const v = flags.get(name); return typeof v === 'string' ? v : undefined; };
  switch (command) {
    case 'init': return { kind: 'stages', stages: [flags.has('--local') ? 'init-local' : 'init'] };
    case 'modules': {
      const mode = str('--mode') ?? 'config';
      // `modules --mode init` (deprecated in cloud-init 24.1) is stage init.
      return { kind: 'stages', stages: [mode === 'init' ? 'init' : mode === 'final' ? 'final' : 'config'] };
    }
    case 'single': {
      const name = str('--name');
      if (!name) throw fail('the following arguments are required: --name/-n');
      return { kind: 'single', name, frequency: (str('--frequency') ?? null) as 'always' | null };
    }
    case 'query': {
      const format = str('--format');
      const instanceData = str('--instance-data');
      return {
        kind: 'query',
        opts: { all: flags.has('--all'), listKeys: flags.has('--list-keys'), ...(word !== undefined && { key: word }), ...(format !== undefined && { format }), ...(instanceData !== undefined && { instanceData }) },
      };
    }
    case 'status': return {
      kind: 'status', wait: flags.has('--wait'), long: flags.has('--long'), format: (str('--format') ?? 'tabular') as 'tabular', dots: true,
      timeout: statusTimeout(str('--timeout'), flags.has('--wait'), fail),
    };
    case 'schema': {
      const type = str('--schema-type');
      if (type !== undefined && type !== 'cloud-config') throw fail(`--schema-type ${type}: ec2-init validates cloud-config only`);
      const m = new Map<string, string | true>();
      if (str('--config-file')) m.set('--config-file', str('--config-file')!);
      if (flags.has('--system')) m.set('--system', true);
      if (flags.has('--annotate')) m.set('--annotate', true);
      if (str('--format')) m.set('--format', str('--format')!);
      return { kind: 'schema', flags: m };
    }
    case 'analyze': {
      const what = word ?? 'blame';
      if (what === 'plot') return { kind: 'analyze-plot', boot: plotBoot(str('--boot'), fail), output: str('--outfile') ?? null };
      if (flags.has('--boot')) throw fail('--boot is for analyze plot');
      if (what !== 'show' && what !== 'blame') throw fail(`analyze ${what}: ec2-init has show, blame and plot`);
      return { kind: 'analyze', what };
    }
    case 'clean': return {
      kind: 'clean',
      opts: { logs: flags.has('--logs'), seed: flags.has('--seed'), machineId: flags.has('--machine-id'), reboot: flags.has('--reboot'), configs: (flags.get('--configs') as string[] | undefined) ?? [] },
    };
    case 'collect-logs': return { kind: 'collect-logs', tarfile: str('--tarfile') ?? 'cloud-init.tar.gz', redact: flags.has('--redact-sensitive') };
    case 'features': return { kind: 'print', text: '' };
    default: throw fail(`argument subcommand: invalid choice: '${command}'`);
  }
}

/** cloud-id [-j] [-l] [-i FILE]. */
export function parseCloudId(argv: readonly string[]): Invocation {
  const fail = usage('cloud-id');
  const spec: Record<string, FlagSpec> = { '--json': { short: '-j' }, '--long': { short: '-l' }, '--instance-data': { value: true, short: '-i' }, '--help': { short: '-h' }, '--root': { value: true } };
  const { flags, positional } = parseFlags(argv, spec, fail);
  if (positional.length) throw fail(`unrecognized arguments: ${positional.join(' ')}`);
  const base = { program: 'cloud-id', root: String(flags.get('--root') ?? '/'), level: 'info' as const, configFile: null };
  if (flags.has('--help')) return { ...base, action: { kind: 'print', text: CLOUD_ID_USAGE } };
  const file = flags.get('--instance-data');
  return { ...base, action: { kind: 'cloud-id', json: flags.has('--json'), long: flags.has('--long'), instanceData: typeof file === 'string' ? file : null } };
}

