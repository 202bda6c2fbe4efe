import { useCallback, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { Link } from 'wouter';
import { graphql } from '../graphql';
import { ErrorView, Loading, Empty } from '../errors';
import { useAuth, useIsMember } from '../auth';
import { fmtTime, ProductLink } from '../components/bits';
import { Decision, SubscriptionFields } from '../components/Subscriptions';
import { useCatalogEvents } from '../components/useCatalogEvents';

const InboxQuery = graphql(`
  query Inbox {
    subscriptions {
      ...SubscriptionFields
      application { name ownerTeam { name } }
      product { id qualifiedName ownerTeam { name } domain { ownerTeam { name } } }
    }
  }
`, [SubscriptionFields]);

const Approve = graphql(`
  mutation Approve($id: ID!, $reason: String, $pii: Boolean!) {
    approveAccess(subscription: $id, reason: $reason, piiAccess: $pii) { id status piiAccess decidedBy }
  }
`);
const Reject = graphql(`
  mutation Reject($id: ID!, $reason: String!) {
    rejectAccess(subscription: $id, reason: $reason) { id status decidedBy }
  }
`);
const Revoke = graphql(`
  mutation Revoke($id: ID!, $reason: String) {
    revokeAccess(subscription: $id, reason: $reason) { id status decidedBy }
  }
`);

export default function InboxPage() {
  const { viewer } = useAuth();
  const isMember = useIsMember();
  const [{ data, fetching, error }, refetch] = useQuery({ query: InboxQuery, pause: !viewer });
  const refresh = useCallback(() => refetch({ requestPolicy: 'network-only' }), [refetch]);
  useCatalogEvents(['ACCESS_REQUESTED', 'ACCESS_APPROVED', 'ACCESS_REJECTED', 'ACCESS_REVOKED'], refresh, !viewer);
  if (!viewer)
    return (
      <section className="page">
        <h1>Owner inbox</h1>
        <Empty>
          <Link href="/sign-in">Sign in</Link> to decide on access requests to your products.
        </Empty>
      </section>
    );
  const mine = (data?.subscriptions ?? []).filter((s) => isMember(s.product.ownerTeam.name, s.product.domain.ownerTeam.name));
  const pending = mine.filter((s) => s.status === 'PENDING');
  const approved = mine.filter((s) => s.status === 'APPROVED');
  const decided = mine.filter((s) => s.status === 'REJECTED' || s.status === 'REVOKED');
  return (
    <section className="page" aria-labelledby="inbox-title">
      <h1 id="inbox-title">Owner inbox</h1>
      <p className="muted">Access requests to the products of your teams ({viewer.teams.join(', ') || 'none'}).</p>
      <ErrorView error={error} />
      {fetching && !data && <Loading />}
      <h2>Waiting for a decision ({pending.length})</h2>
      {data && pending.length === 0 && <Empty>Nothing waiting.</Empty>}
      <ul className="plain stack" data-testid="inbox-pending">
        {pending.map((s) => (
          <li key={s.id} className="card" data-testid={`request-${s.application.name}-${s.product.qualifiedName}`}>
            <p>
              <Link href={`/apps/${encodeURIComponent(s.application.name)}`}>{s.application.name}</Link> ({s.application.ownerTeam.name}) asks to read{' '}
              <ProductLink qn={s.product.qualifiedName} />
            </p>
            <p>
              Purpose: “{s.purpose}” · by {s.requestedBy}, {fmtTime(s.requestedAt)}
            </p>
            <Decide id={s.id} onDone={refresh} />
          </li>
        ))}
      </ul>
      <h2>Approved ({approved.length})</h2>
      {data && approved.length === 0 && <Empty>No approved consumer.</Empty>}
      <ul className="plain stack">
        {approved.map((s) => (
          <li key={s.id} className="card">
            <p>
              <Link href={`/apps/${encodeURIComponent(s.application.name)}`}>{s.application.name}</Link> reads <ProductLink qn={s.product.qualifiedName} /> · PII{' '}
              {s.piiAccess ? 'unmasked' : 'masked'} · approved by {s.decidedBy}, {fmtTime(s.decidedAt)}
            </p>
            <RevokeForm id={s.id} onDone={refresh} />
          </li>
        ))}
      </ul>
      {decided.length > 0 && (
        <details>
          <summary>Rejected and revoked ({decided.length})</summary>
          <ul className="plain">
            {decided.map((s) => (
              <li key={s.id}>
                {s.product.qualifiedName} → {s.application.name}: {s.status} by <Decision s={s} />
              </li>
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}

function Decide({ id, onDone }: { id: string; onDone: () => void }) {
  const [reason, setReason] = useState('');
  const [pii, setPii] = useState(false);
  const [a, approve] = useMutation(Approve);
  const [r, reject] = useMutation(Reject);
  const [problem, setProblem] = useState<string | null>(null);
  return (
    <div className="decide">
      <label htmlFor={`reason-${id}`}>Reason (required to reject)</label>
      <input id={`reason-${id}`} className="input" value={reason} onChange={(e) => setReason(e.target.value)} />
      <label className="check">
        <input type="checkbox" checked={pii} onChange={(e) => setPii(e.target.checked)} /> Grant PII access (unmasked PII fields)
      </label>
      <div className="actions">
        <button
          type="button"
          className="btn btn-primary"
          disabled={a.fetching}
          onClick={async () => {
            const res = await approve({ id, reason: reason || null, pii });
            if (!res.error) onDone();
          }}
        >
          Approve
        </button>
        <button
          type="button"
          className="btn btn-danger"
          disabled={r.fetching}
          onClick={async () => {
            if (!reason.trim()) return setProblem('Give a reason to reject.');
            setProblem(null);
            const res = await reject({ id, reason });
            if (!res.error) onDone();
          }}
        >
          Reject
        </button>
      </div>
      {problem && <p className="error" role="alert">{problem}</p>}
      <ErrorView error={a.error ?? r.error} />
    </div>
  );
}

function RevokeForm({ id, onDone }: { id: string; onDone: () => void }) {
  const [reason, setReason] = useState('');
  const [res, revoke] = useMutation(Revoke);
  return (
    <div className="row">
      <label className="inline">
        Reason <input className="input" value={reason} onChange={(e) => setReason(e.target.value)} />
      </label>
      <button
        type="button"
        className="btn btn-danger"
        disabled={res.fetching}
        onClick={async () => {
          const r = await revoke({ id, reason: reason || null });
          if (!r.error) onDone();
        }}
      >
        Revoke
      </button>
      <ErrorView error={res.error} />
    </div>
  );
}
