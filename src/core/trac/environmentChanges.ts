import { SqliteDatabase } from '../sqlite/sqlite';

/** Ticket and wiki changes newer than a moment, as a restore prompt tells them. */
export interface EnvironmentChanges {
  changed: boolean;
  /** Tickets created or changed after the moment. */
  tickets: number;
  /** Wiki pages with a version saved after it. */
  wikiPages: number;
  /** The newest change (ISO 8601), when there is one after the moment. */
  latest?: string;
}

/** Trac stores times as microseconds since the epoch. */
const MICROSECONDS_PER_MS = 1000;

/** What changed in a Trac database after `since`; throws when it lacks Trac's tables. */
export function changesSince(db: SqliteDatabase, since: Date): EnvironmentChanges {
  const after = since.getTime() * MICROSECONDS_PER_MS;
  const count = (sql: string) => (db.prepare(sql).get(...Array<number>(sql.split('?').length - 1).fill(after)) as { n: number }).n;
  const tickets = count(
    'SELECT count(*) AS n FROM (SELECT id FROM ticket WHERE time > ? OR changetime > ? UNION SELECT ticket FROM ticket_change WHERE time > ?)',
  );
  const wikiPages = count('SELECT count(DISTINCT name) AS n FROM wiki WHERE time > ?');
  const latest = latestChangeMicros(db);
  return {
    changed: tickets + wikiPages > 0,
    tickets,
    wikiPages,
    latest: latest !== undefined && latest > after ? new Date(latest / MICROSECONDS_PER_MS).toISOString() : undefined,
  };
}

/** The newest ticket or wiki change, as a Date; undefined in an empty environment. */
export function latestChange(db: SqliteDatabase): Date | undefined {
  const latest = latestChangeMicros(db);
  return latest === undefined ? undefined : new Date(latest / MICROSECONDS_PER_MS);
}

function latestChangeMicros(db: SqliteDatabase): number | undefined {
  // The scalar max() is NULL when any argument is: an empty table must count as 0.
  const row = db
    .prepare(
      'SELECT max((SELECT coalesce(max(max(time), max(changetime)), 0) FROM ticket), ' +
        '(SELECT coalesce(max(time), 0) FROM ticket_change), (SELECT coalesce(max(time), 0) FROM wiki)) AS latest',
    )
    .get() as { latest: number };
  return row.latest > 0 ? row.latest : undefined;
}
