import { existsSync, mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { chromium, type Browser } from 'playwright-core';
import { startCentagateEmulator, type CentagateEmulator } from 'express-centagate-session/emulator';
import { createExampleApp, type ExampleApp } from '../src/app.js';

const chromiumPath = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const haveChromium = existsSync(chromiumPath);
const SCREENSHOTS = 'artifacts/screenshots';

if (!haveChromium) {
  const message = `browser test SKIPPED: no Chromium at ${chromiumPath}. Enable it with 'apt-get update && apt-get install -y chromium' (or set CHROMIUM_PATH).`;
  if (process.env['CI'] === 'true') throw new Error(`${message} CI must run it.`);
  console.warn(message);
}

(haveChromium ? describe : describe.skip)('the example app in a real browser (Chromium)', () => {
  let emulator: CentagateEmulator;
  let example: ExampleApp;
  let server: Server;
  let browser: Browser;
  let origin: string;

  beforeAll(async () => {
    emulator = await startCentagateEmulator();
    example = createExampleApp({ baseUrl: emulator.baseUrl, ...emulator.app, logger: pino({ level: 'silent' }), demoUsers: emulator.users, emulatorSignOut: true });
    server = example.app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    mkdirSync(SCREENSHOTS, { recursive: true });
  }, 30000);

  afterAll(async () => {
    await browser.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => { resolve(); }));
    example.close();
    await emulator.close();
  });

  it('should sign in, show the dashboard, sign out and send the user back to /login', async () => {
    const page = await browser.newPage();
    await page.goto(`${origin}/dashboard`);
    expect(new URL(page.url()).pathname).toBe('/login');

    await page.fill('input[name=username]', 'alice');
    await page.fill('input[name=password]', 'wrong-password');
    await page.click('button[type=submit]');
    await expect(page.locator('.error').textContent()).resolves.toBe('Wrong username or password.');

    await page.fill('input[name=password]', 'alice-demo-password');
    await page.click('button[type=submit]');
    await page.waitForURL(`${origin}/dashboard`);
    await expect(page.locator('#username').textContent()).resolves.toBe('alice');
    await expect(page.locator('#cached').textContent()).resolves.toBe('false');
    await page.screenshot({ path: `${SCREENSHOTS}/dashboard.png`, fullPage: true });

    const me = await page.goto(`${origin}/api/me`);
    expect(me?.status()).toBe(200);
    await expect(me!.json()).resolves.toMatchObject({ username: 'alice' });

    await page.goto(`${origin}/dashboard`);
    await page.click('text=Sign out');
    await page.waitForURL(`${origin}/login`);
    await page.goto(`${origin}/dashboard`);
    expect(new URL(page.url()).pathname).toBe('/login');
    const denied = await page.goto(`${origin}/api/me`);
    expect(denied?.status()).toBe(401);
    await page.screenshot({ path: `${SCREENSHOTS}/after-sign-out.png`, fullPage: true });
    await page.close();
  }, 30000);
});
