// Packages the extension with vsce (on Node 22; vsce runs the vscode:prepublish production
// build): one .vsix per platform, each holding only its own better-sqlite3 prebuild
// (trac-backup-<target>.vsix, for the Marketplace's per-platform publishing), and the universal
// trac-backup.vsix with every prebuild. Then checks what each holds and how big it is.
//   node scripts/package.mjs                      every target and the universal package
//   node scripts/package.mjs --targets=linux-x64  only those (comma-separated; "universal" too)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUNDLE_META, writeThirdPartyNotices } from './thirdPartyNotices.mjs';
import { zipEntries } from './zipEntries.mjs';
import { VSCODE_GLIBC_FLOOR, glibcNeeds, isNewer } from './glibcNeeds.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const NODE22 = path.join(ROOT, 'node_modules', 'node', 'bin', 'node');
const VSCE = path.join(ROOT, 'node_modules', '.bin', 'vsce');
const PREBUILDS = 'node_modules/better-sqlite3/prebuilds';

/** vsce's target → the prebuild better-sqlite3 loads there (lib/binding.js: `${platform}${libc}-${arch}`). */
export const TARGETS = {
  'linux-x64': 'linux-x64',
  'linux-arm64': 'linux-arm64',
  'alpine-x64': 'linuxmusl-x64',
  'alpine-arm64': 'linuxmusl-arm64',
  'darwin-x64': 'darwin-x64',
  'darwin-arm64': 'darwin-arm64',
  'win32-x64': 'win32-x64',
  'win32-arm64': 'win32-arm64',
};
/** The most a per-platform package may weigh (the universal one carries every prebuild). */
const MAX_TARGET_BYTES = 2.5 * 1024 * 1024;

export const vsixFor = (target) => (target === 'universal' ? 'trac-backup.vsix' : `trac-backup-${target}.vsix`);

const REQUIRED = [
  ['extension/dist/extension.js', /^extension\/dist\/extension\.js$/],
  ['extension/dist/databaseCheckWorker.js', /^extension\/dist\/databaseCheckWorker\.js$/],
  ['extension/node_modules/better-sqlite3/lib/index.js', /^extension\/node_modules\/better-sqlite3\/lib\/index\.js$/],
  ['extension/media/trac.svg', /^extension\/media\/trac\.svg$/],
  ['the Marketplace icon', /^extension\/media\/icon\.png$/],
  ['the walkthrough', /^extension\/media\/walkthrough\/find\.md$/],
  ['a README', /^extension\/readme(\.md)?$/i],
  ['a LICENSE', /^extension\/licen[cs]e(\.(md|txt))?$/i],
  ['THIRD-PARTY-NOTICES.md', /^extension\/THIRD-PARTY-NOTICES\.md$/],
];
const FORBIDDEN = [
  /^extension\/(src|test|out|scripts|\.cache|\.ci|\.vscode|test-results)\//,
  /\.map$/,
  /\.ts$/,
  /^extension\/node_modules\/better-sqlite3\/(deps|src)\//,
  /^extension\/node_modules\/better-sqlite3\/binding\.gyp$/,
  /^extension\/node_modules\/node-addon-api\//,
  /^extension\/node_modules\/(@types|undici-types)\//,
];

function fail(message) {
  console.error(`package: ${message}`);
  process.exit(1);
}

/** Runs vsce with Node 22 first on PATH. */
function vsce(args) {
  const result = spawnSync(NODE22, [VSCE, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, PATH: `${path.dirname(NODE22)}${path.delimiter}${process.env.PATH}` },
  });
  if (result.status !== 0) fail(`vsce failed (${result.error?.message ?? `exit code ${result.status}`})`);
}

