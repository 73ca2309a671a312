// The auth schema, as numbered migrations applied in order at start. Each one runs once, inside a
// transaction, and is recorded in schema_migration. The SQL is kept to what PostgreSQL also accepts
// (no AUTOINCREMENT, no SQLite type affinity tricks; booleans are 0/1 integers) so the scale-out
// issue can run the same list there, mapping "INTEGER PRIMARY KEY" to an identity column.
export interface Migration {
  version: number;
  description: string;
  statements: string[];
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: 'principals, memberships, sessions, resource ACLs',
    statements: [
      `CREATE TABLE principal (
        id INTEGER PRIMARY KEY,
        cls CHAR(1) NOT NULL CHECK (cls IN ('U', 'G')),
        keyname VARCHAR(64) NOT NULL,
        display_name VARCHAR(255) NOT NULL,
        description TEXT,
        system INTEGER NOT NULL DEFAULT 0,
        disabled INTEGER NOT NULL DEFAULT 0,
        password_hash TEXT
      )`,
      // Keynames are unique per class, ignoring case (NGW's rule).
      'CREATE UNIQUE INDEX principal_keyname ON principal (cls, lower(keyname))',
      `CREATE TABLE membership (
        group_id INTEGER NOT NULL REFERENCES principal (id) ON DELETE CASCADE,
        user_id INTEGER NOT NULL REFERENCES principal (id) ON DELETE CASCADE,
        PRIMARY KEY (group_id, user_id)
      )`,
      'CREATE INDEX membership_user ON membership (user_id)',
      `CREATE TABLE session (
        token_hash CHAR(64) PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES principal (id) ON DELETE CASCADE,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
      )`,
      // A row here means the resource's ACL was set at run time and replaces catalog.json's.
      'CREATE TABLE acl_override (resource_id INTEGER PRIMARY KEY)',
      `CREATE TABLE acl_rule (
        resource_id INTEGER NOT NULL REFERENCES acl_override (resource_id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        action VARCHAR(5) NOT NULL CHECK (action IN ('allow', 'deny')),
        principal_id INTEGER NOT NULL REFERENCES principal (id) ON DELETE CASCADE,
        identity VARCHAR(64) NOT NULL,
        scope VARCHAR(32) NOT NULL,
        permission VARCHAR(32) NOT NULL,
        propagate INTEGER NOT NULL,
        PRIMARY KEY (resource_id, position)
      )`,
    ],
  },
  {
    version: 2,
    description: 'seeding jobs, their tasks, and the managers sharing them (src/farm/)',
    statements: [
      // resources and bbox are JSON text: read whole, never queried inside.
      `CREATE TABLE farm_job (
        id CHAR(36) PRIMARY KEY,
        name VARCHAR(255) NOT NULL,
        type VARCHAR(16) NOT NULL,
        format VARCHAR(8) NOT NULL,
        resources TEXT NOT NULL,
        zoom_min INTEGER NOT NULL,
        zoom_max INTEGER NOT NULL,
        bbox TEXT NOT NULL,
        priority INTEGER NOT NULL,
        status VARCHAR(20) NOT NULL,
        activity TEXT NOT NULL,
        tiles_total BIGINT NOT NULL,
        created BIGINT NOT NULL,
        updated BIGINT NOT NULL
      )`,
      'CREATE INDEX farm_job_status ON farm_job (status, priority)',
      // A task is a block of tiles at one zoom; next_index is where it resumes (row-major in the block).
      `CREATE TABLE farm_task (
        id CHAR(36) PRIMARY KEY,
        job_id CHAR(36) NOT NULL REFERENCES farm_job (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        z INTEGER NOT NULL,
        x_min INTEGER NOT NULL,
        x_max INTEGER NOT NULL,
        y_min INTEGER NOT NULL,
        y_max INTEGER NOT NULL,
        status VARCHAR(16) NOT NULL,
        activity TEXT NOT NULL,
        worker VARCHAR(64),
        manager CHAR(36),
        cleared INTEGER NOT NULL DEFAULT 0,
        next_index INTEGER NOT NULL DEFAULT 0,
        tiles_total INTEGER NOT NULL,
        tiles_generated INTEGER NOT NULL DEFAULT 0,
        tiles_skipped INTEGER NOT NULL DEFAULT 0,
        tiles_failed INTEGER NOT NULL DEFAULT 0,
        updated BIGINT NOT NULL
      )`,
      'CREATE INDEX farm_task_job ON farm_task (job_id, position)',
      'CREATE INDEX farm_task_status ON farm_task (status)',
      `CREATE TABLE farm_manager (
        uuid CHAR(36) PRIMARY KEY,
        name VARCHAR(255) NOT NULL,
        url TEXT,
        total_workers INTEGER NOT NULL,
        registered BIGINT NOT NULL,
        last_seen BIGINT NOT NULL
      )`,
      'CREATE UNIQUE INDEX farm_manager_name ON farm_manager (name)',
    ],
  },
  {
    version: 3,
    description: 'the manager a seeding job was submitted to, which stores its tasks (src/farm/construction.ts)',
    statements: [
      // Tells whose a job left under construction is: its own manager removes it at start, the others once it is silent.
      'ALTER TABLE farm_job ADD COLUMN manager CHAR(36)',
    ],
  },
  {
    version: 4,
    description: 'failed logins per client address and keyname, counted by every instance (src/auth/throttle.ts)',
    statements: [
      `CREATE TABLE login_failure (
        address TEXT NOT NULL,
        keyname TEXT NOT NULL,
        failures INTEGER NOT NULL,
        last_at BIGINT NOT NULL,
        PRIMARY KEY (address, keyname)
      )`,
      'CREATE INDEX login_failure_last_at ON login_failure (last_at)',
    ],
  },
  {
    version: 5,
    description: 'indexes that claiming a seeding task walks in claim order instead of sorting every queued task (src/farm/sqlite-job-store.ts)',
    statements: [
      // The jobs tasks are claimed from, first one first (a job this index leaves out has none to give).
      `CREATE INDEX farm_job_claim_order ON farm_job (priority DESC, created, id) WHERE status IN ('queued', 'active')`,
      // A job's tasks of a status in position order: its next queued one, whether any is left to run, how many of each status.
      'CREATE INDEX farm_task_job_status ON farm_task (job_id, status, position)',
    ],
  },
  {
    version: 6,
    description: 'the seeding farm\'s settings changed at run time, shared by every instance (src/farm/settings.ts)',
    statements: [
      // A row is a POSTed setting, which wins over the configuration; one with no row follows the configuration.
      `CREATE TABLE farm_setting (
        name VARCHAR(64) PRIMARY KEY,
        value BIGINT NOT NULL
      )`,
    ],
  },
];
