import { graphql, type ResultOf } from '../graphql';
import { fmtTime } from './bits';

/** What a list of access subscriptions shows of each: the request and the owners' decision. */
export const SubscriptionFields = graphql(`
  fragment SubscriptionFields on AccessSubscription @_unmask {
    id
    status
    purpose
    piiAccess
    requestedBy
    requestedAt
    decidedBy
    decidedAt
    decisionReason
  }
`);

type Subscription = ResultOf<typeof SubscriptionFields>;

/** Who decided, when, and why (quoted): the same words wherever a decision is listed. */
export function Decision({ s }: { s: Subscription }) {
  if (!s.decidedBy) return <>waiting for the owners</>;
  return (
    <>
      {s.decidedBy}, {fmtTime(s.decidedAt)}
      {s.decisionReason && <> — “{s.decisionReason}”</>}
    </>
  );
}

/** The header cells matching [`SubscriptionCells`]. */
export function SubscriptionHeaders() {
  return (
    <>
      <th scope="col">Status</th>
      <th scope="col">PII</th>
      <th scope="col">Purpose</th>
      <th scope="col">Requested</th>
      <th scope="col">Decision</th>
    </>
  );
}

/**
 * A subscription's cells in a table of them (after the columns naming its
 * product or application). PII access is a term of an approval, so it
 * shows only on an approved one.
 */
export function SubscriptionCells({ s }: { s: Subscription }) {
  return (
    <>
      <td><span className={`badge sub-${s.status.toLowerCase()}`} data-testid="sub-status">{s.status}</span></td>
      <td>{s.status === 'APPROVED' ? (s.piiAccess ? 'unmasked' : 'masked') : '—'}</td>
      <td>{s.purpose}</td>
      <td>{s.requestedBy}, {fmtTime(s.requestedAt)}</td>
      <td data-testid="sub-decision"><Decision s={s} /></td>
    </>
  );
}
