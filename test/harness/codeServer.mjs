// Starts code-server (set up by scripts/setup-code-server.sh) on a free loopback port, with
// throwaway user data, extensions and config folders, and stops it with its whole process group.
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { CODE_SERVER_ENTRY, NODE22, requireCodeServer } from './paths.mjs';
import { spawnTracked, stopTracked } from './processes.mjs';
import { makeTempDir, removeDir } from './tempDirs.mjs';

/** User settings for a quiet, offline workbench. */
const USER_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'telemetry.telemetryLevel': 'off',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'update.mode': 'none',
  'chat.disableAIFeatures': true,
  'window.restoreWindows': 'none',
};

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForHttp(url, child, output, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`code-server exited with code ${child.exitCode} before answering:\n${output.join('')}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`code-server did not answer ${url} within ${timeoutMs / 1000} s:\n${output.join('')}`);
}

/**
 * Starts code-server. Options: folder (opened by default; a .code-workspace file too), extensionsDir (default: a new empty
 * one), env (added to its environment, which the extension host inherits), log (called with each
 * chunk of its output; its tail is always kept for error messages).
 * Returns { port, origin, extensionsDir, userDataDir, folderUrl(folder), workspaceUrl(file), recentOutput(), stop() }.
 */
export async function startCodeServer({ folder, extensionsDir, env = {}, settings = {}, log, timeoutMs = 60_000 } = {}) {
  requireCodeServer();
  const home = await makeTempDir('trac-cs-'); // short: VS Code's sockets go in it (108-byte path limit)
  const userDataDir = path.join(home, 'user-data');
  extensionsDir ??= path.join(home, 'extensions');
  const tmp = path.join(home, 'tmp'); // VS Code leaves its IPC sockets in the temp folder
  await fs.mkdir(path.join(userDataDir, 'User'), { recursive: true });
  await fs.mkdir(extensionsDir, { recursive: true });
  await fs.mkdir(tmp);
  await fs.writeFile(path.join(userDataDir, 'User', 'settings.json'), JSON.stringify({ ...USER_SETTINGS, ...settings }, null, 2));

  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const args = [
    CODE_SERVER_ENTRY,
    '--auth',
    'none',
    '--bind-addr',
    `127.0.0.1:${port}`,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--config',
    path.join(home, 'config.yaml'),
    '--user-data-dir',
    userDataDir,
    '--extensions-dir',
    extensionsDir,
    ...(folder ? [folder] : []),
  ];
  const child = spawnTracked(NODE22, args, {
    // TRAC_BACKUP_STATE_DIR: where the extension records verifications, not the tester's home.
    env: { ...process.env, ...env, XDG_DATA_HOME: path.join(home, 'data'), TMPDIR: tmp, TRAC_BACKUP_STATE_DIR: path.join(home, 'state') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = []; // the last chunks, for error messages
  const onOutput = (chunk) => {
    log?.(String(chunk));
    output.push(String(chunk));
    if (output.length > 200) output.shift();
  };
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);

  const stop = async () => {
    await stopTracked(child);
    await removeDir(home);
  };
  try {
    await waitForHttp(`${origin}/healthz`, child, output, timeoutMs);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    port,
    origin,
    extensionsDir,
    userDataDir,
    folderUrl: (dir) => `${origin}/?folder=${encodeURIComponent(dir)}`,
    workspaceUrl: (file) => `${origin}/?workspace=${encodeURIComponent(file)}`,
    recentOutput: () => output.join(''),
    stop,
  };
}

/** Installs a .vsix into extensionsDir with code-server's own --install-extension. */
export async function installExtension(vsix, extensionsDir) {
  requireCodeServer();
  const home = await makeTempDir('trac-backup-install-');
  try {
    const { stdout, stderr } = await promisify(execFile)(
      NODE22,
      [
        CODE_SERVER_ENTRY,
        '--user-data-dir',
        path.join(home, 'user-data'),
        '--config',
        path.join(home, 'config.yaml'),
        '--extensions-dir',
        extensionsDir,
        '--install-extension',
        vsix,
      ],
      { env: { ...process.env, XDG_DATA_HOME: path.join(home, 'data') }, timeout: 120_000 },
    );
    return `${stdout}${stderr}`;
  } finally {
    await removeDir(home);
  }
}
