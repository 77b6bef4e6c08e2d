// #part-handler: cloud-init's Python handlers (its doc examples, run by
// python3 chrooted into the root) and the language-neutral executable form,
// through the built executable against throw-away roots.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { EXEC_HANDLER } from '../helpers/fixtures.ts';
import { makeMime } from '../../src/userdata/make-mime.ts';
import { docExample } from '../helpers/paths.ts';
import { mode, read } from '../helpers/files.ts';
import { AGENT, agent, cannotRun, newRoot, seed, WITH_ROOT } from '../helpers/agent.ts';

const skip = cannotRun();
// plan/parts.ts routes parts to part-handlers (routeParts), for plan and boot alike.

const META = 'instance-id: iid-ph-1\nlocal-hostname: ph-host\n';
const example = docExample;
const HANDLERS = 'var/lib/cloud/instances/iid-ph-1/handlers';
const mime = (...parts: Array<[string, string, string | Buffer]>) =>
  makeMime(parts.map(([type, filename, content]) => ({ type, filename, content: Buffer.from(content) })));


describe('part-handler: cloud-init Python handlers through python3 in the root', { skip: skip ?? false }, () => {
  test('doc example part-handler.txt: the handler creates the path its part names, inside the root', () => {
    const root = newRoot();
    mkdirSync(join(root, 'var/tmp'), { recursive: true }); // as on any image
    seed(root, META, mime(['text/part-handler', 'part-handler.py', example('part-handler.txt')], ['text/x-my-path', 'part', '/var/tmp/my_path\n']));
    const r = agent(root, ['boot']);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(existsSync(join(root, 'var/tmp/my_path')), 'the handler touched /var/tmp/my_path in the root');
    assert.ok(!existsSync('/var/tmp/my_path'), 'nothing on this machine');
    assert.equal(mode(root, HANDLERS), 0o700);
    assert.equal(mode(root, `${HANDLERS}/part-handler-000.py`), 0o600);
    assert.equal(read(root, `${HANDLERS}/part-handler-000.py`), example('part-handler.txt').toString());
    assert.match(read(root, 'var/log/ec2-init.log'), /part-handler\.py \(text\/part-handler\): python part-handler registered for text\/x-my-path \(version 1, frequency once-per-instance\)/);
  });

  test('doc example part-handler-v2.txt: begin, each part, end with the frequency; per-instance: not called on the next boot', () => {
    const root = newRoot();
    seed(root, META, mime(
      ['text/part-handler', 'v2.py', example('part-handler-v2.txt')],
      ['text/plain', 'plain.txt', 'just plain text\n'],
      ['text/go-cubs-go', 'cubs.txt', 'go cubs go\n'],
      ['text/x-shellscript', 'after.sh', '#!/bin/sh\necho after > /after\n'],
    ));
    const r = agent(root, ['boot']);
    assert.equal(r.status, 0, r.stderr);
    const out = read(root, 'var/log/ec2-init-output.log');
    const expected = [
      'my handler is beginning, frequency=once-per-instance',
      '==== received ctype=text/plain filename=plain.txt ====', 'just plain text', '',
      '==== end ctype=text/plain filename=plain.txt',
      '==== received ctype=text/go-cubs-go filename=cubs.txt ====', 'go cubs go', '',
      '==== end ctype=text/go-cubs-go filename=cubs.txt',
      'my handler is ending, frequency=once-per-instance',
    ].join('\n');
    assert.ok(out.includes(expected), out);
    assert.equal(read(root, 'after'), 'after\n', 'the other parts still ran');
    // Same instance, next boot: the handler's default frequency is once-per-instance.
    assert.equal(agent(root, ['boot']).status, 0);
    assert.equal(read(root, 'var/log/ec2-init-output.log').split('my handler is beginning').length - 1, 1);
  });

  test('frequency "always": called again on the next boot with frequency always; version 3 gets headers', () => {
    const root = newRoot();
    const handler = `#part-handler
handler_version = 3
frequency = "always"
def list_types():
    return ["text/x-note"]
def handle_part(data, ctype, filename, payload, frequency, headers):
    with open("/notes.log", "a") as f:
        f.write("%s %s %s %s %s\\n" % (ctype, filename, frequency, headers.get("Content-Type"), data.get_instance_id()))
`;
    seed(root, META, mime(['text/part-handler', 'h.py', handler], ['text/x-note', 'n1', 'one']));
    assert.equal(agent(root, ['boot']).status, 0);
    assert.equal(agent(root, ['boot']).status, 0);
    assert.equal(read(root, 'notes.log'), [
      '__begin__ None once-per-instance __begin__ iid-ph-1', 'text/x-note n1 once-per-instance text/x-note iid-ph-1', '__end__ None once-per-instance __end__ iid-ph-1',
      '__begin__ None always __begin__ iid-ph-1', 'text/x-note n1 always text/x-note iid-ph-1', '__end__ None always __end__ iid-ph-1',
    ].join('\n') + '\n');
  });

  test('a handler failing on one part is reported with its name and the part; the rest goes on', () => {
    const root = newRoot();
    const handler = `#part-handler
def list_types():
    return ["text/x-num"]
def handle_part(data, ctype, filename, payload):
    if ctype.startswith("__"):
        return
    if payload.strip() == "bad":
        raise ValueError("cannot take " + filename)
    open("/num-" + filename, "w").write(payload)
`;
    seed(root, META, mime(
      ['text/part-handler', 'nums.py', handler],
      ['text/x-num', 'one', 'good'], ['text/x-num', 'two', 'bad'], ['text/x-num', 'three', 'good'],
      ['text/part-handler', 'broken.py', '#part-handler\ndef broken(:\n'],
      ['text/x-shellscript', 's.sh', '#!/bin/sh\ntouch /script-ran\n'],
    ));
    const r = agent(root, ['boot']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /user-data nums\.py \(text\/part-handler\): python part-handler \S+part-handler-000\.py failed on part two \(text\/x-num\): ValueError: cannot take two/);
    assert.match(r.stderr, /user-data broken\.py \(text\/part-handler\): python part-handler \S+part-handler-001\.py could not be loaded: SyntaxError: invalid syntax \(part-handler-001\.py, line 2\); not registered/);
    assert.equal(read(root, 'num-one'), 'good');
    assert.equal(read(root, 'num-three'), 'good');
    assert.ok(!existsSync(join(root, 'num-two')));
    assert.ok(existsSync(join(root, 'script-ran')));
    assert.match(read(root, 'var/log/ec2-init-output.log'), /Traceback[\s\S]*ValueError: cannot take two/);
  });

  test('an image without python3: a clear error naming the part; executable handlers still work', () => {
    const root = newRoot();
    seed(root, META, mime(
      ['text/part-handler', 'part-handler.py', example('part-handler.txt')],
      ['text/x-my-path', 'part', '/var/tmp/my_path\n'],
      ['text/part-handler', 'exec-handler', EXEC_HANDLER],
      ['text/x-foo', 'a.foo', 'A'],
    ));
    // This root's python3 is not a program: /dev/null is bound over it (in the agent's private namespace only).
    const r = spawnSync('env', ['-i', WITH_ROOT, root, '/bin/bash', '-c',
      'mount --bind /dev/null "$0/usr/bin/$(readlink /usr/bin/python3)" && exec "$@"', root, AGENT, '--root', root, 'boot'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /user-data part-handler\.py \(text\/part-handler\): this is a cloud-init Python part-handler and the image has no python3 \(looked for \/usr\/bin\/python3/);
    assert.match(r.stderr, /user-data part \(text\/x-my-path\): ignored: unknown user-data format 'text\/x-my-path'/);
    assert.ok(!existsSync(join(root, 'var/tmp/my_path')));
    assert.equal(read(root, 'got-a.foo'), 'A');
  });
});

describe('part-handler: executable handlers', { skip: skip ?? false }, () => {
  test('begin, each later part (payload on stdin, type, filename, frequency, instance id), end; earlier parts are not its', () => {
    const root = newRoot();
    seed(root, META, mime(
      ['text/x-foo', 'early.foo', 'not for the handler'],
      ['text/part-handler', 'handler', EXEC_HANDLER],
      ['text/x-foo', 'a.foo', 'payload A\n'],
      ['text/cloud-boothook', 'hook', '#cloud-boothook\n#!/bin/sh\necho "boothook" >> /handler.log\n'],
      ['text/x-bar', 'b.bar', 'payload B'],
    ));
    const r = agent(root, ['boot']);
    assert.equal(r.status, 2, r.stderr); // degraded: early.foo is of an unknown type
    assert.match(r.stderr, /user-data early\.foo \(text\/x-foo\): ignored: unknown user-data format/);
    assert.equal(read(root, 'handler.log'), [
      'begin type= file= freq=per-instance iid=iid-ph-1',
      'part type=text/x-foo file=a.foo freq=per-instance iid=iid-ph-1',
      'boothook',
      'part type=text/x-bar file=b.bar freq=per-instance iid=iid-ph-1',
      'end type= file= freq=per-instance iid=iid-ph-1',
    ].join('\n') + '\n');
    assert.equal(read(root, 'got-a.foo'), 'payload A\n');
    assert.equal(read(root, 'got-b.bar'), 'payload B');
    assert.equal(mode(root, `${HANDLERS}/part-handler-000`), 0o700);
    assert.ok(read(root, `${HANDLERS}/part-handler-000`).startsWith('#!/bin/sh\n'), 'saved without its #part-handler line');
    // Per-instance by default: not called on the next boot of this instance.
    agent(root, ['boot']);
    assert.equal(read(root, 'handler.log').split('\n').filter((l) => l.startsWith('begin')).length, 1);
  });

  test('# frequency: per-boot: called on every boot, PART_FREQUENCY per-boot after the first', () => {
    const root = newRoot();
    const handler = EXEC_HANDLER.replace('# types:', '# frequency: per-boot\n# types:');
    seed(root, META, mime(['text/part-handler', 'handler', handler], ['text/x-foo', 'a.foo', 'A']));
    assert.equal(agent(root, ['boot']).status, 0);
    assert.equal(agent(root, ['boot']).status, 0);
    const lines = read(root, 'handler.log').trim().split('\n');
    assert.deepEqual(lines.map((l) => l.split(' ')[0]! + ' ' + l.split(' ')[3]!), [
      'begin freq=per-instance', 'part freq=per-instance', 'end freq=per-instance',
      'begin freq=per-boot', 'part freq=per-boot', 'end freq=per-boot',
    ]);
  });

  test('a handler failing on a part is reported with its name and the part; the other parts go on', () => {
    const root = newRoot();
    seed(root, META, mime(
      ['text/part-handler', 'handler', EXEC_HANDLER],
      ['text/x-foo', 'bad.foo', 'B'], ['text/x-foo', 'ok.foo', 'O'],
    ));
    const r = agent(root, ['boot']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /user-data handler \(text\/part-handler\): part-handler \S+\/handlers\/part-handler-000 failed on part bad\.foo \(text\/x-foo\): exit 3 \(output in \/var\/log\/ec2-init-output.log\)/);
    assert.match(read(root, "var/log/ec2-init-output.log"), /cannot take bad\.foo/);
    assert.equal(read(root, 'got-ok.foo'), 'O');
    assert.match(read(root, 'handler.log'), /^end /m);
    const st = JSON.parse(agent(root, ['status', '--format', 'json']).stdout) as Record<string, unknown>;
    assert.match(JSON.stringify(st), /part-handler-000 failed on part bad\.foo/);
  });

  test('a failing begin: the handler is not registered, its types fall back (reported)', () => {
    const root = newRoot();
    seed(root, META, mime(
      ['text/part-handler', 'handler', '#part-handler\n#!/bin/sh\n# types: text/x-foo\n[ "$1" = begin ] && exit 4\ntouch /called-$1\n'],
      ['text/x-foo', 'a.foo', 'A'],
    ));
    const r = agent(root, ['boot']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /part-handler-000 failed on begin: exit 4/);
    assert.match(r.stderr, /user-data a\.foo \(text\/x-foo\): ignored: unknown user-data format/);
    assert.ok(!existsSync(join(root, 'called-part')) && !existsSync(join(root, 'called-end')));
  });

  test('plan describes the handler and the parts it takes', () => {
    const root = newRoot();
    seed(root, META, mime(['text/part-handler', 'handler', EXEC_HANDLER], ['text/x-foo', 'a.foo', 'A']));
    const r = agent(root, ['plan']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /handler \(text\/part-handler\): save to \S+part-handler-000 and register it for text\/x-foo, text\/x-bar/);
    assert.match(r.stdout, /a\.foo \(text\/x-foo\): to part-handler handler/);
    assert.ok(!existsSync(join(root, 'handler.log')), 'plan ran nothing');
  });
});
