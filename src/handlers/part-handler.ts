// #part-handler (the specification's "plugin"): a part that registers content
// types; the parts AFTER it of those types go to it (begin, each part, end).
// Two forms, both saved under instances/<id>/handlers/ (0700):
//
// - cloud-init's Python handler (list_types(), handle_part(data, ctype,
//   filename, payload[, frequency[, headers]]), optional handler_version and
//   frequency): saved as part-handler-NNN.py (0600) and run by python3
//   chrooted into the root through a small driver (written beside it). One
//   python3 run learns every handler's types (an import error is reported
//   and the handler is not registered); then each handler runs in one python3
//   process, when its part is reached: __begin__, its parts, __end__. A
//   handler runs when cloud-init would: frequency 'always', or the default
//   'once-per-instance' on the instance's first boot. No python3 in the
//   image: a clear error naming the part; its parts are left to the others.
//
// - language-neutral (ec2-init's): '#part-handler', then a '#!' line, then a
//   '# types: a/b c/d' comment line (and optionally '# frequency: per-boot').
//   Saved without its first line as part-handler-NNN (0700) and called as
//   `HANDLER begin`, `HANDLER part` (payload on stdin; PART_TYPE,
//   PART_FILENAME, PART_FREQUENCY, INSTANCE_ID in the environment) at each
//   part's place, and `HANDLER end` after the last part. A failing begin
//   leaves the handler unregistered.
//
// A failure is reported with the handler's part and the part it was
// handling; the other parts go on.
import { which } from '../host/root-facts.ts';
import { asText, base64 } from '../bytes.ts';
import type { Context } from '../context.ts';
import { describeExit } from '../host/run.ts';
import { layout } from '../state/layout.ts';
import { alreadyDone } from '../state/semaphore.ts';
import type { Part } from '../types.ts';

export const PART_HANDLER_TYPE = 'text/part-handler';
/** Where python3 is looked for inside the root. */
export const PYTHON_CANDIDATES = ['/usr/bin/python3', '/usr/local/bin/python3', '/bin/python3'];
/** Types consumed before handlers run (decoding, merging): a handler cannot claim them. */
const UNCLAIMABLE = new Set([
  'text/cloud-config', PART_HANDLER_TYPE, 'text/x-include-url', 'text/x-include-once-url',
  'text/cloud-config-archive', 'text/jinja2',
]);
/** The semaphore that tells the instance's first handling of user-data from later boots (cloud-init's name). */
export const CONSUME_SEM = 'consume_data';

export const handlersDir = (id: string) => `${layout.instance(id)}/handlers`;

export interface ExecHeader { types: string[]; frequency: 'per-instance' | 'per-boot' }

/**
 * The language-neutral form's header, or null for a cloud-init Python
 * handler: line 2 is '#!…' and a '# types:' line follows among the leading
 * comment lines. Throws for a header that names no valid type or frequency.
 */
