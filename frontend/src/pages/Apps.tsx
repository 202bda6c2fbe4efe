import { useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { Link, useLocation } from 'wouter';
import { graphql } from '../graphql';
import { ErrorView, Loading, Empty } from '../errors';
import { useAuth, useIsMember } from '../auth';
import { count } from '../components/bits';

const AppsQuery = graphql(`
  query Apps {
    applications {
      id
      name
      description
      ownerTeam { name }
      subscriptions { id status }
      useCases { id }
    }
  }
`);

const CreateApp = graphql(`
  mutation CreateApp($input: CreateApplicationInput!) {
    createApplication(input: $input) { id name }
  }
`);

export default function AppsPage() {
  const { viewer, isAdmin } = useAuth();
  const isMember = useIsMember();
  const [{ data, fetching, error }] = useQuery({ query: AppsQuery });
  const [showAll, setShowAll] = useState(false);
  const apps = (data?.applications ?? []).filter((a) => showAll || !viewer || isMember(a.ownerTeam.name));
  return (
    <section className="page" aria-labelledby="apps-title">
      <h1 id="apps-title">Create apps using data products</h1>
      <p className="muted">
        An application consumes data products once their owners approve its access requests; its use cases describe how it derives new products, and
        show in lineage.
      </p>
      {viewer && <CreateAppForm teams={isAdmin ? viewer.teams : viewer.teams} />}
      <div className="row">
        <h2>{showAll || !viewer ? 'All applications' : 'My applications'}</h2>
        {viewer && (
          <label className="check">
            <input type="checkbox" checked={showAll} onChange={(e) => setShowAll(e.target.checked)} /> show every team’s
          </label>
        )}
      </div>
      <ErrorView error={error} />
      {fetching && !data && <Loading />}
      {data && apps.length === 0 && <Empty>No application yet{viewer ? ' for your teams: create one above' : ''}.</Empty>}
      <div className="grid">
        {apps.map((a) => {
          const pending = a.subscriptions.filter((s) => s.status === 'PENDING').length;
          const approved = a.subscriptions.filter((s) => s.status === 'APPROVED').length;
          return (
            <div key={a.id} className="card">
              <h3>
                <Link href={`/apps/${encodeURIComponent(a.name)}`}>{a.name}</Link>
              </h3>
              <p className="muted small">by {a.ownerTeam.name}</p>
              <p>{a.description}</p>
              <p className="small">
                {approved} approved · {pending} pending · {count(a.useCases.length, 'use case')}
              </p>
            </div>
          );
        })}
      </div>
    </section>
  );
}

function CreateAppForm({ teams }: { teams: string[] }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [team, setTeam] = useState(teams[0] ?? '');
  const [res, create] = useMutation(CreateApp);
  const [, navigate] = useLocation();
  if (!teams.length) return <p className="muted">You belong to no team: you cannot create an application.</p>;
  return (
    <details className="card">
      <summary>Create an application</summary>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          const r = await create({ input: { name, description, ownerTeam: team || teams[0] } });
          if (r.data) navigate(`/apps/${encodeURIComponent(r.data.createApplication.name)}`);
        }}
      >
        <label htmlFor="app-name">Name</label>
        <input id="app-name" className="input" required value={name} onChange={(e) => setName(e.target.value)} />
        <label htmlFor="app-desc">Description</label>
        <textarea id="app-desc" className="input" value={description} onChange={(e) => setDescription(e.target.value)} />
        <label htmlFor="app-team">Owner team</label>
        <select id="app-team" className="input" value={team} onChange={(e) => setTeam(e.target.value)}>
          {teams.map((t) => <option key={t}>{t}</option>)}
        </select>
        <ErrorView error={res.error} />
        <button type="submit" className="btn btn-primary" disabled={res.fetching || !name.trim()}>
          Create
        </button>
      </form>
    </details>
  );
}
