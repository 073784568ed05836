// Packages the extension into trac-backup.vsix with vsce (on Node 22; vsce runs the
// vscode:prepublish production build), then checks what the vsix holds.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { zipEntries } from './zipEntries.mjs';
import { VSCODE_GLIBC_FLOOR, glibcNeeds, isNewer } from './glibcNeeds.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const NODE22 = path.join(ROOT, 'node_modules', 'node', 'bin', 'node');
const VSCE = path.join(ROOT, 'node_modules', '.bin', 'vsce');
const VSIX = 'trac-backup.vsix';

const REQUIRED = [
  ['extension/dist/extension.js', /^extension\/dist\/extension\.js$/],
  ['extension/dist/databaseCheckWorker.js', /^extension\/dist\/databaseCheckWorker\.js$/],
  [
    'extension/node_modules/better-sqlite3/prebuilds/linux-x64.node',
    /^extension\/node_modules\/better-sqlite3\/prebuilds\/linux-x64\.node$/,
  ],
  ['extension/node_modules/better-sqlite3/lib/index.js', /^extension\/node_modules\/better-sqlite3\/lib\/index\.js$/],
  ['extension/media/trac.svg', /^extension\/media\/trac\.svg$/],
  ['a README', /^extension\/readme(\.md)?$/i],
  ['a LICENSE', /^extension\/licen[cs]e(\.(md|txt))?$/i],
];
const FORBIDDEN = [
  /^extension\/(src|test|out|scripts|\.cache|\.ci|\.vscode|test-results)\//,
  /\.map$/,
  /\.ts$/,
  /^extension\/node_modules\/better-sqlite3\/(deps|src)\//,
  /^extension\/node_modules\/better-sqlite3\/binding\.gyp$/,
  /^extension\/node_modules\/node-addon-api\//,
];

for (const file of ['README.md', 'LICENSE']) {
  // vsce would stop and ask on a terminal-less run
  if (!existsSync(path.join(ROOT, file))) {
    console.error(`package: ${file} is missing at the repository root`);
    process.exit(1);
  }
}

const result = spawnSync(NODE22, [VSCE, 'package', '--no-yarn', '--no-rewrite-relative-links', '-o', VSIX], {
  cwd: ROOT,
  stdio: ['ignore', 'inherit', 'inherit'],
  env: { ...process.env, PATH: `${path.dirname(NODE22)}${path.delimiter}${process.env.PATH}` },
});
if (result.status !== 0) {
  console.error(`package: vsce failed (${result.error?.message ?? `exit code ${result.status}`})`);
  process.exit(1);
}

// Packages the lockfile marks dev-only must never ship.
const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'));
const devOnly = Object.entries(lock.packages ?? {})
  .filter(([key, info]) => info.dev && /^node_modules\/(@[^/]+\/)?[^/]+$/.test(key))
  .map(([key]) => key.slice('node_modules/'.length));

const entries = zipEntries(path.join(ROOT, VSIX));
const problems = [
  ...devOnly
    .filter((name) => entries.some((entry) => entry.startsWith(`extension/node_modules/${name}/`)))
    .map((name) => `should not hold the dev-only package ${name}`),
  ...REQUIRED.filter(([, pattern]) => !entries.some((name) => pattern.test(name))).map(([what]) => `missing ${what}`),
  ...entries.filter((name) => FORBIDDEN.some((pattern) => pattern.test(name))).map((name) => `should not hold ${name}`),
];
console.log(`${VSIX}: ${entries.length} files`);
if (problems.length) {
  console.error(`package: ${VSIX} is wrong:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`${VSIX}: holds what it must and nothing it must not`);
checkLinuxBinaries(entries);

// Relative images in README stay relative (see above), so they must ship in the vsix.
const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
for (const [, link] of readme.matchAll(/!\[[^\]]*\]\(([^)\s]+)/g)) {
  if (!/^[a-z]+:/i.test(link) && !entries.includes(`extension/${link.replace(/^\.\//, '')}`)) {
    console.warn(`package: warning: README.md shows ${link}, which is not in ${VSIX}`);
  }
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
