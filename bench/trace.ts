// Where an agent's time goes: its own code, or the programs it runs (useradd,
// the user's scripts, hostname, ip …). Reads the output of
// `strace -f -ttt -e trace=process` for one agent process and returns the
// agent's lifetime as strace saw it (its first traced call, the exec, to the
// last call of its last thread: strace's own start and end left out) and the
// time during which at least one program started by the agent was alive.
// The agent's own overhead is the first less the second, in the same run:
// strace slows the programs (every one of them is traced), and that share is
// subtracted with them; what it adds to the agent itself is a stop at each of
// its process calls (fork, exec, wait), microseconds each.

export interface ProgramTime { name: string; ms: number; count: number }
export interface Attribution { agentMs: number; childMs: number; programs: ProgramTime[] }

const LINE = /^(\d+)\s+(\d+\.\d+)\s+(.*)$/;

export function attribute(strace: string): Attribution {
  const lines = strace.split('\n').map((l) => LINE.exec(l)).filter((m) => m !== null);
  if (lines.length === 0) return { agentMs: 0, childMs: 0, programs: [] };
  const root = Number(lines[0]![1]);
  // The agent starts at its own exec, after `chroot` (the harness's, which a
  // real boot does not run) has exec'd it in the same process.
  const exec0 = lines.find((m) => Number(m[1]) === root && /^execve\("(?![^"]*\/chroot")[^"]+".*\) = 0$/.test(m[3]!)) ?? lines[0]!;
  const agentStart = Number(exec0[2]) * 1000;
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
  // The agent ends when the last of its threads does: ec2-init (QuickJS) runs
  // its program on a thread with a large stack, and that thread, not the
  // main one, calls exit_group; the main thread's last traced call is the
  // clone of that thread.
  const agentEnd = Math.max(...[...agent].map((p) => end.get(p) ?? -Infinity));
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
  return { agentMs: agentEnd - agentStart, childMs: union(intervals), programs: [...byName.values()].sort((a, b) => b.ms - a.ms) };
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
