// ec2-init's entry point. Started as ec2-init it reads its own command line
// (cli/ec2-init.ts); started as cloud-init or cloud-id (the .deb's links) it
// answers as cloud-init 25 does (cli/cloud-init.ts). Either way the
// command line becomes one Invocation, carried out here: the root, the log,
// the context, the boot lock, then the command. What only one command needs
// (a stage's modules, status, query, plan, …) is imported when that command
// runs: the shipped executable reads each from its bytecode only then, so a
// `--version` or a `status` costs what it uses.
import { parseCloudId, parseCloudInit } from './cli/cloud-init.ts';
import { parseEc2Init } from './cli/ec2-init.ts';
import { CommandError, STATUS_TIMEOUT_EXIT, UsageError, type Action, type Invocation } from './cli/invocation.ts';
import { Context } from './context.ts';
import { PathError } from './host/files.ts';
import { absolutePath, isHostDirectory, uptime } from './host/machine.ts';
import { cpuMs, now } from './host/clock.ts';
import { commandLine, exitProcess, invokedAs, writeStderr, writeStdout } from './host/process.ts';
import { describeError, LineLogger } from './log.ts';
import { sleep } from './net/cancel.ts';
import { layout } from './state/layout.ts';
import { bootCode, bootCodeAsked } from './state/enabled.ts';
import { BootLock } from './state/lock.ts';
import { deadStage, readStatus, summarize } from './state/status.ts';
import { VERSION } from './version.ts';


function parse(argv0: string, argv: readonly string[]): Invocation {
  const name = argv0.split('/').pop() ?? '';
  if (name === 'cloud-init') return parseCloudInit(argv0, argv);
  if (name === 'cloud-id') return parseCloudId(argv);
  return parseEc2Init(argv);
}

function checkRoot(inv: Invocation): string {
  const root = absolutePath(inv.root);
  if (!isHostDirectory(root)) throw new UsageError(`--root ${root}: no such directory`, '', inv.program === 'ec2-init' ? 64 : 2);
  return root;
}

async function main(): Promise<number> {
  const inv = parse(invokedAs(), commandLine());
  const a = inv.action;
  if (a.kind === 'print') {
    writeStdout(a.text === 'version' ? `ec2-init ${VERSION}\n` : a.text === '' || a.text.endsWith('\n') ? a.text : `${a.text}\n`);
    return 0;
  }
  if (a.kind === 'make-mime') {
    const { makeMimeCommand } = await import('./commands/make-mime.ts');
    try { writeStdout(makeMimeCommand(a.args)); } catch (e) { throw new CommandError((e as Error).message); }
    return 0;
  }
  const root = checkRoot(inv);
  const log = new LineLogger(inv.level);
  const ctx = new Context(root, log, inv.configFile === null ? null : absolutePath(inv.configFile));
  if (a.kind === 'stages') return stages(ctx, log, inv, a.stages);
  return command(ctx, log, inv, a);
}

async function stages(ctx: Context, log: LineLogger, inv: Invocation, list: Extract<Action, { kind: 'stages' }>['stages']): Promise<number> {
  // Appended on a descriptor, re-checked before each line: a bootcmd that puts
  // a link in the log's place gets the link moved aside, never written through.
  const logFile = ctx.files.openAppend(layout.log, 0o640);
  logFile.onReplaced = (what) => log.warn(what);
  log.attach((line) => logFile.write(line));
  const on = bootCode(ctx.files);
  if (!on.enabled) { log.info(`${on.reason}: nothing done`); return 0; }
  log.info(`ec2-init ${VERSION}: ${[inv.program === 'ec2-init' ? '' : `(as ${inv.program})`, ...commandLine()].filter(Boolean).join(' ')}`);
  // When the kernel of this boot started (`analyze plot`'s time axis starts there); under --root it is another machine's boot.
  const up = ctx.root === '/' ? uptime() : null;
  if (up !== null) log.info(`kernel: up ${up} s`);
  const lock = await BootLock.take(ctx.files);
  if (!lock) throw new CommandError(busyMessage(ctx));
  const { runStage } = await import('./stages.ts');
  let errors = 0;
  try {
    linkCloudInitLogs(ctx);
    for (const stage of list) {
      errors += (await runStage(ctx, stage)).filter((d) => d.level === 'error').length;
    }
  } finally {
    ctx.close();
    lock.release();
  }
  // What this process cost by itself, its programs left out: the agent's own overhead (bench/ reads it).
  log.info(`ec2-init: own CPU ${cpuMs().toFixed(1)} ms (this process, not the programs it ran)`);
  if (list.length > 1) return summarize(readStatus(ctx)).exitCode;
  return errors > 0 ? 1 : 0;
}

