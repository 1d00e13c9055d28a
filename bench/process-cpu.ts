import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 almost everywhere). */
function ticksPerSecond() {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
}

const MICROSECONDS_PER_TICK = 1e6 / ticksPerSecond()

/**
 * CPU time (user + system) a process has used so far, in µs, from /proc/<pid>/stat; undefined
 * where there is no /proc. Per request it is steadier than rps on a shared machine: it does not
 * depend on how much of the CPU the load driver and PostgreSQL took meanwhile.
 */
export function processCpuMicros(pid: number): number | undefined {
  try {
    // The command name (field 2) may hold spaces; the fields after it are space-separated.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    const [userTicks, systemTicks] = [Number(fields[11]), Number(fields[12])]
    return (userTicks + systemTicks) * MICROSECONDS_PER_TICK
  } catch {
    return undefined
  }
}
