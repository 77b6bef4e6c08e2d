// Compares what the two agents left: the same paths, types, modes, owners,
// link targets and contents. A few contents are normalized first, each for a
// stated reason (random host keys, password hashes, the agent's own name in
// a header); what is left must be equal, or be kept on purpose in
// allowlist.ts.
import { lstatSync, readlinkSync } from 'node:fs';
import type { Entry, Snapshot } from './snapshot.ts';

export type Aspect = 'presence' | 'type' | 'mode' | 'owner' | 'target' | 'content';

export interface Difference {
  boot: 'first' | 'second' | 'third';
  path: string;
  aspect: Aspect;
  cloudInit: string;
  ec2Init: string;
}

// The password field of shadow and gshadow: compared as what it allows
// (locked or not, a hash present or not), never as the hash itself.
export function passwordClassOf(field: string): string {
  const locked = field.startsWith('!');
  const rest = locked ? field.slice(1) : field;
  const kind = rest === '' ? 'empty' : rest === '*' ? 'none' : rest === 'x' ? 'x' : rest.startsWith('$') ? 'hash' : 'other';
  return `<${locked ? 'locked,' : ''}${kind}>`;
}

function shadowLike(text: string): string {
  return text.split('\n').map((line) => {
    const f = line.split(':');
    if (f.length < 2) return line;
    f[1] = passwordClassOf(f[1]!);
    return f.join(':');
  }).join('\n');
}

export interface Normalization { path: RegExp; reason: string; apply(text: string): string }

export const NORMALIZATIONS: Normalization[] = [
  {
    path: /^\/etc\/g?shadow-?$/,
    reason: 'password hashes are salted; compared as locked / hash present / empty',
    apply: shadowLike,
  },
  {
    path: /^\/etc\/ssh\/ssh_host_\w+_key$/,
    reason: 'host keys are random: a private key is compared as present (mode and owner still compared)',
    apply: (t) => (t.includes('PRIVATE KEY') ? '<private key>' : t),
  },
  {
    path: /^\/etc\/ssh\/ssh_host_\w+_key\.pub$/,
    reason: 'host keys are random: a public key is compared by its type and comment',
    apply: (t) => t.split('\n').map((l) => l.replace(/^(\S+) \S+/, '$1 <key>')).join('\n'),
  },
  {
    path: /^\/etc\/chef\/client\.rb$/,
    reason: "client.rb's first line names the agent and the time ('# Created by cloud-init v. 22.4.2 on …' / '# Created by ec2-init v. 0.1.0 on …')",
    apply: (t) => t.replace(/^# Created by (cloud-init|ec2-init) v\. \S+ on .*$/m, '# Created by <agent> on <date>'),
  },
  {
    path: /^\/etc\/sudoers\.d\//,
    // Kept on purpose: the header names the agent that wrote the file and when.
    reason: "the header line names the agent and the time ('# Created by cloud-init v. 22.4.2 on …' / '# Created by ec2-init v. 0.1.0 on …')",
    apply: (t) => t.replace(/^# Created by (cloud-init|ec2-init) v\. \S+ on .*$/m, '# Created by <agent> on <date>'),
  },
  {
    path: /\/\.ssh\/authorized_keys$/,
    // cloud-init's users_groups hands a user's keys to setup_user_keys as a
    // Python set, so their order changes from one run to the next; ec2-init
    // keeps the user's order. The same keys, each once, is what matters.
    // Blank lines are left out too: the ssh-import-id program (which
    // cloud-init runs for ssh_import_id) writes one after each key; sshd
    // skips them.
    reason: "cloud-init writes a user's ssh_authorized_keys in Python set order (random per run); ec2-init keeps the user's order; "
      + 'ssh-import-id writes a blank line after each key it adds, ec2-init does not (sshd skips blank lines)',
    apply: (t) => t.split('\n').filter(Boolean).sort().join('\n'),
  },
];

function normalized(path: string, content: Buffer): string {
  let text = content.toString('latin1');
  for (const n of NORMALIZATIONS) if (n.path.test(path)) text = n.apply(text);
  return text;
}

function describe(e: Entry | undefined, aspect: Aspect, path: string, image?: string): string {
  if (!e) {
    if (image === undefined) return 'absent';
    const low = image + path;
    try {
      const st = lstatSync(low);
      return `unchanged (the image's ${st.isSymbolicLink() ? `link -> ${readlinkSync(low)}` : st.isDirectory() ? 'directory' : 'file'})`;
    } catch { return 'absent'; }
  }
  switch (aspect) {
    case 'presence': return e.type === 'link' ? `link -> ${e.target}` : e.type;
    case 'type': return e.type;
    case 'mode': return `0${e.mode.toString(8).padStart(3, '0')}`;
    case 'owner': return `${e.uid}:${e.gid}`;
    case 'target': return e.target ?? '';
    case 'content': return e.content ? shorten(normalized(path, e.content)) : '';
  }
}

function shorten(s: string): string {
  return s.length > 600 ? `${s.slice(0, 600)}… (${s.length} chars)` : s;
}

/**
 * Every difference between the two agents' snapshots of one boot (`image`,
 * the lower layer, only words the report: what an agent left untouched).
 */
export function compareSnapshots(boot: Difference['boot'], ci: Snapshot, ec2: Snapshot, image?: string): Difference[] {
  const out: Difference[] = [];
  const paths = [...new Set([...ci.keys(), ...ec2.keys()])].sort();
  for (const path of paths) {
    const a = ci.get(path);
    const b = ec2.get(path);
    const add = (aspect: Aspect) => out.push({ boot, path, aspect, cloudInit: describe(a, aspect, path, image), ec2Init: describe(b, aspect, path, image) });
    if (!a || !b) { add('presence'); continue; }
    if (a.type !== b.type) { add('type'); continue; }
    if (a.type === 'deleted') continue;
    if (a.mode !== b.mode && a.type !== 'link') add('mode');
    if (a.uid !== b.uid || a.gid !== b.gid) add('owner');
    if (a.type === 'link' && a.target !== b.target) add('target');
    if (a.content && b.content && normalized(path, a.content) !== normalized(path, b.content)) add('content');
  }
  return out;
}

/** A line-by-line account of a content difference, for the failure message. */
export function lineDiff(path: string, a: Buffer, b: Buffer): string {
  const la = normalized(path, a).split('\n');
  const lb = normalized(path, b).split('\n');
  const sa = new Set(la);
  const sb = new Set(lb);
  return [...la.filter((l) => !sb.has(l)).map((l) => `  cloud-init only: ${l}`), ...lb.filter((l) => !sa.has(l)).map((l) => `  ec2-init only:   ${l}`)].join('\n');
}
