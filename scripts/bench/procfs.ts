/**
 * What the benchmark reads about its child processes from /proc: CPU time and peak memory. CPU
 * time per request holds up on a shared machine far better than req/s does, since another
 * process's load slows a request down but does not make it cost more cycles.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const clockTicks = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system) the process has used, in milliseconds. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name, in parentheses, may hold spaces: count fields after its closing one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of proc(5); the first after the name is field 3.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
}

/** The process's peak resident set size so far, in MiB. */
export function peakRssMiB(pid: number): number {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) / 1024;
}
