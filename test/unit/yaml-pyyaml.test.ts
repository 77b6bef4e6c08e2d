// Differential: ec2-init's YAML parser against the real PyYAML (Debian's
// python3-yaml, yaml.safe_load), which is the specification. Every document
// goes through both; values must be equal, and a document one rejects the
// other must reject too, on the same line. Columns and wording of errors are
// compared and reported, not asserted. Corpora: cloud-init's own files,
// hand-written tricky cases, and seeded random documents (valid and broken).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEFAULT_LIMITS, parseYaml, timestampParts, YamlError } from '../../src/yaml/index.ts';
import { CONFORMANCE } from '../helpers/paths.ts';
import { unavailable } from '../helpers/needs.ts';

// --- PyYAML -------------------------------------------------------------

// Reads a JSON list of documents on stdin; prints, per document, the value
// yaml.safe_load builds in a canonical JSON form (floats, big ints, bytes,
// dates, sets, tuples and dict keys marked so they compare), or the error
// with its 1-based problem line and column.
const PYTHON = String.raw`
import base64, datetime, json, sys, yaml

def key_name(k):
    if isinstance(k, str): return k
    if k is True: return 'true'
    if k is False: return 'false'
    if k is None: return 'null'
    if isinstance(k, int): return str(k)
    if isinstance(k, float): return json.dumps(k)
    if isinstance(k, bytes): return base64.b64encode(k).decode('ascii')
    if isinstance(k, (datetime.date, datetime.datetime)): return k.isoformat()
    return repr(k)

def canon(x):
    if x is None or isinstance(x, (bool, str)): return x
    if isinstance(x, int): return x if abs(x) <= 2**53 else {'$int': str(x)}
    if isinstance(x, float): return {'$float': repr(x)}
    if isinstance(x, bytes): return {'$bytes': x.hex()}
    if isinstance(x, (datetime.date, datetime.datetime)): return {'$ts': x.isoformat()}
    if isinstance(x, list): return [canon(i) for i in x]
    if isinstance(x, tuple): return {'$tuple': [canon(i) for i in x]}
    if isinstance(x, set): return {'$set': [canon(i) for i in x]}
    if isinstance(x, dict): return {'$map': [[key_name(k), canon(v)] for k, v in x.items()]}
    return {'$other': repr(x)}

def reader_mark(text, position):
    line = column = 0
    i = 0
    while i < position:
        ch = text[i]
        if ch in '\n\x85\u2028\u2029' or (ch == '\r' and text[i + 1:i + 2] != '\n'):
            line += 1; column = 0
        elif ch != '\ufeff':
            column += 1
        i += 1
    return line + 1, column + 1

LIMIT = sys.getrecursionlimit()  # PyYAML reads under Python's own limit, as in cloud-init

def recursive(value):
    # A linear walk (each collection once) that finds a value containing itself before canon walks it
    # as a tree: a recursive value can also share big subtrees, which canon would walk again and again.
    on_path, done = set(), set()
    def kids(x):
        if isinstance(x, (list, tuple)): return x
        if isinstance(x, dict): return list(x.values())
        return ()
    end = object()
    stack = [(value, iter(kids(value)))]
    on_path.add(id(value))
    while stack:
        x, it = stack[-1]
        c = next(it, end)
        if c is end:
            stack.pop(); on_path.discard(id(x)); done.add(id(x)); continue
        if not isinstance(c, (list, tuple, dict)) or id(c) in done: continue
        if id(c) in on_path: return True
        on_path.add(id(c)); stack.append((c, iter(kids(c))))
    return False

def canonical(value):
    # Deep values (aliases add depth PyYAML never recursed into) need more stack to compare than to read.
    sys.setrecursionlimit(100000)
    try:
        return canon(value)
    finally:
        sys.setrecursionlimit(LIMIT)

out = []
for doc in json.load(sys.stdin):
    try:
        value = yaml.safe_load(doc)
        if recursive(value):
            out.append({'kind': 'recursive'})
            continue
        out.append({'kind': 'value', 'value': canonical(value)})
    except yaml.reader.ReaderError as e:
        line, column = reader_mark(doc, e.position)
        problem = 'unacceptable character #x%04x: %s' % (e.character, e.reason)
        out.append({'kind': 'error', 'type': 'ReaderError', 'line': line, 'column': column, 'problem': problem})
    except yaml.MarkedYAMLError as e:
        m = e.problem_mark
        out.append({'kind': 'error', 'type': type(e).__name__, 'line': m.line + 1 if m else None,
                    'column': m.column + 1 if m else None, 'problem': e.problem, 'context': e.context})
    except RecursionError:
        out.append({'kind': 'error', 'type': 'RecursionError', 'line': None, 'column': None, 'problem': 'recursion'})
    except Exception as e:
        out.append({'kind': 'error', 'type': type(e).__name__, 'line': None, 'column': None, 'problem': str(e)})
sys.setrecursionlimit(100000)
print(json.dumps(out))
`;

type PyResult =
  | { kind: 'value'; value: unknown }
  | { kind: 'recursive' }
  | { kind: 'error'; type: string; line: number | null; column: number | null; problem: string; context?: string | null };

const PY_BIN = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const havePyYaml = spawnSync(PY_BIN, ['-c', 'import yaml'], { encoding: 'utf8' }).status === 0;
const SKIP = havePyYaml ? false : unavailable('PyYAML is missing: apt-get install -y python3-yaml');

