import { useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { Link } from 'wouter';
import { graphql } from '../graphql';
import { ErrorView, Loading } from '../errors';
import { useIsMember } from '../auth';
import { Modal } from './Modal';

export const MyAppsQuery = graphql(`
  query MyApps {
    applications { id name description ownerTeam { name } }
  }
`);

const RequestAccessMutation = graphql(`
  mutation RequestAccess($input: RequestAccessInput!) {
    requestAccess(input: $input) { id status product { qualifiedName } application { name } }
  }
`);

export function RequestAccess({ product }: { product: string }) {
  const [open, setOpen] = useState(false);
  const [{ data, fetching }] = useQuery({ query: MyAppsQuery, pause: !open });
  const isMember = useIsMember();
  const mine = (data?.applications ?? []).filter((a) => isMember(a.ownerTeam.name));
  const [app, setApp] = useState('');
  const [purpose, setPurpose] = useState('');
  const [res, run] = useMutation(RequestAccessMutation);
  const [done, setDone] = useState<string | null>(null);
  const chosen = app || mine[0]?.name || '';
  return (
    <>
      <button type="button" className="btn btn-primary" onClick={() => { setOpen(true); setDone(null); }}>
        Request access
      </button>
      <Modal open={open} onClose={() => setOpen(false)} title={`Request access to ${product}`}>
        {fetching && !data && <Loading />}
        {done ? (
          <div role="status">
            <p>
              Request sent: status <strong>{done}</strong>. The owners decide in their inbox; follow it in{' '}
              <Link href={`/apps/${encodeURIComponent(chosen)}`}>{chosen}</Link>.
            </p>
            <button type="button" className="btn" onClick={() => setOpen(false)}>Close</button>
          </div>
        ) : data && mine.length === 0 ? (
          <p>
            None of your teams owns an application yet. <Link href="/apps">Create one</Link> first.
          </p>
        ) : (
          data && (
            <form
              onSubmit={async (e) => {
                e.preventDefault();
                const r = await run({ input: { application: chosen, product, purpose } });
                if (r.data) setDone(r.data.requestAccess.status);
              }}
            >
              <label htmlFor="ra-app">For the application</label>
              <select id="ra-app" className="input" value={chosen} onChange={(e) => setApp(e.target.value)}>
                {mine.map((a) => (
                  <option key={a.id} value={a.name}>
                    {a.name} ({a.ownerTeam.name})
                  </option>
                ))}
              </select>
              <label htmlFor="ra-purpose">Purpose (what you will do with the data)</label>
              <textarea id="ra-purpose" className="input" required value={purpose} onChange={(e) => setPurpose(e.target.value)} />
              <ErrorView error={res.error} />
              <div className="actions">
                <button type="submit" className="btn btn-primary" disabled={res.fetching || !purpose.trim() || !chosen}>
                  Send request
                </button>
                <button type="button" className="btn" onClick={() => setOpen(false)}>Cancel</button>
              </div>
            </form>
          )
        )}
      </Modal>
    </>
  );
}
