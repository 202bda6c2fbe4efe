import { useQuery } from 'urql';
import { graphql } from '../graphql';
import { ErrorView, Loading, Empty } from '../errors';
import { ProductLink, StatusBadge } from '../components/bits';

const DomainsQuery = graphql(`
  query Domains {
    domains {
      id
      name
      description
      ownerTeam { name }
      dataProducts { id qualifiedName displayName status }
    }
  }
`);

export default function DomainsPage() {
  const [{ data, fetching, error }] = useQuery({ query: DomainsQuery });
  return (
    <section className="page" aria-labelledby="domains-title">
      <h1 id="domains-title">Domains</h1>
      <ErrorView error={error} />
      {fetching && !data && <Loading />}
      {data && data.domains.length === 0 && <Empty>No domain yet.</Empty>}
      <div className="grid">
        {data?.domains.map((d) => (
          <section key={d.id} className="card" aria-labelledby={`d-${d.id}`}>
            <h2 id={`d-${d.id}`}>{d.name}</h2>
            <p className="muted">Owned by {d.ownerTeam.name}</p>
            {d.description && <p>{d.description}</p>}
            {d.dataProducts.length === 0 ? (
              <p className="muted">No product visible to you.</p>
            ) : (
              <ul className="plain">
                {d.dataProducts.map((p) => (
                  <li key={p.id}>
                    <ProductLink qn={p.qualifiedName}>{p.displayName || p.qualifiedName}</ProductLink> <StatusBadge status={p.status} />
                  </li>
                ))}
              </ul>
            )}
          </section>
        ))}
      </div>
    </section>
  );
}
