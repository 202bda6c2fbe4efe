import { lazy, Suspense, useCallback, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { Link } from 'wouter';
import { graphql } from '../graphql';
import { ErrorView, Loading, Empty } from '../errors';
import { useAuth, useIsMember } from '../auth';
import { fmtTime, ProductLink } from '../components/bits';
import { SubscriptionCells, SubscriptionFields, SubscriptionHeaders } from '../components/Subscriptions';
import { useCatalogEvents } from '../components/useCatalogEvents';

const AppLineage = lazy(() => import('../lineage/AppLineage'));

const AppQuery = graphql(`
  query App($key: String!) {
    application(key: $key) {
      id
      name
      description
      ownerTeam { name }
      createdAt
      subscriptions {
        ...SubscriptionFields
        product { id qualifiedName displayName }
      }
      useCases {
        id
        name
        kind
        description
        transformation
        inputs { qualifiedName }
        outputs { qualifiedName }
      }
    }
  }
`, [SubscriptionFields]);

const RegisterUseCase = graphql(`
  mutation RegisterUseCase($input: RegisterUseCaseInput!) {
    registerUseCase(input: $input) {
      useCase { id name }
      lineageEdges { id kind }
      accessRequests { id status product { qualifiedName } }
    }
  }
`);

const RemoveUseCase = graphql(`
  mutation RemoveUseCase($id: ID!) {
    removeUseCase(id: $id) { id }
  }
`);

export default function AppPage({ name }: { name: string }) {
  const [{ data, fetching, error }, refetch] = useQuery({ query: AppQuery, variables: { key: name } });
  const { viewer } = useAuth();
  const isMember = useIsMember();
  const refresh = useCallback(() => refetch({ requestPolicy: 'network-only' }), [refetch]);
  const liveError = useCatalogEvents(['ACCESS_REQUESTED', 'ACCESS_APPROVED', 'ACCESS_REJECTED', 'ACCESS_REVOKED', 'USE_CASE_REGISTERED'], refresh, !viewer);
  const [, remove] = useMutation(RemoveUseCase);

  if (fetching && !data) return <Loading />;
  const app = data?.application;
  if (!app)
    return (
      <section className="page">
        <h1>No application “{name}”</h1>
        <ErrorView error={error} />
        <Link href="/apps">All applications</Link>
      </section>
    );
  const owner = isMember(app.ownerTeam.name);
  return (
    <section className="page" aria-labelledby="app-title">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link href="/apps">Applications</Link> / <span>{app.name}</span>
      </nav>
      <h1 id="app-title">{app.name}</h1>
      <p className="muted">
        Owned by {app.ownerTeam.name} · created {fmtTime(app.createdAt)}
      </p>
      {app.description && <p>{app.description}</p>}
      <section className="card" aria-labelledby="subs-h">
        <h2 id="subs-h">
          Access to data products{' '}
          <span className="muted small" role="status">
            {viewer && !liveError ? '· live' : ''}
          </span>
        </h2>
        <ErrorView error={liveError} />
        {app.subscriptions.length === 0 ? (
          <Empty>
            No access requested yet. Find a product in <Link href="/">Explore</Link> and press “Request access”.
          </Empty>
        ) : (
          <div className="table-wrap" tabIndex={0} role="region" aria-label="Table (scrolls sideways)">
            <table data-testid="app-subscriptions">
              <thead>
                <tr><th scope="col">Product</th><SubscriptionHeaders /></tr>
              </thead>
              <tbody>
                {app.subscriptions.map((s) => (
                  <tr key={s.id} data-testid={`sub-${s.product.qualifiedName}`}>
                    <th scope="row"><ProductLink qn={s.product.qualifiedName} /></th>
                    <SubscriptionCells s={s} />
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section className="card" aria-labelledby="uc-h">
        <h2 id="uc-h">Use cases</h2>
        {app.useCases.length === 0 && <Empty>No use case registered.</Empty>}
        <ul className="plain stack">
          {app.useCases.map((u) => (
            <li key={u.id}>
              <strong>{u.name}</strong> <span className="badge">{u.kind}</span> {u.description}
              <div className="small">
                {u.inputs.map((i) => <ProductLink key={i.qualifiedName} qn={i.qualifiedName} />)} → {u.outputs.map((i) => <ProductLink key={i.qualifiedName} qn={i.qualifiedName} />)}
              </div>
              {u.transformation && <pre className="code" tabIndex={0}>{u.transformation}</pre>}
              {owner && (
                <button type="button" className="btn btn-small" onClick={async () => { await remove({ id: u.id }); refresh(); }}>
                  Remove use case {u.name}
                </button>
              )}
            </li>
          ))}
        </ul>
        {owner && <UseCaseForm app={app.name} onDone={refresh} />}
      </section>
      <section className="card" aria-labelledby="al-h">
        <h2 id="al-h">Lineage</h2>
        <Suspense fallback={<Loading />}>
          <AppLineage key={app.useCases.map((u) => u.id).join()} name={app.name} />
        </Suspense>
      </section>
    </section>
  );
}

function UseCaseForm({ app, onDone }: { app: string; onDone: () => void }) {
  const [name, setName] = useState('');
  const [kind, setKind] = useState<'ENRICH' | 'FILTER' | 'AGGREGATE' | 'JOIN' | 'CUSTOM'>('ENRICH');
  const [description, setDescription] = useState('');
  const [inputs, setInputs] = useState('');
  const [outputs, setOutputs] = useState('');
  const [transformation, setTransformation] = useState('');
  const [res, register] = useMutation(RegisterUseCase);
  const split = (s: string) => s.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);
  return (
    <details className="subcard" open={false}>
      <summary>Register a use case</summary>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          const r = await register({ input: { application: app, name, kind, description, inputs: split(inputs), outputs: split(outputs), transformation } });
          if (r.data) onDone();
        }}
      >
        <label htmlFor="uc-name">Name (lowercase, digits, dashes)</label>
        <input id="uc-name" className="input" required pattern="[a-z0-9\-]+" value={name} onChange={(e) => setName(e.target.value)} />
        <label htmlFor="uc-kind">Kind</label>
        <select id="uc-kind" className="input" value={kind} onChange={(e) => setKind(e.target.value as 'ENRICH')}>
          {['ENRICH', 'FILTER', 'AGGREGATE', 'JOIN', 'CUSTOM'].map((k) => <option key={k}>{k}</option>)}
        </select>
        <label htmlFor="uc-desc">Description</label>
        <input id="uc-desc" className="input" required value={description} onChange={(e) => setDescription(e.target.value)} />
        <label htmlFor="uc-in">Input products (qualified names, comma-separated)</label>
        <input id="uc-in" className="input" required value={inputs} onChange={(e) => setInputs(e.target.value)} />
        <label htmlFor="uc-out">Output products (qualified names, comma-separated)</label>
        <input id="uc-out" className="input" required value={outputs} onChange={(e) => setOutputs(e.target.value)} />
        <label htmlFor="uc-tr">Transformation (e.g. streaming SQL)</label>
        <textarea id="uc-tr" className="input mono" value={transformation} onChange={(e) => setTransformation(e.target.value)} />
        <ErrorView error={res.error} />
        {res.data && (
          <p role="status" className="ok-box">
            Registered {res.data.registerUseCase.useCase.name}: {res.data.registerUseCase.lineageEdges.length} lineage edge(s) added
            {res.data.registerUseCase.accessRequests.length > 0 && (
              <>, access requested for {res.data.registerUseCase.accessRequests.map((a) => a.product.qualifiedName).join(', ')}</>
            )}
            .
          </p>
        )}
        <button type="submit" className="btn btn-primary" disabled={res.fetching} data-testid="uc-submit">
          Register
        </button>
      </form>
    </details>
  );
}
