// Unit: ec2-init's YAML parser (src/yaml/), feature by feature, with the
// values PyYAML's safe_load gives (mapped to JS), its limits, error
// positions, prototype safety and big inputs. test/unit/yaml-pyyaml.test.ts
// compares with the real PyYAML; this file says what the values are.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_LIMITS, isMapping, parseYaml, parseYamlWithPositions, YamlError } from '../../src/yaml/index.ts';

const y = (text: string) => parseYaml(text);

function fails(text: string, line: number, column: number, reason: RegExp, limits?: Parameters<typeof parseYaml>[1]): YamlError {
  try {
    parseYaml(text, limits);
  } catch (e) {
    assert.ok(e instanceof YamlError, `not a YamlError: ${(e as Error).stack}`);
    assert.match(e.reason, reason);
    assert.deepEqual([e.line, e.column], [line, column], `${e.message} (for ${JSON.stringify(text.slice(0, 200))})`);
    assert.equal(e.message, `invalid YAML at line ${line}, column ${column}: ${e.reason}`);
    return e;
  }
  assert.fail(`no error for ${JSON.stringify(text)}`);
}

test('null: ~, null, Null, NULL, empty; an empty document is null', () => {
  assert.deepEqual(y('a: ~\nb: null\nc: Null\nd: NULL\ne:\nf: nUll\n'), { a: null, b: null, c: null, d: null, e: null, f: 'nUll' });
  assert.equal(y(''), null);
  assert.equal(y('# nothing\n'), null);
  assert.equal(y('---\n'), null);
  assert.deepEqual(y('- \n-\n'), [null, null]);
});

test('booleans are YAML 1.1\'s words, but not y and n', () => {
  const words = ['yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON'];
  for (const w of words) assert.equal(y(w), true, w);
  for (const w of ['no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF']) assert.equal(y(w), false, w);
  for (const w of ['y', 'Y', 'n', 'N', 'yES', 'tRUE', 'oN']) assert.equal(y(w), w);
  assert.equal(y('"yes"'), 'yes');
});

test('integers: decimal, 0-prefixed octal, 0x, 0b, underscores, base 60, signs; no 0o', () => {
  assert.deepEqual(y('[0, -0, +7, 0644, -0644, 0x1F, -0x1f, 0b101, 1_000, 190:20:30, -1:30, 00]'),
    [0, 0, 7, 420, -420, 31, -31, 5, 1000, 685230, -90, 0]);
  assert.ok(Object.is(y('-0'), 0)); // an int is never -0
  assert.deepEqual(y('[0o17, 08, 019, 1:60, 0b2, _1]'), ['0o17', '08', '019', '1:60', '0b2', '_1']);
  assert.equal(y('12345678901234567890'), 12345678901234567890); // past 2^53: the nearest double
  assert.equal(y('!!int "0o17"'), 15); // Python's int(x, 8) takes the prefix
  assert.equal(y('!!int " 12 "'), 12);
  fails('!!int x', 1, 1, /cannot read "x" as an integer/);
  fails('- 0b_', 1, 3, /as an integer/);
});

test('floats: dots, exponents with a sign, .inf, .nan, base 60, underscores; 1e5 is a string', () => {
  assert.deepEqual(y('[1.5, 1., .5, +1.5, 6.8523015e+5, 685.230_15e+03, 190:20:30.15, 1_000.5, 1.0e+400]'),
    [1.5, 1, 0.5, 1.5, 685230.15, 685230.15, 685230.15, 1000.5, Infinity]);
  assert.ok(Object.is(y('-0.0'), -0));
  assert.deepEqual(y('[.inf, -.inf, +.Inf, .INF]'), [Infinity, -Infinity, Infinity, Infinity]);
  assert.ok(Number.isNaN(y('.nan')) && Number.isNaN(y('.NaN')) && Number.isNaN(y('.NAN')));
  assert.deepEqual(y('[1e5, 1.0e5, -.5, .nAn, -.nan, 1.2.3]'), ['1e5', '1.0e5', '-.5', '.nAn', '-.nan', '1.2.3']);
  assert.equal(y('!!float 1'), 1);
  assert.equal(y('!!float inf'), Infinity); // Python's float('inf')
  fails('!!float x', 1, 1, /as a number/);
});

