import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** CPU time (user + system, ms) and peak resident memory (MiB) of processes, from /proc (Linux). */
const TICK_MS = 10; // USER_HZ is 100 on Linux

export function cpuMs(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    } catch {
      /* gone */
    }
  }
  return ticks * TICK_MS;
}

export const peakRssMiB = (pid: number): number => statusMiB(pid, 'VmHWM');
export const currentRssMiB = (pid: number): number => statusMiB(pid, 'VmRSS');

function statusMiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Pids of the local PostgreSQL (every process of user postgres) and RabbitMQ (beam.smp) servers. */
export function infraPids(): { postgres: number[]; rabbitmq: number[] } {
  const pgrep = (args: string[]): number[] => {
    try {
      return execFileSync('pgrep', args, { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  };
  return { postgres: pgrep(['-u', 'postgres']), rabbitmq: pgrep(['-f', 'beam.smp']) };
}
