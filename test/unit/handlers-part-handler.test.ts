// #part-handler, the language-neutral executable form: its header, and where
// plan sends the parts of the types it declares.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseExecHeader } from '../../src/handlers/part-handler.ts';
import { routeParts } from '../../src/plan/parts.ts';
import type { Part } from '../../src/types.ts';
import { EXEC_HANDLER } from '../helpers/fixtures.ts';
import { docExample } from '../helpers/paths.ts';

const example = docExample;

describe('part-handler: the language-neutral form (unit)', () => {
  test('an executable handler is #part-handler, a #! line, a # types: line', () => {
    assert.deepEqual(parseExecHeader(Buffer.from(EXEC_HANDLER)), { types: ['text/x-foo', 'text/x-bar'], frequency: 'per-instance' });
    assert.deepEqual(parseExecHeader(Buffer.from('#part-handler\n#!/usr/bin/perl\n# frequency: per-boot\n# types: a/b, c/d\nprint 1;\n')),
      { types: ['a/b', 'c/d'], frequency: 'per-boot' });
    // cloud-init's Python handlers, even with a #! line but no '# types:', stay Python.
    assert.equal(parseExecHeader(example('part-handler.txt')), null);
    assert.equal(parseExecHeader(Buffer.from('#part-handler\n#!/usr/bin/python3\ndef list_types(): return []\n')), null);
    assert.throws(() => parseExecHeader(Buffer.from('#part-handler\n#!/bin/sh\n# types: notatype\n')), /invalid type 'notatype'/);
    assert.throws(() => parseExecHeader(Buffer.from('#part-handler\n#!/bin/sh\n# types: a/b\n# frequency: hourly\n')), /hourly/);
  });

  test('plan: parts of a type an executable handler declared go to it; earlier ones do not', () => {
    const p = (type: string, filename: string, body: string): Part => ({ type, filename, body: Buffer.from(body), headers: {} });
    const actions = routeParts([
      p('text/x-foo', 'early.foo', 'x'),
      p('text/part-handler', 'handler', EXEC_HANDLER),
      p('text/x-foo', 'a.foo', 'x'),
      p('text/part-handler', 'py', example('part-handler.txt').toString()),
      p('text/x-my-path', 'mine', '/x'),
      p('text/x-shellscript', 's.sh', '#!/bin/sh\n'),
    ], 'iid-1').map((s) => s.detail);
    assert.match(actions[0]!, /^ignore: unknown user-data format 'text\/x-foo'/);
    assert.match(actions[1]!, /handlers\/part-handler-000 and register it for text\/x-foo, text\/x-bar \(executable handler, per-instance\)/);
    assert.equal(actions[2], 'to part-handler handler');
    assert.match(actions[3]!, /part-handler-001\.py and register it \(cloud-init Python handler, run by python3/);
    assert.match(actions[4]!, /^to part-handler py if it registers text\/x-my-path \(known when it runs\); else ignore: unknown user-data format/);
    assert.match(actions[5]!, /^save to \S+\/scripts\/s\.sh, run in stage final/);
  });
});
