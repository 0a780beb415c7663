import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporaryDirectory } from '../support/backends.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { systemDependency } from '../support/system-dependency.ts';

const chromiumPath = systemDependency({
  executable: '/usr/bin/chromium',
  install: "Debian's chromium: apt-get install chromium, as .ci/run does",
  skips: 'the /docs browser test',
});
const pngSignature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe.skipIf(chromiumPath === undefined)('the /docs page in a real browser', () => {
  let server: TestServer | undefined;
  let browser: Browser | undefined;
  const screenshotDirectory = temporaryDirectory('runyard-docs-');

  beforeAll(async () => {
    server = await startTestServer('sqlite');
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    fs.rmSync(screenshotDirectory, { recursive: true, force: true });
  });

  it('renders every operation from /openapi.json offline, without console errors', async () => {
    if (browser === undefined || server === undefined) throw new Error('the browser or server did not start');
    const origin = new URL(server.url).origin;
    const context = await browser.newContext({ viewport: { width: 1280, height: 2000 } });
    const page = await context.newPage();
    const requested: string[] = [];
    const consoleErrors: string[] = [];
    const failed: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    page.on('requestfailed', (request) => failed.push(`${request.url()}: ${request.failure()?.errorText}`));
    page.on('response', (response) => {
      if (response.status() >= 400) failed.push(`${response.url()}: HTTP ${response.status()}`);
    });
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(`page error: ${error.message}`));

    const response = await page.goto(`${server.url}/docs`, { waitUntil: 'load' });
    expect(response?.status()).toBe(200);
    await page.locator('.opblock').first().waitFor({ state: 'visible', timeout: 20_000 });
    await page.waitForLoadState('networkidle');

    const text = await page.locator('body').innerText();
    for (const expected of [
      'Runyard API',
      '/v1/agents',
      '/v1/agents/{idOrSlug}/promote',
      '/v1/secrets/{name}/rotate',
      '/v1/api-keys',
      'Create an API key',
      'Create an agent (version 1)',
      'Register a model provider',
    ]) {
      expect(text, `the page shows '${expected}'`).toContain(expected);
    }
    expect(await page.locator('.opblock').count()).toBeGreaterThanOrEqual(25);
    expect(await page.locator('.errors-wrapper').count(), 'Swagger UI reports no schema errors').toBe(0);

    // Opening an operation renders its parameters, request body and documented responses.
    const createAgent = page.locator('#operations-Agents-createAgent');
    await createAgent.locator('.opblock-summary').first().click();
    await createAgent.locator('.responses-wrapper').waitFor({ state: 'visible' });
    const operationText = await createAgent.innerText();
    for (const expected of ['Request body', 'Idempotency-Key', '201', '400', '401', '403', '429']) {
      expect(operationText, `the createAgent operation shows '${expected}'`).toContain(expected);
    }

    expect(requested).toContain(`${origin}/openapi.json`);
    const elsewhere = requested.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith('data:'));
    expect(elsewhere, 'every request stays on the test server').toEqual([]);
    expect(failed).toEqual([]);
    expect(consoleErrors).toEqual([]);

    const screenshot = path.join(screenshotDirectory, 'docs.png');
    await page.screenshot({ path: screenshot, fullPage: false });
    const bytes = fs.readFileSync(screenshot);
    expect(bytes.subarray(0, 8).equals(pngSignature), 'a PNG file').toBe(true);
    expect(bytes.length, 'a rendered page, not a blank one').toBeGreaterThan(20_000);
    await context.close();
  });
});
