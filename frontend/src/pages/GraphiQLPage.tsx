import { useMemo } from 'react';
import { GraphiQL } from 'graphiql';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';
import { useAuth, wsUrl } from '../auth';

const DEFAULT_QUERY = `# Mesh Catalog GraphQL API. The portal's token is sent for you.
{
  viewer { subject teams roles }
  search(query: "order") { totalCount }
}
`;

export default function GraphiQLPage() {
  const { token } = useAuth();
  const fetcher = useMemo(
    () =>
      createGraphiQLFetcher({
        url: '/graphql',
        subscriptionUrl: wsUrl(),
        headers: token ? { Authorization: `Bearer ${token}` } : {},
        wsConnectionParams: token ? { Authorization: `Bearer ${token}` } : {},
      }),
    [token],
  );
  return (
    <div className="graphiql-page">
      <div className="graphiql-bar">
        <a href="/">← Back to the portal</a>
        <span className="muted small">{token ? 'Requests carry your portal token.' : 'Anonymous: sign in on the portal to send a token.'}</span>
      </div>
      <div className="graphiql-host">
        <GraphiQL fetcher={fetcher} defaultQuery={DEFAULT_QUERY} />
      </div>
    </div>
  );
}
