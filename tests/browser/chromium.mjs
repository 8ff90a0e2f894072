// Debian's Chromium, headless, through playwright-core: the flags this machine needs (no
// sandbox as root; no background networking, which a closed network refuses).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const executablePath = '/usr/bin/chromium';
export const skip = !existsSync(executablePath) && 'Chromium is not installed (npm test installs it)';

// Returns { context, close }: a browser context with a fresh profile, and how to end it.
export async function launch() {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'grove-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
