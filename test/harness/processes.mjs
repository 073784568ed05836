// Child processes that must not outlive the test run, whatever way it ends.
import { spawn } from 'node:child_process';

const live = new Set();

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal); // the whole group: code-server forks extension hosts
  } catch {
    // already gone
  }
}

process.on('exit', () => {
  for (const child of live) killGroup(child, 'SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    for (const child of live) killGroup(child, 'SIGKILL');
    process.exit(128 + { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 }[signal]);
  });
}

/** Spawns a process in a group of its own, remembered until it exits. */
export function spawnTracked(command, args, options = {}) {
  const child = spawn(command, args, { ...options, detached: true });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** SIGTERM to the child's group, SIGKILL after a grace period; resolves once it has exited. */
export async function stopTracked(child, graceMs = 3000) {
  if (child.exitCode !== null || child.signalCode !== null) {
    killGroup(child, 'SIGKILL'); // leftovers of the group
    return;
  }
  const exited = new Promise((resolve) => child.once('exit', resolve));
  killGroup(child, 'SIGTERM');
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
  killGroup(child, 'SIGKILL');
}