test('timestamps are checked like Python\'s datetime, and kept as the text written', () => {
  assert.deepEqual(y('a: 2001-12-14\nb: 2001-12-14t21:59:43.10-05:00\nc: 2001-12-14 21:59:43.10 -5\nd: 2002-1-2 3:04:05Z\n'),
    { a: '2001-12-14', b: '2001-12-14t21:59:43.10-05:00', c: '2001-12-14 21:59:43.10 -5', d: '2002-1-2 3:04:05Z' });
  assert.equal(y('2001-2-3'), '2001-2-3'); // a date needs two-digit month and day: a plain string
  assert.equal(y('2000-02-29'), '2000-02-29');
  fails('a: 2001-02-30', 1, 4, /day is out of range/);
  fails('a: 1900-02-29', 1, 4, /day is out of range/);
  fails('a: 0000-01-01', 1, 4, /year 0/);
  fails('a: 2001-12-14 25:00:00', 1, 4, /hour/);
  fails('a: 2001-12-14 21:59:43 +24', 1, 4, /UTC offset/);
  assert.equal(y('!!timestamp "2001-12-14"'), '2001-12-14');
});

test('plain scalars: inner spaces kept, lines folded, ": " and " #" end them', () => {
  assert.deepEqual(y('a: b  c\nd: e\n  f\n\n  g\nh: i#j # k\nl: http://x/y?z#w\nm: -x\nn: :x\n'),
    { a: 'b  c', d: 'e f\ng', h: 'i#j', l: 'http://x/y?z#w', m: '-x', n: ':x' });
  assert.deepEqual(y('- a\n  b\n- c'), ['a b', 'c']);
  assert.equal(y('a\n\n\nb'), 'a\n\nb');
  assert.deepEqual(y('[a b, c:d, e]'), ['a b', 'c:d', 'e']);
  assert.deepEqual(y('{a:b}'), { 'a:b': null });
});

test('single and double quotes, with every escape and folding', () => {
  assert.equal(y("'it''s \\n'"), "it's \\n");
  assert.equal(y('"\\x41\\u00e9\\U0001F600\\N\\_\\L\\P\\0\\a\\b\\t\\n\\v\\f\\r\\e\\ \\"\\/\\\\"'),
    'Aé😀\x85\xa0\u2028\u2029\0\x07\b\t\n\v\f\r\x1b "/\\');
  assert.equal(y('"a\tb"'), 'a\tb');
  assert.equal(y('"a  \n  b\n\n  c"'), 'a b\nc');
  assert.equal(y('"a\\\n   b"'), 'ab');
  assert.equal(y("'a\n\n\n  b'"), 'a\n\nb');
  assert.equal(y('"a\u2028b"'), 'a\u2028b');
  fails('"\\q"', 1, 3, /found unknown escape character 'q'/);
  fails('"\\x4"', 1, 4, /expected escape sequence of 2 hexadecimal numbers/);
  fails('"a\n---\nb"', 2, 1, /found unexpected document separator/);
  fails('"unterminated', 1, 14, /found unexpected end of stream/);
});

test('block scalars: literal and folded, chomping, indentation indicators', () => {
  assert.deepEqual(y('a: |\n  x\n   y\n\n  z\n\nb: 1\n'), { a: 'x\n y\n\nz\n', b: 1 });
  assert.equal(y('|-\n  a\n\n'), 'a');
  assert.equal(y('|+\n  a\n\n\n'), 'a\n\n\n');
  assert.equal(y('>\n  a\n  b\n\n  c\n   d\n  e\n'), 'a b\nc\n d\ne\n');
  assert.equal(y('>-\n  folded\n  text\n'), 'folded text');
  assert.equal(y('|2\n   a\n  b\n'), ' a\nb\n');
  assert.deepEqual(y('- |1-\n  x\n'), [' x']);
  assert.equal(y('| # a comment\n  x\n'), 'x\n');
  assert.equal(y('|\n  a\r\n  b\r\n'), 'a\nb\n');
  fails('|0\n a\n', 1, 2, /indentation indicator in the range 1-9/);
  fails('|x\n a\n', 1, 2, /expected chomping or indentation indicators, but found 'x'/);
});

