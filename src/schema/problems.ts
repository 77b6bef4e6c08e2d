// Problems as machine-readable records, for `schema --format json` and
// `status --format json`: {file, part, line, column, path, level, code,
// message}. The code says what kind of problem it is; the table below is the
// list of codes (README "Problem codes" prints it): a code, once given, keeps
// its meaning. Codes are told from the message the checker wrote (validate.ts
// builds each kind of message in one place), so the boot's records in
// status.json — lines of text, as cloud-init keeps them — give the same
// records as `schema` gives for the same document.
import type { SchemaProblem } from './validate.ts';

export type Level = 'error' | 'warning' | 'info';

export interface Problem {
  /** The file the line and column count in; null for a problem not tied to a document. */
  file: string | null;
  /** The user-data part (part-001 …): line and column count in that part; null for a whole file. */
  part: string | null;
  line: number | null;
  column: number | null;
  /** The key path ('write_files.0.permissions'); for a problem of the boot not in a document, what reported it ('module runcmd'). */
  path: string;
  level: Level;
  code: string;
  message: string;
}

/** A value as validate.ts writes it in a message (JSON.stringify of a YAML value). */
const VALUE = String.raw`(?:".*"|-?[\d.eE+-]+|true|false|null|\[.*\]|\{.*\})`;

