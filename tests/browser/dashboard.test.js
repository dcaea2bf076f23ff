// dashboard.test.js — the dashboard in headless Chromium (playwright-core,
// Debian's /usr/bin/chromium): the page loads with no console errors, shows
// the pipeline, and shows a new event within 2 s of a fault, which this test
// makes itself by replacing a spec file (so the clock starts at the fault).
// A screenshot is saved. Run by tests/integration/test_dashboard.sh:
//   node dashboard.test.js URL PIPELINE_KEY SPEC_FILE BROKEN_SPEC SCREENSHOT
'use strict';
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

const [url, key, specFile, brokenSpec, shot] = process.argv.slice(2);
if (!shot) {
  console.error('usage: node dashboard.test.js URL PIPELINE_KEY SPEC_FILE BROKEN_SPEC SCREENSHOT');
  process.exit(2);
}

let passed = 0, failed = 0;
function check(name, ok, detail) {
  if (ok) { passed++; console.log(`ok - ${name}`); }
  else { failed++; console.log(`not ok - ${name}${detail ? ': ' + detail : ''}`); }
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  const errors = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    page.on('console', m => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', e => errors.push(String(e)));
    page.on('requestfailed', r => errors.push(`request failed: ${r.url()}`));

    const resp = await page.goto(url, { waitUntil: 'load' });
    check('page answers 200', resp && resp.status() === 200, resp && String(resp.status()));

    const row = page.locator(`#pipelines tbody tr[data-key="${key}"]`);
    await row.waitFor({ timeout: 10000 });
    const phase = (await row.locator('td').nth(1).textContent()) || '';
    check('the table shows the pipeline with a phase', phase.trim().length > 0, phase);

    await page.locator('#conn.up').waitFor({ timeout: 10000 });
    check('the event stream is live', true);
    // the backlog (since=0) has arrived once the feed stops growing for a moment
    await page.waitForTimeout(300);
    const before = await page.evaluate(() => {
      const li = document.querySelector('#events li');
      return li ? Number(li.dataset.seq) : 0;
    });

    // the fault: the spec is replaced (atomically) with a broken one
    const tmp = specFile + '.tmp';
    fs.copyFileSync(brokenSpec, tmp);
    fs.renameSync(tmp, specFile);
    const t0 = Date.now();
    let shown = null;
    try {
      await page.waitForFunction(
        ([seq, name]) => [...document.querySelectorAll('#events li')].some(
          li => Number(li.dataset.seq) > seq && li.textContent.includes(name)),
        [before, key], { timeout: 2000, polling: 20 });
      shown = Date.now() - t0;
    } catch (e) {
      shown = null;
    }
    check('a new event is shown within 2 s of the fault', shown !== null,
      `no new event for ${key} after seq ${before}`);
    if (shown !== null) console.log(`# event shown ${shown} ms after the fault`);

    await page.waitForTimeout(300); // let the table catch up for the picture
    fs.mkdirSync(path.dirname(shot), { recursive: true });
    await page.screenshot({ path: shot, fullPage: true });
    check('screenshot saved', fs.statSync(shot).size > 1000, shot);
  } catch (e) {
    check('dashboard test ran', false, String(e && e.stack || e));
  } finally {
    await browser.close();
  }
  check('no console errors', errors.length === 0, errors.join(' | '));
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})();
