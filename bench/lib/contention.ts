/**
 * How much of the machine other processes used while a step ran: the CPU time all cores were busy
 * (/proc/stat) minus this process's and its reaped children's (/proc/self/stat). On a 2-core
 * machine a busy neighbour changes every number, so the report says when one was there.
 * Linux only; elsewhere `share` is NaN.
 */
import { readFileSync } from 'node:fs';

/** Other processes' share of the CPU above which a step's numbers are flagged as contended. */
export const CONTENDED = 0.05;

interface Snapshot {
  busy: number;
  total: number;
  own: number;
}

function snapshot(): Snapshot | undefined {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const [user, nice, system, idle, iowait, irq, softirq, steal] = cpu as [number, number, number, number, number, number, number, number];
    const busy = user + nice + system + irq + softirq + steal;
    // /proc/self/stat: fields after the command name; utime stime cutime cstime are 14-17.
    const self = readFileSync('/proc/self/stat', 'utf8');
    const f = self.slice(self.lastIndexOf(')') + 2).split(' ').map(Number);
    const own = f[11]! + f[12]! + f[13]! + f[14]!;
    return { busy, total: busy + idle + iowait, own };
  } catch {
    return undefined;
  }
}

/** Clock ticks a second in /proc (USER_HZ, 100 on every Linux architecture Node runs on). */
const HZ = 100;

/** Starts watching; the returned function gives the share of all cores other processes used,
 * less `excludeMs` of CPU known to be ours (e.g. a child process still running). */
export function watchContention(): (excludeMs?: number) => number {
  const a = snapshot();
  return (excludeMs = 0) => {
    const b = snapshot();
    if (!a || !b || b.total === a.total) return NaN;
    const other = b.busy - a.busy - (b.own - a.own) - (excludeMs * HZ) / 1000;
    return Math.max(0, other / (b.total - a.total));
  };
}
