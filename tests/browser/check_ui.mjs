// Real-browser check of the Prometheus UI behind nginx (issue 4, "Proof").
//
// Debian's headless Chromium, driven by playwright-core, opens <url>graph with HTTP basic credentials, follows
// the redirects (Debian's Prometheus 2.42 ships only the classic UI: graph -> graph/ -> classic/graph), waits
// for the page and its assets, runs the query `up`, and keeps a screenshot. A second, credential-less browser
// must get 401 for the same page and for a static asset.
//
// Usage:
//   PROMACCESS_UI_PASSWORD=... node check_ui.mjs --url http://127.0.0.1:18080/prometheus/ \
//       --username USER --screenshot out.png [--chromium /usr/bin/chromium] [--timeout-ms 30000]
// The password is read from PROMACCESS_UI_PASSWORD, or from the first line of stdin when that is unset; never
// from argv. The user name may come from PROMACCESS_UI_USERNAME instead of --username.
// Prints one JSON summary on stdout. Exit status: 0 all checks passed, 1 a check failed, 2 usage error.

import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

// Without the background-networking flags Chromium keeps trying to reach Google services, which on a closed
// network means a flood of refused connections.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// Errors of the distribution's own packaging, not of what this collection configures. Each is reported in the
// summary (known_page_errors) and does not fail the check; any other uncaught exception does.
const KNOWN_PAGE_ERRORS = [
  {
    script: '/classic/static/popper.js/popper.min.js',
    message: "Unexpected token 'export'",
    why:
      "Debian 12's prometheus 2.42 links classic/static/popper.js/popper.min.js to node-popper.js's ES-module " +
      'build, which a classic <script> cannot parse; the page renders and queries run without it (Bootstrap ' +
      'dropdowns and tooltips need Popper).',
  },
];

function usage(message) {
  process.stderr.write(`check_ui.mjs: ${message}\n`);
  process.exit(2);
}

const { values: opts } = parseArgs({
  options: {
    url: { type: 'string' },
    username: { type: 'string' },
    screenshot: { type: 'string' },
    chromium: { type: 'string', default: process.env.PROMACCESS_CHROMIUM || '/usr/bin/chromium' },
    'timeout-ms': { type: 'string', default: '30000' },
    'profile-root': { type: 'string', default: tmpdir() },
    query: { type: 'string', default: 'up' },
  },
  strict: true,
});

if (!opts.url) usage('--url is required');
if (!opts.screenshot) usage('--screenshot is required');
const base = new URL(opts.url);
if (!base.pathname.endsWith('/')) usage('--url must end with "/" (the external URL prefix)');
const username = opts.username ?? process.env.PROMACCESS_UI_USERNAME;
if (!username) usage('--username or PROMACCESS_UI_USERNAME is required');
let password = process.env.PROMACCESS_UI_PASSWORD;
if (password === undefined) {
  password = readFileSync(0, 'utf8').split('\n')[0];
}
if (!password) usage('no password (PROMACCESS_UI_PASSWORD or stdin)');
const timeout = Number(opts['timeout-ms']);
if (!(timeout > 0)) usage('--timeout-ms must be a positive number');

const target = new URL('graph', base).href;
const staticAsset = new URL('classic/static/css/prometheus.css', base).href;
const sameOrigin = (u) => {
  try {
    return new URL(u).origin === base.origin;
  } catch {
    return false;
  }
};

const summary = {
  target,
  chromium: opts.chromium,
  browser_version: null,
  final_url: null,
  title: null,
  responses: [],
  failed_requests: [],
  bad_same_origin: [],
  outside_prefix: [],
  cross_origin: [],
  page_errors: [],
  known_page_errors: [],
  elements: {},
  query: { expr: opts.query, rows: null },
  anonymous: {},
  screenshot: opts.screenshot,
  failures: [],
  elapsed_ms: null,
  graph_page_ms: null,
  timings_ms: {},
};
const started = Date.now();
const mark = (name) => (summary.timings_ms[name] = Date.now() - started);

