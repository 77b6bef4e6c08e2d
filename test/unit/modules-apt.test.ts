// apt and packages: the pure parts (disable_suites, the packages list).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { disableSuites } from '../../src/modules/apt-sources.ts';
import { aptPackages } from '../../src/modules/packages.ts';

describe('apt helpers', () => {
  test('disable_suites: one-line entries commented, deb822 suites removed', () => {
    const list = 'deb http://m/debian bookworm main\ndeb [arch=amd64 trusted=yes] http://m/debian bookworm-updates main\n# deb x bookworm main\n';
    assert.equal(disableSuites(['$RELEASE', 'updates'], list, 'bookworm'),
      '# suite disabled by cloud-init: deb http://m/debian bookworm main\n# suite disabled by cloud-init: deb [arch=amd64 trusted=yes] http://m/debian bookworm-updates main\n# deb x bookworm main\n');
    const d822 = 'Types: deb\nURIs: http://m\nSuites: bookworm bookworm-backports\nComponents: main\n\nTypes: deb\nURIs: http://s\nSuites: bookworm-backports\nComponents: main\n';
    assert.equal(disableSuites(['backports'], d822, 'bookworm'),
      'Types: deb\nURIs: http://m\nSuites: bookworm\nComponents: main\n\n# disabled by cloud-init: Types: deb\n# disabled by cloud-init: URIs: http://s\n# disabled by cloud-init: Suites: bookworm-backports\n# disabled by cloud-init: Components: main\n');
  });

  test('packages: names, [name, version], name=version, {apt: [...]}; snap refused', () => {
    const r = aptPackages(['pwgen', ['libpython3.8', '3.8.10'], 'mg=1.0', { apt: ['a', ['b', '2']], snap: ['certbot'] }, 42]);
    assert.deepEqual(r.packages, ['pwgen', 'libpython3.8=3.8.10', 'mg=1.0', 'a', 'b=2']);
    assert.equal(r.problems.length, 2);
    assert.match(r.problems[0]!, /snap packages .* not supported/);
    assert.match(r.problems[1]!, /entry 5/);
  });
});
