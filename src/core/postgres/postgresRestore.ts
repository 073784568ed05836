import { ServerDatabaseLocation } from '../trac/databaseUrl';
import { serverError } from '../serverDatabase/serverErrors';
import { TracBackupError } from '../shared/errors';
import { connectPostgres, schemaOf } from './postgresConnection';

/** The other sessions on the database (not this tool's own), as "pid 123 (user trac, tracd, 127.0.0.1)". */
export async function postgresOtherConnections(target: ServerDatabaseLocation): Promise<string[]> {
  const client = await connectPostgres(target, 'looking for other connections');
  try {
    const result = await client.query<{ pid: number; usename: string; application_name: string; client_addr: string | null }>(
      "SELECT pid, usename, application_name, client_addr::text FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND application_name NOT LIKE 'trac-backup%'",
      [target.database],
    );
    return result.rows.map(
      (row) =>
        `pid ${row.pid} (user ${row.usename}${row.application_name ? `, ${row.application_name}` : ''}${row.client_addr ? `, from ${row.client_addr}` : ', local socket'})`,
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Whether the target's schema exists (then the restore keeps it aside), and the names of its asides. */
export async function postgresSchemas(target: ServerDatabaseLocation): Promise<{ exists: boolean; asides: string[] }> {
  const client = await connectPostgres(target, 'reading the schemas');
  try {
    const schema = schemaOf(target);
    const result = await client.query<{ nspname: string }>('SELECT nspname FROM pg_namespace WHERE nspname = $1 OR nspname LIKE $2', [
      schema,
      `${schema.replace(/[\\_%]/g, '\\$&')}\\_before\\_restore\\_%`,
    ]);
    const names = result.rows.map((row) => row.nspname);
    return { exists: names.includes(schema), asides: names.filter((name) => name !== schema).sort() };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Refuses before anything is changed when the restoring role cannot rename the schema aside and
 * create it anew: that takes CREATE on the database and owning the schema.
 */
export async function requirePostgresRestorePrivileges(target: ServerDatabaseLocation, schemaExists: boolean): Promise<void> {
  const client = await connectPostgres(target, 'checking the privileges for the restore');
  try {
    const schema = schemaOf(target);
    const { rows } = await client.query<{ can_create: boolean; owns: boolean | null }>(
      "SELECT has_database_privilege(current_user, current_database(), 'CREATE') AS can_create, " +
        "(SELECT pg_has_role(current_user, nspowner, 'USAGE') FROM pg_namespace WHERE nspname = $1) AS owns",
      [schema],
    );
    const user = target.user ?? 'the user';
    if (!rows[0].can_create) {
      throw new TracBackupError(
        'SERVER_PRIVILEGE_MISSING',
        `${user} may not create schemas in the database ${target.database} (${target.display}), which the restore needs to keep the ` +
          `old data aside as a schema and load the backup: have the database's owner run GRANT CREATE ON DATABASE "${target.database}" TO "${user}", or restore as the database's owner.`,
        target.display,
      );
    }
    if (schemaExists && rows[0].owns === false) {
      throw new TracBackupError(
        'SERVER_PRIVILEGE_MISSING',
        `${user} does not own the schema ${schema} of ${target.display}, so the restore cannot rename it aside: restore as its owner ` +
          `(or have it run ALTER SCHEMA "${schema}" OWNER TO "${user}").`,
        target.display,
      );
    }
  } catch (error) {
    throw serverError(error, target, 'checking the privileges for the restore');
  } finally {
    await client.end().catch(() => undefined);
  }
}