/** The production bundle and its inputs (the metafile thirdPartyNotices reads). */
function build() {
  const result = spawnSync(NODE22, [path.join(ROOT, 'scripts', 'build.mjs'), '--production'], { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) fail('the production build failed');
}

/**
 * The .vscodeignore for one package: the repository's, the packages esbuild bundled (they are in
 * dist/ already, though declared as runtime dependencies), and the other targets' prebuilds.
 */
function ignoreFileFor(target, bundled) {
  const lines = [readFileSync(path.join(ROOT, '.vscodeignore'), 'utf8'), '# bundled into dist/ by esbuild'];
  lines.push(...bundled.map((folder) => `${folder}/**`));
  // Type declarations a runtime dependency names (mysql2 → @types/node → undici-types) never run.
  lines.push('# type declarations only', 'node_modules/@types/**', 'node_modules/undici-types/**');
  if (target !== 'universal') {
    lines.push(`# only the ${target} prebuild`);
    lines.push(
      ...Object.values(TARGETS)
        .filter((prebuild) => prebuild !== TARGETS[target])
        .map((prebuild) => `${PREBUILDS}/${prebuild}.node`),
    );
  }
  const dir = path.join(ROOT, 'out', 'package');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${target}.vscodeignore`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

function check(target, bundled) {
  const vsix = vsixFor(target);
  const entries = zipEntries(path.join(ROOT, vsix));
  // Packages the lockfile marks dev-only must never ship, nor what esbuild bundled.
  const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'));
  const devOnly = Object.entries(lock.packages ?? {})
    .filter(([key, info]) => info.dev && /^node_modules\/(@[^/]+\/)?[^/]+$/.test(key))
    .map(([key]) => key.slice('node_modules/'.length));
  const prebuilds = entries.filter((name) => name.startsWith(`extension/${PREBUILDS}/`)).map((name) => path.basename(name, '.node'));
  const wantedPrebuilds = target === 'universal' ? Object.values(TARGETS) : [TARGETS[target]];
  const problems = [
    ...[...devOnly.map((name) => `node_modules/${name}`), ...bundled]
      .filter((folder) => entries.some((entry) => entry.startsWith(`extension/${folder}/`)))
      .map((name) => `should not hold the package ${name} (dev-only or bundled)`),
    ...REQUIRED.filter(([, pattern]) => !entries.some((name) => pattern.test(name))).map(([what]) => `missing ${what}`),
    ...entries.filter((name) => FORBIDDEN.some((pattern) => pattern.test(name))).map((name) => `should not hold ${name}`),
    ...(prebuilds.sort().join() === [...wantedPrebuilds].sort().join()
      ? []
      : [`holds the prebuilds ${prebuilds.join(', ') || 'none'}, not ${wantedPrebuilds.join(', ')}`]),
  ];
  const bytes = statSync(path.join(ROOT, vsix)).size;
  if (target !== 'universal' && bytes > MAX_TARGET_BYTES) {
    problems.push(`weighs ${(bytes / 1024 / 1024).toFixed(2)} MB, more than ${MAX_TARGET_BYTES / 1024 / 1024} MB`);
  }
  if (problems.length) fail(`${vsix} is wrong:\n  ${problems.join('\n  ')}`);
  console.log(`${vsix}: ${entries.length} files, ${(bytes / 1024 / 1024).toFixed(2)} MB: holds what it must and nothing it must not`);
  checkLinuxBinaries(entries);
  // Relative images in README stay relative (--no-rewrite-relative-links), so they must ship.
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  for (const [, link] of readme.matchAll(/!\[[^\]]*\]\(([^)\s]+)/g)) {
    if (!/^[a-z]+:/i.test(link) && !entries.includes(`extension/${link.replace(/^\.\//, '')}`)) {
      console.warn(`package: warning: README.md shows ${link}, which is not in ${vsix}`);
    }
  }
}

for (const file of ['README.md', 'LICENSE']) {
  // vsce would stop and ask on a terminal-less run
  if (!existsSync(path.join(ROOT, file))) fail(`${file} is missing at the repository root`);
}
const only = process.argv.find((arg) => arg.startsWith('--targets='))?.slice('--targets='.length);
const targets = only ? only.split(',').filter(Boolean) : [...Object.keys(TARGETS), 'universal'];
for (const target of targets) {
  if (target !== 'universal' && !TARGETS[target]) fail(`no such target ${target} (${Object.keys(TARGETS).join(', ')}, universal)`);
}

build();
const { bundled } = writeThirdPartyNotices(ROOT, path.join(ROOT, BUNDLE_META));
for (const target of targets) {
  const args = [
    'package',
    '--no-yarn',
    '--no-rewrite-relative-links',
    '--ignoreFile',
    ignoreFileFor(target, bundled),
    '-o',
    vsixFor(target),
  ];
  vsce(target === 'universal' ? args : [...args, '--target', target]);
  check(target, bundled);
}

/**
 * Says the highest GLIBC and GLIBCXX versions each Linux binary in the vsix needs (read from the
 * ELF's version references). One that needs a newer glibc than VS Code's remote floor loads only
 * on newer hosts; on the others the extension uses Node's built-in node:sqlite, which is said
 * here so that a change of better-sqlite3 shows what it means. Fails only when a binary cannot be read.
 */
function checkLinuxBinaries(vsixEntries) {
  const binaries = vsixEntries.filter((name) => /^extension\/node_modules\/better-sqlite3\/prebuilds\/linux-[^/]+\.node$/.test(name));
  for (const entry of binaries) {
    const file = path.join(ROOT, entry.slice('extension/'.length));
    let needs;
    try {
      needs = glibcNeeds(file);
    } catch (error) {
      console.error(`package: can't read the ELF version needs of ${file} (${error.message}): install binutils (objdump).`);
      process.exit(1);
    }
    const name = path.basename(file);
    if (!needs.glibc) {
      console.log(`${name}: needs no glibc (musl)`);
      continue;
    }
    const older = isNewer(needs.glibc, VSCODE_GLIBC_FLOOR)
      ? `: glibc ${VSCODE_GLIBC_FLOOR} to ${needs.glibc} (RHEL 8, Debian 11, Ubuntu 20.04) use node:sqlite instead`
      : '';
    console.log(`${name}: needs GLIBC_${needs.glibc}${needs.glibcxx ? `, GLIBCXX_${needs.glibcxx}` : ''}${older}`);
  }
}
