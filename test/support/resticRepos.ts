import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { OffsiteRepository } from '../../src/core/offsite/resticRepository';

/** The password of every test repository: tests look for it where it must never be. */
export const TEST_PASSWORD = 'correct horse battery staple 7f3a';

/**
 * A repository location for restic, with the test's own cache folder and the password handed
 * as the extension hands it (a private file); `env` is what restic inherits (no RESTIC_* of the
 * machine running the tests).
 */
export function testRepository(location: string, tmp: string, extra: Partial<OffsiteRepository> = {}): OffsiteRepository {
  return { location, password: TEST_PASSWORD, env: resticTestEnv(tmp), ...extra };
}

export function resticTestEnv(tmp: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, RESTIC_CACHE_DIR: path.join(tmp, 'restic-cache') };
  for (const name of Object.keys(env)) {
    if (name.startsWith('RESTIC_') && name !== 'RESTIC_CACHE_DIR') {
      delete env[name];
    }
  }
  return env;
}

/** Runs restic directly (for what a test checks behind the tool's back), with the password in the environment. */
export function resticDirect(location: string, tmp: string, args: string[], options: string[] = []): { code: number; out: string } {
  try {
    const out = execFileSync('restic', [...options.flatMap((option) => ['-o', option]), ...args], {
      env: { ...resticTestEnv(tmp), RESTIC_REPOSITORY: location, RESTIC_PASSWORD: TEST_PASSWORD },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { code: 0, out };
  } catch (error) {
    const failed = error as { status?: number; stdout?: string; stderr?: string };
    return { code: failed.status ?? 1, out: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

export interface SftpServer {
  port: number;
  pid: number;
  /** restic's location of a repository at `remotePath` on this server. */
  location(remotePath: string): string;
  /** The -o options restic needs to reach it (ssh with the throwaway key, on the port). */
  options: string[];
  stop(): Promise<void>;
}

/**
 * A throwaway sshd on 127.0.0.1 and a free port, with its own host key, a client key authorised
 * for this user, and the internal SFTP server, all in `dir`. Stop it (by its pid) in an after hook.
 */
export async function startSftpServer(dir: string): Promise<SftpServer> {
  await fs.mkdir(dir, { recursive: true });
  await fs.mkdir('/run/sshd', { recursive: true, mode: 0o755 }); // sshd's privilege separation folder
  const hostKey = path.join(dir, 'host_key');
  const clientKey = path.join(dir, 'client_key');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', clientKey]);
  const authorized = path.join(dir, 'authorized_keys');
  await fs.copyFile(`${clientKey}.pub`, authorized);
  await fs.chmod(authorized, 0o600);
  const port = await freePort();
  const config = path.join(dir, 'sshd_config');
  await fs.writeFile(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${authorized}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'PermitRootLogin prohibit-password',
      'Subsystem sftp internal-sftp',
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const user = execFileSync('id', ['-un'], { encoding: 'utf8' }).trim();
  await waitForPort(port, child, () => log);
  const command = [
    'ssh',
    `-p ${port}`,
    `-i ${clientKey}`,
    '-o StrictHostKeyChecking=no',
    `-o UserKnownHostsFile=${path.join(dir, 'known_hosts')}`,
    '-o BatchMode=yes',
    '-o ConnectTimeout=10',
    `${user}@127.0.0.1`,
    '-s sftp',
  ].join(' ');
  return {
    port,
    pid: child.pid!,
    location: (remotePath) => `sftp:${user}@127.0.0.1:${remotePath}`,
    options: [`sftp.command=${command}`],
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        process.kill(child.pid!, 'SIGTERM');
        await exited;
      }
    },
  };
}

async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`sshd exited (${child.exitCode}): ${log()}`);
    }
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`sshd did not listen on 127.0.0.1:${port}: ${log()}`);
}

/** The bytes of a local repository's files (what it takes on disk, as restic stores it). */
export async function repositoryBytes(folder: string): Promise<number> {
  let total = 0;
  for (const name of await fs.readdir(folder, { recursive: true })) {
    const stats = await fs.lstat(path.join(folder, name));
    if (stats.isFile()) {
      total += stats.size;
    }
  }
  return total;
}
