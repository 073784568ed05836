import { fsPlatform } from './retry';

/**
 * The mode to record for a file or folder, as POSIX would give it. Windows has no modes: Node
 * reports folders as 0666 and files as 0666, or 0444 with the read-only attribute, which
 * restored on Linux or macOS would make untraversable folders and world-writable files. There
 * the POSIX defaults are recorded instead: 0755 for a folder, 0644 for a file (0444 read-only).
 */
export function recordedMode(stats: { mode: number; isDirectory(): boolean }, platform: NodeJS.Platform = fsPlatform()): number {
  if (platform !== 'win32') {
    return stats.mode & 0o7777;
  }
  if (stats.isDirectory()) {
    return 0o755;
  }
  return stats.mode & 0o200 ? 0o644 : 0o444;
}
