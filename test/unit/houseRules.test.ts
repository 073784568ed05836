// The rules of the house (README, "Development"), read off every file's imports under src/.
import * as assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const SRC = path.join(ROOT, 'src');
const CORE = path.join(SRC, 'core');

/** The operations: they never import one another but through an exception named here. */
const OPERATIONS = ['backup', 'restore', 'verify', 'archive', 'schedule', 'offsite'];
/** What composes operations for both faces (back up as the settings say, restore from an archive). */
const WORKFLOWS = 'workflows';
/** The mechanisms operations are made of: they never import an operation or a workflow. */
const MECHANISMS = ['trac', 'sqlite', 'catalog', 'fs', 'work', 'shared'];
/** Operation → operation imports allowed, and why. */
const EXCEPTIONS: Record<string, string> = {
  'restore→verify': 'a restore checks the backup (and its copy) as verify does before it replaces anything',
};

export interface SourceFile {
  /** Relative to src/, '/' separated. */
  file: string;
  /** What it imports: other files of src/ (relative to src/, with .ts) and packages (as named). */
  imports: Array<{ target: string; local: boolean }>;
}

/** Every .ts file under `dir` with its imports (import … from, export … from, require, import()). */
export function readSources(dir: string = SRC): SourceFile[] {
  const files = (readdirSync(dir, { recursive: true }) as string[])
    .filter((name) => name.endsWith('.ts'))
    .map((name) => path.join(dir, name));
  return files.map((absolute) => {
    const text = readFileSync(absolute, 'utf8');
    const specs = [
      ...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s+'([^']+)'|require\('([^']+)'\)|import\('([^']+)'\)/g),
    ].map((match) => match[1] ?? match[2] ?? match[3]);
    return {
      file: path.relative(SRC, absolute).split(path.sep).join('/'),
      imports: specs.map((spec) => {
        if (!spec.startsWith('.')) {
          return { target: spec, local: false };
        }
        const resolved = path.resolve(path.dirname(absolute), spec);
        const candidates = [`${resolved}.ts`, path.join(resolved, 'index.ts'), resolved];
        const found = candidates.find((candidate) => files.includes(candidate)) ?? resolved;
        return { target: path.relative(SRC, found).split(path.sep).join('/'), local: true };
      }),
    };
  });
}

/** 'core/backup/hotcopy.ts' → 'backup'; the front door and anything outside core → undefined. */
function coreFolder(file: string): string | undefined {
  const parts = file.split('/');
  return parts[0] === 'core' && parts.length > 2 ? parts[1] : undefined;
}

/** The extension and the CLI (package.json and other files outside src/ are neither). */
const isFace = (file: string) => file.startsWith('ui/') || file.startsWith('cli/') || ['extension.ts', 'api.ts', 'cli.ts'].includes(file);

/** Every rule broken by these files, one line each. */
export function brokenRules(sources: SourceFile[]): string[] {
  const broken: string[] = [];
  for (const { file, imports } of sources) {
    const from = coreFolder(file);
    for (const { target, local } of imports) {
      if (!local) {
        if (target === 'vscode' && (file.startsWith('core/') || file.startsWith('cli'))) {
          broken.push(`${file} imports vscode: the core and the CLI never do`);
        }
        continue;
      }
      const to = coreFolder(target);
      if (isFace(file) && target.startsWith('core/') && target !== 'core/index.ts') {
        broken.push(`${file} imports ${target}: faces import the core only through core/index.ts`);
      }
      if (file.startsWith('core/') && isFace(target)) {
        broken.push(`${file} imports ${target}: the core never imports a face`);
      }
      if (file.startsWith('core/') && file !== 'core/index.ts' && target === 'core/index.ts') {
        broken.push(`${file} imports the front door: inside the core, import the file that defines the name`);
      }
      if (!from || !to || from === to) {
        continue;
      }
      if (OPERATIONS.includes(from) && OPERATIONS.includes(to) && !EXCEPTIONS[`${from}→${to}`]) {
        broken.push(
          `${file} imports ${target}: operation ${from} imports operation ${to} (allowed only: ${Object.keys(EXCEPTIONS).join(', ')})`,
        );
      }
      if (MECHANISMS.includes(from) && (OPERATIONS.includes(to) || to === WORKFLOWS)) {
        broken.push(`${file} imports ${target}: mechanism ${from} imports ${to === WORKFLOWS ? 'a workflow' : `operation ${to}`}`);
      }
      if (OPERATIONS.includes(from) && to === WORKFLOWS) {
        broken.push(`${file} imports ${target}: operation ${from} imports a workflow (workflows compose operations, not the reverse)`);
      }
    }
    if (file.startsWith('core/') && !coreFolder(file) && file !== 'core/index.ts') {
      broken.push(`${file} is at the core's top: only the front door lives there; put it in the folder of its concept`);
    }
  }
  broken.push(...cycles(sources));
  return broken;
}

