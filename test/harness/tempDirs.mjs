// Temporary folders under os.tmpdir(), and workspaces holding copies of the Trac fixtures
// (the same way test/support/fixtures.ts copies them: never used in place).
import { promises as fs, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FIXTURES_DIR } from './paths.mjs';

const made = new Set();
// Also on Ctrl+C or a crash (processes.mjs exits the process on signals).
process.on('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

export async function makeTempDir(prefix = 'trac-backup-') {
  const dir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), prefix)));
  made.add(dir);
  return dir;
}

export async function removeDir(dir) {
  if (!dir) return;
  await fs.rm(dir, { recursive: true, force: true });
  made.delete(dir);
}

/** Copies a fixture to parent/as and adds the empty htdocs/ and plugins/ that git drops. */
export async function copyFixture(name, parent, as = name) {
  const target = path.join(parent, as);
  await fs.cp(path.join(FIXTURES_DIR, name), target, { recursive: true, preserveTimestamps: true });
  await fs.mkdir(path.join(target, 'htdocs'), { recursive: true });
  await fs.mkdir(path.join(target, 'plugins'), { recursive: true });
  return target;
}

/**
 * A new temporary workspace folder with copies of the named fixtures (default: both).
 * Returns its path; remove it with removeDir.
 */
export async function makeWorkspace(fixtures = ['trac-1.6-fresh', 'trac-1.6-populated'], prefix = 'trac-backup-ws-') {
  const dir = await makeTempDir(prefix);
  for (const name of fixtures) await copyFixture(name, dir);
  return dir;
}

/**
 * A multi-root workspace as a person has one: a `.code-workspace` file naming three folders,
 * alpha, beta and gamma, each holding a copy of trac-1.6-fresh (env-a, env-b, env-c, projects
 * "Alpha Project", …) and its own `.vscode/settings.json`: alpha none, beta its backups in
 * `backups` (relative to beta) on an hourly schedule and the environment beta/deep/…/env-d in
 * tracBackup.environments, gamma a daily schedule into a backup folder that cannot be made
 * (`not-a-folder` is a file), so that its scheduled backups fail, and gamma/far/away/down/here in
 * tracBackup.environmentParents (holding env-p).
 * Returns { dir, file }; remove dir with removeDir.
 */
export async function makeMultiRootWorkspace() {
  const dir = await makeTempDir('trac-backup-multi-');
  const folders = {
    alpha: { env: 'env-a' },
    beta: {
      env: 'env-b',
      settings: {
        'tracBackup.backupFolder': 'backups',
        'tracBackup.schedule': 'hourly',
        'tracBackup.environments': ['deep/down/below/the/env-d'],
      },
    },
    gamma: {
      env: 'env-c',
      settings: {
        'tracBackup.backupFolder': 'not-a-folder/backups',
        'tracBackup.schedule': 'daily',
        'tracBackup.environmentParents': ['far/away/down/here'],
      },
    },
  };
  for (const [name, { env: envName, settings }] of Object.entries(folders)) {
    const folder = path.join(dir, name);
    await fs.mkdir(folder);
    const env = await copyFixture('trac-1.6-fresh', folder, envName);
    const ini = path.join(env, 'conf', 'trac.ini');
    const project = `${name[0].toUpperCase()}${name.slice(1)} Project`;
    await fs.writeFile(ini, (await fs.readFile(ini, 'utf8')).replace('name = Fresh Project', `name = ${project}`));
    if (settings) {
      await fs.mkdir(path.join(folder, '.vscode'));
      await fs.writeFile(path.join(folder, '.vscode', 'settings.json'), JSON.stringify(settings, null, 2));
    }
  }
  await fs.writeFile(path.join(dir, 'gamma', 'not-a-folder'), 'a file where a folder would have to be\n');
  // Deeper than tracBackup.searchDepth: listed only because a folder's own settings name them.
  for (const [parent, name, project] of [
    ['beta/deep/down/below/the', 'env-d', 'Deep Project'],
    ['gamma/far/away/down/here', 'env-p', 'Parented Project'],
  ]) {
    await fs.mkdir(path.join(dir, parent), { recursive: true });
    const env = await copyFixture('trac-1.6-fresh', path.join(dir, parent), name);
    const ini = path.join(env, 'conf', 'trac.ini');
    await fs.writeFile(ini, (await fs.readFile(ini, 'utf8')).replace('name = Fresh Project', `name = ${project}`));
  }
  const file = path.join(dir, 'multi.code-workspace');
  await fs.writeFile(file, JSON.stringify({ folders: Object.keys(folders).map((name) => ({ path: name })), settings: {} }, null, 2));
  return { dir, file };
}
