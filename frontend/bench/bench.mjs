// The portal's benchmark (issue 21, "Measured"), in Debian's headless Chromium against the demo.
// Usage: npm run bench [-- --quick] ; prints a Markdown table.
import { gzipSync } from 'node:zlib';
import { loadavg, cpus } from 'node:os';
import { Kafka, logLevel, CompressionTypes } from 'kafkajs';
import { demoToken, gql, launch, startServer } from '../e2e/harness.mjs';

const quick = process.argv.includes('--quick');
const onlyArg = process.argv.find((a) => a.startsWith('--only='));
const only = onlyArg ? onlyArg.slice(7).split(',') : null;
const want = (name) => !only || only.includes(name);
const TAIL_SECONDS = quick ? 15 : 60;
const TAIL_RATE = 200;
const rows = [];
const row = (what, target, measured, ok) => rows.push({ what, target, measured, ok });
const pct = (arr, p) => {
  const s = [...arr].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

const loadStart = loadavg()[0];
const server = await startServer();
const browser = await launch();
try {
  // 1. First load of the search page.
  if (want('search')) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    const cdp = await ctx.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    const js = new Map();
    cdp.on('Network.responseReceived', (e) => {
      if (e.type === 'Script') js.set(e.requestId, { url: e.response.url, encoding: e.response.headers['content-encoding'] ?? e.response.headers['Content-Encoding'] ?? '' });
    });
    const wire = new Map();
    cdp.on('Network.loadingFinished', (e) => {
      if (js.has(e.requestId)) wire.set(e.requestId, e.encodedDataLength);
    });
    const t0 = Date.now();
    await page.goto(`${server.base}/`);
    await page.getByTestId('search-input').waitFor({ state: 'visible' });
    await page.getByTestId('result-count').waitFor();
    const usable = Date.now() - t0;
    await page.waitForLoadState('networkidle');
    let transferred = 0;
    let gz = 0;
    let raw = 0;
    const files = [];
    for (const [id, info] of js) {
      const body = await fetch(info.url).then((r) => r.arrayBuffer());
      raw += body.byteLength;
      const g = gzipSync(Buffer.from(body), { level: 9 }).length;
      gz += g;
      transferred += wire.get(id) ?? 0;
      files.push(`${info.url.split('/').pop()} ${(g / 1024).toFixed(1)} KB gz`);
    }
    const serverGzips = [...js.values()].some((i) => /gzip|br/.test(i.encoding));
    row('Search page first load: JavaScript (gzip)', '≤ 250 KB', `${(gz / 1024).toFixed(1)} KB gzip (${(raw / 1024).toFixed(0)} KB raw, ${js.size} files; on the wire ${(transferred / 1024).toFixed(1)} KB${serverGzips ? '' : ', the server does not compress'})`, gz <= 250 * 1024);
    row('Search page first load: time to a usable search box (results shown)', '—', `${usable} ms`, true);
    console.error('search page scripts:', files.join(', '));
    await ctx.close();
  }

  // 2. Typing a query: last keystroke → updated results.
  if (want('typing')) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    await page.goto(`${server.base}/`);
    const box = page.getByTestId('search-input');
    await box.waitFor();
    await page.getByTestId('result-count').waitFor();
    const words = ['order', 'shipment', 'payment', 'customer', 'stock', 'refund', 'campaign', 'tracking', 'ledger', 'loyalty', 'forecast', 'page views', 'fraud', 'segment', 'revenue', 'carrier', 'returns', 'consent', 'recommend', 'funnel', 'order id', 'user', 'parcel', 'daily', 'enriched'];
    const samples = [];
    for (const w of words) {
      await box.fill('');
      await page.waitForTimeout(150);
      const wait = page.evaluate(
        (q) =>
          new Promise((resolve) => {
            let last = 0;
            const input = document.querySelector('[data-testid=search-input]');
            const onInput = () => (last = performance.now());
            input.addEventListener('input', onInput);
            const check = () => {
              const el = document.querySelector('[data-testid=result-count]');
              const t = el?.textContent ?? '';
              if (input.value === q && last && t.includes(`“${q}”`) && !t.includes('updating')) {
                obs.disconnect();
                input.removeEventListener('input', onInput);
                resolve(performance.now() - last);
              }
            };
            const obs = new MutationObserver(check);
            obs.observe(document.body, { subtree: true, childList: true, characterData: true });
          }),
        w,
      );
      await box.pressSequentially(w, { delay: 60 });
      samples.push(await wait);
    }
    const p95 = pct(samples, 95);
    row('Typing a query: last keystroke → updated results', 'p95 ≤ 150 ms', `p50 ${pct(samples, 50).toFixed(0)} ms, p95 ${p95.toFixed(0)} ms, max ${Math.max(...samples).toFixed(0)} ms (${samples.length} queries, 60 ms between keys)`, p95 <= 150);
    await ctx.close();
  }

  // 3. Lineage: 1,000 nodes and 2,000 edges.
  // The target's measure ("data → laid out and shown") on a cold page: the benchmark route is loaded
  // afresh in a new browser context (nothing cached, a new layout worker), its graph is generated the
  // moment its code has loaded ("data exists"), and the clock stops on the frame after the first
  // nodes and edges are in the DOM. Also printed: the time from the navigation itself.
  // `lineage-warm` (also run by `--only=lineage`): the reader opens the lineage after a product page
  // (which starts the layout worker while idle); same graph, same clock, the route reached by an
  // in-app navigation 3 s after the product page has loaded.
  const lineageRun = async (warm) => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    await page.addInitScript(() => {
      window.__longTasks = [];
      new PerformanceObserver((l) => l.getEntries().forEach((e) => window.__longTasks.push({ start: e.startTime, duration: e.duration }))).observe({ type: 'longtask', buffered: true });
      const obs = new MutationObserver(() => {
        if (!window.__shown && document.querySelector('.react-flow__node') && document.querySelector('.react-flow__edge')) {
          // the frame after the nodes and the edges are in the DOM is when they are painted
          requestAnimationFrame(() => (window.__shown = performance.now()));
          obs.disconnect();
        }
      });
      document.addEventListener('DOMContentLoaded', () => obs.observe(document.body, { subtree: true, childList: true }));
    });
    const bench = '/_bench/lineage?nodes=1000&edges=2000';
    let navAt = 0;
    if (warm) {
      await page.goto(`${server.base}/products/orders.enriched-orders`);
      await page.getByRole('tab', { name: /Lineage/ }).waitFor();
      await page.waitForTimeout(3000);
      navAt = await page.evaluate((to) => {
        const t = performance.now();
        history.pushState(null, '', to);
        dispatchEvent(new PopStateEvent('popstate'));
        return t;
      }, bench);
    } else {
      await page.goto(`${server.base}${bench}`);
    }
    await page.locator('.react-flow__node').first().waitFor({ timeout: 60_000 });
    await page.locator('.react-flow__edge').first().waitFor({ timeout: 60_000 });
    await page.waitForTimeout(500);
    const m = await page.evaluate(() => {
      const ready = performance.getEntriesByName('lineage-data-ready')[0]?.startTime ?? 0;
      const laid = performance.getEntriesByName('lineage-laid-out')[0]?.startTime ?? 0;
      const shown = window.__shown ?? performance.now();
      const tasks = window.__longTasks.filter((t) => t.start >= ready);
      return { ready, laid, shown, maxTask: Math.max(0, ...tasks.map((t) => t.duration)), info: document.querySelector('[data-testid=bench-info]')?.textContent };
    });
    const r = { layoutToShown: m.shown - m.ready, layoutMs: m.laid - m.ready, fromNav: m.shown - navAt, maxTask: m.maxTask, info: m.info, rendered: await page.locator('.react-flow__node').count() };
    await ctx.close();
    return r;
  };
  const lineageScenarios = [...(want('lineage') ? [false] : []), ...(want('lineage') || want('lineage-warm') ? [true] : [])];
  for (const warm of lineageScenarios) {
    const r = [];
    for (let i = 0; i < 3; i++) {
      const x = await lineageRun(warm);
      r.push(x);
      console.error(`lineage${warm ? ' (after a product page)' : ''} run ${i + 1}: data → laid out ${Math.round(x.layoutMs)} ms, → shown ${Math.round(x.layoutToShown)} ms (${warm ? 'navigation' : 'page opened'} → shown ${Math.round(x.fromNav)} ms); ${x.info}`);
    }
    const worst = Math.max(...r.map((x) => x.layoutToShown));
    const worstTask = Math.max(...r.map((x) => x.maxTask));
    const from = r.map((x) => `${Math.round(x.fromNav)}`).join(', ');
    if (!warm) {
      row('Lineage 1,000 nodes / 2,000 edges: data → laid out and shown (nodes and edges)', '≤ 2 s', `${r.map((x) => `${Math.round(x.layoutToShown)} ms`).join(', ')} (3 runs, each a cold page; ELK in a Web Worker; ${r[0].rendered} nodes in view rendered; page opened → shown ${from} ms)`, worst <= 2000);
      row('Lineage: longest main-thread task meanwhile', '≤ 200 ms', `${r.map((x) => `${Math.round(x.maxTask)} ms`).join(', ')}`, worstTask <= 200);
    } else {
      row('Lineage, opened after a product page (worker started while idle): data → laid out and shown', '≤ 2 s', `${r.map((x) => `${Math.round(x.layoutToShown)} ms`).join(', ')} (3 runs; navigation → shown ${from} ms; longest main-thread task ${r.map((x) => `${Math.round(x.maxTask)}`).join(', ')} ms)`, worst <= 2000 && worstTask <= 200);
    }
  }

  // The real flow on the demo (a small graph): a product page, 3 s idle, then a click on its Lineage
  // tab; the clock runs from the click to the frame after the nodes and edges are in the DOM.
  if (want('lineage') || want('lineage-tab')) {
    const r = [];
    for (let i = 0; i < 3; i++) {
      const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await ctx.newPage();
      await page.addInitScript(() => {
        const obs = new MutationObserver(() => {
          if (!window.__shown && document.querySelector('.react-flow__node') && document.querySelector('.react-flow__edge')) {
            requestAnimationFrame(() => (window.__shown = performance.now()));
            obs.disconnect();
          }
        });
        document.addEventListener('DOMContentLoaded', () => obs.observe(document.body, { subtree: true, childList: true }));
      });
      await page.goto(`${server.base}/products/orders.enriched-orders`);
      const tab = page.getByRole('tab', { name: /Lineage/ });
      await tab.waitFor();
      await page.waitForTimeout(3000);
      const t = await page.evaluate(() => performance.now());
      await tab.click();
      await page.waitForFunction(() => window.__shown, null, { timeout: 60_000 });
      const x = await page.evaluate((t) => ({ ms: window.__shown - t, nodes: document.querySelectorAll('.react-flow__node').length }), t);
      r.push(x);
      console.error(`lineage tab run ${i + 1}: click → shown ${Math.round(x.ms)} ms (${x.nodes} nodes)`);
      await ctx.close();
    }
    row(`Lineage tab of a demo product (${r[0].nodes} nodes), 3 s after the page loaded: click → laid out and shown`, '—', r.map((x) => `${Math.round(x.ms)} ms`).join(', '), true);
  }

  // 4. Live tail: 200 records/s for 60 s.
  if (want('tail')) {
    const alice = await demoToken(server.base, 'alice');
    const pub = await gql(
      server.base,
      `mutation($i: PublishDataProductInput!) { publishDataProduct(input: $i) { qualifiedName topic { name } } }`,
      {
        i: {
          domain: 'orders',
          name: 'bench-tail',
          description: 'Benchmark records',
          sla: { tier: 'BRONZE' },
          topic: { partitions: 1 },
          schema: { format: 'JSON_SCHEMA', definition: JSON.stringify({ type: 'object', properties: { n: { type: 'integer' }, pad: { type: 'string' } }, required: ['n'] }) },
        },
      },
      alice,
    );
    if (pub.errors) throw new Error(JSON.stringify(pub.errors));
    const topic = pub.data.publishDataProduct.topic.name;
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await ctx.addInitScript((t) => localStorage.setItem('mesh.portal.token', t), alice);
    const page = await ctx.newPage();
    const cdp = await ctx.newCDPSession(page);
    await cdp.send('Performance.enable');
    await page.goto(`${server.base}/products/orders.bench-tail?tab=live`);
    await page.getByTestId('tail-start').click();
    await page.waitForTimeout(2000);
    const kafka = new Kafka({ clientId: 'portal-bench', brokers: [server.kafka], logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    const heap = async () => {
      await cdp.send('HeapProfiler.collectGarbage').catch(() => {});
      const { metrics } = await cdp.send('Performance.getMetrics');
      return metrics.find((m) => m.name === 'JSHeapUsedSize').value / 1024 / 1024;
    };
    let sent = 0;
    const heapAt = {};
    const t0 = Date.now();
    const perTick = TAIL_RATE / 20; // every 50 ms
    for (let tick = 0; tick < TAIL_SECONDS * 20; tick++) {
      const due = t0 + tick * 50;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const messages = Array.from({ length: perTick }, () => ({ key: `k${sent % 97}`, value: JSON.stringify({ n: sent++, pad: 'x'.repeat(100) }) }));
      await producer.send({ topic, messages, compression: CompressionTypes.None });
      const sec = (tick + 1) / 20;
      if (sec === 10 || sec === TAIL_SECONDS || (sec % 10 === 0 && sec > 10)) heapAt[sec] = await heap();
    }
    const elapsed = (Date.now() - t0) / 1000;
    await producer.disconnect();
    let shown = 0;
    const until = Date.now() + 30_000;
    while (Date.now() < until) {
      shown = Number(await page.getByTestId('tail-records').innerText());
      if (shown >= sent) break;
      await page.waitForTimeout(250);
    }
    const lagged = await page.getByTestId('tail-counts').innerText();
    const h10 = heapAt[10];
    const hEnd = heapAt[TAIL_SECONDS];
    row(
      `Live tail: ${TAIL_RATE} records/s for ${TAIL_SECONDS} s`,
      'no record lost on the count',
      `${sent} produced in ${elapsed.toFixed(1)} s, ${shown} counted on screen (${lagged.replace(/\s+/g, ' ').trim()})`,
      shown === sent,
    );
    row(
      'Live tail: page memory (JS heap after GC)',
      'flat after the first 10 s',
      Object.entries(heapAt).map(([s, v]) => `${s} s: ${v.toFixed(1)} MB`).join(', '),
      hEnd <= h10 * 1.25 + 2,
    );
    await ctx.close();
  }
} finally {
  await browser.close();
  await server.stop();
}

console.log(`\nPortal benchmark (${quick ? 'quick' : 'full'}), ${new Date().toISOString()}, Chromium ${await (async () => {
  try {
    const b = await launch();
    const v = b.version();
    await b.close();
    return v;
  } catch {
    return '?';
  }
})()}, ${cpus().length} cores, load average ${loadStart.toFixed(1)} at the start and ${loadavg()[0].toFixed(1)} at the end\n`);
console.log('| Measure | Target | Measured | Met |');
console.log('|---|---|---|---|');
for (const r of rows) console.log(`| ${r.what} | ${r.target} | ${r.measured} | ${r.ok ? 'yes' : '**no**'} |`);