async function command(ctx: Context, log: LineLogger, inv: Invocation, a: Exclude<Action, { kind: 'stages' | 'print' | 'make-mime' }>): Promise<number> {
  switch (a.kind) {
    case 'plan': {
      const { formatPlan, formatPlanJson, makePlan } = await import('./plan/index.ts');
      const plan = await makePlan(ctx);
      writeStdout(a.format === 'json' ? formatPlanJson(plan) : formatPlan(plan));
      return 0;
    }
    case 'status': {
      const { formatStatus, statusDetails } = await import('./commands/status.ts');
      const boot = await bootCodeAsked(ctx.files);
      let status = readStatus(ctx);
      let dead = deadStage(ctx.files, status);
      // Until done, failed, or dead: a stage whose process is gone never finishes.
      const waiting = () => {
        const r = summarize(status, dead, !boot.enabled).running;
        return r === 'running' || r === 'not started';
      };
      // --timeout: a deadline on the wait (cloud-init's --wait has none: a boot that never ends hangs its caller).
      const deadline = a.timeout === null ? Infinity : now() + a.timeout * 1000;
      while (a.wait && waiting() && now() < deadline) {
        if (a.dots && a.format === 'tabular') writeStdout('.');
        await sleep(Math.max(0, Math.min(250, deadline - now())));
        status = readStatus(ctx);
        dead = deadStage(ctx.files, status);
      }
      const timedOut = a.wait && waiting();
      const { details, exitCode } = statusDetails(status, dead, boot);
      writeStdout(formatStatus(details, a.format, a.long));
      if (!timedOut) return exitCode;
      writeStderr(`${inv.program}: status --wait: the boot is ${String(details['status'])} after --timeout ${a.timeout} s; not waiting longer\n`);
      return STATUS_TIMEOUT_EXIT;
    }
    case 'query': {
      const { query, QueryError } = await import('./commands/query.ts');
      try {
        writeStdout(`${query(ctx.files, a.opts)}\n`);
        return 0;
      } catch (e) {
        if (e instanceof QueryError) { writeStderr(`${inv.program === 'cloud-init' ? 'ERROR: ' : `${inv.program}: `}${e.message}\n`); return 1; }
        throw e;
      }
    }
    case 'cloud-id': {
      const { cloudId } = await import('./commands/cloud-id.ts');
      const running = summarize(readStatus(ctx), null, !(await bootCodeAsked(ctx.files)).enabled).running;
      const r = cloudId(ctx.files, a, running);
      writeStdout(r.out);
      if (r.err) writeStderr(r.err);
      return r.code;
    }
    case 'analyze': {
      const { analyze } = await import('./commands/analyze.ts');
      writeStdout(analyze(ctx.files, a.what));
      return 0;
    }
    case 'analyze-plot': {
      const { analyzePlot } = await import('./commands/analyze.ts');
      try {
        const svg = analyzePlot(ctx.files, a.boot, a.output);
        if (svg !== null) writeStdout(svg);
      } catch (e) { throw new CommandError((e as Error).message); }
      return 0;
    }
    case 'clean': {
      const { clean } = await import('./commands/clean.ts');
      const lock = await BootLock.take(ctx.files);
      if (!lock) throw new CommandError(busyMessage(ctx));
      try {
        const removed = await clean(ctx, a.opts);
        if (inv.program === 'ec2-init') for (const path of removed) writeStdout(`removed ${path}\n`);
      } catch (e) {
        throw new CommandError((e as Error).message);
      } finally { lock.release(); }
      return 0;
    }
    case 'early-host-keys': {
      // Its own unit starts it as soon as systemd starts units, well before init-local (which waits for udev):
      // RSA takes seconds under emulation, and sshd waits for the keys.
      if (!bootCode(ctx.files).enabled) return 0;
      const lock = await BootLock.take(ctx.files);
      if (!lock) return 0;
      try {
        // The root may still be read-only (the unit runs before systemd-remount-fs): then the journal has the lines.
        const logFile = ctx.files.openAppend(layout.log, 0o640);
        try { logFile.fd(); log.attach((line) => logFile.write(line)); } catch (e) {
          log.info(`${layout.log} not writable yet (${(e as Error).message}): this command logs to the journal only`);
        }
        const { startEarlyHostKeys } = await import('./modules/host-keys-early.ts');
        const { readSystemConfig } = await import('./config/system.ts');
        startEarlyHostKeys(ctx, readSystemConfig(ctx.files, ctx.diags, ctx.configFile, 'read').raw, 'own unit');
      } finally { ctx.close(); lock.release(); }
      return 0;
    }
    case 'single': {
      const { runSingleModule } = await import('./stages.ts');
      const lock = await BootLock.take(ctx.files);
      if (!lock) throw new CommandError(busyMessage(ctx));
      try {
        const logFile = ctx.files.openAppend(layout.log, 0o640);
        log.attach((line) => logFile.write(line));
        return (await runSingleModule(ctx, a.name, a.frequency)) > 0 ? 1 : 0;
      } catch (e) {
        throw new CommandError((e as Error).message);
      } finally { ctx.close(); lock.release(); }
    }
    case 'collect-logs': {
      const { collectLogs } = await import('./commands/collect-logs.ts');
      const taken = collectLogs(ctx.files, VERSION, a.tarfile, a.redact);
      writeStderr(`Wrote ${a.tarfile} (${taken.length} files${a.redact ? ', sensitive data left out' : ''})\n`);
      return 0;
    }
    case 'schema': {
      const { schemaCommand } = await import('./commands/schema.ts');
      try {
        return await schemaCommand(ctx.files, a.flags, (s) => writeStdout(s));
      } catch (e) {
        throw new CommandError((e as Error).message);
      }
    }
  }
}

