import { useEffect, useState } from 'react';
import { useQuery, useSubscription } from 'urql';
import { Link } from 'wouter';
import { graphql } from '../graphql';
import { ErrorView, Loading, Empty } from '../errors';
import { useAuth } from '../auth';
import { CatalogEventsSub } from './useCatalogEvents';

const AuditQuery = graphql(`
  query Audit($first: Int!) {
    auditLog(first: $first) {
      nodes { id at actor action entityKind entityId entityName summary }
    }
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
}

function entityHref(kind: string, name: string): string | null {
  if (kind === 'PRODUCT') return `/products/${encodeURIComponent(name)}`;
  if (kind === 'APPLICATION') return `/apps/${encodeURIComponent(name)}`;
  return null;
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
  const [audit] = useQuery({ query: AuditQuery, variables: { first: compact ? 30 : 100 }, pause: !token });
  const [live] = useSubscription(
    { query: CatalogEventsSub, variables: { kinds: kind ? [kind] : null, domains: debDomain ? [debDomain] : null } },
    (prev: Item[] = [], data) => {
      const e = data.catalogEvents;
      if (e.__typename === 'Lagged') return [{ key: `lag-${Date.now()}`, at: null, actor: '', type: 'LAGGED', entityKind: '', entityName: '', summary: `${e.skipped} events skipped`, live: true }, ...prev];
      return [{ key: e.eventId, at: e.time ?? null, actor: e.actor, type: e.type, entityKind: e.entityKind, entityName: e.entityName, summary: e.summary, live: true }, ...prev].slice(0, 200);
    },
  );
  const history: Item[] = (audit.data?.auditLog.nodes ?? []).map((n) => ({
    key: n.id, at: n.at, actor: n.actor, type: n.action, entityKind: n.entityKind, entityName: n.entityName, summary: n.summary, live: false,
  }));
  const items = [...(live.data ?? []), ...history.filter((h) => (!kind || h.type === kind) && (!debDomain || h.entityName.startsWith(`${debDomain}.`) || h.entityName === debDomain))];

  return (
    <div className="activity">
      <div className="activity-filters">
        <label htmlFor={`${idPrefix}-kind`}>Kind</label>
        <select id={`${idPrefix}-kind`} className="input" value={kind} onChange={(e) => setKind(e.target.value as Kind)}>
          <option value="">all</option>
          {KINDS.map((k) => <option key={k} value={k}>{k.toLowerCase().replace(/_/g, ' ')}</option>)}
        </select>
        <label htmlFor={`${idPrefix}-domain`}>Domain</label>
        <input id={`${idPrefix}-domain`} className="input" value={domain} onChange={(e) => setDomain(e.target.value)} placeholder="e.g. orders" />
      </div>
      <p className="muted small" role="status">
        {live.error ? 'Live updates unavailable.' : 'Live.'} {!token && 'Sign in to see the history (the audit log needs a token).'}
      </p>
      <ErrorView error={live.error} />
      <ErrorView error={audit.error} />
      {token && audit.fetching && !audit.data && <Loading />}
      {items.length === 0 && <Empty>No activity yet.</Empty>}
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
    </div>
  );
}
