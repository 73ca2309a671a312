// Opens the embedded SQLite database and brings its schema up to date.
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { MIGRATIONS, type Migration } from './migrations.js';

export function openDatabase(file: string, log: Logger, migrations: Migration[] = MIGRATIONS): Database.Database {
  const db = new Database(file);
  // WAL lets readers run beside the writer. synchronous=FULL fsyncs the WAL at every commit, so a
  // write answered 200 survives a crash or kill -9 of the process (and a power cut); NORMAL would
  // survive a process kill too but may lose the last commits on power loss, and account changes
  // are rare enough that the extra fsync costs nothing noticeable.
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db, log, migrations);
  return db;
}

function migrate(db: Database.Database, log: Logger, migrations: Migration[]): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migration (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
  const applied = new Set((db.prepare('SELECT version FROM schema_migration').all() as { version: number }[]).map((r) => r.version));
  for (const m of migrations) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      for (const sql of m.statements) db.exec(sql);
      db.prepare('INSERT INTO schema_migration (version, applied_at) VALUES (?, ?)').run(m.version, Date.now());
    })();
    log.info({ version: m.version, description: m.description }, 'database migrated');
  }
}
