// ec2-init's own command line (DESIGN.md §3, README "Using it").
import type { Level } from '../log.ts';
import { STAGES, type Stage } from '../types.ts';
import { parseFlags, plotBoot, statusTimeout, UsageError, type Action, type FlagSpec, type Invocation } from './invocation.ts';

export const USAGE = `usage: ec2-init [--root DIR] [--config FILE] [--log-level LEVEL] COMMAND
  init --local            stage 1: local datasources, before networking
  init                    stage 2: network datasources, user-data, boothooks
  modules --mode config   stage 3
  modules --mode final    stage 4: user scripts, runcmd (rc.local time)
  boot                    all stages in one process, in order
  early-host-keys         start making the host keys in the background, before init --local
                          (ec2-init-hostkeys.service; init --local does it when this did not)
  plan [--format text|json]  print what boot would do (the steps of each stage), changing nothing
  status [--wait [--timeout SECONDS]] [--long] [--format tabular|json|yaml]
                          exit 0 done, 1 error, 2 degraded, 124 --timeout passed first
  query [--all] [--list-keys] [--format TEMPLATE] [KEY]   instance data: v1.instance_id, ds.meta_data.…
  schema --config-file F | --system [--annotate | --format text|json]   validate cloud-config (exit 1 on errors)
  analyze [show|blame]    per-stage and per-module times of the last boot
  analyze plot [--boot N] [--output FILE]   the boot as an SVG picture (N: 0 the last, -1 the one before, 1 the first)
  clean [--logs] [--seed] [--machine-id] [--configs all|ssh_config|network] [--reboot]
                          forget this instance: the next boot is a first boot
  single --name MODULE [--frequency always|instance|once]   run one module now
  collect-logs [--tarfile FILE] [--redact-sensitive]   logs and state in one tar.gz
  devel make-mime -a FILE:TYPE …   build multipart user-data (TYPE: cloud-config, x-shellscript, …)
  --version               print the version
Started as cloud-init or cloud-id, it answers with cloud-init 25's commands.
`;

const GLOBAL: Record<string, FlagSpec> = {
  '--root': { value: true }, '--config': { value: true }, '--log-level': { value: true, choices: ['debug', 'info', 'warning', 'error'] },
  '--version': {}, '--help': { short: '-h' },
};

const COMMANDS: Record<string, Record<string, FlagSpec>> = {
  init: { '--local': {} },
  modules: { '--mode': { value: true, choices: ['config', 'final'] } },
  boot: {},
  'early-host-keys': {},
  plan: { '--format': { value: true, choices: ['text', 'json'] } },
  status: { '--wait': {}, '--timeout': { value: true }, '--long': {}, '--format': { value: true, choices: ['tabular', 'json', 'yaml'] } },
  query: { '--all': {}, '--list-keys': {}, '--format': { value: true }, '--instance-data': { value: true } },
  schema: { '--config-file': { value: true }, '--system': {}, '--annotate': {}, '--format': { value: true, choices: ['text', 'json'] } },
  analyze: { '--boot': { value: true }, '--output': { value: true } },
  clean: { '--logs': {}, '--seed': {}, '--machine-id': {}, '--reboot': {}, '--configs': { value: true, many: true, choices: ['all', 'ssh_config', 'network'] } },
  single: { '--name': { value: true }, '--frequency': { value: true, choices: ['always', 'instance', 'once'] } },
  'collect-logs': { '--tarfile': { value: true }, '--redact-sensitive': {} },
};

const usage = (message: string) => new UsageError(message, USAGE, 64);

/** Split off the global options (which come before the command). */
function splitGlobal(argv: readonly string[]): { global: string[]; rest: string[] } {
  let i = 0;
  while (i < argv.length && argv[i]!.startsWith('-')) {
    const name = argv[i]!.split('=')[0]!;
    i += GLOBAL[name]?.value && !argv[i]!.includes('=') ? 2 : 1;
  }
  return { global: argv.slice(0, i), rest: argv.slice(i) };
}

