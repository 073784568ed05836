// Bundles the extension and the CLI into dist/ with esbuild.
// vscode is provided by the host; better-sqlite3 ships as a real module (native prebuilds).
import * as esbuild from 'esbuild';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

const common = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  external: ['vscode', 'better-sqlite3'],
  sourcemap: !production,
  minify: production,
  logLevel: 'info',
};

const builds = [
  { ...common, entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js' },
  { ...common, entryPoints: ['src/cli.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
  // The thread that runs SQLite's integrity_check off the main thread (src/core/sqlite/databaseCheckThread.ts).
  { ...common, entryPoints: ['src/core/sqlite/databaseCheckWorker.ts'], outfile: 'dist/databaseCheckWorker.js' },
];

// --only=cli (or extension) builds one bundle: the CLI tests rebuild dist/cli.js alone.
const only = process.argv.find((arg) => arg.startsWith('--only='))?.slice('--only='.length);
// Both bundles start the database check's thread: it is built with either.
const selected = only
  ? builds.filter((options) => options.outfile === `dist/${only}.js` || options.outfile === 'dist/databaseCheckWorker.js')
  : builds;
if (only && selected.length === 0) {
  throw new Error(`--only=${only}: no such bundle (cli, extension)`);
}

if (watch) {
  for (const options of selected) {
    const context = await esbuild.context(options);
    await context.watch();
  }
} else {
  const results = await Promise.all(selected.map(buildAtomically));
  if (production) {
    await writeBundleInputs(results);
  }
}

/** What the bundles were made of (esbuild's metafile inputs), for THIRD-PARTY-NOTICES.md (scripts/thirdPartyNotices.mjs). */
async function writeBundleInputs(results) {
  const inputs = Object.assign({}, ...results.map((result) => result.metafile?.inputs ?? {}));
  await fs.mkdir('out', { recursive: true });
  await fs.writeFile(path.join('out', 'bundle-meta.json'), JSON.stringify({ inputs: Object.keys(inputs).sort() }, null, 2));
}

/**
 * Builds in memory, then puts each file in place with a rename: a test running dist/cli.js
 * while another test file rebuilds it never reads half a file.
 */
async function buildAtomically(options) {
  const result = await esbuild.build({ ...options, write: false, metafile: true });
  await Promise.all(
    result.outputFiles.map(async (file) => {
      const temp = `${file.path}.${process.pid}.tmp`;
      await fs.mkdir(path.dirname(file.path), { recursive: true });
      await fs.writeFile(temp, file.contents, { mode: file.path.endsWith('cli.js') ? 0o755 : 0o644 });
      await fs.rename(temp, file.path);
    }),
  );
  return result;
}