export function parseExecHeader(body: Uint8Array): ExecHeader | null {
  const lines = asText(body.subarray(0, 4096)).replace(/\r\n/g, '\n').split('\n');
  if (!lines[1]?.startsWith('#!')) return null;
  let types: string[] | null = null;
  let frequency: ExecHeader['frequency'] = 'per-instance';
  for (const line of lines.slice(2)) {
    if (!line.startsWith('#')) break;
    const m = /^#\s*(types|frequency)\s*:\s*(.*)$/i.exec(line);
    if (!m) continue;
    if (m[1]!.toLowerCase() === 'types') {
      types = m[2]!.split(/[\s,]+/).filter(Boolean).map((t) => t.toLowerCase());
      const bad = types.find((t) => !/^[!#$%&'*+.^_`|~0-9a-z-]+\/[!#$%&'*+.^_`|~0-9a-z-]+$/.test(t));
      if (bad !== undefined || types.length === 0) throw new Error(`'# types:' line names ${bad === undefined ? 'no type' : `an invalid type '${bad}'`}`);
    } else {
      const f = m[2]!.trim().toLowerCase();
      if (f === 'per-boot' || f === 'always') frequency = 'per-boot';
      else if (f === 'per-instance' || f === 'once-per-instance') frequency = 'per-instance';
      else throw new Error(`'# frequency: ${f}' is not per-instance or per-boot`);
    }
  }
  return types === null ? null : { types, frequency };
}

/** For `plan`: what a part-handler part leads to. */
export function describeHandler(part: Part, instanceId: string, index: number): string {
  let header: ExecHeader | null;
  try { header = parseExecHeader(part.body); } catch (e) { return `ignore: invalid part-handler: ${(e as Error).message}`; }
  const dir = handlersDir(instanceId);
  if (header) return `save to ${dir}/part-handler-${pad(index)} and register it for ${header.types.join(', ')} (executable handler, ${header.frequency}): later parts of those types go to it`;
  return `save to ${dir}/part-handler-${pad(index)}.py and register it (cloud-init Python handler, run by python3 in the root; types known when it runs): later parts of its types go to it`;
}

/** The first python3 of the root that is a regular executable file, or null. */
export function findPython(ctx: Context): string | null {
  return PYTHON_CANDIDATES.find((p) => which(ctx.files, p) !== null) ?? null;
}

const pad = (n: number) => String(n).padStart(3, '0');

interface Handler {
  index: number;
  part: Part;
  where: string;
  form: 'python' | 'exec';
  /** Path inside the root. */
  path: string;
  types: string[];
  /** exec: its declared frequency; python: reported by the driver. */
  frequency: string;
  /** python: handler_version. */
  version: number;
  /** Parts routed to it, in order. */
  parts: Part[];
  /** exec: begin succeeded, so end is due. */
  started: boolean;
}

/**
 * The part-handlers of one user-data, in order: which parts go where.
 * Built by preparePartHandlers; handleParts calls start() at each
 * handler's part, deliver() at each routed part, finish() at the end.
 */
export class PartHandlers {
  private readonly ctx: Context;
  private readonly instanceId: string;
  private readonly firstRun: boolean;
  private readonly python: string | null;
  /** By the index of the handler's part in the part list. */
  private readonly handlers = new Map<number, Handler>();
  /** Index of a part → the handler it goes to. */
  private readonly routes = new Map<number, Handler>();

  constructor(ctx: Context, instanceId: string, firstRun: boolean, python: string | null) {
    this.ctx = ctx;
    this.instanceId = instanceId;
    this.firstRun = firstRun;
    this.python = python;
  }

  static empty(ctx: Context, instanceId: string): PartHandlers { return new PartHandlers(ctx, instanceId, false, null); }

  isHandler(i: number): boolean { return this.handlers.has(i); }
  routeOf(i: number): boolean { return this.routes.has(i); }

  add(i: number, h: Handler): void { this.handlers.set(i, h); }

  /** Build routes from the registered handlers' types, in part order (a later handler takes a type over). */
  buildRoutes(parts: Part[]): void {
    const registry = new Map<string, Handler>();
    parts.forEach((part, i) => {
      const h = this.handlers.get(i);
      if (h) { for (const t of h.types) registry.set(t, h); return; }
      const to = registry.get(part.type);
      if (to) { this.routes.set(i, to); to.parts.push(part); }
    });
  }

  /** At the handler's own part: python runs its whole life here; exec gets 'begin'. */
  async start(i: number): Promise<void> {
    const h = this.handlers.get(i)!;
    if (h.form === 'python') return this.runPython(h);
    if (!this.execDue(h)) {
      this.ctx.log.info(`${h.where}: handler not called on this boot (frequency ${h.frequency}, not the instance's first boot)`);
      return;
    }
    h.started = await this.callExec(h, 'begin', null);
    if (!h.started) {
      // Not registered: its parts are left to the built-in handling.
      for (const [k, to] of this.routes) if (to === h) this.routes.delete(k);
    }
  }

  /** At a routed part (exec handlers; python ones were given their parts at start). */
  async deliver(i: number, part: Part): Promise<boolean> {
    const h = this.routes.get(i);
    if (!h) return false;
    if (h.form === 'exec' && h.started) await this.callExec(h, 'part', part);
    return true;
  }

  /** After the last part: 'end' for every started exec handler, in order. */
  async finish(): Promise<void> {
    for (const h of [...this.handlers.values()].sort((a, b) => a.index - b.index)) {
      if (h.form === 'exec' && h.started) await this.callExec(h, 'end', null);
    }
  }

  private execDue(h: Handler): boolean { return h.frequency === 'per-boot' || this.firstRun; }

  private async callExec(h: Handler, call: 'begin' | 'part' | 'end', part: Part | null): Promise<boolean> {
    const env: Record<string, string> = {
      INSTANCE_ID: this.instanceId,
      PART_FREQUENCY: this.firstRun ? 'per-instance' : 'per-boot',
    };
    if (part) { env['PART_TYPE'] = part.type; env['PART_FILENAME'] = part.filename; }
    const r = await this.ctx.run([h.path, call], { env, input: part ? part.body : '' });
    const what = part ? `on part ${part.filename} (${part.type})` : `on ${call}`;
    if (r.code === 0) {
      this.ctx.log.info(`${h.where}: handler ${call}${part ? ` ${part.filename}` : ''}: exit 0`);
      return true;
    }
    this.ctx.report('error', h.where, `part-handler ${h.path} failed ${what}: ${describeExit(r)}${r.stderr ? `: ${r.stderr.trim()}` : ''} (output in ${layout.outputLog})`);
    return false;
  }

  private async runPython(h: Handler): Promise<void> {
    const cfFreq = this.firstRun ? 'once-per-instance' : 'always';
    if (!(h.frequency === 'always' || (cfFreq === 'once-per-instance' && h.frequency === 'once-per-instance'))) {
      this.ctx.log.info(`${h.where}: handler not called on this boot (frequency ${h.frequency}, run frequency ${cfFreq})`);
      return;
    }
    const dir = handlersDir(this.instanceId);
    const result = `${dir}/part-handler-${pad(h.index)}.result.json`;
    this.ctx.files.unlink(result);
    const job = {
      frequency: cfFreq,
      instance_id: this.instanceId,
      parts: h.parts.map((p) => ({ type: p.type, filename: p.filename, headers: p.headers, payload: base64(p.body) })),
    };
    const r = await this.ctx.run([this.python!, '-u', `${dir}/${DRIVER}`, 'run', result, h.path], { input: JSON.stringify(job) });
    const out = readJson(this.ctx, result) as { failures?: Array<{ part: string; ctype: string; error: string }>; error?: string } | null;
    if (out === null) {
      this.ctx.report('error', h.where, `python part-handler ${h.path}: ${describeExit(r)} before it reported (output in ${layout.outputLog})`);
      return;
    }
    if (out.error) this.ctx.report('error', h.where, `python part-handler ${h.path}: ${out.error}`);
    for (const f of out.failures ?? []) {
      this.ctx.report('error', h.where, `python part-handler ${h.path} failed on ${f.ctype === '__begin__' || f.ctype === '__end__' ? f.ctype : `part ${f.part} (${f.ctype})`}: ${f.error} (traceback in ${layout.outputLog})`);
    }
    this.ctx.log.info(`${h.where}: python part-handler ran: ${h.parts.length} part(s), ${(out.failures ?? []).length} failure(s)`);
  }
}

function readJson(ctx: Context, path: string): unknown {
  const raw = ctx.files.readIfExists(path);
  if (raw === null) return null;
  try { return JSON.parse(asText(raw)) as unknown; } catch { return null; }
}

/**
 * Save every part-handler of `parts`, learn their types (exec: from the
 * header; Python: one python3 run over all of them) and route the later
 * parts. Problems are reported with the handler's part.
 */
export async function preparePartHandlers(ctx: Context, instanceId: string, parts: Part[]): Promise<PartHandlers> {
  const indexes = parts.flatMap((p, i) => (p.type === PART_HANDLER_TYPE ? [i] : []));
  if (indexes.length === 0) return PartHandlers.empty(ctx, instanceId);
  const dir = handlersDir(instanceId);
  ctx.files.mkdir(dir, 0o700);
  ctx.files.chmod(dir, 0o700);
  const firstRun = !alreadyDone(ctx, instanceId, CONSUME_SEM, 'per-instance');
  let python: string | null | undefined;
  const registered: Array<[number, Handler]> = [];
  const pythonHandlers: Array<[number, Handler]> = [];
  let count = 0;
  for (const i of indexes) {
    const part = parts[i]!;
    const where = `user-data ${part.filename} (${part.type})`;
    const index = count++;
    let header: ExecHeader | null;
    try { header = parseExecHeader(part.body); } catch (e) {
      ctx.report('error', where, `invalid part-handler: ${(e as Error).message}; not registered`);
      continue;
    }
    if (header) {
      const path = `${dir}/part-handler-${pad(index)}`;
      ctx.files.write(path, part.body.subarray(part.body.indexOf(0x0a) + 1), { mode: 0o700 });
      registered.push([i, { index, part, where, form: 'exec', path, types: claimed(ctx, where, header.types), frequency: header.frequency, version: 0, parts: [], started: false }]);
      continue;
    }
    const path = `${dir}/part-handler-${pad(index)}.py`;
    ctx.files.write(path, part.body, { mode: 0o600 });
    if (python === undefined) python = findPython(ctx);
    if (python === null) {
      ctx.report('error', where, `this is a cloud-init Python part-handler and the image has no python3 (looked for ${PYTHON_CANDIDATES.join(', ')}): not run; the parts it would handle are left to the other handlers. An executable handler ('#part-handler', a '#!' line, a '# types:' line) needs no Python.`);
      continue;
    }
    pythonHandlers.push([i, { index, part, where, form: 'python', path, types: [], frequency: 'once-per-instance', version: 1, parts: [], started: false }]);
  }
  if (pythonHandlers.length && python) {
    writeDriver(ctx, dir);
    const result = `${dir}/types.result.json`;
    ctx.files.unlink(result);
    const r = await ctx.run([python, '-u', `${dir}/${DRIVER}`, 'types', result, ...pythonHandlers.map(([, h]) => h.path)]);
    const info = readJson(ctx, result) as Record<string, { types?: string[]; version?: number; frequency?: string; error?: string }> | null;
    for (const [i, h] of pythonHandlers) {
      const got = info?.[h.path];
      if (!got) { ctx.report('error', h.where, `python part-handler ${h.path}: ${describeExit(r)} before it reported its types (output in ${layout.outputLog}); not registered`); continue; }
      if (got.error !== undefined) { ctx.report('error', h.where, `python part-handler ${h.path} could not be loaded: ${got.error}; not registered`); continue; }
      h.types = claimed(ctx, h.where, (got.types ?? []).map((t) => t.toLowerCase()));
      h.version = got.version ?? 1;
      h.frequency = got.frequency ?? 'once-per-instance';
      registered.push([i, h]);
      ctx.log.info(`${h.where}: python part-handler registered for ${h.types.join(', ') || 'no types'} (version ${h.version}, frequency ${h.frequency})`);
    }
  }
  const set = new PartHandlers(ctx, instanceId, firstRun, python ?? null);
  for (const [i, h] of registered) set.add(i, h);
  set.buildRoutes(parts);
  return set;
}

/** The types a handler may take; the others are reported. */
function claimed(ctx: Context, where: string, types: string[]): string[] {
  const refused = types.filter((t) => UNCLAIMABLE.has(t));
  if (refused.length) ctx.report('warning', where, `a part-handler cannot take ${refused.join(', ')} (handled before part-handlers run); ignored`);
  return types.filter((t) => !UNCLAIMABLE.has(t));
}

const DRIVER = 'ec2-init-handler-driver.py';

/** The driver and, for handlers that import cloud-init's own modules, a stand-in (used only when cloudinit is not installed). */
function writeDriver(ctx: Context, dir: string): void {
  ctx.files.write(`${dir}/${DRIVER}`, DRIVER_PY, { mode: 0o600 });
  ctx.files.write(`${dir}/ec2-init-shim/cloudinit/__init__.py`, '# ec2-init: stand-in for cloud-init, for part-handlers that import it\n', { mode: 0o600 });
  ctx.files.write(`${dir}/ec2-init-shim/cloudinit/cloud.py`, 'class Cloud:\n    """What cloud-init passes as `data`; ec2-init passes an object with get_instance_id()."""\n', { mode: 0o600 });
  ctx.files.chmod(`${dir}/ec2-init-shim`, 0o700);
  ctx.files.chmod(`${dir}/ec2-init-shim/cloudinit`, 0o700);
}

// The Python side: `types RESULT FILE...` imports each handler and records
// its types, version and frequency; `run RESULT FILE` reads the job (JSON on
// stdin) and calls __begin__, each part, __end__ as cloud-init's run_part
// does (version 1: four arguments, 2: frequency, 3: headers), recording each
// failure; tracebacks go to stderr (the output log).
const DRIVER_PY = String.raw`# Written by ec2-init: runs cloud-init style part-handlers. Do not edit.
import base64, importlib.util, json, os, sys, traceback

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.append(os.path.join(HERE, "ec2-init-shim"))


def write_result(path, value):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(value, f)
    os.replace(tmp, path)


def load(path):
    name = os.path.basename(path)[:-3]
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def describe(mod):
    try:
        version = int(getattr(mod, "handler_version", 1))
    except (TypeError, ValueError):
        version = 1
    frequency = getattr(mod, "frequency", "once-per-instance") or "once-per-instance"
    list_types = getattr(mod, "list_types", None)
    types = list(list_types()) if list_types else []
    for t in types:
        if not isinstance(t, str):
            raise TypeError("list_types() returned %r, not a string" % (t,))
    return version, str(frequency), types


def error_text(e):
    text = str(e).strip()
    return type(e).__name__ + (": " + text if text else "")


class Data(object):
    """Stands for cloud-init's Cloud object (the data argument)."""

    def __init__(self, instance_id):
        self.instance_id = instance_id

    def get_instance_id(self):
        return self.instance_id


def types_mode(result, files):
    out = {}
    for path in files:
        try:
            version, frequency, types = describe(load(path))
            out[path] = {"types": types, "version": version, "frequency": frequency}
        except BaseException as e:
            traceback.print_exc()
            out[path] = {"error": error_text(e)}
    write_result(result, out)


def run_mode(result, path):
    job = json.load(sys.stdin)
    failures = []
    try:
        mod = load(path)
        version, _, _ = describe(mod)
    except BaseException as e:
        traceback.print_exc()
        write_result(result, {"error": "could not be loaded: " + error_text(e), "failures": []})
        return
    data = Data(job["instance_id"])
    frequency = job["frequency"]

    def call(ctype, filename, payload, headers):
        try:
            if version == 3:
                mod.handle_part(data, ctype, filename, payload, frequency, headers)
            elif version == 2:
                mod.handle_part(data, ctype, filename, payload, frequency)
            elif version == 1:
                mod.handle_part(data, ctype, filename, payload)
            else:
                raise ValueError("Unknown module version %s" % version)
        except BaseException as e:
            traceback.print_exc()
            failures.append({"part": filename, "ctype": ctype, "error": error_text(e)})

    call("__begin__", None, None, {"Content-Type": "__begin__"})
    for p in job["parts"]:
        raw = base64.b64decode(p["payload"])
        # As cloud-init: text parts are str (UTF-8, undecodable bytes kept), others bytes.
        payload = raw.decode("utf-8", "surrogateescape") if p["type"].startswith("text/") else raw
        headers = dict(p["headers"])
        headers["Content-Type"] = p["type"]
        call(p["type"], p["filename"], payload, headers)
    call("__end__", None, None, {"Content-Type": "__end__"})
    sys.stdout.flush()
    write_result(result, {"failures": failures})


if __name__ == "__main__":
    if sys.argv[1] == "types":
        types_mode(sys.argv[2], sys.argv[3:])
    else:
        run_mode(sys.argv[2], sys.argv[3])
`;
