// The account database, entry by entry: users (passwd + shadow) and groups
// (group + gshadow), so a difference reads as "user bob: shell …" rather
// than as two different files. Password fields are compared as what they
// allow (diff.ts: locked, hash present, empty), never as the hash.
import { passwordClassOf } from './diff.ts';

export interface AccountDifference { what: string; cloudInit: string; ec2Init: string }

type Table = Map<string, string[]>;

function table(text: string | null): Table {
  const t: Table = new Map();
  for (const line of (text ?? '').split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const f = line.split(':');
    t.set(f[0]!, f.slice(1));
  }
  return t;
}

const FIELDS: Record<string, string[]> = {
  '/etc/passwd': ['password', 'uid', 'gid', 'gecos', 'home', 'shell'],
  '/etc/shadow': ['password', 'last change', 'min', 'max', 'warn', 'inactive', 'expire', 'reserved'],
  '/etc/group': ['password', 'gid', 'members'],
  '/etc/gshadow': ['password', 'administrators', 'members'],
};

/** Differences between the two agents' account files (each a map from path to content, null when absent). */
export function compareAccounts(ci: Map<string, Buffer | null>, ec2: Map<string, Buffer | null>): AccountDifference[] {
  const out: AccountDifference[] = [];
  for (const [path, names] of Object.entries(FIELDS)) {
    const a = table(ci.get(path)?.toString('utf8') ?? null);
    const b = table(ec2.get(path)?.toString('utf8') ?? null);
    const kind = path.includes('group') ? 'group' : 'user';
    for (const name of [...new Set([...a.keys(), ...b.keys()])]) {
      const fa = a.get(name);
      const fb = b.get(name);
      if (!fa || !fb) {
        out.push({ what: `${path}: ${kind} ${name}`, cloudInit: fa ? 'present' : 'absent', ec2Init: fb ? 'present' : 'absent' });
        continue;
      }
      names.forEach((field, i) => {
        let va = fa[i] ?? '';
        let vb = fb[i] ?? '';
        if (field === 'password') { va = passwordClassOf(va); vb = passwordClassOf(vb); }
        if (va !== vb) out.push({ what: `${path}: ${kind} ${name}: ${field}`, cloudInit: va, ec2Init: vb });
      });
    }
  }
  return out;
}
