// A parser for the subset of upstart's job syntax (init(5)) the package's
// jobs use. No distribution here ships upstart, so the package test reads the
// jobs with this and checks their event chain instead of booting them.

export interface Job {
  name: string;
  description?: string;
  startOn?: Expr;
  stopOn?: Expr;
  task: boolean;
  emits: string[];
  /** Bodies of script ... end script blocks, by stanza (script, pre-start...). */
  scripts: Map<string, string>;
  exec?: string;
}

/** An event expression: EVENT [KEY=VALUE | KEY!=VALUE | VALUE]..., and/or, parentheses. */
export type Expr =
  | { op: 'and' | 'or'; left: Expr; right: Expr }
  | { op: 'event'; name: string; args: string[] };

const BLOCKS = new Set(['script', 'pre-start', 'post-start', 'pre-stop', 'post-stop']);
const FLAGS = new Set(['task', 'respawn', 'manual']);
const KNOWN = new Set(['description', 'author', 'start', 'stop', 'emits', 'console', 'exec', 'env', 'normal', 'kill', 'instance', 'expect', 'oom', 'umask', 'nice', 'limit', 'chdir', 'chroot', 'setuid', 'setgid', 'usage', 'version', 'respawn']);

export function parseJob(name: string, text: string): Job {
  const job: Job = { name, task: false, emits: [], scripts: new Map() };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i].replace(/(^|\s)#.*$/, '').trim();
    if (!line) continue;
    const [word] = line.split(/\s+/);
    // script / pre-start script ...: everything up to "end script" is shell.
    const block = word === 'script' ? 'script' : BLOCKS.has(word) && /\sscript$/.test(line) ? word : undefined;
    if (block) {
      const body: string[] = [];
      for (i++; i < lines.length && lines[i].trim() !== 'end script'; i++) body.push(lines[i]);
      if (i === lines.length) throw new Error(`${name}: "${block} script" without "end script"`);
      job.scripts.set(block, body.join('\n'));
      continue;
    }
    // start on / stop on go on while their parentheses are open.
    if (word === 'start' || word === 'stop') {
      while (depth(line) > 0 && i + 1 < lines.length) line += ' ' + lines[++i].replace(/(^|\s)#.*$/, '').trim();
      const m = /^(start|stop)\s+on\s+(.+)$/.exec(line);
      if (!m) throw new Error(`${name}: cannot read "${line}"`);
      const expr = parseExpr(m[2]);
      if (m[1] === 'start') job.startOn = expr; else job.stopOn = expr;
    } else if (FLAGS.has(word)) {
      if (word === 'task') job.task = true;
    } else if (word === 'emits') {
      job.emits.push(...line.split(/\s+/).slice(1));
    } else if (word === 'description') {
      job.description = line.slice(word.length).trim().replace(/^"(.*)"$/, '$1');
    } else if (word === 'exec') {
      job.exec = line.slice(word.length).trim();
    } else if (!KNOWN.has(word)) {
      throw new Error(`${name}: unknown stanza "${word}"`);
    }
  }
  return job;
}

function depth(s: string): number {
  return [...s].reduce((d, c) => d + (c === '(' ? 1 : c === ')' ? -1 : 0), 0);
}

/** Parses an event expression; "and" binds tighter than "or", as in upstart. */
export function parseExpr(text: string): Expr {
  const tokens = text.match(/\(|\)|[^\s()]+/g) ?? [];
  let pos = 0;
  const or = (): Expr => {
    let left = and();
    while (tokens[pos] === 'or') { pos++; left = { op: 'or', left, right: and() }; }
    return left;
  };
  const and = (): Expr => {
    let left = atom();
    while (tokens[pos] === 'and') { pos++; left = { op: 'and', left, right: atom() }; }
    return left;
  };
  const atom = (): Expr => {
    const t = tokens[pos++];
    if (t === '(') {
      const e = or();
      if (tokens[pos++] !== ')') throw new Error(`missing ")" in: ${text}`);
      return e;
    }
    if (t === undefined || t === ')' || t === 'and' || t === 'or') throw new Error(`expected an event in: ${text}`);
    const args: string[] = [];
    while (pos < tokens.length && !['and', 'or', '(', ')'].includes(tokens[pos])) args.push(tokens[pos++]);
    return { op: 'event', name: t, args };
  };
  const e = or();
  if (pos !== tokens.length) throw new Error(`trailing "${tokens.slice(pos).join(' ')}" in: ${text}`);
  return e;
}

/** Every event an expression waits for, with its arguments. */
export function events(e: Expr | undefined): { name: string; args: string[] }[] {
  if (!e) return [];
  return e.op === 'event' ? [{ name: e.name, args: e.args }] : [...events(e.left), ...events(e.right)];
}