// One browser per identity, each with its own fresh, empty profile, removed afterwards.
async function withBrowser(contextOptions, fn) {
  const profile = mkdtempSync(join(opts['profile-root'], 'promaccess-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: opts.chromium,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout,
      viewport: { width: 1280, height: 800 },
      ...contextOptions,
    });
    mark(`launched_${contextOptions.httpCredentials ? 'credentials' : 'anonymous'}`);
    context.setDefaultTimeout(timeout);
    context.setDefaultNavigationTimeout(timeout);
    summary.browser_version ??= context.browser()?.version() ?? null;
    return await fn(context);
  } finally {
    if (context) await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
}

async function withCredentials(context) {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('response', (r) => summary.responses.push({ url: r.url(), status: r.status() }));
  page.on('requestfailed', (r) =>
    summary.failed_requests.push({ url: r.url(), error: r.failure()?.errorText ?? 'unknown' }),
  );
  // Uncaught exceptions with the script that threw them (CDP gives the URL; Playwright's pageerror does not).
  const cdp = await context.newCDPSession(page);
  cdp.on('Runtime.exceptionThrown', ({ exceptionDetails: d }) => {
    const message = d.exception?.description?.split('\n')[0] ?? d.text;
    const url = d.url ?? d.stackTrace?.callFrames?.[0]?.url ?? '';
    const known = KNOWN_PAGE_ERRORS.find((k) => url.includes(k.script) && message.includes(k.message));
    (known ? summary.known_page_errors : summary.page_errors).push({ url, message, ...(known ? { why: known.why } : {}) });
  });
  await cdp.send('Runtime.enable');

  try {
    await renderAndQuery(page);
  } finally {
    // Also on failure: the screenshot is the first thing to look at.
    await page.screenshot({ path: opts.screenshot, fullPage: true }).catch(() => {});
    mark('screenshot');
  }
}

async function renderAndQuery(page) {
  const loadStarted = Date.now();
  const response = await page.goto(target, { waitUntil: 'load' });
  summary.main_status = response ? response.status() : null;
  // The expression input comes from a template fetched by the UI's JavaScript: its presence shows that
  // scripts, the template and the API behind them loaded through the prefix.
  const expr = page.locator('textarea[name="expr"]').first();
  await expr.waitFor({ state: 'visible' });
  await page.waitForLoadState('networkidle', { timeout }).catch(() => {});
  mark('ui_rendered');
  // From the first request of the graph page to its UI rendered with every asset (recorded, not judged here:
  // the hash policy's benchmark is docs/benchmarks.md).
  summary.graph_page_ms = Date.now() - loadStarted;
  summary.final_url = page.url();
  summary.title = await page.title();
  summary.elements = {
    expression_input: await expr.isVisible(),
    execute_button: await page.locator('input.execute_btn').first().isVisible(),
    navbar_brand: ((await page.locator('a.navbar-brand').first().textContent()) ?? '').trim(),
    // Bootstrap's bg-dark colour: the stylesheets were served and applied.
    navbar_background: await page.locator('nav.navbar').first().evaluate((el) => getComputedStyle(el).backgroundColor),
    stylesheets: await page.evaluate(() => document.styleSheets.length),
  };

  // Run a query the way a user does: type it, press Execute, wait for the API answer and the result rows.
  // The UI binds its handlers a moment after the input appears, so a click may go unheard: retry, bounded.
  mark('ui_settled');
  await expr.fill(opts.query);
  const isQuery = (r) => {
    const u = new URL(r.url());
    return u.pathname === `${base.pathname}api/v1/query` && u.searchParams.get('query') === opts.query;
  };
  let answer = null;
  for (let attempt = 1; attempt <= 5 && !answer; attempt++) {
    const waiting = page.waitForResponse(isQuery, { timeout: 3000 }).catch(() => null);
    await page.locator('input.execute_btn').first().click();
    answer = await waiting;
    summary.query.attempts = attempt;
  }
  summary.query.status = answer ? answer.status() : null;
  const rows = page.locator('.console table tbody tr').filter({ hasNotText: 'no data' });
  try {
    await rows.first().waitFor({ state: 'visible', timeout: Math.min(timeout, 10000) });
    summary.query.rows = await rows.count();
    summary.query.first_row = ((await rows.first().innerText()) ?? '').replace(/\s+/g, ' ').trim();
  } catch {
    summary.query.rows = 0;
  }
  await page.waitForLoadState('networkidle', { timeout }).catch(() => {});
}

