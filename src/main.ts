// ec2-init's command line (DESIGN.md §3). Parses the arguments, sets up the
// root, the log and the context, and hands over to the command.
import { asText } from './bytes.ts';
import { PathError } from './host/files.ts';
import { sys } from './host/sys.ts';
import { absolutePath } from './host/machine.ts';
import { analyze } from './analyze.ts';
import { kernelCmdline } from './sources/nocloud.ts';
import { clean } from './clean.ts';
import { Context } from './context.ts';
import { makeMimeCommand } from './devel.ts';
import { describeError, LineLogger, type Level } from './log.ts';
import { formatPlan, makePlan } from './plan.ts';
import { runStage } from './stages.ts';
import { layout } from './state/layout.ts';
import { BootLock } from './state/lock.ts';
import { schemaCommand } from './schema/command.ts';
import { lookupKey } from './state/instance-data.ts';
import { sleep } from './net/cancel.ts';
import { deadStage, readStatus, summarize } from './state/status.ts';
import { formatStatus } from './status-report.ts';
import { STAGES, type Stage } from './types.ts';

declare const EC2_INIT_VERSION: string;
const VERSION = typeof EC2_INIT_VERSION === 'string' ? EC2_INIT_VERSION : 'dev';

const USAGE = `usage: ec2-init [--root DIR] [--config FILE] [--log-level LEVEL] COMMAND
  init --local            stage 1: local datasources, before networking
  init                    stage 2: network datasources, user-data, boothooks
  modules --mode config   stage 3
  modules --mode final    stage 4: user scripts, runcmd (rc.local time)
  boot                    all stages in one process, in order
  plan                    print what boot would do, changing nothing
  status [--wait] [--long] [--format json]   exit 0 done, 1 error, 2 degraded
  query [--all] [KEY]     instance data: v1.instance_id, v1.local_hostname, ds.meta_data.…
  schema --config-file F | --system [--annotate]   validate cloud-config (exit 1 on errors)
  analyze [show|blame]    per-stage and per-module times of the last boot
  clean [--logs] [--seed] forget this instance: the next boot is a first boot
  devel make-mime -a FILE:TYPE …   build multipart user-data (TYPE: cloud-config, x-shellscript, …)
  --version               print the version
`;

class UsageError extends Error {}
/** A failure to report in one line, without a stack trace. */
class CommandError extends Error {}

interface Args {
  root: string;
  level: Level;
  command: string;
  flags: Map<string, string | true>;
}

function parseArgs(argv: string[]): Args {
  const flags = new Map<string, string | true>();
  const words: string[] = [];
  const withValue = new Set(['--root', '--log-level', '--mode', '--format', '--config-file', '--config']);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) { words.push(a); continue; }
    const [name, inline] = a.split(/=(.*)/s, 2) as [string, string | undefined];
    if (withValue.has(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new UsageError(`${name} needs a value`);
      flags.set(name, value);
    } else flags.set(name, true);
  }
  if (flags.has('--version')) return { root: '/', level: 'info', command: 'version', flags };
  if (words.length === 0) throw new UsageError('no command given');
  if (words.length > (words[0] === 'query' || words[0] === 'analyze' ? 2 : 1)) throw new UsageError(`unexpected arguments: ${words.slice(1).join(' ')}`);
  if (words[1] !== undefined) flags.set('key', words[1]);
  const level = (flags.get('--log-level') ?? 'info') as Level;
  if (!['debug', 'info', 'warning', 'error'].includes(level)) throw new UsageError(`--log-level must be debug, info, warning or error`);
  const root = absolutePath(String(flags.get('--root') ?? '/'));
  let isDir = false;
  try { isDir = sys.fstatat(sys.AT_FDCWD, root, false).kind === 'dir'; } catch { /* missing */ }
  if (!isDir) throw new UsageError(`--root ${root}: no such directory`);
  return { root, level, command: words[0]!, flags };
}

function stagesOf(args: Args): Stage[] {
  switch (args.command) {
    case 'boot': return [...STAGES];
    case 'init': return [args.flags.has('--local') ? 'init-local' : 'init'];
    case 'modules': {
      const mode = args.flags.get('--mode');
      if (mode === 'config') return ['config'];
      if (mode === 'final') return ['final'];
      throw new UsageError(`modules needs --mode config or --mode final`);
    }
    default: return [];
  }
}

/** The switches of DESIGN.md §5: a file under the root, or ec2-init=disabled on the kernel command line. */
function disabledBy(args: Args, ctx: Context): string | null {
  if (ctx.files.exists(layout.disabledFile)) return layout.disabledFile;
  if (/(^|\s)ec2-init=disabled(\s|$)/.test(kernelCmdline(ctx.files))) return 'ec2-init=disabled on the kernel command line';
  return null;
}

