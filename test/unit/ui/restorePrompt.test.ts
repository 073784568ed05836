import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LiveTracReport } from '../../../src/core/trac/liveTrac';
import { RestorePlan } from '../../../src/core/restore/restorePlan';
import { localDateTime } from '../../../src/core/shared/format';
import { RESTORE, RESTORE_ANYWAY, restorePrompt } from '../../../src/ui/restorePrompt';

const plan: RestorePlan = {
  backup: '/srv/backups/project-20261126-101500',
  environment: '/srv/trac/project',
  backupKind: 'hotcopy',
  backupCreatedAt: '2026-11-26T10:15:00.000Z',
  projectName: 'Project',
  target: 'environment',
  replaced: { files: 120, bytes: 5 * 1024 * 1024 },
  restored: { files: 118, bytes: 4 * 1024 * 1024 },
  aside: '/srv/trac/project.before-restore-20261126-121000',
  database: null,
  databaseInside: null,
  warnings: [],
  changedSinceBackup: { changed: false, tickets: 0, wikiPages: 0 },
  leftovers: [],
};

test('the restore prompt names the environment, the backup, what is replaced and where it is kept', () => {
  const prompt = restorePrompt(plan, 'Project');
  assert.match(prompt.message, /^Restore Project from the backup of .+\?$/);
  assert.match(prompt.detail, /Environment: \/srv\/trac\/project\n/);
  assert.match(prompt.detail, /Backup: \/srv\/backups\/project-20261126-101500 \(made /);
  assert.match(prompt.detail, /replaces the 120 files \(5\.0 MB\) there now with the backup's 118 files \(4\.0 MB\)/);
  assert.match(prompt.detail, /kept, not deleted, as \/srv\/trac\/project\.before-restore-20261126-121000/);
  assert.doesNotMatch(prompt.detail, /changed after this backup|Trac seems to be running/);
  assert.equal(prompt.confirm, RESTORE);
});

test('the prompt warns when tickets or wiki pages changed after the backup', () => {
  const prompt = restorePrompt(
    { ...plan, changedSinceBackup: { changed: true, tickets: 3, wikiPages: 1, latest: '2026-11-26T11:00:00.000Z' } },
    'Project',
  );
  assert.match(prompt.detail, /The environment changed after this backup: 3 tickets and 1 wiki page changed since/);
  assert.match(prompt.detail, /they stay in the kept copy/);
});

test('when Trac seems to be running the prompt names the processes and offers only to restore anyway', () => {
  const live: LiveTracReport = {
    environment: plan.environment,
    running: true,
    lock: 'free',
    processes: [{ pid: 4242, command: 'tracd --port 8000 /srv/trac/project', reason: 'command line' }],
    uncheckedProcesses: 0,
    summary: 'tracd (pid 4242) has /srv/trac/project on its command line.',
    others: [],
  };
  const prompt = restorePrompt(plan, 'Project', live);
  assert.equal(prompt.confirm, RESTORE_ANYWAY);
  assert.match(prompt.detail, /Trac seems to be running: tracd \(pid 4242\)/);
  assert.match(prompt.detail, /4242: tracd --port 8000 \/srv\/trac\/project/);
  assert.match(prompt.detail, /Stop it first/);
});

test('restoring into an empty place says nothing will be replaced', () => {
  const prompt = restorePrompt({ ...plan, target: 'missing', aside: null, replaced: { files: 0, bytes: 0 } }, 'Project');
  assert.match(prompt.detail, /Nothing is there now: the backup's 118 files \(4\.0 MB\) will be written there/);
});

test('the prompt says first what the restore will not bring back (a --no-database backup)', () => {
  const warning = 'The backup was made without its database (--no-database): /srv/trac/project will have no database after the restore.';
  const prompt = restorePrompt({ ...plan, warnings: [warning] }, 'Project');
  assert.ok(prompt.detail.includes(`⚠ ${warning}`), prompt.detail);
});

test('the prompt says where an external database goes when it is restored inside the environment, and that its old path is not touched', () => {
  const prompt = restorePrompt(
    { ...plan, databaseInside: { file: '/srv/trac/project/db/trac.db', backedUpFrom: '/var/lib/trac/project.db' } },
    'Project',
  );
  assert.match(prompt.detail, /The database goes inside the environment, to \/srv\/trac\/project\/db\/trac\.db/);
  assert.match(prompt.detail, /\/var\/lib\/trac\/project\.db, where it was backed up from, is not touched/);
});

test('the prompt names the backup by the date its row in the tree shows', () => {
  const prompt = restorePrompt(plan, 'Project');
  const shown = localDateTime(new Date(plan.backupCreatedAt)); // the tree's label (environmentTree's backupItem)
  assert.equal(prompt.message, `Restore Project from the backup of ${shown}?`);
  assert.match(prompt.detail, new RegExp(`\\(made ${shown}\\)`));
});

test('a server database others are connected to: the prompt names them and asks to Restore Anyway (which the command passes as force)', () => {
  const serverDatabase = {
    kind: 'postgres' as const,
    display: 'postgres://db.example:5432/trac',
    database: 'trac',
    holdsNow: { bytes: 9_000_000, version: '45', tickets: 61, wikiPages: 40 },
    backupHolds: { tickets: 60, wikiPages: 40 },
    aside: 'public_before_restore_20261126_121000',
    inPlace: false,
    otherConnections: ['pid 4242 trac@10.0.0.7 (tracd)'],
    rewritesConfig: false,
  };
  const prompt = restorePrompt({ ...plan, serverDatabase }, 'Project');
  assert.match(prompt.detail, /holds 61 tickets, 40 wiki pages now; the backup holds 60 tickets, 40 wiki pages/);
  assert.match(prompt.detail, /kept, not deleted, as the schema public_before_restore_20261126_121000/);
  assert.match(prompt.detail, /pid 4242 trac@10\.0\.0\.7 \(tracd\)/);
  assert.equal(prompt.confirm, RESTORE_ANYWAY);
  assert.equal(restorePrompt({ ...plan, serverDatabase: { ...serverDatabase, otherConnections: [] } }, 'Project').confirm, RESTORE);
});
