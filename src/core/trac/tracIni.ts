import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/**
 * Trac reads trac.ini with Python's configparser (interpolation off, '=' as the only
 * delimiter, comments only at the start of a line, option names case-insensitive,
 * indented lines continuing the value above). The npm INI parsers cut values at ';' or
 * '#' (a password in a database URL, a colour) or reject continuation lines, so this
 * small reader follows configparser's rules instead.
 */
export type IniSections = Map<string, Map<string, string>>;

export function parseIni(text: string): IniSections {
  const sections: IniSections = new Map();
  let current: Map<string, string> | undefined;
  let lastKey: string | undefined;
  for (const rawLine of text.replace(/^\uFEFF/, '').split(/\r?\n/)) {
    const trimmed = rawLine.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith(';')) {
      continue;
    }
    if (/^\s/.test(rawLine) && current && lastKey !== undefined) {
      current.set(lastKey, `${current.get(lastKey) ?? ''}\n${trimmed}`);
      continue;
    }
    const header = /^\[([^\]]+)\]/.exec(trimmed);
    if (header) {
      const name = header[1];
      current = sections.get(name) ?? new Map();
      sections.set(name, current);
      lastKey = undefined;
      continue;
    }
    const equals = trimmed.indexOf('=');
    if (!current || equals <= 0) {
      throw new SyntaxError(`line "${trimmed}" is neither a [section] nor a "name = value" option`);
    }
    lastKey = trimmed.slice(0, equals).trim().toLowerCase();
    current.set(lastKey, trimmed.slice(equals + 1).trim());
  }
  return sections;
}

/** A trac.ini with the files it inherits from, read the way Trac reads it. */
export class TracConfig {
  constructor(
    /** The files read, the environment's own trac.ini first, then its parents. */
    readonly files: readonly string[],
    private readonly layers: readonly IniSections[],
  ) {}

  get(section: string, option: string): string | undefined {
    const key = option.toLowerCase();
    for (const layer of this.layers) {
      const value = layer.get(section)?.get(key);
      if (value !== undefined) {
        return value;
      }
    }
    return undefined;
  }
}

/**
 * Reads a trac.ini and, like Trac, every file named in its `[inherit] file` option
 * (comma-separated, relative to the folder of the file that names it). The file's own
 * values win over inherited ones. Throws with the path of the file that failed.
 */
export async function readTracConfig(iniPath: string): Promise<TracConfig> {
  const files: string[] = [];
  const layers: IniSections[] = [];
  const visit = async (file: string): Promise<void> => {
    if (files.includes(file)) {
      return; // an inheritance loop: Trac would recurse forever; reading once is enough
    }
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (error) {
      throw new IniReadError(file, `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
    let sections: IniSections;
    try {
      sections = parseIni(text);
    } catch (error) {
      throw new IniReadError(file, `is not valid: ${(error as Error).message}`);
    }
    files.push(file);
    layers.push(sections);
    const inherited = sections.get('inherit')?.get('file');
    for (const name of (inherited ?? '')
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean)) {
      await visit(path.resolve(path.dirname(file), name));
    }
  };
  await visit(path.resolve(iniPath));
  return new TracConfig(files, layers);
}

export class IniReadError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file} ${reason}`);
  }
}

/**
 * Returns text with `[section] option = value` set, every other byte unchanged: an existing
 * option line (and its continuation lines) is replaced, else the option is added under the
 * section header, else the section is appended.
 */
export function setIniOption(text: string, section: string, option: string, value: string): string {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split(/(?<=\n)/);
  const key = option.toLowerCase();
  const out: string[] = [];
  let inSection = false;
  let skippingContinuation = false;
  let replaced = false;
  let headerIndex = -1;
  for (const line of lines) {
    const trimmed = line.trim();
    if (skippingContinuation && /^\s/.test(line) && trimmed !== '') {
      continue;
    }
    skippingContinuation = false;
    const header = /^\[([^\]]+)\]/.exec(trimmed);
    if (header) {
      inSection = header[1] === section;
      if (inSection && headerIndex < 0) {
        headerIndex = out.length;
      }
    } else if (inSection && !/^\s/.test(line)) {
      const equals = trimmed.indexOf('=');
      if (equals > 0 && trimmed.slice(0, equals).trim().toLowerCase() === key) {
        out.push(`${option} = ${value}${line.endsWith('\n') ? eol : ''}`);
        replaced = true;
        skippingContinuation = true;
        continue;
      }
    }
    out.push(line);
  }
  if (replaced) {
    return out.join('');
  }
  if (headerIndex >= 0) {
    if (!out[headerIndex].endsWith('\n')) {
      out[headerIndex] += eol;
    }
    out.splice(headerIndex + 1, 0, `${option} = ${value}${eol}`);
    return out.join('');
  }
  const body = out.join('');
  const separator = body === '' || body.endsWith('\n') ? '' : eol;
  return `${body}${separator}${eol}[${section}]${eol}${option} = ${value}${eol}`;
}
