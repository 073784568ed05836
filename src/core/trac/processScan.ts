import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import * as path from 'node:path';

export interface UsingProcess {
  pid: number;
  /** Its command line, arguments joined with spaces (shortened when long). */
  command: string;
  /** 'command line': a path given names the folder; 'open file': it has a file inside it open. */
  reason: 'command line' | 'open file';
  /** The open file, for 'open file'. */
  file?: string;
}

export interface ProcessScan {
  processes: UsingProcess[];
  /** Processes whose open files could not be read (other users' when not root). */
  unreadable: number;
  /** False where there is no /proc (not Linux): nothing could be looked at. */
  supported: boolean;
}

const MAX_COMMAND_LENGTH = 200;

/**
 * Finds the processes that use a folder or file, from /proc (Linux; elsewhere see psScan): those whose command line
 * names one of `paths` (tracd takes the environment as an argument), and those holding a file
 * under one of them open (a Trac behind Apache keeps its database open). This process and the
 * processes that started it (a shell, npm, VS Code) are left out: they are not Trac.
 */
export function findProcessesUsing(paths: string[], procRoot = '/proc'): ProcessScan {
  let pids: number[];
  try {
    pids = readdirSync(procRoot)
      .filter((name) => /^\d+$/.test(name))
      .map(Number);
  } catch {
    return { processes: [], unreadable: 0, supported: false };
  }
  const targets = [...new Set(paths.map((target) => path.resolve(target)))];
  const skipped = ancestors(procRoot);
  const processes: UsingProcess[] = [];
  let unreadable = 0;
  for (const pid of pids) {
    if (skipped.has(pid)) {
      continue;
    }
    const args = readCommandLine(procRoot, pid);
    if (!args || args.length === 0) {
      continue; // gone, or a kernel thread
    }
    const command = describeCommand(args);
    if (args.some((arg) => targets.some((target) => mentionsPath(arg, target)))) {
      processes.push({ pid, command, reason: 'command line' });
      continue;
    }
    const open = openFileUnder(procRoot, pid, targets);
    if (open === null) {
      unreadable += 1;
    } else if (open) {
      processes.push({ pid, command, reason: 'open file', file: open });
    }
  }
  return { processes, unreadable, supported: true };
}

/** True when `arg` names `target` as a whole path: `/srv/trac/a` is in `--auth=a,/srv/trac/a/.htpasswd`, not in `/srv/trac/ab`. */
export function mentionsPath(arg: string, target: string): boolean {
  const trimmed = target.length > 1 ? target.replace(/\/+$/, '') : target;
  for (let at = arg.indexOf(trimmed); at >= 0; at = arg.indexOf(trimmed, at + 1)) {
    const before = at === 0 ? '' : arg[at - 1];
    const after = arg[at + trimmed.length] ?? '';
    if (/^[\s=:,;'"]?$/.test(before) && /^[\s/:,;'"]?$/.test(after)) {
      return true;
    }
  }
  return false;
}

function readCommandLine(procRoot: string, pid: number): string[] | undefined {
  try {
    const raw = readFileSync(path.join(procRoot, String(pid), 'cmdline'), 'utf8');
    return raw.split('\0').filter((arg, index, all) => arg !== '' || index < all.length - 1);
  } catch {
    return undefined;
  }
}

export function describeCommand(args: string[]): string {
  const text = args.join(' ');
  return text.length > MAX_COMMAND_LENGTH ? `${text.slice(0, MAX_COMMAND_LENGTH - 1)}…` : text;
}

/** The first open file (not folder) under one of the targets; undefined when none; null when they cannot be read. */
function openFileUnder(procRoot: string, pid: number, targets: string[]): string | undefined | null {
  const fdDir = path.join(procRoot, String(pid), 'fd');
  let fds: string[];
  try {
    fds = readdirSync(fdDir);
  } catch {
    return null;
  }
  for (const fd of fds) {
    let file: string;
    try {
      file = readlinkSync(path.join(fdDir, fd)).replace(/ \(deleted\)$/, '');
    } catch {
      continue;
    }
    if (targets.some((target) => file === target || file.startsWith(`${target}/`)) && !isFolder(path.join(fdDir, fd))) {
      return file;
    }
  }
  return undefined;
}

/**
 * Trac holds files open (its database, its log); a folder held open is a walk through the tree
 * (VS Code's file watcher, a search, a copy), which says nothing about Trac.
 */
function isFolder(fdLink: string): boolean {
  try {
    return statSync(fdLink).isDirectory();
  } catch {
    return false;
  }
}

/** This process and its parents, up to init. */
function ancestors(procRoot: string): Set<number> {
  const found = new Set<number>();
  for (let pid = process.pid; pid > 1 && !found.has(pid);) {
    found.add(pid);
    try {
      const stat = readFileSync(path.join(procRoot, String(pid), 'stat'), 'utf8');
      // "pid (comm) state ppid …": comm may hold spaces and parentheses, so read after the last ')'.
      pid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      break;
    }
  }
  return found;
}

/** Clock ticks per second of /proc/<pid>/stat times: 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS = 100;

/**
 * When a process started (ms since the epoch), from /proc; undefined where that cannot be read.
 * Tells a process from a later one that was given the same id.
 */
export function processStartMs(pid: number, procRoot = '/proc'): number | undefined {
  try {
    const stat = readFileSync(path.join(procRoot, String(pid), 'stat'), 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const startTicks = Number(fields[19]);
    const bootLine = /^btime (\d+)$/m.exec(readFileSync(path.join(procRoot, 'stat'), 'utf8'));
    if (!bootLine || !Number.isFinite(startTicks)) {
      return undefined;
    }
    return Number(bootLine[1]) * 1000 + (startTicks / CLOCK_TICKS) * 1000;
  } catch {
    return undefined;
  }
}

/**
 * When a process started (ms since the epoch), from `ps -o etime=` (its elapsed time): how it is
 * known where there is no /proc (macOS, the BSDs); undefined where ps cannot say.
 */
export function processStartMsFromPs(
  pid: number,
  runPs: (pid: number) => string | undefined = readElapsed,
  now = Date.now(),
): number | undefined {
  // [[dd-]hh:]mm:ss
  const match = /^\s*(?:(?:(\d+)-)?(\d+):)?(\d+):(\d+)\s*$/.exec(runPs(pid) ?? '');
  if (!match) {
    return undefined;
  }
  const [days, hours, minutes, seconds] = match.slice(1).map((part) => Number(part ?? 0));
  return now - (((days * 24 + hours) * 60 + minutes) * 60 + seconds) * 1000;
}

function readElapsed(pid: number): string | undefined {
  try {
    return execFileSync('ps', ['-o', 'etime=', '-p', String(pid)], { encoding: 'utf8', timeout: 5000 });
  } catch {
    return undefined;
  }
}
