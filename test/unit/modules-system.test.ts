// Templates of the system modules (src/modules/template.ts renderTemplate):
// Jinja ones render as jinja2 does with cloud-init's settings (python3-jinja2
// is the reference), basic ones as cloud-init's $name substitution.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { renderTemplate } from '../../src/modules/template.ts';
import { CONFORMANCE } from '../helpers/paths.ts';
import { needPython } from '../helpers/needs.ts';

const EXAMPLES = join(CONFORMANCE, 'cloud-init', 'module-examples');

describe('templates render as Jinja does with cloud-init\'s settings', () => {
  test('the ntp example template, the hosts template, the timesyncd template', { skip: needPython('jinja2', 'python3-jinja2') ?? false }, () => {
    const templates = [
      readFileSync(join(EXAMPLES, 'cc_ntp/example2.yaml'), 'utf8').split('template: |\n')[1]!.split('\n  pools:')[0]!.replace(/^ {6}/gm, '') + '\n',
      '## template:jinja\n{#\nheader\n-#}\n# hosts\n{# The value \'{{hostname}}\' is replaced -#}\n127.0.1.1 {{fqdn}} {{hostname}}\n127.0.0.1 localhost\n',
      '## template:jinja\n[Time]\n{% if servers or pools -%}\nNTP={% for host in servers|list + pools|list %}{{ host }} {% endfor -%}\n{% endif -%}\n',
    ];
    const varSets = [
      { pools: ['p1', 'p2'], servers: ['s1'], peers: ['x'], allow: ['10.0.0.0/8'], hostname: 'h', fqdn: 'h.example' },
      { pools: [], servers: [], peers: [], allow: [], hostname: 'h', fqdn: 'h' },
      { pools: [], servers: ['only'], peers: [], allow: [], hostname: 'h', fqdn: 'h' },
    ];
    for (const t of templates) {
      for (const vars of varSets) {
        const py = spawnSync('python3', ['-c', `
import jinja2, json, sys
src = sys.stdin.read().split('\\n', 1)[1]
out = jinja2.Environment(trim_blocks=True).from_string(src).render(**json.loads(sys.argv[1]))
sys.stdout.write(out + ('\\n' if src.endswith('\\n') else ''))`, JSON.stringify(vars)], { input: t, encoding: 'utf8' });
        assert.equal(py.status, 0, py.stderr);
        assert.equal(renderTemplate(t, vars), py.stdout, `${t}\n${JSON.stringify(vars)}`);
      }
    }
  });

  test('basic templates: $name and ${name}, unknown names left as they are', () => {
    assert.equal(renderTemplate('v $version (${datasource}) $unknown', { version: '1', datasource: 'X' }), 'v 1 (X) $unknown');
  });
});