async function main(argv: string[]): Promise<number> {
  // devel subcommands have their own short flags: handled before the general parser
  // (after the global options, which they do not use).
  let at = 0;
  while (argv[at] === '--root' || argv[at] === '--log-level' || argv[at] === '--config') at += 2;
  if (argv[at] === 'devel') {
    if (argv[at + 1] !== 'make-mime') throw new UsageError(`devel: unknown subcommand '${argv[at + 1] ?? ''}' (known: make-mime)`);
    try {
      sys.writeStdout(makeMimeCommand(argv.slice(at + 2)));
    } catch (e) {
      throw new CommandError((e as Error).message);
    }
    return 0;
  }
  const args = parseArgs(argv);
  if (args.command === 'version') { sys.writeStdout(`ec2-init ${VERSION}\n`); return 0; }
  if (args.command === 'help') { sys.writeStdout(USAGE); return 0; }
  const log = new LineLogger(args.level);
  const config = args.flags.get('--config');
  const ctx = new Context(args.root, log, typeof config === 'string' ? absolutePath(config) : null);
  const stages = stagesOf(args);
  if (stages.length > 0) {
    // Appended on a descriptor, re-checked before each line: a bootcmd that puts
    // a link in the log's place gets the link moved aside, never written through.
    const logFile = ctx.files.openAppend(layout.log, 0o640);
    logFile.onReplaced = (what) => log.warn(what);
    log.attach((line) => logFile.write(line));
    const off = disabledBy(args, ctx);
    if (off) { log.info(`disabled by ${off}: nothing done`); return 0; }
    log.info(`ec2-init ${VERSION}: ${argv.join(' ')}`);
    const lock = await BootLock.take(ctx.files);
    if (!lock) throw new CommandError(busyMessage(ctx));
    let errors = 0;
    try {
      for (const stage of stages) {
        await runStage(ctx, stage);
        errors += ctx.diags.filter((d) => d.level === 'error').length;
      }
    } finally {
      ctx.close();
      lock.release();
    }
    if (args.command === 'boot') return summarize(readStatus(ctx)).exitCode;
    return errors > 0 ? 1 : 0;
  }
  switch (args.command) {
    case 'plan': {
      sys.writeStdout(formatPlan(await makePlan(ctx)));
      return 0;
    }
    case 'status': {
      let status = readStatus(ctx);
      let dead = deadStage(ctx.files, status);
      // Until done, failed, or dead: a stage whose process is gone never finishes.
      while (args.flags.has('--wait') && ['running', 'not started'].includes(summarize(status, dead).outcome)) {
        await sleep(250);
        status = readStatus(ctx);
        dead = deadStage(ctx.files, status);
      }
      sys.writeStdout(formatStatus(status, args.flags.get('--format') === 'json', args.flags.has('--long'), dead));
      return summarize(status, dead).exitCode;
    }
    case 'query': return query(ctx, args);
    case 'analyze': {
      const what = String(args.flags.get('key') ?? 'show');
      if (what !== 'show' && what !== 'blame') throw new UsageError('analyze takes show or blame');
      sys.writeStdout(analyze(ctx.files, what));
      return 0;
    }
    case 'clean': {
      const lock = await BootLock.take(ctx.files);
      if (!lock) throw new CommandError(busyMessage(ctx));
      for (const path of clean(ctx.files, { logs: args.flags.has('--logs'), seed: args.flags.has('--seed') })) {
        sys.writeStdout(`removed ${path}\n`);
      }
      lock.release();
      return 0;
    }
    case 'schema': {
      try {
        return await schemaCommand(ctx.files, args.flags, (s) => sys.writeStdout(s));
      } catch (e) {
        throw new CommandError((e as Error).message);
      }
    }
    default:
      throw new UsageError(`unknown command '${args.command}'`);
  }
}

/** Why a stage cannot start now: the stage another ec2-init is running on this root. */
function busyMessage(ctx: Context): string {
  const status = readStatus(ctx);
  const running = status?.v1.stage;
  const pid = running ? (status.v1[running] as { pid?: number } | undefined)?.pid : undefined;
  return `another ec2-init is running on this root${running ? ` (stage ${running}${pid ? `, pid ${pid}` : ''})` : ''}: ` +
    `not starting a second one (two at once would run the same work twice); wait for it (ec2-init status --wait)`;
}

/** `query`: root reads the sensitive file; anyone else the redacted one. */
function query(ctx: Context, args: Args): number {
  const sensitive = sys.getuid() === 0;
  const path = `${layout.runDir}/instance-data${sensitive ? '-sensitive' : ''}.json`;
  const text = ctx.files.readIfExists(path);
  if (text === null) throw new CommandError(`${path} not found: no datasource has been found on this boot yet (run ec2-init init first)`);
  const data = JSON.parse(asText(text)) as unknown;
  const key = args.flags.get('key');
  if (args.flags.has('--all') || key === undefined) {
    if (!args.flags.has('--all')) throw new UsageError('query needs a KEY (e.g. v1.instance_id) or --all');
    sys.writeStdout(JSON.stringify(data, null, 2) + '\n');
    return 0;
  }
  const value = lookupKey(data, String(key));
  if (value === undefined) throw new CommandError(`query: no key '${key}' in the instance data (see ec2-init query --all)`);
  sys.writeStdout(typeof value === 'string' ? `${value}\n` : JSON.stringify(value, null, 2) + '\n');
  return 0;
}

main(sys.argv).then((code) => sys.exit(code), (e: unknown) => {
  if (e instanceof UsageError) {
    sys.writeStderr(`ec2-init: ${e.message}\n\n${USAGE}`);
    sys.exit(64);
  } else if (e instanceof CommandError || e instanceof PathError) {
    // A path of the root that cannot be used safely (a planted link on the state directories): said in one line.
    sys.writeStderr(`ec2-init: ${e.message}\n`);
    sys.exit(1);
  } else {
    sys.writeStderr(`ec2-init: internal error: ${describeError(e)}\n`);
    sys.exit(1);
  }
});
