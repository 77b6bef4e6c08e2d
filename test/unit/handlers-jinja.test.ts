// '## template: jinja': the safe subset renders as Jinja does with cloud-init's
// settings (checked against the real jinja2: python3-jinja2), and refuses
// everything else with the part's line.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { JinjaError, renderJinja, renderTemplateParts, templateVariables } from '../../src/userdata/jinja.ts';
import { mergeCloudConfig } from '../../src/handlers/index.ts';
import type { Diag, Part } from '../../src/types.ts';
import { needPython } from '../helpers/needs.ts';

const H = '## template: jinja\n';
const DATA = {
  v1: { local_hostname: 'host-a', instance_id: 'i-1', region: null, public_ssh_keys: ['k1', 'k2'], launch_index: 0, cloud_name: 'nocloud' },
  ds: { meta_data: { 'local-hostname': 'host-a', 'instance-id': 'i-1', placement: { 'availability-zone': 'az1' }, tags: { b: 'x', a: '1' } } },
};
const VARS = templateVariables(DATA);
const render = (t: string) => renderJinja(H + t, VARS).text;

/** Templates of the supported subset: each must render exactly as jinja2 does (cloud-init's settings). */
const SUBSET = [
  'hello {{ v1.local_hostname }}\n',
  '{{ local_hostname }} {{ instance_id }}\n',
  "{{ ds.meta_data['local-hostname'] }} {{ ds.meta_data.local_hostname }} {{ ds.meta_data.placement.availability_zone }}\n",
  '{{ nope }} {{ v1.nope }}\n',
  '{{ v1.region }} {{ v1.public_ssh_keys }} {{ ds.meta_data.tags }} {{ v1.launch_index }}\n',
  '{% if v1.local_hostname == "host-a" %}\nyes\n{% elif x %}\nno\n{% else %}\nelse\n{% endif %}\nafter\n',
  '{% if v1.local_hostname != "host-a" and not nope %}\nA\n{% elif v1.cloud_name == "nocloud" or nope %}\nB\n{% endif %}\n',
  '{% for k in v1.public_ssh_keys %}\n- {{ k }} {{ loop.index }} {{ loop.last }}\n{% endfor %}\n',
  '{% for k, v in ds.meta_data.tags.items() %}{{ k }}={{ v }};{% endfor %}\n',
  '{% for k in ds.meta_data.tags %}{{ k }},{% endfor %}\n',
  '{{ nope | default("dflt") }} {{ v1.region | default("r", true) }} {{ v1.local_hostname | upper }}\n',
  '{%- if true -%}\n  a  \n{%- endif -%}\n b\n',
  '{# c #}\nx\n{{ v1.public_ssh_keys | join(",") }} {{ v1.public_ssh_keys | length }}\n',
  '{% set x = "s" ~ v1.instance_id %}{{ x }}\n',
  '{% raw %}{{ not rendered }}{% endraw %}\n',
  "{{ 'a' in v1.public_ssh_keys }} {{ 'k1' in v1.public_ssh_keys }} {{ 'x' not in 'xyz' }} {{ v1.region is none }} {{ v1.q is defined }}\n",
  'no newline at end',
  '{% if nope %}a{% endif %}b\n\n',
  '{{ v1.local_hostname }}\r\nline2\r\n',
  '{{ 1 < 2 }} {{ "a" < "b" }} {{ true and 3 }} {{ 0 or "z" }} {{ not nope }}\n',
  "{{ v1['public_ssh_keys'][0] }} {{ v1.public_ssh_keys[-1] }} {{ v1.public_ssh_keys.0 }}\n",
  '{% for x in [] %}a{% else %}empty{% endfor %}\n',
  '{{ nope | lower }}|{{ nope | length }}|{{ nope | string }}\n',
  '{{ ds.meta_data.get("instance-id") }} {{ ds.meta_data.get("zz", "d") }}\n',
  "{{ 'it' 's' }} {{ \"q'q\" }} {{ ['a', \"b'c\", 1.5, none, true] }}\n",
  '  {% if true %}\n  in\n  {% endif %}\n',
  '{{ v1.local_hostname | replace("-", "_") | trim }} {{ v1.public_ssh_keys | first }} {{ v1.public_ssh_keys | last }} {{ "42" | int }}\n',
];

const REFERENCE = String.raw`
import json, sys
from jinja2 import DebugUndefined, Template
class Undefined(DebugUndefined):
    def __str__(self):
        return "CI_MISSING_JINJA_VAR/%s" % self._undefined_name
out = []
for text, data in json.load(sys.stdin):
    rest = text.split("\n", 1)[1] if "\n" in text else ""
    add = "\n" if rest.endswith("\n") else ""
    try:
        out.append({"ok": Template(rest, undefined=Undefined, trim_blocks=True, extensions=["jinja2.ext.do"]).render(**data) + add})
    except Exception as e:
        out.append({"err": "%s: %s" % (type(e).__name__, e)})
print(json.dumps(out))
`;

