// MIME: messages built by Python's email package (as users and cloud-init's
// make-mime build them) read by ec2-init; ec2-init's makeMime read by Python;
// and ec2-init's reader compared with Python's parser on the same bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseMime } from '../../src/userdata/mime.ts';
import { makeMime } from '../../src/userdata/make-mime.ts';
import { expandUserData } from '../../src/userdata/expand.ts';
import { CONFORMANCE } from '../helpers/paths.ts';
import { needPython } from '../helpers/needs.ts';
import { buf } from '../helpers/bytes.ts';

const LAUNCH = path.join(CONFORMANCE, 'cloud-init/launch-index');
const noPython = needPython('email', 'python3') ?? false;

function python(code: string, input?: Buffer): Buffer {
  const r = spawnSync('python3', ['-c', code], { input, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`python3 failed: ${r.stderr.toString()}`);
  return r.stdout;
}

// How cloud-init sees a message: Python's parser, walk(), containers skipped,
// get_content_type(), get_filename(), get_payload(decode=True). ec2-init also
// converts text in other charsets to UTF-8 and resolves the spec's aliases:
// done here too so the two can be compared.
const PY_LEAVES = String.raw`
import sys, json, base64, email
def norm(x):
    if x is None:
        return None
    b = x.encode('utf-8', 'surrogateescape')
    try:
        return b.decode('utf-8')
    except UnicodeDecodeError:
        return b.decode('latin-1')
ALIASES = {'ubuntu-ec2-config': 'text/cloud-config', 'text/ubuntu-ec2-config': 'text/cloud-config', 'text/x-upstart': 'text/upstart-job'}
msg = email.message_from_bytes(sys.stdin.buffer.read())
out = []
for part in msg.walk():
    if (part.get_content_maintype() or '').lower() == 'multipart' or (part.get_content_maintype() == 'message' and part.is_multipart()):
        continue
    ctype = part.get_content_type()
    raw = part.get('content-type')
    if raw is not None:
        bare = str(raw).split(';')[0].strip().lower()
        ctype = ALIASES.get(bare, ctype)
    payload = part.get_payload(decode=True)
    if payload is None:
        payload = b''
    if part.get_content_maintype() == 'text':
        cs = part.get_content_charset()
        if cs and cs not in ('utf-8', 'utf8', 'us-ascii', 'ascii'):
            try:
                payload = payload.decode(cs).encode('utf-8')
            except Exception:
                pass
    out.append({'type': norm(ctype), 'filename': norm(part.get_filename()), 'body': base64.b64encode(payload).decode()})
print(json.dumps(out))
`;

interface Leaf { type: string; filename: string | null; body: string }

function pythonLeaves(doc: Buffer): Leaf[] {
  return JSON.parse(python(PY_LEAVES, doc).toString()) as Leaf[];
}
function ourLeaves(doc: Buffer): Leaf[] {
  return parseMime(doc).leaves.map((l) => ({ type: l.type, filename: l.filename, body: Buffer.from(l.body).toString('base64') }));
}

const BUILD_NESTED = String.raw`
import sys, gzip
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.mime.base import MIMEBase
from email.mime.application import MIMEApplication
from email import encoders
outer = MIMEMultipart()
a = MIMEText('#!/bin/sh\necho one\n', 'x-shellscript', 'utf-8')
a.add_header('Content-Disposition', 'attachment', filename='one.sh')
outer.attach(a)
inner = MIMEMultipart('mixed')
b = MIMEText('#cloud-config\nruncmd: [ls]\n', 'cloud-config', 'us-ascii')
b.add_header('Merge-Type', 'list(append)+dict(recurse_array)+str()')
inner.attach(b)
c = MIMEText('#cloud-config\nname: caf\u00e9\n', 'cloud-config', 'iso-8859-1')
c.add_header('Content-Disposition', 'attachment', filename=('utf-8', '', 'na\u00efve \u2603.yaml'))
inner.attach(c)
d = MIMEApplication(gzip.compress(b'#!/bin/bash\necho gz\n'), 'x-gzip')
d.add_header('Content-Disposition', 'attachment', filename='gz.bin')
inner.attach(d)
deeper = MIMEMultipart('alternative')
h = MIMEText('#upstart-job\nstart on stopped rc\n', 'x-upstart', 'utf-8')
deeper.attach(h)
inner.attach(deeper)
outer.attach(inner)
e = MIMEText('#cloud-boothook\n#!/bin/sh\necho boot\n', 'plain')
outer.attach(e)
f = MIMEBase('text', 'x-shellscript-per-boot')
f.set_payload('#!/bin/sh\necho per-boot =\n')
encoders.encode_quopri(f)
outer.attach(f)
g = MIMEText('#cloud-config\nb: 1\n', 'plain')
g.add_header('Launch-Index', '1')
outer.attach(g)
u = MIMEText('#!/bin/sh\necho \u20ac\n', 'x-shellscript', 'utf-8')
u.add_header('Content-Disposition', 'attachment', filename='../../etc/evil')
outer.attach(u)
sys.stdout.buffer.write(outer.as_bytes())
`;

test('nested multipart built by Python is read part by part', { skip: noPython }, async () => {
  const doc = python(BUILD_NESTED);
  const r = await expandUserData(doc);
  assert.deepEqual(r.parts.map((p) => [p.type, p.filename]), [
    ['text/x-shellscript', 'one.sh'],
    ['text/cloud-config', 'part-002'],
    ['text/cloud-config', 'naïve ☃.yaml'],
    ['text/x-shellscript', 'gz.bin'],
    ['text/upstart-job', 'part-005'],
    ['text/cloud-boothook', 'part-006'],
    ['text/x-shellscript-per-boot', 'part-007'],
    ['text/cloud-config', 'part-008'],
    ['text/x-shellscript', '.._.._etc_evil'],
  ]);
  const body = r.parts.map((p) => Buffer.from(p.body).toString('utf8'));
  assert.equal(body[0], '#!/bin/sh\necho one\n');
  assert.equal(body[1], '#cloud-config\nruncmd: [ls]\n');
  assert.equal(body[2], '#cloud-config\nname: café\n', 'latin-1 text converted to UTF-8');
  assert.equal(body[3], '#!/bin/bash\necho gz\n', 'gzip part inflated and typed by its first line');
  assert.equal(body[6], '#!/bin/sh\necho per-boot =\n', 'quoted-printable undone');
  assert.equal(body[8], '#!/bin/sh\necho €\n');
  assert.equal(r.parts[1]!.headers['merge-type'], 'list(append)+dict(recurse_array)+str()');
  assert.equal(r.parts[7]!.headers['launch-index'], '1');
  assert.ok(r.diags.some((d) => d.level === 'warning' && d.message.includes('sanitized')), 'unsafe name reported');
  // The launch index filter drops part 8 for another instance.
  assert.equal((await expandUserData(doc, { launchIndex: 0 })).parts.length, 8);
  assert.equal((await expandUserData(doc, { launchIndex: 1 })).parts.length, 9);
  // user-data.txt reads back to the same parts.
  const again = await expandUserData(r.expanded);
  assert.deepEqual(again.parts.map((p) => [p.type, p.filename, Buffer.from(p.body).toString('base64'), p.headers['merge-type'], p.headers['launch-index']]),
    r.parts.map((p) => [p.type, p.filename, Buffer.from(p.body).toString('base64'), p.headers['merge-type'], p.headers['launch-index']]));
});

test('makeMime output is read back by ec2-init and by Python\'s email parser', { skip: noPython }, async () => {
  const inputs = [
    { content: Buffer.from('#!/bin/sh\necho hi\n'), type: 'text/x-shellscript', filename: 'hi.sh' },
    { content: Buffer.from('#cloud-config\npackages: [htop]\n'), type: 'text/cloud-config', filename: 'cfg.yaml' },
    { content: Buffer.from('#!/bin/sh\r\necho crlf\r\n-- not a boundary\n'), type: 'text/x-shellscript-per-boot', filename: 'crlf "quoted" \\.sh' },
    { content: Buffer.from('#cloud-boothook\necho ünïcödé\n'), type: 'text/cloud-boothook', filename: 'ünï.sh' },
    { content: gzipSync(Buffer.from('#cloud-config\nx: 1\n')), type: 'application/gzip', filename: 'x.gz' },
    { content: Buffer.from([0, 1, 2, 255, 254, 10, 13]), type: 'application/octet-stream', filename: 'bin' },
    { content: Buffer.alloc(0), type: 'text/plain', filename: 'empty' },
    { content: Buffer.from('no newline at end'), type: 'text/x-shellscript', filename: 'nonl' },
  ];
  const doc = makeMime(inputs);
  const py = pythonLeaves(Buffer.from(doc));
  assert.deepEqual(py.map((l) => [l.type, l.filename, Buffer.from(l.body, 'base64')]),
    inputs.map((i) => [i.type, i.filename, i.content]), 'Python reads what makeMime wrote');
  assert.deepEqual(ourLeaves(Buffer.from(doc)), py, 'ec2-init reads the same as Python');
  const r = await expandUserData(doc);
  assert.deepEqual(r.parts.map((p) => [p.type, p.filename]), [
    ['text/x-shellscript', 'hi.sh'],
    ['text/cloud-config', 'cfg.yaml'],
    ['text/x-shellscript-per-boot', 'crlf "quoted" _.sh'],
    ['text/cloud-boothook', 'ünï.sh'],
    ['text/cloud-config', 'x.gz'],
    ['application/octet-stream', 'bin'],
    ['text/plain', 'empty'],
    ['text/x-shellscript', 'nonl'],
  ]);
  assert.deepEqual(r.parts.map((p) => buf(p.body)), inputs.map((i, n) => (n === 4 ? Buffer.from('#cloud-config\nx: 1\n') : i.content)));
});

// Hand-made documents on the edges of the format; ec2-init must read each as Python does.
const EDGE_DOCS: Record<string, string> = {
  'crlf line endings': 'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\npreamble\r\n--XX\r\nContent-Type: text/x-shellscript\r\n\r\n#!/bin/sh\r\necho a\r\n\r\n--XX\r\n\r\n#cloud-config\r\na: 1\r\n--XX--\r\nepilogue\r\n',
  'no closing boundary': 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\none\n--b\nContent-Type: text/plain\n\ntwo\n',
  'boundary with trailing spaces and look-alikes': 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b1"\n\n--b1  \n\n--b10 is text\n--b1x too\n--b1\n\nlast\n--b1--  \n',
  'body without a blank line': 'MIME-Version: 1.0\n#cloud-config\na: 1\n',
  'folded header and parameters': 'MIME-Version: 1.0\nContent-Type: multipart/mixed;\n boundary="=-=\\"x;y"\n\n--=-="x;y\nContent-Type: text/x-shellscript;\n\tcharset=us-ascii\nContent-Disposition: attachment;\n filename="a;b.sh"\n\n#!/bin/sh\n--=-="x;y--\n',
  'rfc2231 continuations': 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=q\n\n--q\nContent-Type: text/plain\nContent-Disposition: attachment; filename*0="long"; filename*1="-name"; filename*2*=%2Esh\n\n#!/bin/sh\n--q\nContent-Type: text/plain; name="by-name.txt"\n\nx\n--q--\n',
  'base64 with junk and missing padding': 'MIME-Version: 1.0\nContent-Type: text/x-shellscript\nContent-Transfer-Encoding: BASE64\n\nIyEvYmluL3No\nCmVjaG8g!!aGk\n',
  'quoted-printable soft breaks': 'MIME-Version: 1.0\nContent-Type: text/x-shellscript\nContent-Transfer-Encoding: quoted-printable\n\n#!/bin/sh\necho long=\n line =3D ok=20\n',
  'multipart without boundary': 'MIME-Version: 1.0\nContent-Type: multipart/mixed\n\n--x\n\nhi\n--x--\n',
  'boundary never seen': 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=zz\n\n--x\n\nhi\n',
  'digest defaults to message/rfc822': 'MIME-Version: 1.0\nContent-Type: multipart/digest; boundary=d\n\n--d\n\nContent-Type: text/x-shellscript\n\n#!/bin/sh\n--d--\n',
  'unix from line and bad headers': 'From nobody Fri Aug 31 17:17:00 2012\nMIME-Version: 1.0\n: empty name\nContent-Type: text/cloud-config\nX-Weird:\n\n#cloud-config\n',
  'alias types': 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: ubuntu-ec2-config\n\nx: 1\n--a\nContent-Type: text/x-upstart\n\nstart on y\n--a\nContent-Type: application/x-sh\n\n#!/bin/sh\n--a--\n',
  'lone CR line endings': 'MIME-Version: 1.0\rContent-Type: multipart/mixed; boundary=c\r\r--c\rContent-Type: text/plain\r\r#!/bin/sh\recho cr\r--c--\r',
  'utf-16 text': 'MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-16\nContent-Transfer-Encoding: base64\n\n' + Buffer.from('\ufeff#cloud-config\na: 1\n', 'utf16le').toString('base64') + '\n',
};

test('edge-case documents are read as Python reads them', { skip: noPython }, () => {
  for (const [name, text] of Object.entries(EDGE_DOCS)) {
    const doc = Buffer.from(text, 'latin1');
    assert.deepEqual(ourLeaves(doc), pythonLeaves(doc), name);
  }
});

test('the launch-index emails and Python-built documents are read as Python reads them', { skip: noPython }, () => {
  const docs: Buffer[] = [python(BUILD_NESTED)];
  if (existsSync(LAUNCH)) for (const f of readdirSync(LAUNCH).filter((f) => f.endsWith('.email'))) docs.push(readFileSync(path.join(LAUNCH, f)));
  for (const doc of docs) assert.deepEqual(ourLeaves(doc), pythonLeaves(doc));
});

test('MIME is only read when the first 4 KiB say MIME-Version, as cloud-init', async () => {
  const late = Buffer.from('#cloud-config\n' + '#'.repeat(5000) + '\nMIME-Version: 1.0\n');
  assert.deepEqual((await expandUserData(late)).parts.map((p) => p.type), ['text/cloud-config']);
  const early = Buffer.from('MIME-Version: 1.0\nContent-Type: text/x-shellscript\n\n#cloud-config\na: 1\n');
  assert.deepEqual((await expandUserData(early)).parts.map((p) => p.type), ['text/cloud-config'], 'x-shellscript is re-typed by its first line');
});

test('deep nesting is bounded, not a stack overflow', () => {
  let doc = '#!/bin/sh\n';
  for (let i = 0; i < 500; i++) doc = `Content-Type: multipart/mixed; boundary=b${i}\n\n--b${i}\n${doc}\n--b${i}--\n`;
  const r = parseMime(Buffer.from('MIME-Version: 1.0\n' + doc));
  assert.equal(r.leaves.length, 0);
  assert.ok(r.warnings.some((w) => w.includes('nesting')));
});

test('the MIME reader is loaded only when needed', () => {
  // A child process records every module it loads (module.registerHooks).
  // (YAML is src/yaml now, imported statically: the system config needs it on every run anyway.)
  const script = String.raw`
    import { registerHooks } from 'node:module';
    const loaded = [];
    registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context); } });
    const { expandUserData } = await import(process.argv[1]);
    const seen = () => ({ mime: loaded.some((u) => u.endsWith('/userdata/mime.ts')) });
    const out = [];
    await expandUserData(Buffer.from('#!/bin/sh\necho hi\n'));
    await expandUserData(Buffer.from('#cloud-config\npackages: [htop]\n'));
    out.push(seen());
    await expandUserData(Buffer.from('MIME-Version: 1.0\nContent-Type: text/x-shellscript\n\n#!/bin/sh\n'));
    out.push(seen());
    await expandUserData(Buffer.from('#cloud-config-archive\n- "#!/bin/sh"\n'));
    out.push(seen());
    console.log(JSON.stringify(out));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, path.resolve(import.meta.dirname, '../../src/userdata/expand.ts')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), [{ mime: false }, { mime: true }, { mime: true }]);
});
