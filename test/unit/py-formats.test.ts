// py-formats.ts against the real thing: what PyYAML 6.0.3 (cloud-init's
// safeyaml.dumps and yaml.dump) and Python's json.dumps wrote for these
// values, recorded once with python3 (the values exercise sorted keys, nested
// and indentless sequences, quoting of strings that look like other types or
// carry indicators, non-ASCII, folding of long lines, empty collections).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pyJsonDumps, pyStr, pyYamlDump, readIni, writeIni } from '../../src/modules/py-formats.ts';

const CASES: { value: unknown; safeyaml: string; dump: string; json: string }[] = [
 {
  "value": {
   "master": "salt.example.com",
   "b": [
    1,
    2,
    {
     "x": "y",
     "a": true
    }
   ],
   "nested": {
    "deep": {
     "k": "v"
    },
    "l": [
     [
      1,
      2
     ],
     "a"
    ]
   }
  },
  "safeyaml": "---\nb:\n- 1\n- 2\n-   a: true\n    x: y\nmaster: salt.example.com\nnested:\n    deep:\n        k: v\n    l:\n    -   - 1\n        - 2\n    - a\n...\n",
  "dump": "b:\n- 1\n- 2\n- a: true\n  x: y\nmaster: salt.example.com\nnested:\n  deep:\n    k: v\n  l:\n  - - 1\n    - 2\n  - a\n",
  "json": "{\"master\": \"salt.example.com\", \"b\": [1, 2, {\"x\": \"y\", \"a\": true}], \"nested\": {\"deep\": {\"k\": \"v\"}, \"l\": [[1, 2], \"a\"]}}"
 },
 {
  "value": {
   "1.2.840.113549.1.9.7": "342thbjkt82094y0uthhor289jnqthpc2290",
   "custom_attributes": {
    "pp_uuid": "ED803750-E3C7-44F5-BB08-41A04433FE2E",
    "yes": "no"
   },
   "s": [
    "true",
    "123",
    "",
    " x",
    "a: b",
    "- a",
    "#x",
    "a #b",
    "x\ny",
    "tab\there",
    "caf\u00e9",
    "null",
    "~",
    "1.5",
    "0o12",
    "@at",
    "a'b"
   ]
  },
  "safeyaml": "---\n1.2.840.113549.1.9.7: 342thbjkt82094y0uthhor289jnqthpc2290\ncustom_attributes:\n    pp_uuid: ED803750-E3C7-44F5-BB08-41A04433FE2E\n    'yes': 'no'\ns:\n- 'true'\n- '123'\n- ''\n- ' x'\n- 'a: b'\n- '- a'\n- '#x'\n- 'a #b'\n- 'x\n\n    y'\n- \"tab\\there\"\n- \"caf\\xE9\"\n- 'null'\n- '~'\n- '1.5'\n- 0o12\n- '@at'\n- a'b\n...\n",
  "dump": "1.2.840.113549.1.9.7: 342thbjkt82094y0uthhor289jnqthpc2290\ncustom_attributes:\n  pp_uuid: ED803750-E3C7-44F5-BB08-41A04433FE2E\n  'yes': 'no'\ns:\n- 'true'\n- '123'\n- ''\n- ' x'\n- 'a: b'\n- '- a'\n- '#x'\n- 'a #b'\n- 'x\n\n  y'\n- \"tab\\there\"\n- \"caf\\xE9\"\n- 'null'\n- '~'\n- '1.5'\n- 0o12\n- '@at'\n- a'b\n",
  "json": "{\"1.2.840.113549.1.9.7\": \"342thbjkt82094y0uthhor289jnqthpc2290\", \"custom_attributes\": {\"pp_uuid\": \"ED803750-E3C7-44F5-BB08-41A04433FE2E\", \"yes\": \"no\"}, \"s\": [\"true\", \"123\", \"\", \" x\", \"a: b\", \"- a\", \"#x\", \"a #b\", \"x\\ny\", \"tab\\there\", \"caf\\u00e9\", \"null\", \"~\", \"1.5\", \"0o12\", \"@at\", \"a'b\"]}"
 },
 {
  "value": {
   "long": "word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word end",
   "f": 1.5,
   "n": null,
   "e": [],
   "m": {}
  },
  "safeyaml": "---\ne: []\nf: 1.5\nlong: word word word word word word word word word word word word word word word word\n    word word word word word word word word word word word word word word end\nm: {}\nn: null\n...\n",
  "dump": "e: []\nf: 1.5\nlong: word word word word word word word word word word word word word word word word\n  word word word word word word word word word word word word word word end\nm: {}\nn: null\n",
  "json": "{\"long\": \"word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word end\", \"f\": 1.5, \"n\": null, \"e\": [], \"m\": {}}"
 },
 {
  "value": "scalar",
  "safeyaml": "--- scalar\n...\n",
  "dump": "scalar\n...\n",
  "json": "\"scalar\""
 },
 {
  "value": [],
  "safeyaml": "--- []\n...\n",
  "dump": "[]\n",
  "json": "[]"
 },
 {
  "value": {},
  "safeyaml": "--- {}\n...\n",
  "dump": "{}\n",
  "json": "{}"
 },
 {
  "value": null,
  "safeyaml": "--- null\n...\n",
  "dump": "null\n...\n",
  "json": "null"
 },
 {
  "value": [
   "a",
   [
    "b",
    "c"
   ]
  ],
  "safeyaml": "---\n- a\n-   - b\n    - c\n...\n",
  "dump": "- a\n- - b\n  - c\n",
  "json": "[\"a\", [\"b\", \"c\"]]"
 }
];

test('PyYAML dumps: byte for byte what PyYAML writes (indent 4 with --- and ..., and yaml.dump defaults)', () => {
  for (const c of CASES) {
    assert.equal(pyYamlDump(c.value, { indent: 4, explicit: true }), c.safeyaml, JSON.stringify(c.value));
    assert.equal(pyYamlDump(c.value), c.dump, JSON.stringify(c.value));
  }
});

test("json.dumps: Python's separators and ensure_ascii", () => {
  for (const c of CASES) assert.equal(pyJsonDumps(c.value), c.json);
});

test("ConfigParser: lines stripped on the left, names lower-cased, written back as 'name = value' sections", () => {
  const problems: string[] = [];
  const ini = readIni('# comment\n[main]\n  SSLdir = /var/lib/puppet/ssl\nnovalue\n[agent]\nserver: a.example\n', (line, why) => problems.push(`${line}: ${why}`));
  ini.sections.get('agent')!.set('runinterval', pyStr(1800));
  ini.sections.get('agent')!.set('usecacheonfailure', pyStr(false));
  // What Python's RawConfigParser writes for the same (recorded with python3; Python refuses the line without a value, ec2-init reports it and goes on).
  assert.equal(writeIni(ini), '[main]\nssldir = /var/lib/puppet/ssl\n\n[agent]\nserver = a.example\nruninterval = 1800\nusecacheonfailure = False\n\n');
  assert.deepEqual(problems, ["4: not 'name = value': \"novalue\""]);
});