test('explicit tags: !!str !!int !!float !!bool !!null !!seq !!map, verbatim and %TAG handles; "!" keeps the implicit types', () => {
  assert.deepEqual(y('[!!str 123, !!int "12", !!bool TRUE, !!null x, !!str , !!seq [a], !!map {a: 1}, !<tag:yaml.org,2002:str> 1]'),
    ['123', 12, true, null, '', ['a'], { a: 1 }, '1']);
  assert.deepEqual(y('[! 12, ! "12", ! a]'), [12, 12, 'a']);
  assert.equal(y('%TAG !! tag:yaml.org,2002:\n--- !!int 3'), 3);
  assert.equal(y('%TAG !y! tag:yaml.org,2002:\n--- !y!str 3'), '3');
  assert.equal(y('!<tag:yaml.org,2002:st%72> x'), 'x');
  fails('a: !foo bar', 1, 4, /could not determine a constructor for the tag '!foo'/);
  fails('!!python/object:os.system x', 1, 1, /could not determine a constructor for the tag 'tag:yaml.org,2002:python\/object:os.system'/);
  fails('!e!x y', 1, 1, /found undefined tag handle '!e!'/);
  fails('!!bool y', 1, 1, /as a boolean/);
  fails('!!seq {a: 1}', 1, 1, /expected a sequence node, but found mapping/);
  fails('!!str [a]', 1, 1, /expected a scalar node, but found sequence/);
});

test('!!binary is a Uint8Array, decoded like Python\'s base64.decodebytes', () => {
  assert.deepEqual(y('!!binary |\n  aGVs\n  bG8=\n'), new Uint8Array([104, 101, 108, 108, 111]));
  assert.deepEqual(y('!!binary "aGVs bG8="'), new Uint8Array([104, 101, 108, 108, 111])); // what is not base64 is skipped
  assert.deepEqual(y('!!binary "YQ==YQ=="'), new Uint8Array([97])); // the padding ends the data
  fails('!!binary "aGVsbG8"', 1, 1, /Incorrect padding/);
  fails('!!binary "aGVsbG8=é"', 1, 1, /into ascii/);
});

test('!!set is a Set of the keys; !!omap and !!pairs are arrays of [key, value]', () => {
  assert.deepEqual(y('!!set {a, b, 1, true}'), new Set(['a', 'b', 1])); // 1 and true are one element in Python
  assert.deepEqual(y('!!omap [a: 1, b: 2]'), [['a', 1], ['b', 2]]);
  assert.deepEqual(y('!!pairs [a: 1, a: 2]'), [['a', 1], ['a', 2]]);
  fails('!!omap {a: 1}', 1, 1, /expected a sequence, but found mapping/);
  fails('!!omap [[a]]', 1, 9, /expected a mapping of length 1, but found sequence/);
  fails('!!omap [{a: 1, b: 2}]', 1, 9, /expected a single mapping item, but found 2 items/);
});