function pyLoad(docs: string[]): PyResult[] {
  const dir = mkdtempSync(join(tmpdir(), 'ec2-init-pyyaml-'));
  try {
    const script = join(dir, 'load.py');
    writeFileSync(script, PYTHON);
    const r = spawnSync(PY_BIN, [script], { input: JSON.stringify(docs), encoding: 'utf8', maxBuffer: 1 << 30 });
    if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as PyResult[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// --- comparison -------------------------------------------------------------

function isoformat(text: string): string {
  const p = timestampParts(text);
  const d2 = (n: number) => String(n).padStart(2, '0');
  const date = `${String(p.year).padStart(4, '0')}-${d2(p.month)}-${d2(p.day)}`;
  if (!p.time) return date;
  const t = p.time;
  let s = `${date}T${d2(t.hour)}:${d2(t.minute)}:${d2(t.second)}`;
  if (t.microsecond) s += `.${String(t.microsecond).padStart(6, '0')}`;
  if (t.offsetMinutes !== null) {
    const o = Math.abs(t.offsetMinutes);
    s += `${t.offsetMinutes < 0 ? '-' : '+'}${d2(Math.floor(o / 60))}:${d2(o % 60)}`;
  }
  return s;
}

/** A key that is a timestamp compares by its ISO form: PyYAML's datetime keys keep no text. */
function tsKey(k: string): string {
  if (!/^[0-9]{4}-/.test(k)) return k;
  try { return `$ts:${isoformat(k)}`; } catch { return k; }
}

function pyFloat(repr: string): number {
  if (repr === 'inf') return Infinity;
  if (repr === '-inf') return -Infinity;
  if (repr === 'nan') return NaN;
  return Number(repr);
}

/** Where `actual` differs from PyYAML's canonical `expected`, or null. */
function differ(expected: unknown, actual: unknown, path = '$'): string | null {
  const show = (v: unknown) => (typeof v === 'bigint' ? String(v) : JSON.stringify(v, (_k, x: unknown) => (x instanceof Set ? [...x] : x)) ?? String(v));
  const no = () => `${path}: expected ${show(expected)}, got ${show(actual)}`;
  if (expected === null || typeof expected === 'boolean' || typeof expected === 'string' || typeof expected === 'number') {
    return Object.is(expected, actual) ? null : no();
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) return no();
    for (let i = 0; i < expected.length; i++) {
      const d = differ(expected[i], actual[i], `${path}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  const e = expected as Record<string, unknown>;
  if ('$int' in e) return actual === Number(e['$int']) ? null : no();
  if ('$float' in e) return Object.is(pyFloat(e['$float'] as string), actual) ? null : no();
  if ('$bytes' in e) return actual instanceof Uint8Array && Buffer.from(actual).toString('hex') === e['$bytes'] ? null : no();
  if ('$ts' in e) {
    if (typeof actual !== 'string') return no();
    try { return isoformat(actual) === e['$ts'] ? null : no(); } catch { return no(); }
  }
  if ('$tuple' in e) return differ(e['$tuple'], actual, path);
  if ('$set' in e) {
    if (!(actual instanceof Set)) return no();
    const items = [...actual];
    const want = e['$set'] as unknown[];
    if (items.length !== want.length) return no();
    for (const w of want) if (!items.some((a) => differ(w, a) === null)) return no();
    return null;
  }
  if ('$map' in e) {
    if (typeof actual !== 'object' || actual === null || Object.getPrototypeOf(actual) !== Object.prototype) return no();
    // As JSON.parse(json.dumps(dict)) would see it: the last value of a key at its first place.
    const want = new Map<string, unknown>();
    for (const [k, v] of e['$map'] as Array<[string, unknown]>) want.set(tsKey(k), v);
    const names = new Map(Object.keys(actual).map((k) => [tsKey(k), k]));
    const got = [...names.keys()];
    if (got.length !== want.size || !got.every((k) => want.has(k))) return `${path}: keys ${show([...want.keys()])}, got ${show(got)}`;
    const named = (ks: string[]) => ks.filter((k) => !/^(?:0|[1-9][0-9]*)$/.test(k)); // JS puts index-like keys first
    if (show(named([...want.keys()])) !== show(named(got))) return `${path}: key order ${show([...want.keys()])}, got ${show(got)}`;
    for (const [k, v] of want) {
      const d = differ(v, (actual as Record<string, unknown>)[names.get(k)!], `${path}.${k}`);
      if (d) return d;
    }
    return null;
  }
  return `${path}: cannot compare ${show(expected)}`;
}

interface Ours { ok: true; value: unknown } 
type OursResult = Ours | { ok: false; error: YamlError };

function ours(doc: string): OursResult {
  try {
    return { ok: true, value: parseYaml(doc) };
  } catch (e) {
    if (e instanceof YamlError) return { ok: false, error: e };
    throw new Error(`not a YamlError for ${JSON.stringify(doc)}: ${(e as Error).stack}`);
  }
}

// Differences kept on purpose (see the report in src/yaml/index.ts's header).
function knownDifference(py: PyResult, mine: OursResult): string | null {
  if (py.kind === 'recursive' && !mine.ok && /recursive/.test(mine.error.reason)) {
    return 'recursive alias: PyYAML builds a self-containing value, ec2-init refuses it';
  }
  if (py.kind === 'error' && py.type === 'RecursionError' && mine.ok) {
    return `nested deeper than PyYAML's SafeLoader reads (Python's recursion limit: ~492 levels) but within ec2-init's ${DEFAULT_LIMITS.maxDepth}: ec2-init reads it`;
  }
  return null;
}

interface Report {
  total: number;
  values: number;
  errors: number;
  known: Map<string, number>;
  failures: string[];
  columns: string[];
  messages: string[];
}

function compareAll(docs: string[]): Report {
  const py = pyLoad(docs);
  const r: Report = { total: docs.length, values: 0, errors: 0, known: new Map(), failures: [], columns: [], messages: [] };
  docs.forEach((doc, i) => {
    const p = py[i]!;
    const mine = ours(doc);
    const known = knownDifference(p, mine);
    const name = JSON.stringify(doc.length > 300 ? `${doc.slice(0, 300)}…` : doc);
    if (known) {
      r.known.set(known, (r.known.get(known) ?? 0) + 1);
      return;
    }
    if (p.kind === 'value') {
      r.values++;
      if (!mine.ok) { r.failures.push(`${name}: PyYAML reads it, ours fails: ${mine.error.message}`); return; }
      const d = differ(p.value, mine.value);
      if (d) r.failures.push(`${name}: ${d}`);
      return;
    }
    if (p.kind === 'recursive') { r.failures.push(`${name}: PyYAML builds a recursive value, ours: ${mine.ok ? 'a value' : mine.error.message}`); return; }
    r.errors++;
    if (mine.ok) { r.failures.push(`${name}: PyYAML fails (${p.type} at ${p.line}:${p.column}: ${p.problem}), ours reads ${JSON.stringify(mine.value)}`); return; }
    if (p.line === null) return; // not a YAMLError (ValueError, …): no position to compare
    if (p.line !== mine.error.line) {
      r.failures.push(`${name}: PyYAML fails at line ${p.line} (${p.problem}), ours at line ${mine.error.line} (${mine.error.reason})`);
      return;
    }
    if (p.column !== mine.error.column) r.columns.push(`${name}: PyYAML column ${p.column} (${p.problem}), ours ${mine.error.column} (${mine.error.reason})`);
    if (!mine.error.reason.includes(p.problem)) r.messages.push(`${name}: PyYAML "${p.problem}", ours "${mine.error.reason}"`);
  });
  return r;
}

function check(t: { diagnostic(m: string): void }, label: string, docs: string[]): void {
  const r = compareAll(docs);
  t.diagnostic(`${label}: ${r.total} documents (${r.values} read, ${r.errors} rejected by PyYAML); ` +
    `${r.columns.length} error columns and ${r.messages.length} error messages differ`);
  for (const [why, n] of r.known) t.diagnostic(`  kept difference ×${n}: ${why}`);
  for (const c of r.columns.slice(0, 5)) t.diagnostic(`  column: ${c}`);
  for (const m of r.messages.slice(0, 5)) t.diagnostic(`  message: ${m}`);
  assert.deepEqual(r.failures.slice(0, 20), [], `${r.failures.length} of ${r.total} documents differ`);
}

// --- corpora ----------------------------------------------------------------

const CLOUD_INIT = join(CONFORMANCE, 'cloud-init');

function conformanceFiles(): Array<{ name: string; text: string }> {
  const out: Array<{ name: string; text: string }> = [];
  const walk = (dir: string) => {
    for (const f of readdirSync(dir).sort()) {
      const p = join(dir, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (!f.startsWith('LICENSE')) out.push({ name: p.slice(CLOUD_INIT.length + 1), text: readFileSync(p, 'utf8') });
    }
  };
  walk(CLOUD_INIT);
  return out;
}

// Hand-written cases: every scalar form, indentation, flow in block,
// comments, keys, anchors, merges, tabs, line endings, unicode, markers,
// and broken documents. Grouped; each string is one document.
export const TRICKY: readonly string[] = [
  // null
  '~', 'null', 'Null', 'NULL', 'nUll', '', 'a:', 'a: ~', '- ', '-', '# only a comment\n', 'a: null\nb: Null\nc: NULL\nd: ~\n',
  // booleans (y and n are strings in PyYAML)
  'yes', 'Yes', 'YES', 'no', 'No', 'NO', 'true', 'True', 'TRUE', 'false', 'False', 'FALSE', 'on', 'On', 'ON', 'off', 'Off', 'OFF',
  'y', 'Y', 'n', 'N', 'yES', 'tRUE', '[y, n, yes, no, on, off]',
  // integers
  '0', '-0', '+0', '00', '0644', '-0644', '0o17', '08', '0x1F', '0X1F', '-0x1f', '0b101', '-0b101', '0b2', '1_000', '1__0', '_1', '1_',
  '190:20:30', '-1:30', '1:60', '1:5', '12345678901234567890', '9007199254740993', '0x_', '0b_', '+0x_1', '0_', '-0_0',
  '0xFFFFFFFFFFFFFFFFFFFF', '- 0777\n- 0778\n- 019\n',
  // floats
  '1.5', '1.', '.5', '-.5', '+1.5', '1.5e+3', '1.5e3', '1e5', '1.0E-3', '6.8523015e+5', '685.230_15e+03', '190:20:30.15',
  '.inf', '-.inf', '+.inf', '.Inf', '.INF', '.nan', '.NaN', '.NAN', '-.nan', '.nAn', '1_000.5', '0.', '-0.0', '1.0e+400', '._5', '1.2.3',
  '0.1', '100.0', '1e-7', '123456789012345678.0', '0.00001', '.5e+1',
  // timestamps
  '2001-12-14', '2001-12-14t21:59:43.10-05:00', '2001-12-14 21:59:43.10 -5', '2001-12-15T02:59:43.1Z', '2001-2-3',
  '2001-12-14 21:59:43', '2001-12-14T21:59:43+05:30', '1999-12-31 23:59:59 Z', '2001-12-14 21:59:43.1234567', '2001-12-14\t21:59:43',
  '2001-02-30', '2001-13-01', '0000-01-01', '2001-12-14 25:00:00', '2001-12-14 21:59:43 +24', '2001-12-14 21:60:00',
  '2000-02-29', '1900-02-29', 'expiredate: 2032-09-01\n', '2001-12-14 1:02:03', '2001-1-1',
  // plain strings
  'hello world', 'a: b c  d', 'a #b', 'a#b', 'a: b#c', 'a: -b', 'a: ?b', 'a: :b', '- -', '- -a', 'a: b:c', 'a: http://x/y?z#w',
  '%a', '@a', '`a', 'a: @b', '"a": b', 'a: b\n  c\n  d', 'a: b\n\n  c', 'a: b\n\n\n  c\n', '- a\n  b', 'a\nb', 'a\n\n\nb',
  'a: b \n  c', "a: it's", 'a: "b" c', 'a: b "c"', '::', ': :', '-a', '?a', '? a', '!a',
  // quoted strings
  '"\\x41\\u00e9\\U0001F600\\N\\_\\L\\P\\0\\a\\b\\t\\n\\v\\f\\r\\e\\ \\"\\/\\\\"', '"\\q"', '"\\x4"', '"\\u12"', '"\\U00110000"',
  "'it''s'", "'a\\b'", '"a\\\n  b"', '"a\n  b"', '"a\n\n  b"', '"a  \n  b"', '"a\n---\nb"', '"a\n...\nb"', "'a\n\n\n  b'",
  '"\\ud800"', '"a\tb"', "'\t'", '"a\\\tb"', '"\\\n"', '""', "''", '"a"b', "'a' 'b'", '"unterminated', "'unterminated",
  '"a\\"', 'a: "b\n c"', 'a: "b\n\n c"\n', '"  lead"', '"trail  "', "'\\n'",
  // block scalars
  '|\n  a\n  b\n', '>\n  a\n  b\n', '|-\n  a\n', '|+\n  a\n\n\n', '>-\n  a\n  b\n', '>+\n  a\n\n', '|2\n   a\n  b\n', '|1-\n a\n',
  '|-1\n a\n', '|0\n a\n', '|10\n a\n', '|++\n a\n', '|x\n a\n', '| # comment\n  a\n', '|# c\n a\n', '>\n  a\n  b\n\n  c\n   d\n  e\n',
  '|\n  \n  a\n', '|\n    \n  a\n', '|\n  a\n b\n', 'a: |\n  x\nb: 1\n', '--- |\n  foo\n', '|\n\ttab\n', '|\n  a\tb\n',
  '>\n\n  a\n\n', '|\n', '>', 'a: |\n\nb: 1\n', '- |\n  a\n- >\n  b\n', 'a: >\n  folded\n  text\n\n  para\n', '|\n  a\n\n',
  '>\n  a\n    b\n  c\n', '>\n   a\n  b\n', 'a: |2\n    x\n', 'a:\n  b: |\n    x\n  c: 1\n', '|\n a\n  b\n a\n', '|-\n\n\n', '|+\n\n\n',
  'a: |\r\n  x\r\n  y\r\n', '- |\n  a\n -\n', 'a: | x\n',
  // explicit tags
  '!!str 123', '!!int "12"', '!!int " 12 "', '!!int x', '!!int 1.5', '!!int 0o17', '!!int 1:2:3', '!!int --1', '!!float 1', '!!float inf',
  '!!float -inf', '!!float nan', '!!float 1e5', '!!float " 2.5 "', '!!float x', '!!float ""', '!!int ""', '!!bool yes', '!!bool y',
  '!!bool TRUE', '!!null x', '!!str', '!!int', '!!binary |\n  aGVsbG8=\n', '!!binary "aGVsbG8"', '!!binary "a=GVs"', '!!binary "aGVsbG8=é"',
  '!!binary "aGVs bG8="', '!!binary "a"', '!!binary ""', '!!binary "===="', '!!binary "YQ==YQ=="', '!!set {a, b, c}', '!!set {1, true, 1.0}',
  '!!set {a: 1}', '!!set [a]', '!!omap [a: 1, b: 2]', '!!pairs [a: 1, a: 2]', '!!omap {a: 1}', '!!omap [a]', '!!omap [{a: 1, b: 2}]',
  '!!pairs [{}]', '!!seq {a: 1}', '!!map [a]', '!!seq [a]', '!!map {a: 1}', '!foo bar', '!<tag:yaml.org,2002:str> 1', '!<!> x',
  '%TAG !e! tag:example.com,2000:\n---\n!e!foo bar', '%TAG !! tag:yaml.org,2002:\n--- !!int 3', '!e!x y', '!!python/object:os.system x',
  '! a', '! 12', '! "12"', '! [a]', '!!timestamp 2001-12-14', '!!timestamp x', '!!str &a x', '&a !!str x', '!!int &a 0x10',
  '!<tag:yaml.org,2002:st%72> x', '!<tag:yaml.org,2002:%E2%82%AC> x', '!<%FF> x', '!<%4> x', '!a!b c', '!!str\tx', '!x\ty',
  '- !!str\n- !!int 1', '!!str [a]', '!!int {a: 1}', '!!bool {=: yes}', 'a: !!null', '!<> x', '!< x', '!!', '!!!x y',
  '%TAG !x! tag:x,2000:\n%TAG !x! tag:y,2000:\n--- a',
  // anchors and aliases
  '&a x', 'a: &a 1\nb: *a', '*a', 'a: &a [1, 2]\nb: *a', 'a: &x {b: 1}\nc: *x', '&a a: b', '? &a x\n: *a', '&a', '[&a, *a]',
  'a: &k x\n*k : 1', 'a: &a\nb: *a', '&a [*a]', '&a {x: *a}', 'a: &a b\nc: &a d', '[*a, &a b]', '&a&b x', '&a *b', '*a\n', '&a\t x',
  '&é x', '[&a x, *a, *a]', 'a: *a b', '&a [1, &b [2, *b]]', '- &a\n  x: 1\n- *a', 'a: &a\n  - 1\n  - &b 2\nb: [*a, *b]', '&a !!str *b',
  // merge keys
  'base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\n', 'a: &a {x: 1}\nb: &b {x: 2, y: 2}\nc: {<<: [*a, *b]}', 'a: &a {x: 1}\nb: &b {x: 2}\nc:\n  <<: *a\n  <<: *b\n',
  'a: &a {x: 1, <<: {y: 2}}\nb: {<<: *a, z: 3}', 'a: {<<: 1}', 'a: {<<: [1]}', 'a: {<<: [{x: 1}, 2]}', 'a: &a {x: 1}\nb: {"<<": *a}', 'a: <<', '- <<',
  '<<: {x: 1}', 'a: {y: 0, <<: {x: 1, y: 1}}', 'a: &a {x: 1}\nb: {!!merge <<: *a}', 'a: &a [1]\nb: {<<: *a}', '? <<\n: {x: 1}',
  'a: &a {x: 1}\nb: &b {<<: *a, y: 2}\nc: {<<: *b, z: 3}', '!!set {<<: {a: 1}}', '!!omap [<<: {a: 1}]', 'a: {<<: {}}', 'a: {<<: []}',
  'x: &x {a: 1}\ny: {<<: [*x, *x]}', '<<: &m {a: 1}\nb: *m', 'a: {=: 1, <<: {=: 2}}',
  // a mapping merged into itself, or by one it merges; an alias to its own collection dropped by a duplicate key
  'x: &x {a: 1, <<: *x}', '&x {<<: *x, a: 1}', '&x {a: 1, <<: [*x]}', 'y: &y {b: 2, a: 0}\nx: &x {a: 1, <<: [*y, *x]}',
  'y: &y {b: 2, a: 0}\nx: &x {a: 1, <<: [*x, *y]}', 'y: &y {b: 2, c: 0}\nz: &z {d: 3}\nx: &x {a: 1, <<: [*y, *x], <<: *z}',
  'x: &x {a: 1, <<: &y {b: 2, <<: *x}}', '&x {a: 1, <<: *x, <<: *x, <<: *x}', 'x: &x\n  a: 1\n  <<: *x\n  b: 2\n',
  '&x {a: 1, b: &y {<<: [*x, *y], c: 3}}', 'x: &x {a: *x, a: 1}', 'x: &x [1, {a: *x, a: 2}]', 'x: &x {a: {b: *x}, a: 1}',
  '&x {a: *x, a: 1, b: [*x]}', 'x: &x {a: 1, b: {<<: *x}}', '&x [*x]', '&x {<<: *x}', '&x {<<: [*x, *x]}', '&x {=: 1, <<: *x}',
  '!!set &x {a, <<: *x}', '&x {a: 1, <<: *x, a: *x}',
  // nesting around PyYAML's SafeLoader limit (Python's recursion limit: ~492 levels)
  ...[200, 201, 300, 325, 400, 490, 491, 492, 493, 499, 500, 501, 600].flatMap((n) => [
    `a: ${'['.repeat(n)}1${']'.repeat(n)}`, `${'{a: '.repeat(n)}1${'}'.repeat(n)}`, Array.from({ length: n }, (_, i) => `${' '.repeat(i)}k:`).join('\n') + ' 1\n',
  ]),
  `a: &d ${'['.repeat(400)}1${']'.repeat(400)}\nb: ${'['.repeat(400)}*d${']'.repeat(400)}`,
  // duplicate and non-string keys
  'a: 1\na: 2', '{a: 1, a: 2}', '1: a\n1: b', '1: a\n"1": b', 'null: a\n~: b', 'true: 1\nyes: 2\non: 3', '0: a\nfalse: b', '1.0: a\n1: b',
  '.nan: a\n.NaN: b', '-0.0: a\n0: b', '1.5: a', '.inf: a\n-.inf: b', '100000000000000000000: a', '1e+20: a', '1.0e+20: a', '0x10: a',
  '2001-01-01: a', 'b: 1\n2: x\n1: y', '__proto__: {polluted: true}\nb: 1', '{__proto__: 1, constructor: 2, toString: 3}',
  '!!binary aGk=: x', 'a: 1\nb: 2\na: 3\n', '1: a\ntrue: b', 'true: b\n1: a', '"": a\n~: b', '? ~\n: a', '=: a',
  // complex keys
  '? a\n: b', '? [a, b]\n: c', '? {a: b}\n: c', '? |\n  block key\n: v', '[a, b]: c', '{a: b}: c', '? a', '?\n: a', '? - a\n  - b\n: c',
  '? a\n? b\n', '? a\n: b\n? c\n: d\n', '?: a', '? a: b\n: c', ': a', 'a\n: b', '? !!set {a}\n: b', '- ? a\n  : b', '[? a : b]', '{? a: b}',
  // flow collections
  '[a, b, c]', '[a, [b, c], {d: e}]', '{a: 1, b: [2, 3]}', '[a: 1, b: 2]', '{a, b: c}', '{? a}', '[a,]', '[,a]', '{a: 1,}', '{,}', '[a b]',
  '[a\n b]', '[a, b', 'a: [b,\n  c]', 'a: {b: c,\nd: e}', '[a]]', '{a: b}}', ']', '}', '[-a]', '[- a]', '[a: b: c]', '{a: [b: c]}', '[:a]',
  '[a:b]', '{a:b}', '{"a":b}', '["a":b]', '[? ]', '{}', '[]', '[ ]', '{ }', '[a, {}]', '[a, #comment\n b]', '[a #c\n]', 'a: [b]c', '[a]: b',
  '{a: 1} # c', '[a, , b]', '[a?b]', '{a?b: c}', '[a,b,c]', '{a:1}', '{"a":1}', '[1,[2,[3,[4]]]]', '[{a: [b, {c: d}]}]', '[a\n\n b]',
  '{a: b\n}', '[\n]', '[a,\n\n b]', '{a: [b,\n c]}', '[a, "b\n c"]', '[a\t, b]', '[a,\tb]', 'a: [b, c]\nd: {e: f}', '- [a, b]\n- {c: d}',
  '[a, b]\n[c]', '[|]', '[>]', '{a: |}', '[a, ?]', '[?]', '{?}', '{: a}', '[: a]', '{a: }', '[a, b]]', '[[[]]]', '{a: {b: {c: {}}}}',
  // indentation
  'a:\n  b: 1\n  c: 2', 'a:\n  b: 1\n c: 2', 'a:\n- b\n- c', 'a:\n  - b\n  - c', '- a\n - b', '- - a\n  - b\n- c', '-   a\n    b',
  'a:\n    b: 1\n  c: 2', 'a: 1\n  b: 2', 'a:\n b:\n  c: d', '- a: 1\n  b: 2\n- c: 3', '- \n  a: 1', '-\n  - a', 'a:\n\n\n  b: 1',
  '  a: 1\n  b: 2', '  a: 1\nb: 2', 'a:\n  b\nc: d', 'key:    value', '- a\nb: c', 'a: b\n- c', 'a:\n  - b\n  c: d', '- a:\n  - b',
  'a:\n  b:\n    c:\n      d: e\n  f: g\nh: i', '- - - a', '- a: b\n  c: d\n  - e', 'a:\n-  b\n-  c\n', 'a: b\n  - c', 'a:\n - b\n-  c',
  '? a\n  : b', 'a:\n  ? b\n  : c', '- ? a\n  : b\n- c', 'a: - b', 'a: b: c', '- a: b: c', 'a:\n  b: c\n    d: e', '   - a\n   - b',
  'a:\n    - b\n    - c\n  d: e', 'a:\n  - b\n - c',
  // comments
  '# c\na: 1 # c\n# c\nb: 2', 'a: 1#c', 'a: "x"#c', 'a: "x" #c', '- a # c\n- b', '#only', 'a: |  # c\n  x', "a: 'x' # c", 'a: # c\n  b',
  '[a, # c\n  b]', '{a: 1, # c\n b: 2}', 'a: b # c\n  d', '  # c\na: 1', 'a:\n  # c\n  b: 1', 'a: 1\n# c\n  # c\nb: 2', '#', '# c\n---\na',
  // tabs
  'a:\tb', 'a: b\tc', '\ta: 1', 'a:\n\t- b', '- a\t# c', 'a: "x\ty"', 'a: |\n  x\ty', 'a: |\n\tx', '"a"\t: b', '[a,\tb]', 'a\t: b', 'a: b\t',
  '- a\t', '-\ta', 'a:\t\n  b', '{a:\tb}', 'a: [b\t]', '? a\t\n: b', 'a:  \t  b',
  // line endings
  'a: 1\r\nb: 2\r\n', 'a: "x\r\n  y"', 'a: 1\rb: 2', 'a: b\r\n  c\r\n', 'a: 1\x85b: 2', 'a: b\u2028c', 'a: b\u2029\u2029c', '- a\r\n- b\r\n',
  'a:\r\n  - b\r\n  - c\r\n', '"a\u2028b"', '|\n  a\u2028  b\n', '>\n  a\r\n  b\r\n', 'a: b\r', '\r\n\r\na: 1', 'a: [b,\r\n c]',
  // unicode
  'ключ: значение', 'a: 😀', '😀: a', 'a: "\\U0001F600"', 'a: é\nb: [😀, x]', '😀😀: [a, b', '"😀" : x: y', '- 😀 😀\n-  😀: [a, 😀',
  'a: \u00a0b', '\u00a0: a', 'a: b\u00a0', '"\u0085"', 'a: 中文 字', '😀: b\nc: [d\n', 'a:\n  😀: 1\n b: 2',
  // byte order marks and unprintable characters
  '\ufeffa: 1', 'a: 1\n\ufeffb: 2', '\ufeff\ufeffa', '\ufeff', '\ufeff# c\n', '\x00', 'a: \x07', 'a: \ud800', 'a: \ufffe', 'a: "\x01"',
  'a: b\n\ufeff', '\ufeff---\na', '\ufeff- a',
  // directives and document markers
  '--- a', '---\na: 1\n...', '%YAML 1.1\n---\na', '%YAML 1.2\n--- a', '%YAML 2.0\n--- a', '%YAML 1.1\n%YAML 1.1\n--- a', '%FOO bar\n--- a',
  '%TAG ! tag:x,2000:\n--- !y z', 'a\n---\nb', '---\n---', '--- a\n...\n...\n', '...', '---', '--- |\n  x\n...\n', '%YAML 1.1', 'a: 1\n...\nb: 2',
  '--- # c\na: 1', '---a', '- ---', 'a: ---', '--- [a,\n---\n]', '"a\n---\n"', '%YAML 1.1 # c\n--- a', '%YAML 1.1 x\n--- a', '%YAML1.1\n--- a',
  '%YAML 1\n--- a', '%YAML a.1\n--- a', '%TAG !x tag:x\n--- a', '%TAG !x! \n--- a', '% \n--- a', 'a\n--- b', 'a\n...\n', 'a\n...\n---\nb',
  '--- a\n--- b', '---\n%YAML 1.1\n---', '...\n---\na', '---\n...\n', '--- a: 1\n', '--- - a\n', '--- >\n a\n', '---\t a', '--- !!str\n',
  '#cloud-config\n---\na: 1\n', '... # c', '--- a\n... b', '---\n---\n',
  // broken in other ways
  '[', '{', '"', "'", 'a: b: c', '- a\n-b', '&', '*', '!', 'a: *b c', 'a: b\nc', 'a: b\nc\nd: e', '@', '`', 'a: b\n@c', '- a\n- b\n c: d',
  'a:\n  - b\n  c', '{a: 1\nb: 2}', '[a\nb: c]', '"a": "b": "c"', 'a: [b}', 'a: {b]', 'a: b]', 'a: b}', 'a: b,', '- a,\n- b', ', a', 'a: ,b',
  '? a\n? b\n: c\n: d', '- : a', '- ? a', 'a: !!str\n  b: c', 'a: &x\n  - b\n  c: d', '|\na', '>\n a\nb', 'a: |\n  b\n c: d',
];

// --- generated documents ------------------------------------------------------

/** A small seeded PRNG (mulberry32), so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SCALARS = [
  'a', 'b c', 'yes', 'no', 'on', 'off', 'y', 'n', 'true', 'False', 'null', '~', '', '0', '12', '-3', '0644', '0x1f', '0b11', '1_000',
  '1:30', '1.5', '-2.5e+3', '.inf', '.nan', '1e5', '2001-12-14', '2001-12-14 21:59:43.1 -5', 'a: b', 'a #b', 'a#b', '- x', '? x', ': x',
  '#x', 'x:', '-', '?', ':', "it's", 'say "hi"', 'back\\slash', 'tab\there', 'multi\nline', 'trail ', ' lead', 'é', '😀', '[x]', '{x}',
  'a,b', '&a', '*a', '!x', '|', '>', '%', '@', '`', '---', '...', '<<', '=', 'http://x/y?z=1#f', '/usr/bin/env', '1.2.3', '+1', '.5',
  // long enough for the scanner's regular-expression path (past 24 characters)
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGvNf0Ll user@host', 'https://example.com/a/very/long/path:8080/x?y=z#frag',
  'abcdefghijklmnopqrstuvwxyz0123456789: tail', 'a long plain value with many words and a # hash', 'x'.repeat(30) + ':' + 'y'.repeat(30),
  'words, commas, [brackets] and {braces} in a long value', '😀😀😀 emoji before a: colon', 'tab\tinside a long value of words',
];
/** Scalars that are the same plain or quoted (so documents using them tend to be valid). */
const SAFE = SCALARS.filter((x) => /^[A-Za-z0-9][\w./ -]*$/.test(x) && !/ $/.test(x));

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

/** A random YAML-ish document built from a random value, in random styles (not always valid). */
function structured(r: () => number): string {
  const anchors: string[] = [];
  const careful = r() < 0.5; // half the documents use only scalars that are safe unquoted
  const scalar = (): string => {
    const s = pick(r, careful ? SAFE : SCALARS);
    const style = r();
    if (style < 0.5) return s;
    if (style < 0.7) return `'${s.replaceAll("'", "''")}'`;
    if (style < 0.9) return JSON.stringify(s);
    return `!!${pick(r, ['str', 'int', 'float', 'bool', 'null', 'binary', 'timestamp'])} ${s}`;
  };
  const flow = (depth: number): string => {
    const x = r();
    if (depth > 3 || x < 0.4) return scalar();
    if (x < 0.45 && anchors.length) return `*${pick(r, anchors)}`;
    const n = Math.floor(r() * 4);
    const items = Array.from({ length: n }, () => (r() < 0.5 ? flow(depth + 1) : `${scalar()}: ${flow(depth + 1)}`));
    return r() < 0.5 ? `[${items.join(', ')}]` : `{${items.join(r() < 0.9 ? ', ' : ',\n ')}}`;
  };
  const block = (depth: number, indent: number): string => {
    const pad = ' '.repeat(indent);
    const step = 1 + Math.floor(r() * 3);
    const x = r();
    if (depth > 3 || x < 0.2) return ` ${flow(depth)}\n`;
    if (x < 0.3) return ` ${pick(r, ['|', '>', '|-', '>+', '|2'])}\n${pad}${' '.repeat(step)}${pick(r, SCALARS)}\n${r() < 0.3 ? '\n' : ''}`;
    let anchor = '';
    if (r() < 0.2) {
      const name = `a${anchors.length}`;
      anchor = ` &${name}`;
      anchors.push(name);
    }
    const n = 1 + Math.floor(r() * 3);
    const seq = r() < 0.4;
    let out = `${anchor}\n`;
    for (let i = 0; i < n; i++) {
      const comment = r() < 0.1 ? `${pad}# note\n` : '';
      const key = r() < 0.05 ? '<<' : scalar();
      out += comment + (seq ? `${pad}-${block(depth + 1, indent + step)}` : `${pad}${key}:${block(depth + 1, indent + step)}`);
    }
    return out;
  };
  let doc = block(0, 0).replace(/^ ?/, '');
  if (r() < 0.1) doc = `---\n${doc}`;
  if (r() < 0.05) doc = `%YAML 1.1\n---\n${doc}`;
  const ending = r();
  if (ending < 0.1) doc = doc.replaceAll('\n', '\r\n');
  else if (ending < 0.13) doc = doc.replaceAll('\n', '\r');
  else if (ending < 0.15) doc = doc.replaceAll('\n', '\x85');
  else if (ending < 0.16) doc = doc.replaceAll('\n', '\u2028');
  if (r() < 0.05) doc = doc.replace(/\n {2}/, '\n\t');
  if (r() < 0.05) doc = `\ufeff${doc}`;
  if (r() < 0.05) doc = doc.replace(/: /, ': 😀');
  return doc;
}

const PIECES = [
  'a', 'b: ', 'c:', '- ', '-', '? ', '?', ': ', ':', '[', ']', '{', '}', ', ', ',', '\n', '\n', '\n  ', '\n    ', ' ', '  ', '"x"', "'y'",
  '"a\\"b"', "'it''s'", '"\\x41"', '|', '>', '|-', '>+', '#c', ' #c', '&a ', '*a', '&b ', '*b', '!!str ', '!!int ', '!x ', '! ', '---', '...',
  '--- ', '%YAML 1.1\n', '%TAG !e! tag:e,2000:\n', '\t', '\r\n', '<<: ', '~', 'yes', 'no', '12', '0x1f', '1.5', '.inf', '2001-01-01',
  'é', '😀', '\ufeff', '\u2028', '@', '`', '%', '=',
];

/** Random pieces of YAML syntax glued together: mostly broken. */
function soup(r: () => number): string {
  const n = 1 + Math.floor(r() * 25);
  let doc = '';
  for (let i = 0; i < n; i++) doc += pick(r, PIECES);
  return doc;
}

/** A document with a few random edits: a character deleted, inserted or changed, a line re-indented. */
function mutate(r: () => number, doc: string): string {
  let d = doc;
  const edits = 1 + Math.floor(r() * 3);
  for (let e = 0; e < edits && d.length > 0; e++) {
    const at = Math.floor(r() * d.length);
    const what = r();
    if (what < 0.3) d = d.slice(0, at) + d.slice(at + 1);
    else if (what < 0.6) d = d.slice(0, at) + pick(r, [' ', '\n', ':', '-', '"', "'", '[', ']', '{', '}', '#', '\t', '&', '*', '!', '|', ',', '?']) + d.slice(at);
    else if (what < 0.8) d = d.slice(0, at) + pick(r, ['  ', '\n  ', '\n- ', ': ', ' #']) + d.slice(at);
    else {
      const lineStart = d.lastIndexOf('\n', at) + 1;
      d = d.slice(0, lineStart) + (r() < 0.5 ? ' ' : '') + d.slice(lineStart + (r() < 0.5 ? 1 : 0));
    }
  }
  return d;
}

/**
 * Anchors used inside their own collection: a mapping merging itself
 * (`<<: *x` in `&x`, alone or in a list), mappings merging each other,
 * aliases to an enclosing collection that a duplicate key drops (or not:
 * then the value is recursive), all at random nesting depths up to and past
 * PyYAML's SafeLoader limit.
 */
function selfReferring(r: () => number): string {
  const defined: string[] = [];
  let budget = 30;
  const name = () => (defined.length ? pick(r, defined) : 'a0');
  const scalar = () => pick(r, ['1', 'x', 'yes', '~', '0644', "'q'", 'a b']);
  const anchor = () => {
    if (r() < 0.5) return '';
    const n = `a${defined.length}`;
    defined.push(n);
    return `&${n} `;
  };
  const value = (depth: number): string => {
    const x = r();
    if (depth > 4 || --budget <= 0 || x < 0.25) return r() < 0.4 && defined.length ? `*${name()}` : scalar();
    if (x < 0.4) {
      const a = anchor();
      return `${a}[${Array.from({ length: Math.floor(r() * 3) }, () => value(depth + 1)).join(', ')}]`;
    }
    const a = anchor();
    const entries: string[] = [];
    for (let i = 0, n = 1 + Math.floor(r() * 4); i < n; i++) {
      const e = r();
      if (e < 0.25 && defined.length) entries.push(`<<: *${name()}`);
      else if (e < 0.4 && defined.length) entries.push(`<<: [${Array.from({ length: 1 + Math.floor(r() * 3) }, () => `*${name()}`).join(', ')}]`);
      else if (e < 0.5) entries.push(`<<: ${value(depth + 1)}`);
      else entries.push(`${pick(r, ['a', 'b', 'c', 'd'])}: ${value(depth + 1)}`); // a few names: duplicate keys
    }
    return `${a}{${entries.join(', ')}}`;
  };
  const body = value(0);
  // Deep documents are slow for PyYAML (~0.1 s each): one in ten.
  const deep = r() < 0.9 ? pick(r, [0, 0, 1, 2, 5, 50]) : pick(r, [200, 250, 300, 325, 400, 480, 490, 491, 492, 493, 499, 500, 501, 520]);
  const doc = `${'['.repeat(deep)}${body}${']'.repeat(deep)}`;
  return r() < 0.5 ? `top: ${doc}\n` : `${doc}\n`;
}

// --- tests ------------------------------------------------------------------

test('cloud-init\'s own YAML reads the same as with PyYAML', { skip: SKIP || (existsSync(CLOUD_INIT) ? false : 'no ../shared/conformance/cloud-init') }, (t) => {
  const files = conformanceFiles();
  assert.ok(files.length > 150, `${files.length} files`);
  check(t, 'conformance files', files.map((f) => f.text));
});

test('hand-written tricky documents read (or fail) the same as with PyYAML', { skip: SKIP }, (t) => {
  assert.ok(TRICKY.length >= 150);
  check(t, 'tricky', [...TRICKY]);
});

test('seeded random documents read (or fail) the same as with PyYAML', { skip: SKIP }, (t) => {
  const r = rng(Number(process.env['YAML_DIFF_SEED'] ?? 20240611));
  const docs: string[] = [];
  for (let i = 0; i < 2500; i++) docs.push(structured(r));
  for (let i = 0; i < 1500; i++) docs.push(soup(r));
  const bases = [...docs.slice(0, 500), ...TRICKY];
  for (let i = 0; i < 1500; i++) docs.push(mutate(r, pick(r, bases)));
  check(t, 'generated', docs);
});

test('anchors inside their own collection (merged into itself, dropped by a duplicate key) and nesting near PyYAML\'s limit read the same as with PyYAML', { skip: SKIP }, (t) => {
  const r = rng(Number(process.env['YAML_DIFF_SEED'] ?? 20261207));
  const docs: string[] = [];
  for (let i = 0; i < 2000; i++) docs.push(selfReferring(r));
  check(t, 'self-referring and deep', docs);
});

test('mutated cloud-init files read (or fail) the same as with PyYAML', { skip: SKIP || (existsSync(CLOUD_INIT) ? false : 'no ../shared/conformance/cloud-init') }, (t) => {
  const r = rng(7);
  const files = conformanceFiles().map((f) => f.text).filter((s) => s.length < 20_000);
  const docs: string[] = [];
  for (let i = 0; i < 600; i++) docs.push(mutate(r, pick(r, files)));
  check(t, 'mutated conformance files', docs);
});
