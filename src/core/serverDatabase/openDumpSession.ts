import { ServerDatabaseLocation } from '../trac/databaseUrl';
import { TracConfig } from '../trac/tracIni';
import { PostgresDumpSession } from '../postgres/postgresDump';
import { MysqlDumpSession } from '../mysql/mysqlDump';
import { ServerDumpSession } from './serverSession';

/** The dump tool trac.ini names, as trac-admin hotcopy reads it. */
export function configuredDumpTool(location: ServerDatabaseLocation, config: TracConfig | undefined): string | undefined {
  return config?.get('trac', location.kind === 'postgres' ? 'pg_dump_path' : 'mysqldump_path') || undefined;
}

/** Connects to the environment's server for a backup: the tool found, its version checked. */
export async function openDumpSession(location: ServerDatabaseLocation, config: TracConfig | undefined): Promise<ServerDumpSession> {
  const tool = configuredDumpTool(location, config);
  return location.kind === 'postgres' ? PostgresDumpSession.open(location, tool) : MysqlDumpSession.open(location, tool);
}
