/**
 * Numbered schema migrations for a Durable Object's SQLite database: each
 * runs once, in order, recorded in `schema_version`. A shipped migration is
 * never edited; the next change is a new one.
 */
export function runMigrations(sql: SqlStorage, migrations: readonly string[]): void {
  sql.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
  const row = sql.exec<{ version: number }>("SELECT version FROM schema_version").toArray()[0];
  let version = row?.version ?? 0;
  if (row === undefined) sql.exec("INSERT INTO schema_version (version) VALUES (0)");
  for (; version < migrations.length; version++) {
    sql.exec(migrations[version]!);
    sql.exec("UPDATE schema_version SET version = ?", version + 1);
  }
}