describe('jinja: the subset (unit)', () => {
  test('renders exactly as jinja2 with cloud-init\'s settings', { skip: needPython('jinja2', 'python3-jinja2') ?? false }, () => {
    const r = spawnSync('python3', ['-c', REFERENCE], { input: JSON.stringify(SUBSET.map((t) => [H + t, VARS])), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const ref = JSON.parse(r.stdout) as Array<{ ok?: string; err?: string }>;
    SUBSET.forEach((t, i) => assert.equal(render(t), ref[i]!.ok, `template ${JSON.stringify(t)}: ${ref[i]!.err ?? ''}`));
  });

  test('cloud-init\'s variables: v1 keys at the top level, operator characters aliased to _', () => {
    assert.equal(render('{{ local_hostname }}/{{ instance_id }}/{{ ds.meta_data.local_hostname }}/{{ ds.meta_data.placement.availability_zone }}\n'),
      'host-a/i-1/host-a/az1\n');
    assert.deepEqual(Object.keys(templateVariables({ b: 1, 'a.b': 2, v1: { z: 1 } })), ['a.b', 'a_b', 'b', 'v1', 'z']);
  });

  test('undefined variables render as CI_MISSING_JINJA_VAR/<name> and are listed; an attribute of one is an error', () => {
    const r = renderJinja(`${H}{{ nope }} {{ v1.missing }} {{ nope }}\n`, VARS);
    assert.equal(r.text, 'CI_MISSING_JINJA_VAR/nope CI_MISSING_JINJA_VAR/missing CI_MISSING_JINJA_VAR/nope\n');
    assert.deepEqual(r.missing, ['nope', 'missing']);
    assert.throws(() => render('ok\n{{ nope.deeper }}\n'), (e: unknown) => e instanceof JinjaError && e.line === 3 && e.message === "'nope' is undefined");
  });

  const refused: Array<[string, number, RegExp]> = [
    ['{% macro m() %}x{% endmacro %}\n', 2, /unsupported jinja construct: '\{% macro m\(\) %\}'/],
    ['a\n{% include "other" %}\n', 3, /unsupported jinja construct: '\{% include "other" %\}'/],
    ['a\nb\n{{ lookup("x") }}\n', 4, /unsupported jinja construct: call in 'lookup\("x"\)'/],
    ['{{ v1.local_hostname.upper() }}\n', 2, /unsupported jinja construct: call 'upper\(\)'/],
    ['{{ a + b }}\n', 2, /unsupported jinja construct: arithmetic '\+'/],
    ['{{ ds.meta_data.local-hostname }}\n', 2, /arithmetic '-' .*reachable as local_hostname/],
    ['{{ v1.local_hostname | tojson }}\n', 2, /unsupported jinja construct: filter 'tojson'/],
    ['{{ "x" if true }}\n', 2, /unsupported jinja construct: inline 'if' expression/],
    ['{% if x %}\nno end\n', 2, /'\{% if x %\}' is never closed/],
    ['{% endif %}\n', 2, /without a matching if/],
    ['{{ x is divisibleby(3) }}\n', 2, /unsupported jinja construct: test 'is divisibleby'/],
    ['{% for x in y if x %}{% endfor %}\n', 2, /loop filter/],
    ['{{ x\n', 2, /unclosed tag/],
    ['{% do x.append(1) %}\n', 2, /unsupported jinja construct: '\{% do x\.append\(1\) %\}'/],
  ];
  for (const [t, line, re] of refused) {
    test(`refused with its line: ${JSON.stringify(t)}`, () => {
      assert.throws(() => render(t), (e: unknown) => e instanceof JinjaError && e.line === line && re.test(e.message));
    });
  }

  test('renderTemplateParts: typed by the new first line; other results and refusals are reported, never half-rendered', () => {
    const diags: Diag[] = [];
    const report = (level: Diag['level'], where: string, message: string) => diags.push({ level, where, message });
    const p = (filename: string, body: string, headers: Record<string, string> = {}): Part => ({ type: 'text/jinja2', filename, body: Buffer.from(H + body), headers });
    const out = renderTemplateParts([
      p('cc', '#cloud-config\nhostname: {{ v1.local_hostname }}\n', { 'merge-type': 'list(append)+dict()+str()' }),
      p('sh', '#!/bin/sh\necho {{ v1.instance_id }}\n'),
      p('hook', '#cloud-boothook\necho {{ v1.instance_id }}\n'),
      p('bad', '#!/bin/sh\necho {{ v1.instance_id }}\n{% macro x() %}{% endmacro %}\n'),
      p('empty', '{% if false %}x{% endif %}'),
      { type: 'text/x-shellscript', filename: 'plain', body: Buffer.from('#!/bin/sh\n'), headers: {} },
    ], DATA, report);
    assert.deepEqual(out.map((x) => [x.filename, x.type, Buffer.from(x.body).toString()]), [
      ['cc', 'text/cloud-config', '#cloud-config\nhostname: host-a\n'],
      ['sh', 'text/x-shellscript', '#!/bin/sh\necho i-1\n'],
      ['plain', 'text/x-shellscript', '#!/bin/sh\n'],
    ]);
    assert.equal(out[0]!.headers['merge-type'], 'list(append)+dict()+str()');
    assert.deepEqual(diags.map((d) => `${d.level} ${d.where}`), ['warning user-data hook (text/jinja2)', 'error user-data bad (text/jinja2)']);
    assert.match(diags[0]!.message, /^jinja template ignored: it renders to 'text\/cloud-boothook'; a template must render to #cloud-config or a #! script$/);
    assert.match(diags[1]!.message, /^jinja template refused, line 4: unsupported jinja construct: '\{% macro x\(\) %\}'/);
    assert.deepEqual(mergeCloudConfig(out, report), { hostname: 'host-a' });
    const none: Diag[] = [];
    assert.deepEqual(renderTemplateParts([p('x', 'hi\n')], null, (level, where, message) => none.push({ level, where, message })), []);
    assert.match(none[0]!.message, /no instance data at \/run\/ec2-init\/instance-data-sensitive\.json/);
  });
});
