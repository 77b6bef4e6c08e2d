// Where an agent's time goes: its own code, or the programs it runs (useradd,
// the user's scripts, hostname, ip …). Reads the output of
// `strace -f -ttt -e trace=process` for one agent process and returns the
// time during which at least one program started by the agent was alive.
// Traced runs are slower, so only this share is used: the agent's overhead is
// then the untraced total minus it (see run.ts).

export interface ProgramTime { name: string; ms: number; count: number }
export interface Attribution { childMs: number; programs: ProgramTime[] }

const LINE = /^(\d+)\s+(\d+\.\d+)\s+(.*)$/;

export function attribute(strace: string): Attribution {
  const lines = strace.split('\n').map((l) => LINE.exec(l)).filter((m) => m !== null);
  if (lines.length === 0) return { childMs: 0, programs: [] };
  const root = Number(lines[0]![1]);
  const agent = new Set([root]);          // the agent process and its threads
  const pendingClone = new Map<number, { t: number; text: string }>();
  const start = new Map<number, number>(); // direct child pid → fork time
  const end = new Map<number, number>();   // any pid → last time seen
  const name = new Map<number, string>();  // pid → program it exec'd last
  for (const m of lines) {
    const pid = Number(m[1]);
    const t = Number(m[2]) * 1000;
    const text = m[3]!;
    end.set(pid, t);
    const exec = /^execve\("([^"]+)".*\) = 0$/.exec(text) ?? /^execve\("([^"]+)".*<unfinished/.exec(text);
    if (exec && !text.includes('= -1')) name.set(pid, exec[1]!);
    // A clone either completes on one line or is split into
    // "clone(… <unfinished ...>" and "<... clone resumed>…) = CHILD".
    if (/^(clone3?|vfork|fork)\(.*<unfinished/.test(text)) { pendingClone.set(pid, { t, text }); continue; }
    let call: { t: number; text: string } | undefined;
    let child: number | undefined;
    const done = /^(clone3?|vfork|fork)\(.*\) = (\d+)$/.exec(text);
    if (done) { call = { t, text }; child = Number(done[2]); }
    const resumed = /^<\.\.\. (clone3?|vfork|fork) resumed>.*\) = (\d+)$/.exec(text);
    if (resumed) { call = pendingClone.get(pid); pendingClone.delete(pid); child = Number(resumed[2]); if (call) call = { t: call.t, text: call.text + text }; }
    if (call && child !== undefined && agent.has(pid)) {
      if (call.text.includes('CLONE_THREAD')) agent.add(child);
      else start.set(child, call.t);
    }
  }
  const agentEnd = end.get(root)!;
  // Children still alive when the agent exits are helpers that live beside
  // it (cloud-init's `tee` for its output log), not programs it waited for.
  const intervals: [number, number][] = [];
  const byName = new Map<string, ProgramTime>();
  for (const [pid, t0] of start) {
    const t1 = end.get(pid) ?? t0;
    if (t1 >= agentEnd) continue;
    intervals.push([t0, t1]);
    const n = (name.get(pid) ?? '(fork)').split('/').pop()!;
    const key = /^part-|^runcmd$|^tmp/.test(n) ? 'user script' : n;
    const p = byName.get(key) ?? { name: key, ms: 0, count: 0 };
    p.ms += t1 - t0; p.count++;
    byName.set(key, p);
  }
  return { childMs: union(intervals), programs: [...byName.values()].sort((a, b) => b.ms - a.ms) };
}

// Total length covered by possibly overlapping intervals.
function union(iv: [number, number][]): number {
  iv.sort((a, b) => a[0] - b[0]);
  let total = 0;
  let [s, e] = [-Infinity, -Infinity];
  for (const [a, b] of iv) {
    if (a > e) { if (e > s) total += e - s; [s, e] = [a, b]; } else e = Math.max(e, b);
  }
  if (e > s) total += e - s;
  return total;
}