export function parseEc2Init(argv: readonly string[]): Invocation {
  const { global, rest } = splitGlobal(argv);
  const g = parseFlags(global, GLOBAL, usage).flags;
  const base = {
    program: 'ec2-init',
    root: String(g.get('--root') ?? '/'),
    level: String(g.get('--log-level') ?? 'info') as Level,
    configFile: typeof g.get('--config') === 'string' ? String(g.get('--config')) : null,
  };
  if (g.has('--version')) return { ...base, action: { kind: 'print', text: 'version' } };
  if (g.has('--help')) return { ...base, action: { kind: 'print', text: USAGE } };
  const [command, ...args] = rest;
  if (command === undefined) throw usage('no command given');
  if (command === 'devel') {
    if (args[0] !== 'make-mime') throw usage(`devel: unknown subcommand '${args[0] ?? ''}' (known: make-mime)`);
    return { ...base, action: { kind: 'make-mime', args: args.slice(1) } };
  }
  const spec = COMMANDS[command];
  if (!spec) throw usage(`unknown command '${command}'`);
  const { flags, positional } = parseFlags(args, spec, usage);
  const maxPositional = command === 'query' || command === 'analyze' ? 1 : 0;
  if (positional.length > maxPositional) throw usage(`unexpected arguments: ${positional.slice(maxPositional).join(' ')}`);
  return { ...base, action: action(command, flags, positional[0]) };
}

function action(command: string, flags: Map<string, string | true | string[]>, word: string | undefined): Action {
  const str = (name: string) => { const v = flags.get(name); return typeof v === 'string' ? v : undefined; };
  switch (command) {
    case 'boot': return { kind: 'stages', stages: [...STAGES] };
    case 'early-host-keys': return { kind: 'early-host-keys' };
    case 'init': return { kind: 'stages', stages: [flags.has('--local') ? 'init-local' : 'init'] as Stage[] };
    case 'modules': {
      const mode = str('--mode');
      if (mode === undefined) throw usage('modules needs --mode config or --mode final');
      return { kind: 'stages', stages: [mode === 'config' ? 'config' : 'final'] };
    }
    case 'plan': return { kind: 'plan', format: str('--format') === 'json' ? 'json' : 'text' };
    case 'status': return {
      kind: 'status', wait: flags.has('--wait'), long: flags.has('--long'), format: (str('--format') ?? 'tabular') as 'tabular', dots: false,
      timeout: statusTimeout(str('--timeout'), flags.has('--wait'), usage),
    };
    case 'query': {
      const format = str('--format');
      const instanceData = str('--instance-data');
      if (!flags.has('--all') && !flags.has('--list-keys') && word === undefined && format === undefined) {
        throw usage('query needs a KEY (e.g. v1.instance_id), --all, --list-keys or --format TEMPLATE');
      }
      return {
        kind: 'query',
        opts: { all: flags.has('--all'), listKeys: flags.has('--list-keys'), ...(word !== undefined && { key: word }), ...(format !== undefined && { format }), ...(instanceData !== undefined && { instanceData }) },
      };
    }
    case 'schema': return { kind: 'schema', flags: flags as Map<string, string | true> };
    case 'analyze': {
      const what = word ?? 'show';
      if (what === 'plot') return { kind: 'analyze-plot', boot: plotBoot(str('--boot'), usage), output: str('--output') ?? null };
      if (flags.has('--boot') || flags.has('--output')) throw usage('--boot and --output are for analyze plot');
      if (what !== 'show' && what !== 'blame') throw usage('analyze takes show, blame or plot');
      return { kind: 'analyze', what };
    }
    case 'clean': return {
      kind: 'clean',
      opts: { logs: flags.has('--logs'), seed: flags.has('--seed'), machineId: flags.has('--machine-id'), reboot: flags.has('--reboot'), configs: (flags.get('--configs') as string[] | undefined) ?? [] },
    };
    case 'single': {
      const name = str('--name');
      if (!name) throw usage('single needs --name MODULE');
      return { kind: 'single', name, frequency: (str('--frequency') ?? null) as 'always' | null };
    }
    case 'collect-logs': return { kind: 'collect-logs', tarfile: str('--tarfile') ?? 'ec2-init.tar.gz', redact: flags.has('--redact-sensitive') };
    default: throw usage(`unknown command '${command}'`);
  }
}