// Without credentials nginx answers 401. Headless Chromium has no login prompt, so it then abandons the
// navigation (net::ERR_INVALID_AUTH_CREDENTIALS): the status comes from the response event, and the page must
// not have been rendered.
async function anonymous(context) {
  const page = context.pages()[0] ?? (await context.newPage());
  const seen = [];
  page.on('response', (r) => seen.push({ url: r.url(), status: r.status() }));
  for (const [name, url] of [
    ['page', target],
    ['static_asset', staticAsset],
  ]) {
    seen.length = 0;
    let navigationError = null;
    try {
      await page.goto(url, { waitUntil: 'load' });
    } catch (e) {
      navigationError = String(e.message ?? e).split('\n')[0];
    }
    const own = seen.filter((r) => r.url === url);
    summary.anonymous[name] = {
      url,
      status: own.length ? own[own.length - 1].status : null,
      other_responses: seen.filter((r) => r.url !== url),
      navigation_error: navigationError,
    };
  }
}

let crashed = null;
try {
  await withBrowser({ httpCredentials: { username, password, origin: base.origin } }, withCredentials);
  await withBrowser({}, anonymous);
} catch (e) {
  crashed = String(e && e.stack ? e.stack : e).replace(/\u001b\[[0-9;]*m/g, '');
}

// Evaluate.
const fail = (m) => summary.failures.push(m);
if (crashed) fail(`browser run failed: ${crashed}`);
for (const r of summary.responses) {
  if (!sameOrigin(r.url)) {
    summary.cross_origin.push(r.url);
    continue;
  }
  if (r.status >= 400) summary.bad_same_origin.push(r);
  if (!new URL(r.url).pathname.startsWith(base.pathname)) summary.outside_prefix.push(r.url);
}
if (summary.bad_same_origin.length) fail(`same-origin responses >= 400: ${JSON.stringify(summary.bad_same_origin)}`);
if (summary.outside_prefix.length) fail(`requests outside the prefix ${base.pathname}: ${summary.outside_prefix}`);
const failedSameOrigin = summary.failed_requests.filter((r) => sameOrigin(r.url));
if (failedSameOrigin.length) fail(`same-origin requests failed: ${JSON.stringify(failedSameOrigin)}`);
if (summary.page_errors.length) fail(`JavaScript errors: ${JSON.stringify(summary.page_errors)}`);
if (!crashed) {
  if (summary.main_status !== 200) fail(`page answered ${summary.main_status}`);
  if (!summary.final_url || !summary.final_url.startsWith(new URL('classic/graph', base).href))
    fail(`unexpected final URL ${summary.final_url}`);
  if (!summary.title || !summary.title.includes('Prometheus')) fail(`title ${JSON.stringify(summary.title)}`);
  if (!summary.elements.expression_input) fail('expression input missing');
  if (!summary.elements.execute_button) fail('Execute button missing');
  if (summary.elements.navbar_brand !== 'Prometheus') fail(`navbar brand ${JSON.stringify(summary.elements.navbar_brand)}`);
  if (summary.elements.navbar_background !== 'rgb(52, 58, 64)')
    fail(`navbar not styled by bootstrap (background ${summary.elements.navbar_background})`);
  if (summary.query.status !== 200) fail(`query ${opts.query} answered ${summary.query.status}`);
  if (!(summary.query.rows > 0)) fail(`query ${opts.query} showed no result rows`);
  for (const [name, r] of Object.entries(summary.anonymous)) {
    if (r.status !== 401) fail(`without credentials ${name} answered ${r.status}, not 401`);
    if (r.other_responses.length) fail(`without credentials ${name} loaded more: ${JSON.stringify(r.other_responses)}`);
  }
}
summary.ok = summary.failures.length === 0;
summary.elapsed_ms = Date.now() - started;
process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
process.exit(summary.ok ? 0 : 1);
