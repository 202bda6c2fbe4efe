import { lazy, Suspense, useEffect, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { Link, useSearchParams } from 'wouter';
import { Tab, TabList, TabPanel, Tabs } from 'react-aria-components';
import { graphql } from '../graphql';
import { ErrorView, Loading, Empty } from '../errors';
import { useAuth, useIsMember } from '../auth';
import { RichText } from '../components/RichText';
import { count, fmtMs, fmtTime, formatLabel, ProductLink, QualityClassBadge, StatusBadge, Tags, TierBadge } from '../components/bits';
import { ProductQuery } from './productQueries';
import { HealthPanel } from '../components/HealthPanel';
import { RequestAccess } from '../components/RequestAccess';
import { Modal } from '../components/Modal';
import { ProductPicker } from '../components/ProductPicker';
import { QualityChart } from '../components/QualityChart';
import { startLayoutWorker, whenIdle } from '../lineage/layoutWorker';

const SchemaTab = lazy(() => import('../components/SchemaTab'));
// The lineage tab's code is fetched while the product page is idle (with the layout worker): a
// tab whose code is already here renders at once. Through React.lazy it would still suspend once,
// and React holds a suspended boundary's content back until 300 ms after its fallback appeared.
let lineageTabModule: typeof import('../lineage/LineageTab') | null = null;
const loadLineageTab = () => import('../lineage/LineageTab').then((m) => (lineageTabModule = m));
const LazyLineageTab = lazy(loadLineageTab);
function LineageTab({ qn }: { qn: string }) {
  const Loaded = lineageTabModule?.default;
  return Loaded ? <Loaded qn={qn} /> : <LazyLineageTab qn={qn} />;
}
/** Readers often open the lineage next: its code and the layout worker (ELK's start-up and
 * warm-up) are loaded before the lineage data is asked for. */
function prepareLineage() {
  startLayoutWorker();
  void loadLineageTab();
}
const LiveTail = lazy(() => import('../components/LiveTail'));
const ConsumersTab = lazy(() => import('../components/ConsumersTab'));

const Deprecate = graphql(`
  mutation Deprecate($input: DeprecateDataProductInput!) {
    deprecateDataProduct(input: $input) {
      id
      status
      version
      deprecation { reason sunsetDate successor { qualifiedName displayName } }
    }
  }
`);
const Retire = graphql(`
  mutation Retire($product: String!, $expectedVersion: Int) {
    retireDataProduct(product: $product, expectedVersion: $expectedVersion) { id status version }
  }
`);

const TABS = ['overview', 'schema', 'lineage', 'consumers', 'live'] as const;

export default function ProductPage({ qn }: { qn: string }) {
  const [params, setParams] = useSearchParams();
  const tab = (TABS as readonly string[]).includes(params.get('tab') ?? '') ? (params.get('tab') as string) : 'overview';
  const [{ data, fetching, error }, refetch] = useQuery({ query: ProductQuery, variables: { qn } });
  const isMember = useIsMember();
  const { viewer } = useAuth();
  // Once the product is shown and the page is idle (or the Lineage tab is hovered or focused).
  const loaded = data !== undefined;
  useEffect(() => (loaded ? whenIdle(prepareLineage) : undefined), [loaded]);

  if (fetching && !data) return <Loading label="Loading the product…" />;
  if (error && !data) return <section className="page"><h1>{qn}</h1><ErrorView error={error} /></section>;
  const p = data?.dataProduct;
  if (!p)
    return (
      <section className="page">
        <h1>No product “{qn}”</h1>
        <Empty>
          It does not exist, or it is private and not visible to you. <Link href="/">Back to the search</Link>
          {!viewer && <> · <Link href="/sign-in">sign in</Link></>}.
        </Empty>
      </section>
    );

  const owner = isMember(p.ownerTeam.name, p.domain.ownerTeam.name);
  const approvedForMe = p.subscriptions.some((s) => s.status === 'APPROVED' && isMember(s.application.ownerTeam.name) && !!viewer);
  const canRead = owner || approvedForMe;

  return (
    <article className="page product-page" aria-labelledby="product-title">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link href={`/?domain=${encodeURIComponent(p.domain.name)}`}>{p.domain.name}</Link> / <span>{p.name}</span>
      </nav>
      <header className="product-head">
        <h1 id="product-title">{p.displayName || p.qualifiedName}</h1>
        <code className="qn">{p.qualifiedName}</code>
        <div className="hit-meta">
          <StatusBadge status={p.status} /> <QualityClassBadge value={p.qualityClass} /> <TierBadge tier={p.sla?.tier} />
          {p.visibility === 'PRIVATE' && <span className="badge badge-private">PRIVATE</span>}
          <span className="muted">
            v{p.schema?.version ?? '—'} · {p.schema ? formatLabel(p.schema.format) : '—'} · {p.compatibility} · quality{' '}
            {p.qualityScore == null ? 'not measured' : Math.round(p.qualityScore)} · {count(p.subscriberCount, 'subscriber')}
          </span>
        </div>
        <Tags tags={p.tags} />
        <div className="actions">
          {viewer && p.status === 'PUBLISHED' && <RequestAccess product={p.qualifiedName} />}
          {viewer && p.status === 'DRAFT' && <span className="muted">Access can be requested once it is published.</span>}
          {owner && p.status !== 'RETIRED' && (
            <Link className="btn" href={`/publish/${encodeURIComponent(p.qualifiedName)}`}>
              Evolve
            </Link>
          )}
          {owner && p.status === 'PUBLISHED' && <DeprecateButton qn={p.qualifiedName} version={p.version} onDone={() => refetch({ requestPolicy: 'network-only' })} />}
          {owner && (p.status === 'DEPRECATED' || p.status === 'DRAFT') && (
            <RetireButton qn={p.qualifiedName} version={p.version} onDone={() => refetch({ requestPolicy: 'network-only' })} />
          )}
        </div>
      </header>
      {p.status === 'DEPRECATED' && (
        <div className="banner banner-warn" role="status" data-testid="deprecation-banner">
          <strong>Deprecated.</strong> {p.deprecation?.reason}
          {p.deprecation?.sunsetDate && <> Sunset on <strong>{p.deprecation.sunsetDate}</strong>.</>}
          {p.deprecation?.successor && (
            <>
              {' '}
              Use{' '}
              <Link href={`/products/${encodeURIComponent(p.deprecation.successor.qualifiedName)}`} data-testid="successor-link">
                {p.deprecation.successor.qualifiedName}
              </Link>
              {p.deprecation.successor.displayName && <> ({p.deprecation.successor.displayName})</>} instead.
            </>
          )}
        </div>
      )}
      {p.status === 'RETIRED' && (
        <div className="banner banner-error" role="status">
          <strong>Retired.</strong> This product no longer carries data; its subscriptions ended.
        </div>
      )}
      <Tabs
        selectedKey={tab}
        onSelectionChange={(k) =>
          setParams((prev) => {
            const n = new URLSearchParams(prev);
            if (k === 'overview') n.delete('tab');
            else n.set('tab', String(k));
            return n;
          })
        }
      >
        <TabList aria-label="Product sections" className="tablist">
          <Tab id="overview" className="tab">Overview</Tab>
          <Tab id="schema" className="tab">Schema</Tab>
          <Tab id="lineage" className="tab" onHoverStart={prepareLineage} onFocus={prepareLineage}>
            Lineage &amp; impact
          </Tab>
          <Tab id="consumers" className="tab">Consumers &amp; use cases</Tab>
          <Tab id="live" className="tab">Live tail</Tab>
        </TabList>
        <TabPanel id="overview" className="tabpanel">
          <Overview p={p} />
        </TabPanel>
        <TabPanel id="schema" className="tabpanel">
          <Suspense fallback={<Loading />}>
            <SchemaTab qn={p.qualifiedName} versions={p.schemaVersions.map((v) => v.version)} />
          </Suspense>
        </TabPanel>
        <TabPanel id="lineage" className="tabpanel">
          <Suspense fallback={<Loading />}>
            <LineageTab qn={p.qualifiedName} />
          </Suspense>
        </TabPanel>
        <TabPanel id="consumers" className="tabpanel">
          <Suspense fallback={<Loading />}>
            <ConsumersTab qn={p.qualifiedName} useCases={p.useCases} />
          </Suspense>
        </TabPanel>
        <TabPanel id="live" className="tabpanel">
          {canRead ? (
            <Suspense fallback={<Loading />}>
              <LiveTail qn={p.qualifiedName} />
            </Suspense>
          ) : (
            <Empty>
              The live tail shows the topic’s records: it is offered to the owner team and to teams whose application has an approved
              subscription. {viewer ? 'Request access for one of your applications to read them.' : <><Link href="/sign-in">Sign in</Link> first.</>}
            </Empty>
          )}
        </TabPanel>
      </Tabs>
    </article>
  );
}

type Product = NonNullable<NonNullable<import('gql.tada').ResultOf<typeof ProductQuery>['dataProduct']>>;

function Overview({ p }: { p: Product }) {
  return (
    <div className="overview">
      <section className="card" aria-labelledby="about">
        <h2 id="about">About</h2>
        {p.description ? <RichText text={p.description} /> : <p className="muted">No description.</p>}
        <dl className="kv">
          <dt>Owner team</dt>
          <dd>{p.ownerTeam.name} {p.ownerTeam.members.length > 0 && <span className="muted">({p.ownerTeam.members.join(', ')})</span>}</dd>
          <dt>Domain</dt>
          <dd>{p.domain.name}</dd>
          <dt>Contacts</dt>
          <dd>
            {p.contacts.length === 0 ? (
              <span className="muted">none</span>
            ) : (
              <ul className="plain">
                {p.contacts.map((c) => (
                  <li key={c.email}>
                    {c.name} {c.role && <span className="muted">({c.role})</span>} <a href={`mailto:${c.email}`}>{c.email}</a>
                  </li>
                ))}
              </ul>
            )}
          </dd>
          <dt>Quality class</dt>
          <dd>
            <QualityClassBadge value={p.qualityClass} /> <span className="muted small">claimed by the owner; measured quality below may disagree</span>
          </dd>
          <dt>Created / updated</dt>
          <dd>{fmtTime(p.createdAt)} / {fmtTime(p.updatedAt)}</dd>
        </dl>
      </section>
      <HealthPanel qn={p.qualifiedName} sla={p.sla} initial={p.live} history={p.liveHistory} />
      <section className="card" aria-labelledby="quality">
        <h2 id="quality">Quality checks {p.qualityScore != null && <span className="score">score {Math.round(p.qualityScore)}/100</span>}</h2>
        {p.qualityChecks.length === 0 ? (
          <Empty>No quality check declared.</Empty>
        ) : (
          <div className="table-wrap" tabIndex={0} role="region" aria-label="Table (scrolls sideways)">
            <table>
              <thead>
                <tr><th scope="col">Check</th><th scope="col">Kind</th><th scope="col">Threshold</th><th scope="col">Latest</th><th scope="col">Observed</th><th scope="col">When</th></tr>
              </thead>
              <tbody>
                {p.qualityChecks.map((c) => (
                  <tr key={c.id}>
                    <th scope="row">{c.name}<div className="muted small">{c.description}</div></th>
                    <td>{c.kind}</td>
                    <td>{c.threshold ?? '—'}</td>
                    <td>{c.latestResult ? <span className={`badge q-${c.latestResult.status.toLowerCase()}`}>{c.latestResult.status}</span> : <span className="muted">no result</span>}</td>
                    <td>{c.latestResult?.observedValue ?? '—'}</td>
                    <td>{fmtTime(c.latestResult?.observedAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <QualityChart checks={p.qualityChecks} />
      </section>
      <section className="card" aria-labelledby="topic">
        <h2 id="topic">Topic</h2>
        <dl className="kv">
          <dt>Name</dt><dd><code>{p.topic.name}</code></dd>
          <dt>Partitions</dt><dd>{p.topic.partitions}</dd>
          <dt>Retention</dt><dd>{fmtMs(p.topic.retentionMs)}</dd>
          <dt>Cleanup policy</dt><dd>{p.topic.cleanupPolicy}</dd>
          <dt>In Kafka</dt>
          <dd data-testid="topic-status">
            {p.topicStatus.exists ? `exists, ${p.topicStatus.partitions ?? '?'} partitions` : <span className="warn-text">missing</span>}
            {p.topicStatus.drift.length === 0 ? (
              p.topicStatus.exists && <span className="muted"> · no drift</span>
            ) : (
              <ul className="plain warn-text">
                {p.topicStatus.drift.map((d) => (
                  <li key={d.setting}>drift: {d.setting} is {d.actual}, catalog says {d.expected}</li>
                ))}
              </ul>
            )}
          </dd>
        </dl>
      </section>
      <section className="card" aria-labelledby="uc">
        <h2 id="uc">Use cases</h2>
        {p.useCases.length === 0 ? <Empty>No use case reads or writes it.</Empty> : (
          <ul className="plain">
            {p.useCases.map((u) => (
              <li key={u.id}>
                <strong>{u.name}</strong> <span className="badge">{u.kind}</span> by <Link href={`/apps/${encodeURIComponent(u.application.name)}`}>{u.application.name}</Link>:{' '}
                {u.inputs.map((i) => <ProductLink key={i.qualifiedName} qn={i.qualifiedName} />).reduce<React.ReactNode[]>((a, x, i) => (i ? [...a, ', ', x] : [x]), [])} →{' '}
                {u.outputs.map((i) => <ProductLink key={i.qualifiedName} qn={i.qualifiedName} />).reduce<React.ReactNode[]>((a, x, i) => (i ? [...a, ', ', x] : [x]), [])}
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}

function DeprecateButton({ qn, version, onDone }: { qn: string; version: number; onDone: () => void }) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('');
  const [sunset, setSunset] = useState('');
  const [successor, setSuccessor] = useState('');
  const [res, run] = useMutation(Deprecate);
  return (
    <>
      <button type="button" className="btn" onClick={() => setOpen(true)}>Deprecate</button>
      <Modal open={open} onClose={() => setOpen(false)} title={`Deprecate ${qn}`}>
        <form
          onSubmit={async (e) => {
            e.preventDefault();
            const r = await run({
              input: { product: qn, reason, sunsetDate: sunset || null, successor: successor.trim() || null, expectedVersion: version },
            });
            if (!r.error) {
              setOpen(false);
              onDone();
            }
          }}
        >
          <label htmlFor="dep-reason">Reason (shown to consumers)</label>
          <textarea id="dep-reason" className="input" required value={reason} onChange={(e) => setReason(e.target.value)} />
          <label htmlFor="dep-sunset">Sunset date</label>
          <input id="dep-sunset" className="input" type="date" value={sunset} onChange={(e) => setSunset(e.target.value)} />
          <ProductPicker
            label="Successor (optional)"
            description="The published product consumers should move to: type to search, or enter its qualified name."
            value={successor}
            onChange={setSuccessor}
            exclude={qn}
            testId="dep-successor"
          />
          <ErrorView error={res.error} title="Not deprecated:" />
          <div className="actions">
            <button type="submit" className="btn btn-danger" disabled={res.fetching || !reason.trim()}>Deprecate</button>
            <button type="button" className="btn" onClick={() => setOpen(false)}>Cancel</button>
          </div>
        </form>
      </Modal>
    </>
  );
}

function RetireButton({ qn, version, onDone }: { qn: string; version: number; onDone: () => void }) {
  const [open, setOpen] = useState(false);
  const [res, run] = useMutation(Retire);
  return (
    <>
      <button type="button" className="btn btn-danger" onClick={() => setOpen(true)}>Retire</button>
      <Modal open={open} onClose={() => setOpen(false)} title={`Retire ${qn}`}>
        <p>Retiring ends every subscription to it. This cannot be undone.</p>
        <ErrorView error={res.error} />
        <div className="actions">
          <button
            type="button"
            className="btn btn-danger"
            disabled={res.fetching}
            onClick={async () => {
              const r = await run({ product: qn, expectedVersion: version });
              if (!r.error) {
                setOpen(false);
                onDone();
              }
            }}
          >
            Retire
          </button>
          <button type="button" className="btn" onClick={() => setOpen(false)}>Cancel</button>
        </div>
      </Modal>
    </>
  );
}