/** Every code, what it means, and (for the checker's messages) the message that gives it. */
export const PROBLEM_CODES: ReadonlyArray<{ code: string; meaning: string; message?: RegExp }> = [
  // A document as a whole.
  { code: 'yaml-syntax', meaning: 'not YAML: the line and column where reading stopped', message: /^invalid YAML: / },
  { code: 'not-a-mapping', meaning: 'a cloud-config that is YAML but not a mapping of keys to values', message: /^a cloud-config must be a mapping of keys to values/ },
  { code: 'not-cloud-config', meaning: "the file's first line is not '#cloud-config'" },
  { code: 'unreadable', meaning: 'a cloud-config part that could not be read at all (past the YAML limits); the part was skipped', message: /^invalid cloud-config: / },
  // Keys.
  { code: 'unknown-key', meaning: 'a key no module and no cloud-init module knows (with the nearest known key)', message: /^unknown key '/ },
  { code: 'not-implemented', meaning: "a key of a cloud-init module ec2-init does not have: ignored", message: /^'.*' belongs to cloud-init's module / },
  { code: 'not-applicable', meaning: 'a key of a cloud-init module a Debian image has no use for: ignored (level info)', message: /^'.*' \(cloud-init's .*\) is not applicable on this image/ },
  { code: 'deprecated', meaning: 'a deprecated key or value, with what replaces it', message: /^deprecated: / },
  { code: 'missing-key', meaning: 'a required key is missing', message: /^'.*' is a required property$/ },
  // Values.
  { code: 'wrong-type', meaning: 'a value of the wrong type', message: new RegExp(`^${VALUE} is not of type '`) },
  { code: 'not-allowed', meaning: 'a value that is not one of the allowed values', message: new RegExp(`^${VALUE} is not one of `) },
  { code: 'no-form-matches', meaning: 'a value that matches none of the forms a key allows', message: new RegExp(`^${VALUE} matches none of the allowed forms$`) },
  { code: 'too-small', meaning: 'a number under the minimum', message: /^-?[\d.eE+-]+ is less than the minimum of / },
  { code: 'too-large', meaning: 'a number over the maximum', message: /^-?[\d.eE+-]+ is more than the maximum of / },
  { code: 'bad-format', meaning: 'a string that does not match the form the key needs', message: new RegExp(`^${VALUE} does not match `) },
  { code: 'too-few-items', meaning: 'a list shorter than the key needs', message: /^needs at least \d+ item\(s\)$/ },
  // Problems of a boot that are not in a document (status only): what reported them is the path.
  { code: 'module', meaning: 'a module failed or warned (path: module NAME)' },
  { code: 'datasource', meaning: 'the datasource search or a datasource (path: datasource …)' },
  { code: 'user-data', meaning: 'a user-data or vendor-data part that is not a schema problem (path: user-data part-NNN …)' },
  { code: 'system-config', meaning: 'the system config (/etc/cloud/cloud.cfg, cloud.cfg.d, --config)' },
  { code: 'stage', meaning: 'a stage as a whole: an internal error, or a stage whose process died' },
  { code: 'other', meaning: 'anything else the boot reported' },
];

/** The code of a checker's message; null when it is not one of the checker's messages. */
export function codeOfMessage(message: string): string | null {
  return PROBLEM_CODES.find((c) => c.message?.test(message))?.code ?? null;
}

/** A problem `schema` found in `file` (in user-data part `part`). */
export function fromSchemaProblem(p: SchemaProblem, file: string, part: string | null = null): Problem {
  return { file, part, line: p.line, column: p.column, path: p.path, level: p.level, code: codeOfMessage(p.message) ?? 'other', message: p.message };
}

/**
 * "PATH: MESSAGE" (or a bare MESSAGE when the path is empty) as formatProblem
 * writes it, split where the rest is one of the checker's messages: a key
 * holding ': ' stays in the path.
 */
function splitPath(rest: string): { path: string; message: string; code: string } | null {
  let code = codeOfMessage(rest);
  if (code) return { path: '', message: rest, code };
  for (let i = rest.indexOf(': '); i >= 0; i = rest.indexOf(': ', i + 1)) {
    code = codeOfMessage(rest.slice(i + 2));
    if (code) return { path: rest.slice(0, i), message: rest.slice(i + 2), code };
  }
  return null;
}

const DOC_FILE: Record<string, string> = { 'user-data': '/var/lib/cloud/data/user-data.txt', 'vendor-data': 'vendor-data' };

/**
 * One problem of a boot, as status.json keeps it ("WHERE: MESSAGE"), as a
 * record. Schema problems of user-data and vendor-data parts and YAML errors
 * of the system config get their file, line and column back; the others
 * have the reporter as path and no position.
 */
export function fromBootProblem(level: Level, text: string): Problem {
  const none = { file: null, part: null, line: null, column: null };
  const schema = /^(user-data|vendor-data) (\S+) \(text\/cloud-config\): invalid cloud-config at line (\d+), column (\d+): (.*?)(?:; this part was skipped)?$/s.exec(text);
  if (schema) {
    const split = splitPath(schema[5]!);
    if (split) {
      return { file: DOC_FILE[schema[1]!]!, part: schema[2]!, line: Number(schema[3]), column: Number(schema[4]), path: split.path, level, code: split.code, message: split.message };
    }
  }
  const unreadable = /^(user-data|vendor-data) (\S+) \(text\/cloud-config\): (invalid cloud-config: .*)$/s.exec(text);
  if (unreadable) return { ...none, file: DOC_FILE[unreadable[1]!]!, part: unreadable[2]!, path: '', level, code: 'unreadable', message: unreadable[3]! };
  const yaml = /^(\/\S+|--config \S+): \S+: invalid YAML at line (\d+), column (\d+): (.*)$/s.exec(text);
  if (yaml) {
    return { file: yaml[1]!.replace(/^--config /, ''), part: null, line: Number(yaml[2]), column: Number(yaml[3]), path: '', level, code: 'yaml-syntax', message: `invalid YAML: ${yaml[4]!}` };
  }
  const colon = text.indexOf(': ');
  const [where, message] = colon < 0 ? ['', text] : [text.slice(0, colon), text.slice(colon + 2)];
  const code = /^module /.test(where) ? 'module'
    : /^datasource\b/.test(where) ? 'datasource'
      : /^(user|vendor)-data\b/.test(where) ? 'user-data'
        : /^(\/etc\/cloud\/|--config )/.test(where) ? 'system-config'
          : /^stage /.test(where) ? 'stage' : 'other';
  return { ...none, path: where, level, code, message };
}
