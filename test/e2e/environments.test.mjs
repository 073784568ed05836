// The packaged extension in a real VS Code, seen as a user sees it: a workspace holding copies
// of both Trac fixtures, the Trac icon in the activity bar, the Environments view (in the light
// theme VS Code starts with, and in its dark one).
/* global getComputedStyle -- in page.evaluate, run in the page */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import {
  cutOffRows,
  moveMouseAway,
  openViewContainer,
  openWorkbench,
  runCommand,
  screenshot,
  screenshotOnFailure,
  treeLabels,
  treeRow,
  treeRows,
  viewPane,
  waitUntil,
} from '../harness/workbench.mjs';

let session;
before(async () => {
  session = await openWorkbench({ fixtures: ['trac-1.6-fresh', 'trac-1.6-populated'] });
});
after(async () => {
  await session?.close();
});

test('the Trac icon opens the Environments view listing both fixtures', async () => {
  const { page } = session;
  await screenshotOnFailure(page, 'environments-list', async () => {
    await openViewContainer(page, 'Trac');
    const pane = viewPane(page, 'Environments');
    await treeRow(pane, 'Fresh Project').waitFor();
    await treeRow(pane, 'Populated Project').waitFor();
    assert.deepEqual(await treeLabels(pane, 1), ['Fresh Project', 'Populated Project']);
    await screenshot(page, 'environments-list');
  });
});

test('expanding the populated environment shows its details', async () => {
  const { page } = session;
  await screenshotOnFailure(page, 'environments-populated-expanded', async () => {
    const pane = viewPane(page, 'Environments');
    const row = treeRow(pane, 'Populated Project');
    await row.click();
    const details = treeRows(pane, 2);
    await details.first().waitFor();
    const texts = await details.allInnerTexts();
    assert.equal(await row.getAttribute('aria-expanded'), 'true');
    assert.ok(
      texts.some((text) => text.includes('trac.db')),
      `no row names the database: ${JSON.stringify(texts)}`,
    );
    assert.deepEqual(await cutOffRows(pane), [], 'rows cut off at the default sidebar width');
    await screenshot(page, 'environments-populated-expanded');
  });
});

test('in the Default Dark Modern theme the rows, their words and icons stand out from the side bar', async () => {
  const { page } = session;
  await screenshotOnFailure(page, 'environments-dark', async () => {
    const pane = viewPane(page, 'Environments');
    // As a person picks it: Preferences: Color Theme, whose entry "Dark Modern" sets
    // workbench.colorTheme to "Default Dark Modern".
    // (runCommand waits for the palette to close: this command opens a picker in its place.)
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.fill('>Preferences: Color Theme');
    await page
      .locator('.quick-input-widget .monaco-list-row', { has: page.locator('.label-name', { hasText: /^Preferences: Color Theme$/ }) })
      .first()
      .click();
    await page.locator('.quick-input-widget .quick-input-box input[placeholder^="Select Color Theme"]').waitFor();
    await page
      .locator('.quick-input-widget .monaco-list-row', { has: page.locator('.label-name', { hasText: /^Dark Modern$/ }) })
      .first()
      .click();
    await page.locator('.monaco-workbench.vs-dark').waitFor({ timeout: 30_000 });
    await moveMouseAway(page);
    await treeRows(pane, 2).first().waitFor();
    // Each label, description and icon against the side bar's background: WCAG's contrast ratio,
    // at least 4.5 for text, 3 for icons (a theme that lost a colour would fall below).
    const contrasts = await pane.evaluate((element) => {
      const rgb = (color) =>
        color
          .match(/[\d.]+/g)
          .slice(0, 3)
          .map(Number);
      const luminance = ([r, g, b]) => {
        const [R, G, B] = [r, g, b].map((v) => (v / 255 <= 0.03928 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4));
        return 0.2126 * R + 0.7152 * G + 0.0722 * B;
      };
      const ratio = (a, b) => {
        const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
        return (hi + 0.05) / (lo + 0.05);
      };
      const background = rgb(getComputedStyle(element.closest('.part.sidebar')).backgroundColor);
      return [...element.querySelectorAll('.monaco-list-row:not(.selected):not(.focused)')].flatMap((row) =>
        [
          ['label', row.querySelector('.label-name'), 4.5],
          ['description', row.querySelector('.label-description'), 4.5],
          ['icon', row.querySelector('.custom-view-tree-node-item-icon, .codicon'), 3],
        ]
          .filter(([, part]) => part && part.textContent !== null && getComputedStyle(part).visibility !== 'hidden')
          .map(([what, part, least]) => ({
            row: row.innerText.replace(/\s+/g, ' ').trim(),
            what,
            least,
            ratio: Math.round(ratio(rgb(getComputedStyle(part).color), background) * 10) / 10,
          })),
      );
    });
    assert.ok(contrasts.length >= 6, `too few rows measured: ${JSON.stringify(contrasts)}`);
    const faint = contrasts.filter(({ ratio, least }) => ratio < least);
    assert.deepEqual(faint, [], 'hard to read on the dark side bar');
    assert.deepEqual(await cutOffRows(pane), [], 'rows cut off at the default sidebar width');
    await screenshot(page, 'environments-dark');
    const file = path.join(session.server.userDataDir, 'User', 'settings.json');
    await waitUntil(
      async () => JSON.parse(await fs.readFile(file, 'utf8'))['workbench.colorTheme'] === 'Default Dark Modern',
      'workbench.colorTheme in the user settings',
    );
  });
});

test('Trac: Show Log from the command palette opens the Trac Backup log', async () => {
  const { page } = session;
  await screenshotOnFailure(page, 'show-log', async () => {
    await runCommand(page, 'Trac: Show Log');
    const channel = page.locator('.part.panel select.monaco-select-box').first();
    await page.waitForFunction((select) => select.options[select.selectedIndex]?.text === 'Trac Backup', await channel.elementHandle());
    await page.locator('.part.panel .monaco-editor .view-lines', { hasText: 'Trac Backup' }).waitFor();
    await screenshot(page, 'show-log');
  });
});
