import type Database from 'better-sqlite3';
import { SubhostError } from '../errors';

/**
 * The columns of the hourly and daily roll-ups in migration 0: the same for both tables (one row
 * shape, one upsert in store.ts). Part of migration 0, so frozen with it: a later change of either
 * table is a new migration, never an edit here.
 */
const MIGRATION_0_ROLLUP_COLUMNS = `
    series_id          INTEGER NOT NULL REFERENCES series (id),
    period_start       INTEGER NOT NULL,
    samples            INTEGER NOT NULL,
    covered_seconds    REAL NOT NULL,
    cpu_user_seconds   REAL NOT NULL,
    cpu_system_seconds REAL NOT NULL,
    io_read_bytes      INTEGER NOT NULL,
    io_write_bytes     INTEGER NOT NULL,
    memory_samples     INTEGER NOT NULL,
    memory_avg_bytes   REAL,
    memory_peak_bytes  INTEGER,
    tasks_max          INTEGER,
    PRIMARY KEY (series_id, period_start)
  `;

/**
 * The history database's schema, as a list of migrations: migration i brings PRAGMA user_version
 * from i to i+1. Never edit a migration that has shipped; append a new one.
 * The tables are described at the top of store.ts.
 */
export const MIGRATIONS: string[] = [
  `
  CREATE TABLE series (
    id   INTEGER PRIMARY KEY,
    host TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('subhost', 'vm')),
    name TEXT NOT NULL,
    UNIQUE (host, kind, name)
  );
  CREATE TABLE samples (
    series_id          INTEGER NOT NULL REFERENCES series (id),
    t_ms               INTEGER NOT NULL,
    cpu_user_seconds   REAL,
    cpu_system_seconds REAL,
    memory_current_bytes INTEGER,
    memory_peak_bytes  INTEGER,
    io_read_bytes      INTEGER,
    io_write_bytes     INTEGER,
    tasks              INTEGER,
    PRIMARY KEY (series_id, t_ms)
  ) WITHOUT ROWID;
  CREATE INDEX samples_t ON samples (t_ms);
  CREATE TABLE hourly (${MIGRATION_0_ROLLUP_COLUMNS}) WITHOUT ROWID;
  CREATE TABLE daily (${MIGRATION_0_ROLLUP_COLUMNS}) WITHOUT ROWID;
  CREATE INDEX hourly_start ON hourly (period_start);
  CREATE INDEX daily_start ON daily (period_start);
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Bring the database to SCHEMA_VERSION, each migration in its own transaction (a crash leaves a whole version). */
export function migrate(db: Database.Database, path: string): number {
  const from = db.pragma('user_version', { simple: true }) as number;
  if (from > SCHEMA_VERSION) throw new SubhostError(`history ${path}: schema version ${from} is newer than this subhost knows (${SCHEMA_VERSION}); use a newer subhost`);
  for (let v = from; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  return from;
}