/** Import cycles between files (each reported once, as the path round it). */
function cycles(sources: SourceFile[]): string[] {
  const graph = new Map(sources.map(({ file, imports }) => [file, imports.filter((entry) => entry.local).map((entry) => entry.target)]));
  const found: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'visiting');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'visiting') {
        found.push(`import cycle: ${[...stack.slice(stack.indexOf(next)), next].join(' → ')}`);
      } else if (!state.has(next)) {
        visit(next);
      }
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) {
    if (!state.has(file)) {
      visit(file);
    }
  }
  return found;
}

describe('the rules of the house, read off the imports of every file under src/', () => {
  it('holds for src/ as it is', () => {
    assert.deepEqual(brokenRules(readSources()), []);
  });

  it('the core has only its front door at its top', () => {
    const top = readdirSync(CORE, { withFileTypes: true }).filter((entry) => entry.isFile());
    assert.deepEqual(
      top.map((entry) => entry.name),
      ['index.ts'],
    );
  });

  it('catches each rule broken (shown on files made up for it)', () => {
    const made = (file: string, ...targets: string[]): SourceFile => ({
      file,
      imports: targets.map((target) => ({ target, local: !['vscode', 'node:fs'].includes(target) })),
    });
    const broken = brokenRules([
      made('ui/commands/backupCommand.ts', 'core/backup/hotcopy.ts', 'vscode'),
      made('core/backup/hotcopy.ts', 'core/restore/restore.ts', 'vscode'),
      made('core/restore/restore.ts', 'core/verify/verify.ts'),
      made('core/verify/verify.ts', 'core/shared/errors.ts'),
      made('core/catalog/prune.ts', 'core/backup/hotcopy.ts', 'core/workflows/backUpEnvironment.ts'),
      made('core/workflows/backUpEnvironment.ts', 'core/backup/hotcopy.ts', 'core/verify/verify.ts'),
      made('core/shared/errors.ts', 'ui/settings.ts'),
      made('core/loose.ts', 'node:fs'),
      made('core/fs/a.ts', 'core/fs/b.ts'),
      made('core/fs/b.ts', 'core/fs/a.ts'),
    ]);
    const expected = [
      /^ui\/commands\/backupCommand\.ts imports core\/backup\/hotcopy\.ts: faces import the core only through core\/index\.ts$/,
      /^core\/backup\/hotcopy\.ts imports vscode/,
      /^core\/backup\/hotcopy\.ts imports core\/restore\/restore\.ts: operation backup imports operation restore/,
      /^core\/catalog\/prune\.ts imports core\/backup\/hotcopy\.ts: mechanism catalog imports operation backup/,
      /^core\/catalog\/prune\.ts imports core\/workflows\/backUpEnvironment\.ts: mechanism catalog imports a workflow/,
      /^core\/shared\/errors\.ts imports ui\/settings\.ts: the core never imports a face/,
      /^core\/loose\.ts is at the core's top/,
      /^import cycle: core\/fs\/a\.ts → core\/fs\/b\.ts → core\/fs\/a\.ts$/,
    ];
    for (const rule of expected) {
      assert.ok(
        broken.some((line) => rule.test(line)),
        `not caught: ${rule}\n${broken.join('\n')}`,
      );
    }
    // The named exception, a face through the front door and a workflow composing operations are fine.
    assert.equal(broken.length, expected.length, broken.join('\n'));
  });
});