test('anchors and aliases: the same value, shared', () => {
  const v = y('a: &x {b: [1, 2]}\nc: *x\nd: &s text\ne: *s\n') as Record<string, unknown>;
  assert.deepEqual(v, { a: { b: [1, 2] }, c: { b: [1, 2] }, d: 'text', e: 'text' });
  assert.equal(v['a'], v['c']);
  assert.deepEqual(y('? &k x\n: *k'), { x: 'x' });
  assert.deepEqual(y('[&a, *a]'), [null, null]);
  fails('a: *nope', 1, 4, /found undefined alias 'nope'/);
  fails('a: &x 1\nb: &x 2', 2, 4, /found duplicate anchor 'x' \(first occurrence at line 1, column 4\)/);
  fails('&a [x, *a]', 1, 8, /recursive structures are not supported/);
  // An alias inside the collection it names that a later duplicate key drops: no recursion is left (PyYAML reads it).
  assert.deepEqual(y('x: &x {a: *x, a: 1}'), { x: { a: 1 } });
  assert.deepEqual(y('x: &x [1, {a: *x, a: 2}]'), { x: [1, { a: 2 }] });
  // The first alias that makes a cycle is the one named, not an earlier harmless one.
  fails('x: &x {a: *x, a: 1, b: [*x]}', 1, 25, /recursive structures are not supported/);
});

test('merge keys: a mapping or a list of mappings; own keys win, then the earlier of the list', () => {
  const base = 'a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\n';
  assert.deepEqual((y(`${base}c:\n  <<: *a\n  y: 3\n`) as Record<string, unknown>)['c'], { x: 1, y: 3 });
  assert.deepEqual((y(`${base}c: {<<: [*a, *b]}`) as Record<string, unknown>)['c'], { y: 1, z: 2, x: 1 });
  assert.deepEqual((y(`${base}c:\n  <<: *a\n  <<: *b\n`) as Record<string, unknown>)['c'], { x: 1, y: 2, z: 2 });
  assert.deepEqual((y(`${base}c: {"<<": *a}`) as Record<string, unknown>)['c'], { '<<': { x: 1, y: 1 } });
  assert.deepEqual(y('a: &a {x: 1, <<: {y: 2}}\nb: {<<: *a}'), { a: { y: 2, x: 1 }, b: { y: 2, x: 1 } });
  fails('a: {<<: 1}', 1, 9, /expected a mapping or list of mappings for merging, but found scalar/);
  fails('a: {<<: [1]}', 1, 10, /expected a mapping for merging, but found scalar/);
  fails('a: <<', 1, 4, /could not determine a constructor for the tag 'tag:yaml.org,2002:merge'/);
});

test('merge keys: a mapping merged into itself folds as PyYAML folds it (its list as it stands at that moment)', () => {
  assert.deepEqual(y('x: &x {a: 1, <<: *x}'), { x: { a: 1 } });
  assert.deepEqual(y('&x {<<: *x, a: 1}'), { a: 1 });
  assert.deepEqual(y('&x {a: 1, <<: [*x]}'), { a: 1 });
  // Key order as PyYAML gives it: x's own pairs (and the merges after the list) come where *x stands in the list.
  const yz = 'y: &y {b: 2, a: 0}\nz: &z {d: 3}\n';
  assert.deepEqual(Object.keys((y(`${yz}x: &x {a: 1, <<: [*y, *x]}`) as Record<string, object>)['x']!), ['a', 'b']);
  assert.deepEqual(Object.keys((y(`${yz}x: &x {a: 1, <<: [*x, *y]}`) as Record<string, object>)['x']!), ['b', 'a']);
  assert.deepEqual((y(`${yz}x: &x {a: 1, <<: [*y, *x], <<: *z}`) as Record<string, object>)['x'], { d: 3, a: 1, b: 2 });
  assert.deepEqual(Object.keys((y(`${yz}x: &x {a: 1, <<: [*y, *x], <<: *z}`) as Record<string, object>)['x']!), ['d', 'a', 'b']);
  // A mapping merged by one it merges: each sees the other's list as it stands.
  assert.deepEqual(Object.keys((y('x: &x {a: 1, <<: &y {b: 2, <<: *x}}') as Record<string, object>)['x']!), ['a', 'b']);
  // Merged into itself a thousand times: no doubling each time (PyYAML's list would hold 2^1000 pairs).
  const many = `&x {a: 1, ${Array(1000).fill('<<: *x').join(', ')}}`;
  assert.deepEqual(y(many), { a: 1 });
  // A merge that puts a mapping inside itself is recursive: refused.
  fails('x: &x {a: 1, b: {<<: *x}}', 1, 22, /recursive structures are not supported/);
});