/**
 * /var/log/cloud-init.log and cloud-init-output.log, where tools written for
 * cloud-init look: links to ec2-init's logs. A real file there (cloud-init's
 * own, from before ec2-init) is left as it is.
 */
function linkCloudInitLogs(ctx: Context): void {
  for (const [theirs, ours] of [['/var/log/cloud-init.log', 'ec2-init.log'], ['/var/log/cloud-init-output.log', 'ec2-init-output.log']] as const) {
    const st = ctx.files.lstat(theirs);
    if (st === null || (st.kind === 'link' && ctx.files.readlink(theirs) !== ours)) ctx.files.symlink(theirs, ours);
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

main().then((code) => exitProcess(code), (e: unknown) => {
  const program = (invokedAs().split('/').pop() ?? 'ec2-init').replace(/^(?!cloud-init$|cloud-id$).*$/, 'ec2-init');
  if (e instanceof UsageError) {
    // argparse's way for cloud-init (usage, then "cloud-init: error: …"); ec2-init's own for ec2-init.
    if (e.code === 2) writeStderr(`${e.usage}${e.message}\n`);
    else writeStderr(`ec2-init: ${e.message}\n${e.usage ? `\n${e.usage}` : ''}`);
    exitProcess(e.code);
  } else if (e instanceof CommandError || e instanceof PathError) {
    // A path of the root that cannot be used safely (a planted link on the state directories): said in one line.
    writeStderr(`${program}: ${e.message}\n`);
    exitProcess(1);
  } else {
    writeStderr(`${program}: internal error: ${describeError(e)}\n`);
    exitProcess(1);
  }
});

