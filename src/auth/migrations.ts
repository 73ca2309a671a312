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
];
