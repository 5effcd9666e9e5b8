// The browser half of tests/integration/proxy_browser.sh: Debian's chromium, driven by puppeteer-core,
// opens pages through a real nsreload's proxy while the shell's app is edited, broken and fixed.
// The test never calls reload: each change must reach the page through the injected client script.
//
// Usage: node proxy_browser.js CHROMIUM PROXY_URL APP_DIR PROFILE_DIR
//   APP_DIR/page.src is the source the app's build copies to the page (build.sh fails on "BROKEN");
//   the app serves it at /, and pre-compressed pages at /gz (gzip) and /br (br).
// Prints "ok   ..." or "FAIL ..." per check; exit 0 only when every check passed.
'use strict';

const fs = require('fs');
const path = require('path');
const puppeteer = require('puppeteer-core');

const [chromium, base, appDir, profile] = process.argv.slice(2);
const WAIT_MS = 15000;
let failed = 0;

function ok(what) {
  console.log(`ok   ${what}`);
}
function bad(what) {
  failed++;
  console.log(`FAIL ${what}`);
}

// Polls fn in the page until it returns something truthy, or null after WAIT_MS. Navigations (the
// reloads under test) destroy the page's context mid-poll: those errors just mean "not yet".
async function until(page, fn, arg) {
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    try {
      const v = await page.evaluate(fn, arg);
      if (v) return v;
    } catch (e) {
      // context destroyed by a navigation, or the document not there yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return null;
}

// What the page shows, for the checks and for a failure's message.
function state() {
  const msg = document.getElementById('msg');
  const o = document.getElementById('nsreload-overlay');
  return {
    msg: msg ? msg.textContent : null,
    overlay: o ? o.textContent : null,
    marked: window.__nsreloadTestMark === 1,
    injected: !!window.__nsreload,
    open: !!window.__nsreload && window.__nsreload.readyState === 1,
  };
}
async function now(page) {
  try {
    return JSON.stringify(await page.evaluate(state));
  } catch (e) {
    return `(no page: ${e.message})`;
  }
}

// Opens url, retrying while the front or the app is not up yet; the response, or null.
async function open(page, url) {
  const deadline = Date.now() + WAIT_MS;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await page.goto(url, { waitUntil: 'load', timeout: WAIT_MS });
      if (res && res.status() === 200) return res;
      last = res ? `status ${res.status()}` : 'no response';
    } catch (e) {
      last = e.message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  console.log(`  ${url}: ${last}`);
  return null;
}

function edit(text) {
  // Written aside and renamed, as editors do: the build never sees half a file.
  const src = path.join(appDir, 'page.src');
  fs.writeFileSync(src + '.tmp', text);
  fs.renameSync(src + '.tmp', src);
}

async function main() {
  const browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true, // puppeteer passes --headless=new
    userDataDir: profile,
    args: [
      '--no-sandbox', // root in a container: the setuid sandbox is not there
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
      '--no-proxy-server',
    ],
  });
  try {
    const page = await browser.newPage();

    // 1. The page through the proxy, with the client script running and its EventSource open.
    const res = await open(page, base + '/');
    let s = res && (await until(page, () => {
      const m = document.getElementById('msg');
      return m && m.textContent === 'v1' && window.__nsreload && window.__nsreload.readyState === 1;
    }));
    if (s) ok('the page through the proxy runs the client script (EventSource open)');
    else {
      bad(`the page through the proxy: no v1 with an open EventSource: ${await now(page)}`);
      return;
    }

    // 2. An edit: the page reloads by itself. The mark set now is gone after a real reload.
    await page.evaluate(() => {
      window.__nsreloadTestMark = 1;
    });
    edit('v2\n');
    s = await until(page, () => {
      const m = document.getElementById('msg');
      return m && m.textContent === 'v2' && window.__nsreloadTestMark !== 1;
    });
    if (s) ok('an edit reloads the page by itself (v2 shown, the old page gone)');
    else bad(`an edit: the page did not reload to v2 within ${WAIT_MS} ms: ${await now(page)}`);

    // 3. A broken build: the overlay, with the build's own output, and no reload (the old run stays).
    await page.evaluate(() => {
      window.__nsreloadTestMark = 1;
    });
    edit('BROKEN v-broken\n');
    s = await until(page, () => {
      const o = document.getElementById('nsreload-overlay');
      return o && o.textContent;
    });
    if (!s) bad(`a failed build: no overlay within ${WAIT_MS} ms: ${await now(page)}`);
    else if (!s.includes('Build failed') || !s.includes('page.src:1: error: the page holds BROKEN'))
      bad(`a failed build: the overlay lacks the title or the build's output: ${JSON.stringify(s)}`);
    else ok('a failed build shows the overlay with the build output');
    const markup = await page.evaluate(() => {
      const o = document.getElementById('nsreload-overlay');
      return {
        text: !!o && o.textContent.includes('<img src=x onerror=window.__nsreloadXss=1>'),
        elements: o ? o.querySelectorAll('img').length : -1,
        ran: window.__nsreloadXss === 1,
      };
    });
    if (markup.text && markup.elements === 0 && !markup.ran) ok('markup in the build output shows as text');
    else bad(`markup in the build output became HTML: ${JSON.stringify(markup)}`);
    const st = JSON.parse(await now(page));
    if (st.marked && st.msg === 'v2') ok('a failed build does not reload the page');
    else bad(`a failed build: the page changed under the overlay: ${JSON.stringify(st)}`);

    // 3b. A page opened while the build is broken gets the overlay at once (the front's state on connect).
    const page2 = await browser.newPage();
    if (await open(page2, base + '/')) {
      s = await until(page2, () => {
        const o = document.getElementById('nsreload-overlay');
        return o && o.textContent.includes('the page holds BROKEN');
      });
      if (s) ok('a page opened during a failed build shows the overlay');
      else bad(`a page opened during a failed build: no overlay: ${await now(page2)}`);
    } else bad('a page opened during a failed build: it did not load');
    await page2.close();

    // 4. The fix: the overlay goes and the page reloads to the new text.
    edit('v3\n');
    s = await until(page, () => {
      const m = document.getElementById('msg');
      return !document.getElementById('nsreload-overlay') && m && m.textContent === 'v3';
    });
    if (s) ok('the next good build removes the overlay and the page shows v3');
    else bad(`the fix: overlay still there or no v3 within ${WAIT_MS} ms: ${await now(page)}`);

    // 5. Compressed pages: decoded, injected, re-encoded; chromium must read them and run the script.
    for (const [route, enc, text] of [
      ['/gz', 'gzip', 'gzip page'],
      ['/br', 'br', 'br page'],
    ]) {
      const r = await open(page, base + route);
      if (!r) {
        bad(`${enc}: ${route} did not load`);
        continue;
      }
      const sent = r.headers()['content-encoding'] || 'none';
      s = await until(
        page,
        (want) => {
          const m = document.getElementById('msg');
          return m && m.textContent === want && window.__nsreload && window.__nsreload.readyState === 1;
        },
        text
      );
      if (s) ok(`a ${enc} page is injected (Content-Encoding through the proxy: ${sent})`);
      else bad(`a ${enc} page: no client script or wrong text (Content-Encoding ${sent}): ${await now(page)}`);
    }
  } finally {
    await browser.close();
  }
}

main()
  .catch((e) => bad(`the browser test stopped: ${e.stack || e}`))
  .finally(() => {
    console.log(failed ? `browser: ${failed} failed` : 'browser: all passed');
    process.exit(failed ? 1 : 0);
  });