test('duplicate keys: the last value wins, at the first key\'s place; no error', () => {
  const v = y('a: 1\nb: 2\na: 3\n');
  assert.deepEqual(v, { a: 3, b: 2 });
  assert.deepEqual(Object.keys(v as object), ['a', 'b']);
  assert.deepEqual(y('{a: 1, a: 2}'), { a: 2 });
});

test('non-string keys become strings the way Python\'s json.dumps writes them, after Python\'s dict equality', () => {
  assert.deepEqual(y('1: a\ntrue: b\nnull: c\n1.5: d\n0x10: e\n.inf: f\n2001-01-01: g\n'),
    { 1: 'b', null: 'c', '1.5': 'd', 16: 'e', Infinity: 'f', '2001-01-01': 'g' }); // 1 and true are one key, named by the first
  assert.deepEqual(y('0: a\nfalse: b'), { 0: 'b' });
  assert.deepEqual(y('false: b\n0: a'), { false: 'a' });
  assert.deepEqual(y('1.0: a\n1e+20: b\n1.0e+20: c\n'), { '1.0': 'a', '1e+20': 'c' }); // the string '1e+20' and the float 1e+20 share a name
  assert.deepEqual(y('1: a\n"1": b'), { 1: 'b' }); // different keys in Python, one JSON name
  assert.deepEqual(y('!!binary aGk=: x'), { 'aGk=': 'x' });
});

test('complex keys: "? " keys; a list, mapping or set as a key is unhashable, as in PyYAML', () => {
  assert.deepEqual(y('? a\n: b\n? c\n'), { a: 'b', c: null });
  assert.deepEqual(y('? |\n  block key\n: v'), { 'block key\n': 'v' });
  assert.deepEqual(y('?\n: a'), { null: 'a' });
  fails('? [a, b]\n: c', 1, 3, /found unhashable key \(while constructing a mapping at line 1, column 1\)/);
  fails('{a: b}: c', 1, 1, /found unhashable key/);
  fails('x:\n  [a]: c', 2, 3, /found unhashable key/);
});

test('flow collections inside block ones, comments anywhere', () => {
  assert.deepEqual(y('# head\na: [1, {b: c}, [d]] # tail\ne: {f: [g, h], i: } # x\n# end'),
    { a: [1, { b: 'c' }, ['d']], e: { f: ['g', 'h'], i: null } });
  assert.deepEqual(y('[a: 1, ? b : 2, c]'), [{ a: 1 }, { b: 2 }, 'c']);
  assert.deepEqual(y('a: [b,\n  c,\n   d]\n'), { a: ['b', 'c', 'd'] });
  assert.deepEqual(y('{a, b: c}'), { a: null, b: 'c' });
  fails('[a, b', 1, 6, /expected ',' or '\]', but got '<stream end>'/);
  fails('[,a]', 1, 2, /expected the node content, but found ','/);
  fails('[a]]', 1, 4, /expected '<document start>', but found '\]'/);
});

test('indentation: indentless sequences, nesting, and the errors PyYAML reports', () => {
  assert.deepEqual(y('a:\n- b\n- c\nd:\n  - e\n'), { a: ['b', 'c'], d: ['e'] });
  assert.deepEqual(y('- - a\n  - b\n- c: 1\n  d: 2\n'), [['a', 'b'], { c: 1, d: 2 }]);
  assert.deepEqual(y('  a: 1\n  b: 2'), { a: 1, b: 2 });
  fails('a:\n  b: 1\n c: 2', 3, 2, /expected <block end>, but found '<block mapping start>'|expected <block end>/);
  fails('a: 1\n  b: 2', 2, 4, /mapping values are not allowed here/);
  fails('a: b\nc\nd: e', 3, 1, /could not find expected ':' \(while scanning a simple key at line 2, column 1\)/);
  fails('a: b: c', 1, 5, /mapping values are not allowed here/);
  fails('- a\nb: c', 2, 1, /expected <block end>, but found '\?'/);
});

