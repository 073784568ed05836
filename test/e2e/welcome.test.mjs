// A folder without Trac: the Environments view explains itself and offers what helps (a folder is open: no Open Folder).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openViewContainer, openWorkbench, screenshot, screenshotOnFailure, viewPane, waitUntil } from '../harness/workbench.mjs';

let session;
before(async () => {
  session = await openWorkbench({ fixtures: [] });
});
after(async () => {
  await session?.close();
});

test('a folder without Trac shows the welcome text with Add Environment…, and no Open Folder (one is open)', async () => {
  const { page } = session;
  await screenshotOnFailure(page, 'welcome-empty-workspace', async () => {
    await openViewContainer(page, 'Trac');
    const welcome = viewPane(page, 'Environments').locator('.welcome-view-content');
    await welcome.getByText('No Trac environments were found in this workspace.').waitFor();
    const button = welcome.locator('a.monaco-button', { hasText: 'Add Environment…' });
    assert.ok(await button.isVisible(), 'no visible button Add Environment…');
    assert.equal(await welcome.locator('a.monaco-button', { hasText: 'Open Folder' }).count(), 0, 'Open Folder offered with a folder open');
    await screenshot(page, 'welcome-empty-workspace');
  });
});

test('Get Started opens the walkthrough: find, back up, schedule and retention, restore', async () => {
  const { page } = session;
  await screenshotOnFailure(page, 'walkthrough', async () => {
    const welcome = viewPane(page, 'Environments').locator('.welcome-view-content');
    const walkthrough = page.locator('.gettingStartedContainer');
    // The workbench registers extensions' walkthroughs a moment after they load (microsoft/vscode#232425):
    // a person whose first click lands on the default page clicks again.
    await waitUntil(
      async () => {
        await welcome.locator('a.monaco-button', { hasText: 'Get Started' }).first().click();
        return walkthrough
          .getByText('Get Started with Trac Backup')
          .first()
          .waitFor({ timeout: 3000 })
          .then(
            () => true,
            () => false,
          );
      },
      'the Trac Backup walkthrough',
      30_000,
    );
    for (const step of ['Find your Trac environments', 'Back up an environment', 'Set a schedule and retention', 'Restore a backup']) {
      await walkthrough.getByText(step).first().waitFor();
    }
    await screenshot(page, 'walkthrough');
  });
});
