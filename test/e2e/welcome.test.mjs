// An empty workspace: the Environments view explains itself and offers its two buttons.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openViewContainer, openWorkbench, screenshot, screenshotOnFailure, viewPane } from '../harness/workbench.mjs';

let session;
before(async () => {
  session = await openWorkbench({ fixtures: [] });
});
after(async () => {
  await session?.close();
});

test('an empty workspace shows the welcome text with Add Environment… and Open Folder', async () => {
  const { page } = session;
  await screenshotOnFailure(page, 'welcome-empty-workspace', async () => {
    await openViewContainer(page, 'Trac');
    const welcome = viewPane(page, 'Environments').locator('.welcome-view-content');
    await welcome.getByText('No Trac environments were found in this workspace.').waitFor();
    for (const label of ['Add Environment…', 'Open Folder']) {
      const button = welcome.locator('a.monaco-button', { hasText: label });
      assert.ok(await button.isVisible(), `no visible button ${label}`);
    }
    await screenshot(page, 'welcome-empty-workspace');
  });
});