test('tabs are not indentation and cannot start a token, as in PyYAML', () => {
  fails('a:\tb', 1, 3, /found character '\\t' that cannot start any token/);
  fails('\ta: 1', 1, 1, /found character '\\t'/);
  fails('a: b\tc', 1, 5, /found character '\\t'/);
  assert.deepEqual(y('a: "x\ty"\nb: |\n  x\ty\n'), { a: 'x\ty', b: 'x\ty\n' });
});

test('line endings: CRLF, CR, NEL, LS and PS; BOM at the start only', () => {
  assert.deepEqual(y('a: 1\r\nb: [x,\r\n  y]\r\n'), { a: 1, b: ['x', 'y'] });
  assert.deepEqual(y('a: 1\rb: 2'), { a: 1, b: 2 });
  assert.deepEqual(y('a: 1\x85b: 2'), { a: 1, b: 2 });
  assert.deepEqual(y('a: b\u2028 c'), { a: 'b\u2028c' }); // an LS line break is kept in a folded scalar
  assert.deepEqual(y('\ufeffa: 1'), { a: 1 });
  assert.deepEqual(y('a: 1\n\ufeffb: 2'), { a: 1, '\ufeffb': 2 });
  fails('a: 1\r\nb: [\r\n', 3, 1, /expected the node content, but found '<stream end>'/);
});

test('unicode: keys and values; columns count characters, not UTF-16 units', () => {
  assert.deepEqual(y('ключ: значение\n😀: [é, 中文]'), { ключ: 'значение', '😀': ['é', '中文'] });
  fails('😀😀: [a, b', 1, 10, /expected ',' or '\]'/);
  fails('"😀" : x: y', 1, 8, /mapping values are not allowed here/);
});

