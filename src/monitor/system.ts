// Host and process figures for the Glances-style plugins (cpu, mem, load, uptime, now), from node:os.
import os from 'node:os';

type CpuTimes = { user: number; nice: number; sys: number; idle: number; irq: number };

function cpuTotals(): CpuTimes {
  const sum = { user: 0, nice: 0, sys: 0, idle: 0, irq: 0 };
  for (const cpu of os.cpus()) for (const k of Object.keys(sum) as (keyof CpuTimes)[]) sum[k] += cpu.times[k];
  return sum;
}

const percent = (part: number, whole: number) => (whole > 0 ? Math.round((1000 * part) / whole) / 10 : 0);

export class SystemStats {
  /** CPU use is a rate: each reading covers the time since the previous one (since boot, the first time). */
  private lastCpu: CpuTimes = { user: 0, nice: 0, sys: 0, idle: 0, irq: 0 };

  cpu() {
    const now = cpuTotals();
    const d = Object.fromEntries(Object.entries(now).map(([k, v]) => [k, v - this.lastCpu[k as keyof CpuTimes]])) as CpuTimes;
    this.lastCpu = now;
    const all = d.user + d.nice + d.sys + d.idle + d.irq;
    return {
      total: percent(all - d.idle, all), user: percent(d.user, all), nice: percent(d.nice, all),
      system: percent(d.sys, all), idle: percent(d.idle, all), irq: percent(d.irq, all),
      cpucore: os.availableParallelism(),
    };
  }

  mem() {
    const total = os.totalmem(), available = process.availableMemory?.() ?? os.freemem();
    return { total, available, used: total - available, free: os.freemem(), percent: percent(total - available, total) };
  }

  load() {
    const [min1, min5, min15] = os.loadavg();
    return { min1, min5, min15, cpucore: os.availableParallelism() };
  }

  uptime() {
    return { system: Math.round(os.uptime()), process: Math.round(process.uptime()) };
  }

  now() {
    const d = new Date();
    return { iso: d.toISOString(), timestamp: d.getTime() / 1000 };
  }
}
