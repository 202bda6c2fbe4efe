import { useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { Link, useLocation } from 'wouter';
import { graphql } from '../graphql';
import { ErrorView, Loading, Empty } from '../errors';
import { useAuth, useIsMember } from '../auth';
import { fmtMs } from '../components/bits';

const TopicsQuery = graphql(`
  query Unadopted($filter: UnadoptedTopicFilter) {
    unadoptedTopics(filter: $filter, first: 50) {
      totalCount
      nodes {
        name
        partitions
        retentionMs
        cleanupPolicy
        approximateRecords
        estimatedBytes
        recordsPerSecond
        sample(limit: 3) { partition offset key timestamp json rawBase64 }
        inferredSchema { definition records skipped }
      }
    }
    domains { id name ownerTeam { name } }
  }
`);

const AdoptMutation = graphql(`
  mutation Adopt($input: AdoptTopicInput!) {
    adoptTopic(input: $input) { id qualifiedName status }
  }
`);

function fmtBytes(b: number | null | undefined) {
  if (b == null) return '—';
  if (b < 1024) return `${b} B`;
  if (b < 1024 * 1024) return `${(b / 1024).toFixed(1)} KiB`;
  return `${(b / 1024 / 1024).toFixed(1)} MiB`;
}

export default function AdoptPage() {
  const { viewer } = useAuth();
  const [filter, setFilter] = useState('');
  const [{ data, fetching, error }] = useQuery({ query: TopicsQuery, variables: { filter: filter ? { nameContains: filter } : null }, pause: !viewer });
  const [open, setOpen] = useState<string | null>(null);
  if (!viewer)
    return (
      <section className="page">
        <h1>Adopt topics</h1>
        <Empty>
          <Link href="/sign-in">Sign in</Link> as a member of a team owning a domain to see the cluster’s topics.
        </Empty>
      </section>
    );
  return (
    <section className="page" aria-labelledby="adopt-title">
      <h1 id="adopt-title">Adopt topics</h1>
      <p className="muted">Topics of the connected cluster that are not data products yet. Publish one as a product: it keeps its settings; the schema is inferred from its records unless you edit it later.</p>
      <label className="inline">
        Topic name contains <input className="input" value={filter} onChange={(e) => setFilter(e.target.value)} />
      </label>
      <ErrorView error={error} />
      {fetching && !data && <Loading label="Asking the cluster…" />}
      {data && data.unadoptedTopics.nodes.length === 0 && <Empty>Every topic is already a data product.</Empty>}
      <ul className="plain stack">
        {data?.unadoptedTopics.nodes.map((t) => (
          <li key={t.name} className="card" data-testid={`topic-${t.name}`}>
            <h2>
              <code>{t.name}</code>
            </h2>
            <p className="muted">
              {t.partitions} partitions · retention {fmtMs(t.retentionMs)} · {t.cleanupPolicy ?? '?'} · ~{t.approximateRecords ?? '?'} records · ~{fmtBytes(t.estimatedBytes)} ·{' '}
              {t.recordsPerSecond != null ? `${t.recordsPerSecond.toFixed(2)} records/s` : 'rate unknown'}
            </p>
            <details>
              <summary>Sample of the newest records ({t.sample.length})</summary>
              <pre className="code" tabIndex={0}>{t.sample.map((r) => `p${r.partition}@${r.offset} ${r.key ?? '∅'} ${r.json != null ? JSON.stringify(r.json) : `(not JSON) ${r.rawBase64 ?? ''}`}`).join('\n')}</pre>
            </details>
            <details>
              <summary>
                Inferred schema {t.inferredSchema ? `(from ${t.inferredSchema.records} records, ${t.inferredSchema.skipped} skipped)` : '(none: no JSON record)'}
              </summary>
              {t.inferredSchema && <pre className="code" tabIndex={0}>{t.inferredSchema.definition}</pre>}
            </details>
            {open === t.name ? (
              <AdoptForm topic={t.name} domains={data.domains} onCancel={() => setOpen(null)} />
            ) : (
              <button type="button" className="btn btn-primary" onClick={() => setOpen(t.name)}>
                Publish as a product
              </button>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

function AdoptForm({ topic, domains, onCancel }: { topic: string; domains: readonly { id: string; name: string; ownerTeam: { name: string } }[]; onCancel: () => void }) {
  const isMember = useIsMember();
  const mine = domains.filter((d) => isMember(d.ownerTeam.name));
  const [domain, setDomain] = useState(mine[0]?.name ?? '');
  const [name, setName] = useState(topic.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, ''));
  const [description, setDescription] = useState('');
  const [qualityClass, setQc] = useState<'RAW' | 'CURATED' | 'AUTHORITATIVE'>('RAW');
  const [draft, setDraft] = useState(false);
  const [res, adopt] = useMutation(AdoptMutation);
  const [, navigate] = useLocation();
  const id = topic.replace(/[^a-zA-Z0-9]/g, '_');
  return (
    <form
      className="adopt-form"
      onSubmit={async (e) => {
        e.preventDefault();
        const r = await adopt({ input: { topic, domain, name, description, qualityClass, draft } });
        if (r.data) navigate(`/products/${encodeURIComponent(r.data.adoptTopic.qualifiedName)}`);
      }}
    >
      <label htmlFor={`ad-d-${id}`}>Domain</label>
      <select id={`ad-d-${id}`} className="input" value={domain} onChange={(e) => setDomain(e.target.value)}>
        {mine.map((d) => <option key={d.id}>{d.name}</option>)}
      </select>
      <label htmlFor={`ad-n-${id}`}>Product name</label>
      <input id={`ad-n-${id}`} className="input" value={name} onChange={(e) => setName(e.target.value)} required />
      <label htmlFor={`ad-desc-${id}`}>Description</label>
      <textarea id={`ad-desc-${id}`} className="input" value={description} onChange={(e) => setDescription(e.target.value)} />
      <label htmlFor={`ad-qc-${id}`}>Quality class</label>
      <select id={`ad-qc-${id}`} className="input" value={qualityClass} onChange={(e) => setQc(e.target.value as 'RAW')}>
        <option>RAW</option>
        <option>CURATED</option>
        <option>AUTHORITATIVE</option>
      </select>
      <label className="check">
        <input type="checkbox" checked={draft} onChange={(e) => setDraft(e.target.checked)} /> Adopt as a draft (publish after review)
      </label>
      <ErrorView error={res.error} />
      <div className="actions">
        <button type="submit" className="btn btn-primary" disabled={res.fetching || !domain || !name} data-testid="adopt-submit">
          Adopt {topic}
        </button>
        <button type="button" className="btn" onClick={onCancel}>Cancel</button>
      </div>
    </form>
  );
}
