// Client connections as nginx reports them, from the node http server's own events.
import type { Server } from 'node:http';

export class ConnectionCounters {
  accepted = 0;
  /** Refused by the server (over `maxConnections`): node's 'drop' event. */
  dropped = 0;
  active = 0;

  watch(server: Server): void {
    server.on('connection', (socket) => {
      this.accepted++;
      this.active++;
      socket.once('close', () => { this.active--; });
    });
    server.on('drop', () => { this.dropped++; });
  }

  /** `busy` = requests in flight; the other open connections are idle keep-alives. */
  toJSON(busy: number) {
    return { accepted: this.accepted, dropped: this.dropped, active: this.active, idle: Math.max(0, this.active - busy) };
  }

  reset(): void {
    this.accepted = this.dropped = 0;
  }
}