test('characters PyYAML refuses anywhere: controls, lone surrogates, U+FFFE', () => {
  fails('a: 1\nb: \x07', 2, 4, /unacceptable character #x0007: special characters are not allowed/);
  fails('a: \ud800', 1, 4, /#xd800/);
  fails('a: \ufffe', 1, 4, /#xfffe/);
  fails('a: [\n\x00', 2, 1, /#x0000/); // before any syntax error
});

test('directives and document markers; one document only', () => {
  assert.deepEqual(y('%YAML 1.1\n---\na: 1\n...\n'), { a: 1 });
  assert.equal(y('%YAML 1.2\n--- a'), 'a');
  assert.equal(y('--- |\n  x\n...\n'), 'x\n');
  assert.equal(y('---a'), '---a');
  fails('a: 1\n---\nb: 2', 2, 1, /expected a single document in the stream, but found another document/);
  fails('--- a\n--- b', 2, 1, /expected a single document/);
  fails('%YAML 2.0\n--- a', 1, 1, /found incompatible YAML document/);
  fails('%YAML 1.1\n%YAML 1.1\n--- a', 2, 1, /found duplicate YAML directive/);
  fails('a: 1\n...\nb: 2', 3, 1, /expected '<document start>', but found '<block mapping start>'/);
});

test('limits: nodes (aliases expanded), depth, aliases; each a YamlError saying what to do', () => {
  assert.deepEqual(DEFAULT_LIMITS, { maxNodes: 100_000, maxDepth: 500, maxAliases: 1000, maxAliasedChars: 4 * 1024 * 1024 });
  fails('- a\n'.repeat(DEFAULT_LIMITS.maxNodes), 100_000, 3, /more than 100000 nodes: split the document or shorten its lists/);
  fails('[a, b, c, d]', 1, 11, /more than 4 nodes/, { maxNodes: 4 });
  // A "billion laughs": ten levels of ten aliases each stop at the limit, in no time.
  let lol = 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
  for (let i = 1; i < 10; i++) lol += `a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]\n`;
  const t0 = performance.now();
  fails(lol, 5, 45, /more than 100000 nodes once aliases are expanded \(a "billion laughs" document\?\)/);
  assert.ok(performance.now() - t0 < 1000);
  // Merge keys multiply too.
  let merges = 'm0: &m0 {x: 1}\n';
  for (let i = 1; i < 30; i++) merges += `m${i}: &m${i} {<<: [*m${i - 1}, *m${i - 1}]}\n`;
  fails(merges, 15, 17, /once aliases are expanded/);
  // 100 000 '[' is a depth error, not a stack overflow.
  fails('['.repeat(100_000), 1, 501, /nested more than 500 levels deep: flatten the document/);
  fails('{a: '.repeat(100_000), 1, 2001, /nested more than 500 levels deep/);
  fails('- '.repeat(100_000), 1, 1001, /nested more than 500 levels deep/);
  fails(Array.from({ length: 600 }, (_, i) => `${' '.repeat(i)}k:`).join('\n'), 501, 502, /nested more than 500 levels deep/);
  // PyYAML's SafeLoader reads 492 levels (Python's recursion limit): all of them read here.
  assert.equal(JSON.stringify(y(`${'['.repeat(500)}${']'.repeat(500)}`)), `${'['.repeat(500)}${']'.repeat(500)}`);
  assert.equal(JSON.stringify(y(`a: ${'['.repeat(499)}1${']'.repeat(499)}`)), `{"a":${'['.repeat(499)}1${']'.repeat(499)}}`);
  // An alias adds no depth, as in PyYAML (its nodes are counted): a 400-deep list inside a 400-deep one.
  const deep = y(`a: &d ${'['.repeat(400)}${']'.repeat(400)}\nb: ${'['.repeat(400)}*d${']'.repeat(400)}`) as { b: unknown };
  let depth = 0;
  for (let v: unknown = deep.b; Array.isArray(v) && v.length > 0; v = v[0]) depth++;
  assert.equal(depth, 799);
  fails(`a: &x 1\nb: [${Array(1001).fill('*x').join(', ')}]`, 2, 4005, /more than 1000 aliases: use fewer aliases/);
  assert.equal((y(`a: &x 1\nb: [${Array(5).fill('*x').join(', ')}]`) as { b: unknown[] }).b.length, 5);
  fails('a: &x 1\nb: [*x, *x]', 2, 9, /more than 1 aliases/, { maxAliases: 1 });
  // Text repeated by aliases: 200 aliases of one 1 MiB string (written out again, 200 MiB) stop at the fifth.
  fails(`a: &x "${'A'.repeat(1024 * 1024)}"\nb: [${Array(200).fill('*x').join(', ')}]`, 2, 21, /aliases repeat more than 4194304 characters of text: use fewer aliases of long values/);
  assert.equal((y(`a: &x "${'A'.repeat(1024 * 1024)}"\nb: [*x, *x, *x, *x]`) as { b: string[] }).b.length, 4);
  fails('a: &x [abc, de]\nb: [*x, *x]', 2, 9, /more than 5 characters/, { maxAliasedChars: 5 });
  assert.deepEqual(parseYaml('[[[a]]]', { maxDepth: 3 }), [[['a']]]);
  fails('[[[[a]]]]', 1, 4, /more than 3 levels/, { maxDepth: 3 });
});

test('keys longer than 1024 characters are not simple keys (PyYAML\'s rule)', () => {
  assert.deepEqual(Object.keys(y(`${'k'.repeat(1024)}: v`) as object), ['k'.repeat(1024)]);
  fails(`${'k'.repeat(1025)}: v`, 1, 1026, /mapping values are not allowed here/);
});

test('__proto__ and other keys never touch a prototype', () => {
  const v = y('__proto__: {polluted: true}\nconstructor: {prototype: {polluted: true}}\ntoString: x\nb: 1\n') as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(v), Object.prototype);
  assert.ok(Object.hasOwn(v, '__proto__'));
  assert.deepEqual(v['__proto__'], { polluted: true });
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  assert.equal(v['toString'], 'x');
  assert.deepEqual(Object.keys(v), ['__proto__', 'constructor', 'toString', 'b']);
  assert.deepEqual(JSON.parse(JSON.stringify(v)), JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"toString":"x","b":1}'));
  const merged = y('a: &a {__proto__: {x: 1}}\nb: {<<: *a}') as Record<string, Record<string, unknown>>;
  assert.equal(Object.getPrototypeOf(merged['b']), Object.prototype);
  assert.ok(Object.hasOwn(merged['b']!, '__proto__'));
  assert.ok(isMapping(v) && !isMapping([]) && !isMapping(new Uint8Array(1)) && !isMapping(new Set()) && !isMapping(null));
});

test('positions: the value or the key at a path, else the nearest ancestor', () => {
  const text = 'users:\n  - name: a\n    groups: [x, y]\nwrite_files:\n  - path: /etc/x\n    permissions: 0644\nbase: &b {k: 1}\nother:\n  <<: *b\n';
  const { value, locate } = parseYamlWithPositions(text);
  assert.equal((value as { users: unknown[] }).users.length, 1);
  assert.deepEqual(locate(['users', 0, 'groups', 1], false), { line: 3, column: 17 });
  assert.deepEqual(locate(['users', 0, 'groups'], true), { line: 3, column: 5 });
  assert.deepEqual(locate(['write_files', 0, 'permissions'], false), { line: 6, column: 18 });
  assert.deepEqual(locate(['write_files', 0, 'permissions'], true), { line: 6, column: 5 });
  assert.deepEqual(locate(['write_files', 0, 'nope'], false), { line: 5, column: 5 }); // the mapping holding it
  assert.deepEqual(locate(['write_files', 7], false), { line: 5, column: 3 });
  assert.deepEqual(locate(['users'], true), { line: 1, column: 1 });
  assert.deepEqual(locate(['other', 'k'], false), { line: 7, column: 14 }); // a merged key: where it is written
  assert.deepEqual(locate([], false), { line: 1, column: 1 });
  assert.deepEqual(parseYamlWithPositions('').locate(['a'], false), { line: 1, column: 1 });
  assert.deepEqual(parseYamlWithPositions('😀: {a: [1, 2]}').locate(['😀', 'a', 1], false), { line: 1, column: 12 });
});

test('big inputs stay linear: a 1 MiB block scalar, 100k list items, a long flat mapping, long lines', (t) => {
  const flat = (s: string) => Buffer.from(s).toString(); // as text arrives from a file: not a rope of concatenations
  const time = (label: string, text: string, check: (v: unknown) => void) => {
    const t0 = performance.now();
    const v = parseYaml(text);
    t.diagnostic(`${label}: ${(performance.now() - t0).toFixed(1)} ms`);
    check(v);
  };
  let block = 'content: |\n';
  const line = `  ${'0123456789'.repeat(7)}\n`;
  while (block.length < 1 << 20) block += line;
  time('1 MiB block scalar', flat(block), (v) => assert.equal((v as { content: string }).content.length, ((block.length - 11) / line.length) * (line.length - 2)));
  time('99 999 list items', flat('- a\n'.repeat(99_999)), (v) => assert.equal((v as unknown[]).length, 99_999));
  time('30 000 keys', flat(Array.from({ length: 30_000 }, (_, i) => `k${i}: v${i}\n`).join('')), (v) => assert.equal(Object.keys(v as object).length, 30_000));
  time('one 1 MiB line of words', flat(`a: ${'word '.repeat(200_000)}`), (v) => assert.equal((v as { a: string }).a.length, 999_999));
  time('one 1 MiB quoted line', flat(`"${'word '.repeat(200_000)}"`), (v) => assert.equal((v as string).length, 1_000_000));
  time('a flow list of 90 000 items on one line', flat(`[${'ab, '.repeat(90_000)}]`), (v) => assert.equal((v as unknown[]).length, 90_000));
});
