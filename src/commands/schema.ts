// `ec2-init schema`: validate cloud-config before a boot finds the problem.
//   --config-file F   a user-data file on this machine (the caller's, not under --root)
//   --system          the instance's user-data (under --root) and the system config
//   --annotate        print the document with each problem under its line
//   --format json     every problem as a record {file, part, line, column, path, level, code, message} (problems.ts)
import { asText } from '../bytes.ts';
import { readHostFile } from '../host/machine.ts';
import { utf8Decode } from '../host/codecs.ts';
import type { Files } from '../host/files.ts';
import { MODULES } from '../modules/index.ts';
import { layout } from '../state/layout.ts';
import { expandUserData } from '../userdata/expand.ts';
import { sniffType } from '../userdata/sniff.ts';
import { fromSchemaProblem, type Problem } from '../schema/problems.ts';
import { checkCloudConfigText, formatProblem, type SchemaProblem } from '../schema/validate.ts';

/** A document to check: `name` for the text output; `file` and `part` for the records. */
interface Doc { name: string; file: string; part: string | null; text: string }

const letter = (p: SchemaProblem) => (p.level === 'error' ? 'E' : p.level === 'warning' ? 'W' : 'N');

function annotate(text: string, problems: SchemaProblem[]): string {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const out: string[] = [];
  lines.forEach((line, i) => {
    const here = problems.map((p, n) => ({ p, n })).filter(({ p }) => p.line === i + 1);
    out.push(here.length ? `${line}\t\t# ${here.map(({ p, n }) => `${letter(p)}${n + 1}`).join(',')}` : line);
  });
  out.push('');
  problems.forEach((p, n) => out.push(`# ${letter(p)}${n + 1}: ${p.path ? `${p.path}: ` : ''}${p.message}`));
  return out.join('\n') + '\n';
}

async function systemDocs(files: Files): Promise<Doc[]> {
  const docs: Doc[] = [];
  for (const path of ['/etc/cloud/cloud.cfg', ...files.list('/etc/cloud/cloud.cfg.d').filter((n) => n.endsWith('.cfg')).map((n) => `/etc/cloud/cloud.cfg.d/${n}`)]) {
    const text = files.readIfExists(path);
    if (text !== null) docs.push({ name: path, file: path, part: null, text: asText(text) });
  }
  const userData = files.readIfExists(layout.userDataTxt);
  if (userData !== null) {
    const { parts } = await expandUserData(userData);
    for (const part of parts.filter((p) => p.type === 'text/cloud-config')) {
      docs.push({ name: `${layout.userDataTxt} ${part.filename}`, file: layout.userDataTxt, part: part.filename, text: asText(part.body) });
    }
  }
  return docs;
}

/** Runs the command; returns the exit code (0 valid, 1 errors found). */
export async function schemaCommand(files: Files, flags: Map<string, string | true>, out: (s: string) => void): Promise<number> {
  const file = flags.get('--config-file');
  const json = flags.get('--format') === 'json';
  let docs: Doc[];
  if (typeof file === 'string') {
    const bytes = readHostFile(file);
    const text = utf8Decode(bytes);
    // What a boot reads as cloud-config: '#cloud-config' first, or systemd-imds's JSON user-data (userdata/sniff.ts).
    if (!/^#cloud-config\b/.test(text) && sniffType(bytes) !== 'text/cloud-config') {
      const message = "not a cloud-config: the first line must be '#cloud-config'";
      const problem: Problem = { file, part: null, line: 1, column: 1, path: '', level: 'error', code: 'not-cloud-config', message };
      out(json ? asJson([file], [problem]) : `${file}: ${message}\n`);
      return 1;
    }
    docs = [{ name: file, file, part: null, text }];
  } else if (flags.has('--system')) {
    docs = await systemDocs(files);
  } else {
    throw new Error('schema needs --config-file FILE or --system');
  }
  let errors = 0;
  const records: Problem[] = [];
  for (const doc of docs) {
    const { problems } = checkCloudConfigText(doc.text, MODULES);
    errors += problems.filter((p) => p.level === 'error').length;
    if (json) { records.push(...problems.map((p) => fromSchemaProblem(p, doc.file, doc.part))); continue; }
    if (flags.has('--annotate') && problems.length) { out(`# ${doc.name}\n${annotate(doc.text, problems)}`); continue; }
    if (problems.length === 0) { out(`Valid schema ${doc.name}\n`); continue; }
    for (const p of problems) out(`${p.level === 'error' ? 'Error' : p.level === 'warning' ? 'Warning' : 'Note'}: ${doc.name}: ${formatProblem(p)}\n`);
  }
  if (json) out(asJson(docs.map((d) => (d.part ? `${d.file} ${d.part}` : d.file)), records));
  return errors > 0 ? 1 : 0;
}

/** The JSON answer: what was checked, whether it is valid (no error), and every problem in document order. */
function asJson(checked: string[], problems: Problem[]): string {
  return `${JSON.stringify({ valid: !problems.some((p) => p.level === 'error'), checked, problems }, null, 2)}\n`;
}
