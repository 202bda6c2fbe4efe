import { useEffect, useState } from 'react';
import { useClient, useQuery, useSubscription } from 'urql';
import type { CombinedError } from 'urql';
import { Link } from 'wouter';
import { graphql, type ResultOf } from '../graphql';
import { ErrorView, Loading, Empty, hasCode } from '../errors';
import { useAuth } from '../auth';
import { CatalogEventsSub } from './useCatalogEvents';

const AuditQuery = graphql(`
  query Audit($first: Int!, $after: String, $filter: AuditFilter) {
    auditLog(first: $first, after: $after, filter: $filter) {
      pageInfo { hasNextPage endCursor }
      nodes { id at actor action entityKind entityId entityName summary }
    }
  }
`);

const DomainNames = graphql(`
  query ActivityDomains {
    domains { id name }
  }
`);

const KINDS = [
  'PRODUCT_PUBLISHED', 'PRODUCT_UPDATED', 'SCHEMA_REGISTERED', 'PRODUCT_DEPRECATED', 'PRODUCT_RETIRED', 'PRODUCT_STALE', 'PRODUCT_FRESH',
  'APPLICATION_CREATED', 'ACCESS_REQUESTED', 'ACCESS_APPROVED', 'ACCESS_REJECTED', 'ACCESS_REVOKED', 'USE_CASE_REGISTERED', 'USE_CASE_REMOVED',
  'QUALITY_RESULT_RECORDED', 'LINEAGE_ADDED', 'LINEAGE_REMOVED', 'TEAM_CREATED', 'TEAM_MEMBER_ADDED', 'DOMAIN_CREATED', 'DENIED',
] as const;
type Kind = (typeof KINDS)[number];

interface Item {
  key: string;
  at: string | null;
  actor: string;
  type: string;
  entityKind: string;
  entityName: string;
  summary: string;
  live: boolean;
  /** The filters a live event arrived under (the subscription's); '' for history. */
  filter: string;
}

type AuditNode = ResultOf<typeof AuditQuery>['auditLog']['nodes'][number];
type PageInfo = ResultOf<typeof AuditQuery>['auditLog']['pageInfo'];

const fromAudit = (n: AuditNode): Item => ({
  key: n.id, at: n.at, actor: n.actor, type: n.action, entityKind: n.entityKind, entityName: n.entityName, summary: n.summary, live: false, filter: '',
});

function entityHref(kind: string, name: string): string | null {
  if (kind === 'PRODUCT') return `/products/${encodeURIComponent(name)}`;
  if (kind === 'APPLICATION') return `/apps/${encodeURIComponent(name)}`;
  return null;
}

interface Filter {
  actions: Kind[];
  domain: string | null;
}

export function ActivityFeed({ compact = false, idPrefix }: { compact?: boolean; idPrefix: string }) {
  const { token } = useAuth();
  const [kind, setKind] = useState<Kind | ''>('');
  const [domain, setDomain] = useState('');
  const [debDomain, setDebDomain] = useState('');
  useEffect(() => {
    const t = setTimeout(() => setDebDomain(domain.trim()), 400);
    return () => clearTimeout(t);
  }, [domain]);
  const [domains] = useQuery({ query: DomainNames });
  // The audit log takes a domain's id or name; live events name their domains.
  const domainName = domains.data?.domains.find((d) => d.id === debDomain)?.name ?? debDomain;
  const filter: Filter = { actions: kind ? [kind] : [], domain: debDomain || null };
  const filterKey = JSON.stringify(filter);
  const [live] = useSubscription(
    { query: CatalogEventsSub, variables: { kinds: kind ? [kind] : null, domains: domainName ? [domainName] : null } },
    (prev: Item[] = [], data) => {
      const e = data.catalogEvents;
      const base = { at: null, actor: '', entityKind: '', entityName: '', live: true, filter: filterKey };
      if (e.__typename === 'Lagged') return [{ ...base, key: `lag-${Date.now()}`, type: 'LAGGED', summary: `${e.skipped} events skipped` }, ...prev];
      return [{ ...base, key: e.eventId, at: e.time ?? null, actor: e.actor, type: e.type, entityKind: e.entityKind, entityName: e.entityName, summary: e.summary }, ...prev].slice(0, 200);
    },
  );
  // Events received under other filters stay in the subscription's state: not shown.
  const liveItems = (live.data ?? []).filter((i) => i.filter === filterKey);

  return (
    <div className="activity">
      <div className="activity-filters">
        <label htmlFor={`${idPrefix}-kind`}>Kind</label>
        <select id={`${idPrefix}-kind`} className="input" value={kind} onChange={(e) => setKind(e.target.value as Kind)}>
          <option value="">all</option>
          {KINDS.map((k) => <option key={k} value={k}>{k.toLowerCase().replace(/_/g, ' ')}</option>)}
        </select>
        <label htmlFor={`${idPrefix}-domain`}>Domain</label>
        <input
          id={`${idPrefix}-domain`}
          className="input"
          value={domain}
          onChange={(e) => setDomain(e.target.value)}
          placeholder="e.g. orders"
          list={`${idPrefix}-domain-names`}
          autoComplete="off"
        />
        <datalist id={`${idPrefix}-domain-names`}>
          {domains.data?.domains.map((d) => <option key={d.id} value={d.name} />)}
        </datalist>
      </div>
      <p className="muted small" role="status">
        {live.error ? 'Live updates unavailable.' : 'Live.'} {!token && 'Sign in to see the history (the audit log needs a token).'}
      </p>
      <ErrorView error={live.error} />
      {/* A new filter starts its history afresh (first page, then older ones on demand). */}
      <History key={filterKey} filter={filter} live={liveItems} pageSize={compact ? 30 : 100} token={token} />
    </div>
  );
}

