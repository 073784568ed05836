// Debian's Chromium driven by playwright-core (Playwright's own browser download cannot run here).
import { chromium } from 'playwright-core';
import { makeTempDir, removeDir } from './tempDirs.mjs';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

// --no-sandbox: Chromium refuses to run as root without it. The rest keep it off the network.
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Launches Chromium with a fresh user-data-dir. Returns { context, page, close() }.
 * Set HEADED=1 to watch it on a desktop.
 */
export async function launchChromium({ viewport = { width: 1280, height: 800 } } = {}) {
  const userDataDir = await makeTempDir('trac-backup-chromium-');
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: !process.env.HEADED,
      args: ARGS,
      viewport,
    });
  } catch (error) {
    await removeDir(userDataDir);
    throw error;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    close: async () => {
      await context.close().catch(() => {});
      await removeDir(userDataDir);
    },
  };
}
