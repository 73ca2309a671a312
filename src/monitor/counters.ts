// HTTP counters: requests total/current (nginx /http/requests) and one ZoneStats per server zone.
import { classify, ZONE_NAMES, ZoneStats, zoneTable, type ZoneName, type ZoneRule } from './zones.js';

export class HttpCounters {
  readonly table: ZoneRule[];
  readonly zones = new Map<ZoneName, ZoneStats>(ZONE_NAMES.map((z) => [z, new ZoneStats()]));
  total = 0;
  current = 0;

  constructor(monitorPath: string) {
    this.table = zoneTable(monitorPath);
  }

  classify(path: string): ZoneRule | undefined {
    return classify(this.table, path);
  }

  requestsJSON() {
    return { total: this.total, current: this.current };
  }
}
