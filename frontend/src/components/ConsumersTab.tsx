import { useQuery } from 'urql';
import { Link } from 'wouter';
import { graphql } from '../graphql';
import { ErrorView, Loading, Empty } from '../errors';
import { ProductLink } from './bits';
import { SubscriptionCells, SubscriptionFields, SubscriptionHeaders } from './Subscriptions';

const ConsumersQuery = graphql(`
  query Consumers($qn: String!) {
    dataProduct(qualifiedName: $qn) {
      id
      subscriptions {
        ...SubscriptionFields
        application { id name ownerTeam { name } }
      }
    }
  }
`, [SubscriptionFields]);

interface UseCaseLite {
  id: string;
  name: string;
  kind: string;
  description: string;
  application: { name: string };
  inputs: readonly { qualifiedName: string }[];
  outputs: readonly { qualifiedName: string }[];
}

export default function ConsumersTab({ qn, useCases }: { qn: string; useCases: readonly UseCaseLite[] }) {
  const [{ data, fetching, error }] = useQuery({ query: ConsumersQuery, variables: { qn } });
  const subs = data?.dataProduct?.subscriptions ?? [];
  return (
    <div className="stack">
      <section className="card" aria-labelledby="consumers-h">
        <h2 id="consumers-h">Consumers</h2>
        <ErrorView error={error} />
        {fetching && !data && <Loading />}
        {data && subs.length === 0 && <Empty>No application subscribes to it (that you can see).</Empty>}
        {subs.length > 0 && (
          <div className="table-wrap" tabIndex={0} role="region" aria-label="Table (scrolls sideways)">
            <table>
              <thead>
                <tr><th scope="col">Application</th><th scope="col">Team</th><SubscriptionHeaders /></tr>
              </thead>
              <tbody>
                {subs.map((s) => (
                  <tr key={s.id} data-testid={`sub-${s.application.name}`}>
                    <th scope="row"><Link href={`/apps/${encodeURIComponent(s.application.name)}`}>{s.application.name}</Link></th>
                    <td>{s.application.ownerTeam.name}</td>
                    <SubscriptionCells s={s} />
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section className="card" aria-labelledby="uc-h">
        <h2 id="uc-h">Use cases reading or writing {qn}</h2>
        {useCases.length === 0 ? <Empty>None.</Empty> : (
          <ul className="plain">
            {useCases.map((u) => (
              <li key={u.id}>
                <strong>{u.name}</strong> <span className="badge">{u.kind}</span> by{' '}
                <Link href={`/apps/${encodeURIComponent(u.application.name)}`}>{u.application.name}</Link>
                {u.description && <> — {u.description}</>}
                <div className="small">
                  reads {u.inputs.map((i) => <ProductLink key={i.qualifiedName} qn={i.qualifiedName} />)} · writes{' '}
                  {u.outputs.map((i) => <ProductLink key={i.qualifiedName} qn={i.qualifiedName} />)}
                </div>
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}