/** The live events above the audit log's entries for these filters, a page at a time. */
function History({ filter, live, pageSize, token }: { filter: Filter; live: Item[]; pageSize: number; token: string | null }) {
  const client = useClient();
  const [audit] = useQuery({ query: AuditQuery, variables: { first: pageSize, after: null, filter }, pause: !token });
  const [older, setOlder] = useState<{ items: Item[]; pageInfo: PageInfo } | null>(null);
  const [more, setMore] = useState<{ fetching: boolean; error: CombinedError | null }>({ fetching: false, error: null });
  const pageInfo = older?.pageInfo ?? audit.data?.auditLog.pageInfo;

  const loadOlder = async () => {
    const after = pageInfo?.endCursor;
    if (!after) return;
    setMore({ fetching: true, error: null });
    const r = await client.query(AuditQuery, { first: pageSize, after, filter }, { requestPolicy: 'network-only' }).toPromise();
    const page = r.data?.auditLog;
    if (page) setOlder((prev) => ({ items: [...(prev?.items ?? []), ...page.nodes.map(fromAudit)], pageInfo: page.pageInfo }));
    setMore({ fetching: false, error: r.error ?? null });
  };

  const seen = new Set<string>();
  const history = [...(audit.data?.auditLog.nodes ?? []).map(fromAudit), ...(older?.items ?? [])].filter((i) => !seen.has(i.key) && !!seen.add(i.key));
  const items = [...live, ...history];
  const unknownDomain = !!filter.domain && hasCode(audit.error, 'NOT_FOUND');
  const filtered = filter.actions.length > 0 || !!filter.domain;

  return (
    <>
      {unknownDomain ? <Empty>No domain “{filter.domain}”.</Empty> : <ErrorView error={audit.error} />}
      {token && audit.fetching && !audit.data && <Loading />}
      {items.length === 0 && !audit.fetching && !unknownDomain && <Empty>{filtered ? 'No activity matches these filters.' : 'No activity yet.'}</Empty>}
      <ol className="feed" data-testid="activity-feed">
        {items.map((i) => {
          const href = entityHref(i.entityKind, i.entityName);
          return (
            <li key={i.key + (i.live ? '-l' : '')} className={i.live ? 'feed-item live' : 'feed-item'}>
              <span className={`badge kind-${i.type.toLowerCase()}`}>{i.type.toLowerCase().replace(/_/g, ' ')}</span>{' '}
              {href ? <Link href={href}>{i.entityName}</Link> : <strong>{i.entityName}</strong>}
              <div className="small">
                {i.summary} <span className="muted">— {i.actor}{i.at && `, ${new Date(i.at).toLocaleTimeString()}`}</span>
              </div>
            </li>
          );
        })}
      </ol>
      <ErrorView error={more.error} />
      {pageInfo?.hasNextPage && (
        <div className="feed-more">
          <button type="button" className="btn btn-small" onClick={loadOlder} disabled={more.fetching} data-testid="activity-older">
            {more.fetching ? 'Loading…' : 'Load older'}
          </button>
        </div>
      )}
    </>
  );
}
