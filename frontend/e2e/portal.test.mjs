// End-to-end tests of the portal: a real server with the demo data, Debian's Chromium.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { capture, gql, launch, newSession, startServer, demoToken } from './harness.mjs';

let server;
let browser;
const T = { timeout: 20_000 };

describe('portal', { timeout: 600_000 }, () => {
  before(async () => {
    server = await startServer();
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('sign-in: pick a demo user, see who you are and your teams', async () => {
    const s = await newSession(browser, server);
    const { page } = s;
    await page.goto('/sign-in');
    await page.getByTestId('demo-user-alice').waitFor(T);
    await capture(page, 'sign-in');
    await page.getByTestId('demo-user-alice').click();
    await page.waitForURL((u) => u.pathname === '/', T);
    await page.getByTestId('signin-link').getByText('alice').waitFor(T);
    await page.goto('/sign-in');
    const who = page.getByTestId('whoami');
    await who.getByText('alice').waitFor(T);
    await who.getByText(/orders-team/).waitFor(T);
    await capture(page, 'signed-in');
    // A refused token gives a clear message and a way back.
    await page.evaluate(() => localStorage.setItem('mesh.portal.token', 'not-a-jwt'));
    await page.goto('/');
    await page.locator('.banner').getByText(/token was refused|token has expired/).waitFor(T);
    await page.getByRole('link', { name: 'Sign in again' }).waitFor(T);
    s.problems.splice(0); // the refused token's 401 is logged by the browser itself
    await s.context.close();
  });

  test('a server as deployed: reading needs a token, signing in is pasting one', async () => {
    const deployed = await startServer({ demo: false });
    const context = await browser.newContext({ baseURL: deployed.base, viewport: { width: 1280, height: 900 } });
    try {
      const page = await context.newPage();
      await page.goto('/');
      const refusal = page.getByRole('alert').filter({ hasText: 'not signed in' });
      await refusal.getByText('UNAUTHENTICATED').waitFor(T);
      await refusal.getByRole('link', { name: 'Sign in' }).click();
      await page.waitForURL((u) => u.pathname === '/sign-in', T);
      await page.getByRole('heading', { name: 'Paste a token' }).waitFor(T);
      await page.getByText('Looking for demo users…').waitFor({ state: 'detached', ...T });
      // No demo users on such a server: nothing about them is shown.
      assert.equal(await page.getByText(/demo/i).count(), 0, 'the sign-in page of a server not in demo mode mentions the demo');
      await capture(page, 'sign-in-deployed');
      await page.getByLabel(/JWT/).fill(deployed.token('ada'));
      await page.getByRole('button', { name: 'Use this token' }).click();
      await page.getByTestId('whoami').getByText('ada').waitFor(T);
      await page.goto('/');
      await page.getByTestId('result-count').getByText(/^0 products/).waitFor(T);
      assert.equal(await page.getByText('UNAUTHENTICATED').count(), 0);
    } finally {
      await context.close();
      await deployed.stop();
    }
  });

  test('discover: typo, typeahead, facet keeps the text, URL state, pagination', async () => {
    const s = await newSession(browser, server);
    const { page } = s;
    await page.goto('/');
    const box = page.getByTestId('search-input');
    await box.waitFor(T);
    await box.fill('shipmnet');
    await page.locator('.hit-title', { hasText: /Shipments/i }).first().waitFor(T);
    await page.waitForURL((u) => u.searchParams.get('q') === 'shipmnet', T);
    // highlights and matched field
    await page.locator('.hit mark').first().waitFor(T);
    await page.locator('.matched-field').first().waitFor(T);
    // facet narrows and keeps the text
    const before = await page.getByTestId('result-count').innerText();
    await page.getByTestId('facet-domain').getByLabel(/logistics/).check();
    await page.waitForURL((u) => u.searchParams.get('domain') === 'logistics' && u.searchParams.get('q') === 'shipmnet', T);
    await page.getByRole('button', { name: /Domain: logistics/ }).waitFor(T);
    await page.waitForFunction((b) => document.querySelector('[data-testid=result-count]')?.textContent !== b || true, before);
    const domains = await page.locator('.hit .hit-meta .muted').allInnerTexts();
    assert.ok(domains.length > 0 && domains.every((d) => d.startsWith('logistics')), `every hit in logistics: ${domains}`);
    assert.equal(await box.inputValue(), 'shipmnet');
    // the URL reproduces the search
    const url = page.url();
    await page.goto(url);
    await page.getByRole('button', { name: /Domain: logistics/ }).waitFor(T);
    assert.equal(await page.getByTestId('search-input').inputValue(), 'shipmnet');
    await capture(page, 'search');
    // enumerations' facets in words; the URL keeps the API's spelling
    assert.match(await page.getByTestId('facet-format').innerText(), /JSON Schema/);
    await page.getByTestId('facet-status').getByLabel(/Deprecated/).check();
    await page.waitForURL((u) => u.searchParams.get('status') === 'DEPRECATED', T);
    await page.getByRole('button', { name: /Status: Deprecated/ }).waitFor(T);
    await page.waitForFunction(() => {
      const badges = [...document.querySelectorAll('.hit .badge[class*="status-"]')].map((b) => b.textContent);
      return badges.length > 0 && badges.every((b) => b === 'DEPRECATED');
    }, null, T);
    // a facet with many values lists the first twelve, then all of them on request
    await page.goto('/');
    const tags = page.getByTestId('facet-tag');
    await tags.getByRole('checkbox').first().waitFor(T);
    assert.equal(await tags.getByRole('checkbox').count(), 12);
    const all = tags.getByRole('button', { name: /^Show all \d+$/ });
    const n = Number((await all.innerText()).match(/\d+/)[0]);
    await all.click();
    assert.equal(await tags.getByRole('checkbox').count(), n);
    // typeahead
    await page.goto('/');
    await page.getByTestId('search-input').pressSequentially('recomm', { delay: 40 });
    await page.getByRole('option', { name: /marketing\.recommendations/ }).waitFor(T);
    await page.getByRole('option', { name: /marketing\.recommendations/ }).click();
    await page.waitForURL(/\/products\/marketing\.recommendations/, T);
    // a pasted word longer than any indexed word finds nothing, without an error
    await page.goto('/');
    await page.getByTestId('search-input').fill('x'.repeat(300));
    await page.waitForURL((u) => u.searchParams.get('q')?.length === 300, T);
    await page.getByTestId('result-count').getByText(/^0 products/).waitFor(T);
    assert.equal(await page.locator('[role=alert], .error').count(), 0);
    // with no filter set, nothing offers to clear them
    assert.match(await page.getByTestId('hits').locator('..').innerText(), /another spelling/);
    assert.equal(await page.getByRole('button', { name: 'clear the filters' }).count(), 0);
    // pagination over everything
    await page.goto('/');
    // descriptions are cut at a word's end, marked with an ellipsis
    await page.locator('.hit .desc').first().waitFor(T);
    const descriptions = await page.locator('.hit .desc').allInnerTexts();
    assert.ok(descriptions.length > 0);
    for (const d of descriptions) assert.ok(d.length <= 200 || (d.length === 201 && d.endsWith('…')), d);
    assert.ok(descriptions.some((d) => d.endsWith('…')), 'no description long enough to be cut');
    // as plain text: the demo's descriptions hold Markdown (**Draft:**, `code`)
    for (const d of descriptions) assert.doesNotMatch(d, /\*\*|`/, d);
    await page.getByRole('button', { name: 'Next page' }).click();
    await page.waitForURL((u) => u.searchParams.has('pg'), T);
    await page.getByText('Page 2', { exact: true }).waitFor(T);
    // the next page starts at the top of its results, not at the pager
    const barBottom = await page.locator('.topbar').evaluate((e) => e.getBoundingClientRect().bottom);
    const resultsTop = await page.getByTestId('result-count').evaluate((e) => e.getBoundingClientRect().top);
    assert.ok(resultsTop >= barBottom && resultsTop < barBottom + 150, `the results' top at ${resultsTop}px, the bar's bottom at ${barBottom}px`);
    s.assertQuietConsole();
    await s.context.close();
  });

  test('domains browse', async () => {
    const s = await newSession(browser, server);
    await s.page.goto('/domains');
    await s.page.getByRole('heading', { name: 'orders' }).waitFor(T);
    await capture(s.page, 'domains');
    s.assertQuietConsole();
    await s.context.close();
  });

  test('product page: open from the results, SLA vs live health, deprecation banner', async () => {
    const s = await newSession(browser, server, 'alice');
    const { page } = s;
    // The server has watched the topic for a few seconds already.
    const history = '{ dataProduct(qualifiedName: "orders.order-events") { liveHistory(minutes: 1) { at } } }';
    for (let i = 0; i < 100; i += 1) {
      const { data } = await gql(server.base, history, {}, await demoToken(server.base, 'alice'));
      if (data?.dataProduct?.liveHistory?.length >= 4) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await page.goto('/?q=order%20events');
    const opened = Date.now() / 1000;
    await page.getByRole('link', { name: 'Order Events', exact: true }).first().click();
    await page.waitForURL(/\/products\/orders\.order-events$/, T);
    await page.getByRole('heading', { name: 'Order Events', level: 1 }).waitFor(T);
    await page.getByTestId('live-health').waitFor(T);
    await page.getByRole('heading', { name: /Quality checks/ }).waitFor(T);
    await page.getByTestId('topic-status').getByText(/exists/).waitFor(T);
    await page.locator('.chart canvas').first().waitFor(T);
    // The charts start with the server's recent history (`liveHistory`),
    // from before the page was opened, not only with the live samples.
    await page.waitForFunction((t) => Number(document.querySelector('figure.chart')?.dataset.from) < t - 1, opened, T);
    await capture(page, 'product');
    await page.getByRole('tab', { name: /Consumers/ }).click();
    await page.getByRole('heading', { name: 'Consumers' }).waitFor(T);
    await capture(page, 'product-consumers');
    await page.goto('/products/orders.order-events-v1');
    await page.getByTestId('deprecation-banner').waitFor(T);
    s.assertQuietConsole();
    await s.context.close();
  });

  test('deprecation banner links the successor, and the link opens it', async () => {
    const s = await newSession(browser, server);
    const { page } = s;
    await page.goto('/products/orders.order-events-v1');
    const banner = page.getByTestId('deprecation-banner');
    await banner.waitFor(T);
    const link = banner.getByRole('link', { name: 'orders.order-events', exact: true });
    await link.waitFor(T);
    assert.equal(await link.getAttribute('href'), '/products/orders.order-events');
    await link.click();
    await page.waitForURL((u) => u.pathname === '/products/orders.order-events', T);
    await page.getByRole('heading', { name: 'Order Events', level: 1 }).waitFor(T);
    assert.equal(await page.getByTestId('deprecation-banner').count(), 0, 'the successor is not deprecated');
    // A successor the reader cannot see (private) is not named.
    await page.goto('/products/payments.payment-events');
    await page.getByTestId('deprecation-banner').getByText(/Replaced by/).waitFor(T);
    assert.equal(await page.getByTestId('successor-link').count(), 0);
    s.assertQuietConsole();
    await s.context.close();
  });

  test('schema: switch versions and see the diff', async () => {
    const s = await newSession(browser, server);
    const { page } = s;
    await page.goto('/products/orders.order-events?tab=schema');
    const table = page.getByTestId('field-table');
    await table.waitFor(T);
    const latestRows = await table.locator('tbody tr').count();
    await page.getByTestId('schema-version').selectOption('1');
    await page.waitForURL((u) => u.searchParams.get('v') === '1', T);
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=field-table] tbody tr').length !== n, latestRows, T);
    await page.getByTestId('diff-from').selectOption('1');
    await page.getByTestId('diff-changes').locator('li').first().waitFor(T);
    await page.getByTestId('schema-merge').locator('.cm-mergeView, .cm-editor').first().waitFor(T);
    assert.ok((await page.getByTestId('diff-changes').locator('.change').count()) > 0, 'the diff lists changes');
    await capture(page, 'schema');
    // a version compared with itself says so, rather than an empty diff
    await page.getByTestId('diff-to').selectOption('1');
    await page.getByText('v1 against itself').waitFor(T);
    assert.equal(await page.getByTestId('diff-changes').count(), 0);
    // On a phone the fields stack, one block each: nothing to scroll sideways.
    await page.setViewportSize({ width: 390, height: 844 });
    const wrap = await table.evaluate((t) => ({ scroll: t.parentElement.scrollWidth, client: t.parentElement.clientWidth }));
    assert.ok(wrap.scroll <= wrap.client, `the field table fits 390 px: ${JSON.stringify(wrap)}`);
    assert.match(await table.locator('tbody td[data-label=Doc]').first().evaluate((e) => getComputedStyle(e, '::before').content), /Doc/);
    s.assertQuietConsole();
    await s.context.close();
  });

  test('lineage: walk the graph two levels, expand depth, impact', async () => {
    const s = await newSession(browser, server);
    const { page } = s;
    await page.goto('/products/orders.enriched-orders?tab=lineage');
    const canvas = page.getByTestId('lineage-canvas');
    await canvas.locator('.react-flow__node').first().waitFor(T);
    await page.getByTestId('impact').waitFor(T);
    await capture(page, 'lineage');
    // first hop: a downstream product
    const node1 = canvas.locator('.react-flow__node.lnode-product.lnode-depth-1').first();
    const name1 = (await node1.innerText()).trim();
    await node1.click();
    await page.waitForURL((u) => u.pathname === `/products/${name1}` && u.searchParams.get('tab') === 'lineage', T);
    await page.getByRole('heading', { level: 1 }).waitFor(T);
    // expand to depth 2
    await page.getByTestId('lineage-expand').click();
    await page.waitForURL((u) => u.searchParams.get('depth') === '2', T);
    await page.getByText('Depth 2', { exact: true }).waitFor(T);
    const canvas2 = page.getByTestId('lineage-canvas');
    await canvas2.locator('.react-flow__node').first().waitFor(T);
    // second hop
    const node2 = canvas2.locator('.react-flow__node.lnode-product.lnode-depth-2').first();
    const name2 = (await node2.innerText()).trim();
    assert.notEqual(name2, name1);
    await node2.click();
    await page.waitForURL((u) => u.pathname === `/products/${name2}` && u.searchParams.get('depth') === '2', T);
    s.assertQuietConsole();
    await s.context.close();
  });

  test('lineage: expand nodes on demand, the URL holds the expansion, collapse', async () => {
    const s = await newSession(browser, server);
    const { page } = s;
    // One query per expanded node, never one per node of the graph.
    const expandQueries = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && r.url().endsWith('/graphql') && r.postData()?.includes('LineageExpand')) expandQueries.push(JSON.parse(r.postData()).variables);
    });
    await page.goto('/products/orders.enriched-orders?tab=lineage');
    const canvas = page.getByTestId('lineage-canvas');
    const node = (name) => canvas.locator('.react-flow__node', { hasText: new RegExp(`^${name.replace(/\./g, '\\.')}$`) });
    await node('analytics.daily-revenue').waitFor(T);
    assert.equal(await node('finance-reporting').count(), 0);
    // Nodes inside the walk offer nothing; the root neither.
    assert.equal(await canvas.getByRole('button', { name: 'Expand the lineage of orders.enriched-orders' }).count(), 0);

    // Keyboard: focus the node's expand control and press Enter.
    const expand = canvas.getByRole('button', { name: 'Expand the lineage of analytics.daily-revenue' });
    await expand.focus();
    await page.keyboard.press('Enter');
    await page.waitForURL((u) => u.searchParams.getAll('expand').includes('analytics.daily-revenue'), T);
    await node('finance-reporting').waitFor(T);
    assert.equal(new URL(page.url()).pathname, '/products/orders.enriched-orders', 'expanding does not navigate');
    await canvas.getByRole('button', { name: 'Collapse the lineage of analytics.daily-revenue' }).waitFor(T);
    // A node an expansion brought in can be expanded in turn (an application here).
    await canvas.getByRole('button', { name: 'Expand the lineage of finance-reporting' }).click();
    await page.waitForURL((u) => u.searchParams.getAll('expand').includes('app:finance-reporting'), T);
    await node('payments.ledger-entries').waitFor(T);
    // Upstream: the inputs of the application that writes the product, one of them hidden from this reader.
    await canvas.getByRole('button', { name: 'Expand the lineage of order-enricher' }).click();
    await node('orders.order-events').waitFor(T);
    await canvas.locator('.react-flow__node.lnode-restricted').first().waitFor(T);
    await page.getByTestId('lineage-summary').getByText(/3 nodes expanded/).waitFor(T);
    await page.getByTestId('lineage-canvas').and(page.locator('[data-laid-out=yes]')).waitFor(T);
    await capture(page, 'lineage-expanded');
    assert.deepEqual(
      expandQueries.map((v) => [v.of, v.direction]),
      [
        [{ product: 'analytics.daily-revenue' }, 'DOWNSTREAM'],
        [{ application: 'finance-reporting' }, 'DOWNSTREAM'],
        [{ application: 'order-enricher' }, 'UPSTREAM'],
      ],
    );

    // The URL reproduces the view (a shared link).
    const shared = page.url();
    const s2 = await newSession(browser, server);
    await s2.page.goto(shared);
    const canvas2 = s2.page.getByTestId('lineage-canvas');
    for (const name of ['finance-reporting', 'payments.ledger-entries', 'orders.order-events']) await canvas2.locator('.react-flow__node', { hasText: name }).first().waitFor(T);
    s2.assertQuietConsole();
    await s2.context.close();

    // Collapsing a node drops its expansion and those made through it.
    await canvas.getByRole('button', { name: 'Collapse the lineage of analytics.daily-revenue' }).click();
    await page.waitForURL((u) => !u.searchParams.getAll('expand').includes('analytics.daily-revenue'), T);
    await node('payments.ledger-entries').waitFor({ state: 'detached', ...T });
    assert.equal(await node('finance-reporting').count(), 0);
    assert.deepEqual(new URL(page.url()).searchParams.getAll('expand'), ['app:order-enricher']);
    await node('orders.order-events').waitFor(T);
    s.assertQuietConsole();
    await s.context.close();
  });

  test('publish a product, then find it by search', async () => {
    const s = await newSession(browser, server, 'alice');
    const { page } = s;
    await page.goto('/publish');
    await page.getByLabel('Name', { exact: true }).fill('portal-test-notes');
    await page.getByLabel('Display name').fill('Portal Test Notes');
    await page.getByLabel('Description (Markdown)').fill(
      'Notes written by the **portal** end-to-end test.\n\n- one `id`\n- two\n\n<img src=x onerror="window.pwned=1"> [docs](javascript:window.pwned=1)',
    );
    await page.getByLabel('Tags (comma-separated)').fill('orders, e2e');
    await capture(page, 'publish');
    await page.getByTestId('publish-submit').click();
    await page.waitForURL(/\/products\/orders\.portal-test-notes/, T);
    await page.getByRole('heading', { name: 'Portal Test Notes', level: 1 }).waitFor(T);
    // the description as Markdown, without its raw HTML or a script link
    const rich = page.locator('.rich-text');
    assert.equal(await rich.locator('strong').innerText(), 'portal');
    assert.deepEqual(await rich.locator('li').allInnerTexts(), ['one id', 'two']);
    assert.equal(await rich.locator('li code').innerText(), 'id');
    assert.equal(await rich.locator('img').count(), 0);
    assert.ok(!((await rich.getByText('docs').getAttribute('href')) ?? '').startsWith('javascript'));
    assert.equal(await page.evaluate(() => window.pwned), undefined);
    await page.goto('/?q=portal-test-notes');
    await page.getByRole('link', { name: 'Portal Test Notes' }).waitFor(T);
    // evolve: an incompatible schema is refused before submit
    await page.goto('/publish/orders.portal-test-notes');
    await page.getByTestId('schema-editor').locator('.cm-content').waitFor(T);
    await page.getByTestId('schema-editor').locator('.cm-content').click();
    await page.keyboard.press('Control+A');
    await page.keyboard.insertText('{"type":"object","properties":{"id":{"type":"integer"}},"required":["id"],"additionalProperties":false}');
    await page.getByTestId('check-compat').click();
    await page.getByTestId('compat-report').waitFor(T);
    await page.getByRole('heading', { name: /Downstream impact/ }).waitFor(T);
    await capture(page, 'evolve');
    // deprecate with a reason and a sunset date: the banner says so
    const alice = await demoToken(server.base, 'alice');
    const made = await gql(
      server.base,
      'mutation($i: PublishDataProductInput!) { publishDataProduct(input: $i) { qualifiedName } }',
      { i: { domain: 'orders', name: 'portal-old-notes', description: 'Old notes', schema: { format: 'JSON_SCHEMA', definition: '{"type":"object","properties":{"id":{"type":"string"}}}' } } },
      alice,
    );
    assert.ok(!made.errors, JSON.stringify(made.errors));
    await page.goto('/products/orders.portal-old-notes');
    await page.getByRole('button', { name: 'Deprecate' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Reason (shown to consumers)').fill('Replaced by order comments');
    await dialog.getByLabel('Sunset date').fill('2027-06-30');
    await dialog.getByRole('button', { name: 'Deprecate' }).click();
    await page.getByTestId('deprecation-banner').getByText('2027-06-30').waitFor(T);
    await page.getByRole('button', { name: 'Retire' }).waitFor(T);
    s.assertQuietConsole();
    await s.context.close();
  });

  test('deprecate with a successor from the typeahead; a refused successor shows the server message', async () => {
    const alice = await demoToken(server.base, 'alice');
    const made = await gql(
      server.base,
      'mutation($i: PublishDataProductInput!) { publishDataProduct(input: $i) { qualifiedName } }',
      { i: { domain: 'orders', name: 'portal-old-events', description: 'Old events', schema: { format: 'JSON_SCHEMA', definition: '{"type":"object","properties":{"id":{"type":"string"}}}' } } },
      alice,
    );
    assert.ok(!made.errors, JSON.stringify(made.errors));
    const s = await newSession(browser, server, 'alice');
    const { page } = s;
    await page.goto('/products/orders.portal-old-events');
    await page.getByRole('button', { name: 'Deprecate' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Reason (shown to consumers)').fill('Superseded by the order events');
    const successor = dialog.getByRole('combobox', { name: /Successor/ });
    // The server refuses the product itself as its successor: its message is shown in the form.
    await successor.fill('orders.portal-old-events');
    await dialog.getByRole('button', { name: 'Deprecate' }).click();
    await dialog.getByRole('alert').getByText(/cannot be its own successor/).waitFor(T);
    await dialog.getByRole('alert').getByText('VALIDATION').waitFor(T);
    await capture(page, 'deprecate-refused', { fullPage: false });
    // Pick the successor from the suggestions (published products only).
    await successor.fill('');
    await successor.pressSequentially('order-ev', { delay: 40 });
    const option = page.getByRole('option', { name: /^orders\.order-events —/ });
    await option.waitFor(T);
    assert.equal(await page.getByRole('option', { name: /order-events-v1/ }).count(), 0, 'a deprecated product is not offered');
    await option.click();
    assert.equal(await successor.inputValue(), 'orders.order-events');
    await dialog.getByRole('button', { name: 'Deprecate' }).click();
    await dialog.waitFor({ state: 'detached', ...T });
    const link = page.getByTestId('deprecation-banner').getByRole('link', { name: 'orders.order-events', exact: true });
    await link.waitFor(T);
    assert.equal(await link.getAttribute('href'), '/products/orders.order-events');
    const check = await gql(server.base, '{ dataProduct(qualifiedName: "orders.portal-old-events") { status deprecation { successor { qualifiedName } } } }', {}, alice);
    assert.equal(check.data.dataProduct.deprecation.successor.qualifiedName, 'orders.order-events');
    s.assertQuietConsole();
    await s.context.close();
  });

  test('adopt a topic that is not a product yet, and watch records arrive in its live tail', async () => {
    const kafka = new Kafka({ clientId: 'portal-e2e', brokers: [server.kafka], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'legacy-portal-clicks', numPartitions: 1, replicationFactor: 1 }] });
    await admin.disconnect();
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const click = (i) => ({ key: `u${i}`, value: JSON.stringify({ userId: `u${i}`, page: `/p/${i}`, at: new Date().toISOString() }) });
    await producer.send({ topic: 'legacy-portal-clicks', messages: [0, 1, 2, 3, 4].map(click) });

    const s = await newSession(browser, server, 'alice');
    const { page } = s;
    await page.goto('/adopt');
    const card = page.getByTestId('topic-legacy-portal-clicks');
    await card.waitFor(T);
    await capture(page, 'adopt');
    await card.getByRole('button', { name: 'Publish as a product' }).click();
    await card.getByLabel('Description').fill('Clicks of the old shop, adopted by the e2e test');
    await card.getByTestId('adopt-submit').click();
    await page.waitForURL(/\/products\/orders\.legacy-portal-clicks/, T);
    await page.getByRole('tab', { name: 'Live tail' }).click();
    await page.waitForURL((u) => u.searchParams.get('tab') === 'live', T);
    await page.getByTestId('tail-start').click();
    await page.getByText('Live', { exact: false }).first().waitFor(T);
    await page.waitForTimeout(1500);
    await producer.send({ topic: 'legacy-portal-clicks', messages: [10, 11, 12, 13, 14, 15, 16].map(click) });
    await page.waitForFunction(() => parseInt(document.querySelector('[data-testid=tail-records]')?.textContent ?? '') >= 7, null, { timeout: 20_000 });
    await page.getByTestId('tail-list').getByText('/p/16').waitFor(T);
    // a row shows what fits; selecting it shows the record in full
    await page.getByTestId('tail-list').getByText('/p/16').click();
    const detail = page.getByTestId('tail-detail');
    await detail.getByText('"page": "/p/16"', { exact: false }).waitFor(T);
    await detail.getByText('key u16', { exact: false }).waitFor(T);
    // a record that is not JSON arrives as a decode error, shown as such
    await producer.send({ topic: 'legacy-portal-clicks', messages: [{ key: 'bad', value: 'not json at all' }] });
    await page.waitForFunction(() => parseInt(document.querySelector('[data-testid=tail-decode-errors]')?.textContent ?? '') >= 1, null, { timeout: 20_000 });
    await page.getByTestId('tail-list').getByText('decode error').first().waitFor(T);
    await capture(page, 'live-tail', { fullPage: false });
    await page.getByTestId('tail-stop').click();
    await producer.disconnect();
    s.assertQuietConsole();
    await s.context.close();
  });

  test('create an application, register a use case and see it in lineage', async () => {
    const s = await newSession(browser, server, 'alice');
    const { page } = s;
    await page.goto('/apps');
    await page.getByText('Create an application').click();
    await page.getByLabel('Name', { exact: true }).fill('notes-app');
    await page.getByLabel('Description').fill('Reads the portal notes');
    await page.getByLabel('Owner team').selectOption('orders-team');
    await capture(page, 'apps');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.waitForURL(/\/apps\/notes-app$/, T);
    await page.getByRole('heading', { name: 'notes-app', level: 1 }).waitFor(T);
    await page.getByText('Register a use case', { exact: true }).click();
    await page.getByLabel('Name (lowercase, digits, dashes)').fill('notes-enricher');
    await page.getByLabel('Kind').selectOption('ENRICH');
    await page.getByLabel('Description', { exact: true }).fill('Adds the portal notes to orders');
    await page.getByLabel(/Input products/).fill('orders.portal-test-notes');
    await page.getByLabel('Output products').fill('orders.enriched-orders');
    await page.getByTestId('uc-submit').click();
    await page.getByText(/Registered notes-enricher/).waitFor(T);
    // the input it did not hold yet was requested for it
    await page.getByTestId('sub-orders.portal-test-notes').getByText('PENDING').waitFor(T);
    await page.getByText('notes-enricher', { exact: true }).waitFor(T);
    await page.getByTestId('lineage-canvas').getByText('orders.portal-test-notes').waitFor(T);
    await capture(page, 'app');
    s.assertQuietConsole();
    await s.context.close();
  });

  test('request access, the owner approves, the requester sees it change live', async () => {
    const requester = await newSession(browser, server, 'alice');
    const owner = await newSession(browser, server, 'priya');
    const rp = requester.page;
    // A deprecated product takes no new subscriptions: nothing offers one.
    await rp.goto('/products/orders.order-events-v1');
    await rp.getByTestId('deprecation-banner').waitFor(T);
    await rp.getByRole('heading', { level: 1 }).waitFor(T);
    assert.equal(await rp.getByRole('button', { name: 'Request access' }).count(), 0);
    await rp.goto('/products/payments.refunds');
    await rp.getByRole('button', { name: 'Request access' }).click();
    const dialog = rp.getByRole('dialog');
    await dialog.getByLabel('For the application').selectOption('order-enricher');
    await dialog.getByLabel(/Purpose/).fill('Refunds next to enriched orders');
    await capture(rp, 'request-access', { fullPage: false });
    await dialog.getByRole('button', { name: 'Send request' }).click();
    await dialog.getByText(/Request sent/).waitFor(T);
    await dialog.getByRole('button', { name: 'Close' }).click();
    await rp.goto('/apps/order-enricher');
    const row = rp.getByTestId('sub-payments.refunds');
    await row.getByText('PENDING').waitFor(T);
    await rp.waitForTimeout(1000); // the live subscription is up

    // The owner sees the request among the product's consumers, in the
    // same words as the requester's application page.
    const op = owner.page;
    const cells = (tr) => tr.locator('td').allTextContents();
    const consumer = async () => {
      await op.goto('/products/payments.refunds');
      await op.getByRole('tab', { name: /Consumers/ }).click();
      const tr = op.getByTestId('sub-order-enricher');
      await tr.waitFor(T);
      return (await cells(tr)).slice(1); // after the team's column
    };
    const pending = await cells(row);
    assert.deepEqual([pending[0], pending[1], pending[4]], ['PENDING', '—', 'waiting for the owners']);
    assert.deepEqual(await consumer(), pending);

    await op.goto('/inbox');
    const card = op.getByTestId('request-order-enricher-payments.refunds');
    await card.waitFor(T);
    await capture(op, 'inbox');
    await card.getByRole('button', { name: 'Approve' }).click();
    await card.waitFor({ state: 'detached', timeout: 20_000 });

    // No reload on the requester's side.
    await row.getByText('APPROVED').waitFor({ timeout: 20_000 });
    const approval = await cells(row);
    assert.equal(approval[1], 'masked');
    assert.match(approval[4], /^priya, /);
    assert.deepEqual(await consumer(), approval);
    // The owner revokes it; the requester sees that too.
    await op.goto('/inbox');
    const approved = op.locator('li.card', { hasText: 'order-enricher reads' }).filter({ hasText: 'payments.refunds' });
    await approved.getByRole('button', { name: 'Revoke' }).click();
    await row.getByText('REVOKED').waitFor({ timeout: 20_000 });
    // the owner's list of ended subscriptions reads product → application, as the activity feed does
    await op.reload();
    await op.getByText(/^Rejected and revoked/).click();
    await op.getByText(/^payments\.refunds → order-enricher: REVOKED by priya, /).waitFor(T);
    requester.assertQuietConsole();
    owner.assertQuietConsole();
    await requester.context.close();
    await owner.context.close();
  });

  test('a private product stays invisible to an outsider', async () => {
    const priya = await demoToken(server.base, 'priya');
    const own = await gql(server.base, '{ dataProduct(qualifiedName: "payments.payment-transactions") { qualifiedName } }', {}, priya);
    assert.equal(own.data.dataProduct.qualifiedName, 'payments.payment-transactions');
    const s = await newSession(browser, server, 'maya');
    const { page } = s;
    await page.goto('/?q=payment-transactions');
    await page.getByTestId('result-count').waitFor(T);
    // Other products are found (a visible product's own field docs may
    // name the private one, and are shown as written), but it is neither
    // a hit nor linked.
    await page.locator('code.qn').first().waitFor(T);
    assert.equal(await page.locator('code.qn', { hasText: /^payments\.payment-transactions$/ }).count(), 0);
    assert.equal(await page.locator('a[href="/products/payments.payment-transactions"]').count(), 0);
    await page.goto('/products/payments.payment-transactions');
    await page.getByRole('heading', { name: /No product/ }).waitFor(T);
    await capture(page, 'not-found');
    s.assertQuietConsole();
    await s.context.close();
  });

  test('activity panel and page show live catalog events', async () => {
    const s = await newSession(browser, server, 'root');
    const { page } = s;
    await page.goto('/activity');
    await page.getByTestId('activity-feed').locator('li').first().waitFor(T);
    await page.getByRole('button', { name: 'Activity' }).click();
    await page.getByTestId('activity-panel').waitFor(T);
    await capture(page, 'activity');
    // With the panel open, a product's overview keeps room for its values
    // (its columns follow the room left, not the window's width).
    await page.goto('/products/orders.order-events');
    await page.getByTestId('live-health').waitFor(T);
    if (!(await page.getByTestId('activity-panel').isVisible())) await page.getByRole('button', { name: 'Activity' }).click();
    await page.getByTestId('activity-panel').waitFor(T);
    const narrowest = await page.locator('dl.kv dd').evaluateAll((dds) => Math.min(...dds.map((d) => d.getBoundingClientRect().width)));
    assert.ok(narrowest >= 120, `every value of the overview at least 120 px wide with the panel open: ${narrowest}`);
    s.assertQuietConsole();
    await s.context.close();
  });

  test('activity filters by kind and domain on the server: older matches are found, older pages load', async () => {
    const s = await newSession(browser, server, 'root');
    const { page } = s;
    const filters = [];
    page.on('request', (r) => {
      if (r.method() !== 'POST' || !r.url().endsWith('/graphql')) return;
      const body = JSON.parse(r.postData() ?? '{}');
      if (/auditLog/.test(body.query ?? '')) filters.push(body.variables);
    });
    const feed = page.getByTestId('activity-feed');
    const history = feed.locator('li.feed-item:not(.live)');
    const badges = () => feed.locator('li .badge').allInnerTexts();
    await page.goto('/activity');
    await history.first().waitFor(T);
    // The first page is 100 entries; the demo's log is longer, the next page loads on demand.
    assert.equal(await history.count(), 100);
    await page.getByRole('button', { name: 'Load older' }).click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=activity-feed] li.feed-item:not(.live)').length > 100, null, T);
    assert.ok(filters.some((v) => v.after && v.first === 100), `the next page is asked for with a cursor: ${JSON.stringify(filters)}`);

    // By kind: the teams were created first of all, far beyond the first page.
    await page.getByLabel('Kind').selectOption('TEAM_CREATED');
    await feed.locator('li', { hasText: 'created team orders-team' }).waitFor(T);
    assert.ok((await badges()).every((b) => b === 'team created'), `only team creations: ${await badges()}`);
    assert.ok(filters.some((v) => JSON.stringify(v.filter) === JSON.stringify({ actions: ['TEAM_CREATED'], domain: null })), JSON.stringify(filters));

    // By domain (and every kind): its creation, an early entry, is found too.
    await page.getByLabel('Kind').selectOption('');
    await page.getByLabel('Domain').fill('logistics');
    await feed.locator('li', { hasText: 'created domain logistics' }).waitFor(T);
    const names = await feed.locator('li').evaluateAll((lis) => lis.map((li) => li.querySelector('a, strong')?.textContent ?? ''));
    assert.ok(names.length > 1 && names.every((n) => n === 'logistics' || n.startsWith('logistics.')), `only logistics entries: ${names}`);
    assert.ok(filters.some((v) => v.filter?.domain === 'logistics' && v.filter.actions.length === 0), JSON.stringify(filters));

    // Both at once.
    await page.getByLabel('Kind').selectOption('PRODUCT_DEPRECATED');
    await page.waitForFunction(
      () => {
        const b = [...document.querySelectorAll('[data-testid=activity-feed] li .badge')].map((e) => e.textContent);
        return b.length > 0 && b.every((t) => t === 'product deprecated');
      },
      null,
      T,
    );
    await feed.getByRole('link', { name: 'logistics.parcel-scans' }).waitFor(T);
    assert.ok(filters.some((v) => v.filter?.domain === 'logistics' && v.filter.actions[0] === 'PRODUCT_DEPRECATED'), JSON.stringify(filters));

    // An unknown domain is said so, not an error.
    await page.getByLabel('Domain').fill('nowhere');
    await page.getByText('No domain “nowhere”.').waitFor(T);
    assert.equal(await feed.locator('li').count(), 0);
    s.assertQuietConsole();
    await s.context.close();
  });

  test('GraphiQL at /graphql, with the portal token', async () => {
    const s = await newSession(browser, server, 'alice');
    const { page } = s;
    await page.goto('/graphql');
    await page.locator('.graphiql-container').waitFor({ timeout: 30_000 });
    await page.locator('.graphiql-query-editor').getByText('viewer').first().waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: /Execute query/i }).click();
    await page.waitForFunction(() => /"subject":\s*"alice"/.test(document.querySelector('.graphiql-response')?.textContent ?? ''), null, { timeout: 30_000 });
    await capture(page, 'graphiql', { fullPage: false, exclude: ['.graphiql-container'] });
    s.assertQuietConsole();
    await s.context.close();
  });

  test('GraphiQL runs a subscription over the WebSocket, loading nothing from outside the server', async () => {
    const s = await newSession(browser, server, 'alice');
    const { page } = s;
    // Offline: every request the page makes goes to the server itself.
    const foreign = [];
    const sockets = [];
    let seen = 0;
    page.on('request', (r) => {
      const url = r.url();
      if (url.startsWith('data:') || url.startsWith('blob:')) return;
      seen += 1;
      if (!url.startsWith(`${server.base}/`) && url !== server.base) foreign.push(url);
    });
    page.on('websocket', (ws) => sockets.push(ws.url()));
    await page.goto('/graphql');
    await page.locator('.graphiql-container').waitFor({ timeout: 30_000 });
    const editor = page.locator('.graphiql-query-editor');
    await editor.getByText('viewer').first().waitFor({ timeout: 30_000 });
    await editor.locator('.view-lines').click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText(
      'subscription { productHealth(product: "orders.order-events", intervalSeconds: 1) { product at freshness eventsPerSecond } }',
    );
    await editor.getByText('productHealth').first().waitFor({ timeout: 30_000 });
    // GraphiQL parses the edit 100 ms after the last keystroke (and stores the query in
    // the same step); only then does its fetcher know this is a subscription and use the
    // WebSocket. Executing earlier would send the new text with the old parse over HTTP.
    await page.waitForFunction(() => (localStorage.getItem('graphiql:query') ?? '').includes('productHealth'), null, { timeout: 30_000 });
    await page.getByRole('button', { name: /Execute query/i }).click();
    const response = () => document.querySelector('.graphiql-response')?.textContent ?? '';
    await page.waitForFunction(() => /"product":\s*"orders\.order-events"/.test(document.querySelector('.graphiql-response')?.textContent ?? ''), null, {
      timeout: 45_000,
    });
    const at = (text) => /"at":\s*"([^"]+)"/.exec(text)?.[1];
    const first = at(await page.evaluate(response));
    assert.ok(first, 'the first tick carries its time');
    // It streams: with a 1 s interval the next tick replaces the figures.
    await page.waitForFunction(
      (prev) => {
        const m = /"at":\s*"([^"]+)"/.exec(document.querySelector('.graphiql-response')?.textContent ?? '');
        return m && m[1] !== prev;
      },
      first,
      { timeout: 30_000 },
    );
    const text = await page.evaluate(response);
    assert.match(text, /"product":\s*"orders\.order-events"/);
    assert.match(text, /"freshness":\s*"[A-Z_]+"/);
    assert.match(text, /"eventsPerSecond":\s*[0-9.e+-]+/);
    assert.doesNotMatch(text, /"errors"/);
    assert.ok(sockets.some((u) => u === `${server.base.replace(/^http/, 'ws')}/graphql`), `a WebSocket to /graphql: ${sockets}`);
    // Stop the subscription.
    await page.getByRole('button', { name: /Stop query/i }).click();
    await page.getByRole('button', { name: /Execute query/i }).waitFor({ timeout: 30_000 });
    await capture(page, 'graphiql-subscription', { fullPage: false, exclude: ['.graphiql-container'] });
    assert.ok(seen > 5, `the request listener saw the page load (${seen} requests)`);
    assert.deepEqual(foreign, [], `requests outside ${server.base}`);
    s.assertQuietConsole();
    await s.context.close();
  });
});
