// Driving the VS Code workbench in Chromium like a person: open it on a folder, click the
// activity bar, read tree rows, run palette commands, answer dialogs, watch notifications.
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { launchChromium } from './chromium.mjs';
import { startCodeServer } from './codeServer.mjs';
import { SCREENSHOTS_DIR } from './paths.mjs';
import { makeTempDir, makeWorkspace, removeDir } from './tempDirs.mjs';

const TIMEOUT_MS = 30_000;

/**
 * code-server with the installed extension (TRAC_BACKUP_E2E_EXTENSIONS_DIR, set by run-e2e.mjs)
 * and Chromium on a new workspace holding copies of `fixtures` (none: an empty folder), with
 * `settings` added to the user settings; `prepare(workspace)`, when given, runs before VS Code
 * starts (to leave on disk what the extension must find as it activates).
 * Returns { page, workspace, server, close() }.
 */
export async function openWorkbench({ fixtures = [], env = {}, settings = {}, prepare } = {}) {
  const extensionsDir = process.env.TRAC_BACKUP_E2E_EXTENSIONS_DIR;
  if (!extensionsDir) throw new Error('TRAC_BACKUP_E2E_EXTENSIONS_DIR is not set: run the e2e tests with npm run test:e2e');
  const workspace = fixtures.length ? await makeWorkspace(fixtures) : await makeTempDir('trac-backup-ws-empty-');
  let server;
  let browser;
  const close = async () => {
    await browser?.close();
    await server?.stop();
    await removeDir(workspace);
  };
  try {
    await prepare?.(workspace);
    server = await startCodeServer({ folder: workspace, extensionsDir, env, settings });
    browser = await launchChromium();
    const { page } = browser;
    page.setDefaultTimeout(TIMEOUT_MS);
    await page.goto(server.folderUrl(workspace));
    await page.locator('.monaco-workbench .part.activitybar').waitFor();
    return { page, workspace, server, browser, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * A second window on the same workspace: another tab of the same code-server, which gets an
 * extension host of its own (as a second VS Code window does). Closed with the session.
 */
export async function openAnotherWindow(session) {
  const page = await session.browser.context.newPage();
  page.setDefaultTimeout(TIMEOUT_MS);
  await page.goto(session.server.folderUrl(session.workspace));
  await page.locator('.monaco-workbench .part.activitybar').waitFor();
  return page;
}

/** Clicks a view container's icon in the activity bar (by its title) and waits for its side bar. */
export async function openViewContainer(page, title) {
  // Built-in containers add their shortcut: "Explorer (Ctrl+Shift+E)".
  const icon = page.locator(`.part.activitybar .action-item a:is([aria-label="${title}"], [aria-label^="${title} ("])`);
  await icon.click();
  await page.locator('.part.sidebar .composite.title h2', { hasText: title }).waitFor();
  await moveMouseAway(page);
  await waitForSideBarIdle(page);
}

/** Moves the mouse to the editor area, so no hover covers what a screenshot should show. */
export async function moveMouseAway(page) {
  const size = page.viewportSize() ?? { width: 1280, height: 800 };
  await page.mouse.move(size.width * 0.75, size.height * 0.75);
}

/** Waits until the side bar's progress bar stops (the view has loaded). */
export async function waitForSideBarIdle(page, timeout = TIMEOUT_MS) {
  await page.locator('.part.sidebar .monaco-progress-container.active').first().waitFor({ state: 'detached', timeout });
}

/**
 * The side-bar pane of the view `name`, e.g. "Environments" (its header is hidden when it is
 * the container's only view, but still in the page).
 */
export function viewPane(page, name) {
  return page.locator('.part.sidebar .pane', { has: page.locator('.pane-header h3.title', { hasText: name }) });
}

/** The rows of a tree view pane at a depth (1: top level; none: all). */
export function treeRows(pane, level) {
  return pane.locator(level ? `.monaco-list-row[aria-level="${level}"]` : '.monaco-list-row');
}

/** The row whose label is exactly `label`. */
export function treeRow(pane, label) {
  return pane.locator('.monaco-list-row', { has: pane.page().locator('.label-name', { hasText: new RegExp(`^${escapeRegExp(label)}$`) }) });
}

/** The labels of the rows shown, in order. */
export async function treeLabels(pane, level) {
  return treeRows(pane, level).locator('.label-name').allInnerTexts();
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Runs a command from the palette: F1, type its title, then pick the entry with exactly that
 * title. Retries while the workbench is still registering extension commands.
 */
export async function runCommand(page, title, timeout = TIMEOUT_MS) {
  const input = page.locator('.quick-input-widget .quick-input-box input');
  const entry = page
    .locator('.quick-input-widget .monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${escapeRegExp(title)}$`) }) })
    .first();
  const deadline = Date.now() + timeout;
  for (;;) {
    await page.keyboard.press('F1');
    await input.waitFor();
    await input.fill(`>${title}`);
    try {
      await entry.waitFor({ timeout: Math.min(3000, Math.max(1, deadline - Date.now())) });
      break;
    } catch (error) {
      await page.keyboard.press('Escape');
      if (Date.now() >= deadline) throw new Error(`the command palette offers no "${title}"`, { cause: error });
    }
  }
  // Enter runs the highlighted entry; fuzzy matching may put a longer title first.
  if ((await entry.getAttribute('class'))?.includes('focused')) {
    await page.keyboard.press('Enter');
  } else {
    await entry.click();
  }
  await input.waitFor({ state: 'hidden' });
}

/** Waits for a modal dialog (holding `text`, when given) and clicks the button labelled exactly `button`. */
export async function clickDialogButton(page, button, text) {
  const dialog = page.locator('.monaco-dialog-box', text ? { hasText: text } : {});
  await dialog.waitFor();
  await dialog.locator('a.monaco-button', { hasText: new RegExp(`^${escapeRegExp(button)}$`) }).click();
  await dialog.waitFor({ state: 'detached' });
}

/** A notification toast holding `text` (its buttons are `a.monaco-button` inside it). */
export function notification(page, text) {
  return page.locator('.notifications-toasts .notification-toast', { hasText: text });
}

/** Clicks the button labelled exactly `button` on the notification holding `text` (e.g. Cancel on a progress). */
export async function clickNotificationButton(page, text, button) {
  await notification(page, text)
    .locator('a.monaco-button', { hasText: new RegExp(`^${escapeRegExp(button)}$`) })
    .first()
    .click();
}

/** Waits until no notification holds `text` any more (a progress notification finishing). */
export async function waitForNotificationGone(page, text, timeout = TIMEOUT_MS) {
  await notification(page, text).first().waitFor({ state: 'detached', timeout });
}

/** Runs fn; when it throws, saves a screenshot `failed-<name>` first. */
export async function screenshotOnFailure(page, name, fn) {
  try {
    return await fn();
  } catch (error) {
    const file = await screenshot(page, `failed-${name}`).catch(() => undefined);
    if (file) error.message += `\n(screenshot: ${path.relative(process.cwd(), file)})`;
    throw error;
  }
}

/** Saves a PNG of the page under test-results/screenshots/ and returns its path. */
export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS_DIR, { recursive: true });
  const file = path.join(SCREENSHOTS_DIR, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/** Right-clicks a tree row and picks the context-menu entry labelled exactly `label`. */
export async function clickContextMenu(page, row, label) {
  // A hover left by the mouse's last place (a row's tooltip) would take the click.
  await moveMouseAway(page);
  await page
    .locator('.context-view')
    .filter({ has: page.locator('.monaco-hover, .workbench-hover, p') })
    .first()
    .waitFor({ state: 'hidden', timeout: 5000 })
    .catch(() => undefined);
  await row.click({ button: 'right' });
  const menu = page.locator('.context-view .monaco-menu');
  await menu.waitFor();
  // The menu acts on its own mouse-up handling, which a synthetic click can miss: hovering
  // focuses the entry, and Enter runs the focused entry as a keyboard user would.
  await menu.locator('.action-label', { hasText: new RegExp(`^${escapeRegExp(label)}$`) }).hover();
  await page.keyboard.press('Enter');
  await menu.waitFor({ state: 'detached' });
}

/** The text of the modal dialog holding `text`, once it shows (its message and detail). */
export async function dialogText(page, text) {
  const dialog = page.locator('.monaco-dialog-box', text ? { hasText: text } : {});
  await dialog.waitFor();
  return dialog.innerText();
}

/**
 * Waits until `check()` (a look at the disk, say) returns something truthy, and returns it: what
 * a person would see settle, where a notification is transient and may hide before it is looked for.
 */
export async function waitUntil(check, what, timeout = TIMEOUT_MS) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const found = await check();
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The rows at depth `level` whose description (the words beside the label) is exactly `text`. */
export function rowsDescribed(pane, level, text) {
  return pane.locator(`.monaco-list-row[aria-level="${level}"]`, { has: describedAs(pane, text) });
}

/** The rows at depth `level` whose description is not exactly `text`. */
export function rowsNotDescribed(pane, level, text) {
  return pane.locator(`.monaco-list-row[aria-level="${level}"]`, { hasNot: describedAs(pane, text) });
}

function describedAs(pane, text) {
  return pane.page().locator('.label-description', { hasText: new RegExp(`^${escapeRegExp(text)}$`) });
}

/**
 * The rows of a tree view pane whose label or description the side bar cuts off (ends in an
 * ellipsis), as "label description": what a person cannot read without hovering.
 */
export async function cutOffRows(pane) {
  return pane.locator('.monaco-list-row').evaluateAll((rows) =>
    rows
      .filter((row) => {
        const label = row.querySelector('.monaco-icon-label-container');
        return label && label.scrollWidth > label.clientWidth + 1;
      })
      .map((row) => row.innerText.replace(/\s+/g, ' ').trim()),
  );
}

/**
 * Types `file` into the simple file dialog's path box (code-server's open and save dialogs), once
 * the box keeps it: while the dialog still reads its first folder it may rewrite what was typed.
 */
export async function typeInFileDialog(page, file, timeout = TIMEOUT_MS) {
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor();
  const deadline = Date.now() + timeout;
  for (;;) {
    await input.fill(file);
    await page.locator('.quick-input-widget .monaco-list-row').first().waitFor();
    await new Promise((resolve) => setTimeout(resolve, 300));
    if ((await input.inputValue()) === file) return;
    if (Date.now() > deadline) throw new Error(`the file dialog does not keep the path ${file}`);
  }
}
