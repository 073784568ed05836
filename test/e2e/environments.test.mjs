// The packaged extension in a real VS Code, seen as a user sees it: a workspace holding copies
// of both Trac fixtures, the Trac icon in the activity bar, the Environments view.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  openViewContainer,
  openWorkbench,
  runCommand,
  screenshot,
  screenshotOnFailure,
  treeLabels,
  treeRow,
  treeRows,
  viewPane,
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
    await screenshot(page, 'environments-populated-expanded');
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
