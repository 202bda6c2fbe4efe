// Shared set-up of the browser tests: a real server (demo mode) and Debian's Chromium.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, createWriteStream, existsSync } from 'node:fs';
import { tmpdir, homedir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { chromium } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const SHOTS = join(ROOT, 'test-results', 'screenshots');
export const BIN = process.env.MESH_BIN ?? join(homedir(), '.cache/mesh-catalog/target/debug/mesh-catalog');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const TOKEN_KEY = 'mesh.portal.token';

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The HS256 secret of a server started with `demo: false`. */
const SECRET = 'portal-e2e-secret-0123456789abcdef';

/**
 * Starts `mesh-catalog serve --demo` on free ports with a fresh data dir and the built portal; with
 * `demo: false`, a server as deployed (no demo data or sign-in, no anonymous reads, tokens signed with
 * its secret: `token(subject)` mints one).
 */
export async function startServer({ demo = true } = {}) {
  if (!existsSync(BIN)) throw new Error(`server binary not found at ${BIN} (set MESH_BIN)`);
  const dist = join(ROOT, 'dist');
  if (!existsSync(join(dist, 'index.html'))) throw new Error('frontend/dist is missing: run `npm run build` first');
  const dataDir = mkdtempSync(join(tmpdir(), 'portal-e2e-'));
  const port = await freePort();
  const kafkaPort = await freePort();
  mkdirSync(join(ROOT, 'test-results'), { recursive: true });
  const logName = demo ? 'server.log' : 'server-deployed.log';
  const log = createWriteStream(join(ROOT, 'test-results', logName));
  const child = spawn(
    BIN,
    ['serve', ...(demo ? ['--demo'] : []), '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, '--embedded-kafka-port', String(kafkaPort), '--portal-dir', dist,
     // Health history (`liveHistory`) from one freshness pass a second.
     '--freshness-check', '1s'],
    {
      env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn', MESH_PORTAL_DIR: dist, MESH_RATE_LIMIT: '0', ...(demo ? {} : { MESH_JWT_SECRET: SECRET }) },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  let exited = null;
  child.on('exit', (code) => (exited = code));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (exited !== null) throw new Error(`server exited with ${exited}: see test-results/${logName}`);
    if (Date.now() > deadline) throw new Error('server not ready within 180 s');
    try {
      const r = await fetch(`${base}/readyz`);
      if (r.ok) break;
    } catch {
      /* not yet */
    }
    await sleep(250);
  }
  // Wait until the demo seed is searchable.
  for (; demo; ) {
    if (Date.now() > deadline) throw new Error('demo data not searchable within 180 s');
    try {
      const r = await gql(base, '{ search(query: "") { totalCount } }');
      if (r.data?.search?.totalCount >= 20) break;
    } catch {
      /* not yet */
    }
    await sleep(300);
  }
  return {
    base,
    port,
    kafka: `127.0.0.1:${kafkaPort}`,
    /** A token for `subject` signed with the server's secret (`demo: false`). */
    token: (subject) => execFileSync(BIN, ['token', '--sub', subject], { env: { ...process.env, MESH_JWT_SECRET: SECRET } }).toString().trim(),
    async stop() {
      if (exited === null) {
        child.kill('SIGTERM');
        const t = Date.now();
        while (exited === null && Date.now() - t < 10_000) await sleep(100);
        if (exited === null) child.kill('SIGKILL');
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function gql(base, query, variables = {}, token = null) {
  const r = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return r.json();
}

export async function demoToken(base, subject) {
  const r = await fetch(`${base}/auth/demo-token`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ subject }) });
  if (!r.ok) throw new Error(`demo-token for ${subject}: HTTP ${r.status}`);
  return (await r.json()).token;
}

export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
  });
}

/**
 * A browser context (optionally signed in as a demo user) whose pages record console errors and warnings.
 */
export async function newSession(browser, server, subject = null) {
  const context = await browser.newContext({ baseURL: server.base, viewport: { width: 1280, height: 900 } });
  if (subject) {
    const token = await demoToken(server.base, subject);
    await context.addInitScript(([k, t]) => {
      if (!location.protocol.startsWith('http')) return;
      if (!sessionStorage.getItem('e2e-signed-in')) {
        localStorage.setItem(k, t);
        sessionStorage.setItem('e2e-signed-in', '1');
      }
    }, [TOKEN_KEY, token]);
  }
  const problems = [];
  const page = await context.newPage();
  const watch = (p) => {
    p.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`[${m.type()}] ${m.text()} @ ${p.url()}`);
    });
    p.on('pageerror', (e) => problems.push(`[pageerror] ${e.message} @ ${p.url()}`));
  };
  watch(page);
  context.on('page', watch);
  return {
    context,
    page,
    problems,
    /** Throws if the pages logged console errors or warnings since the last call. */
    assertQuietConsole() {
      const list = problems.splice(0);
      if (list.length) throw new Error(`console errors/warnings:\n${list.join('\n')}`);
    },
  };
}

/** axe-core: no serious or critical violation. */
export async function checkA11y(page, name, { exclude = [] } = {}) {
  let builder = new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']);
  for (const e of exclude) builder = builder.exclude(e);
  const result = await builder.analyze();
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (bad.length) {
    throw new Error(
      `axe on ${name}: ${bad.length} serious/critical violation(s):\n` +
        bad.map((v) => `- ${v.id} (${v.impact}): ${v.help}\n  ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('\n  ')}`).join('\n'),
    );
  }
}

/** The page fits its width: only the parts meant to scroll sideways (tables, editors, the lineage graph) do. */
async function checkNoSidewaysScroll(page, where) {
  const wider = await page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth <= width) return null;
    const over = [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > width + 1);
    const widest = over.filter((e) => ![...e.children].some((c) => over.includes(c)));
    const name = (e) => `${e.tagName.toLowerCase()}${typeof e.className === 'string' && e.className ? '.' + e.className.trim().split(/\s+/).join('.') : ''}`;
    return { scrollWidth: document.documentElement.scrollWidth, width, widest: widest.slice(0, 5).map(name) };
  });
  if (wider) throw new Error(`${where}: the page scrolls sideways: ${JSON.stringify(wider)}`);
}

/** Screenshots at 1280 px and 390 px wide, then axe and the page's width at both widths. */
export async function capture(page, name, opts = {}) {
  mkdirSync(SHOTS, { recursive: true });
  const original = page.viewportSize();
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: width === 390 ? 844 : 900 });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.waitForTimeout(250);
    await page.screenshot({ path: join(SHOTS, `${name}-${width}.png`), fullPage: opts.fullPage ?? true });
    await checkA11y(page, `${name} @${width}px`, opts);
    await checkNoSidewaysScroll(page, `${name} @${width}px`);
  }
  if (original) await page.setViewportSize(original);
}
