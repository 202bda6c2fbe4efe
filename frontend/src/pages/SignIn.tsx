import { useEffect, useState } from 'react';
import { useLocation } from 'wouter';
import { useAuth } from '../auth';
import { Loading } from '../errors';

interface DemoUser {
  subject: string;
  admin: boolean;
  teams: string[];
}

export default function SignInPage() {
  const { viewer, token, signIn, signOut, expiresAt, viewerLoading } = useAuth();
  const [, navigate] = useLocation();
  const [users, setUsers] = useState<DemoUser[] | null | 'none'>(null);
  const [paste, setPaste] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  useEffect(() => {
    let stop = false;
    fetch('/auth/demo-users', { headers: { Accept: 'application/json' } })
      .then(async (r) => {
        if (!r.ok) throw new Error(String(r.status));
        const body = (await r.json()) as { users: DemoUser[] };
        if (!stop) setUsers(body.users);
      })
      .catch(() => !stop && setUsers('none'));
    return () => {
      stop = true;
    };
  }, []);

  const pick = async (subject: string) => {
    setBusy(subject);
    setProblem(null);
    try {
      const r = await fetch('/auth/demo-token', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ subject }),
      });
      if (!r.ok) throw new Error(`the server answered ${r.status}`);
      const body = (await r.json()) as { token: string };
      signIn(body.token);
      navigate('/');
    } catch (e) {
      setProblem(`Could not get a demo token: ${(e as Error).message}.`);
    } finally {
      setBusy(null);
    }
  };

  return (
    <section className="page narrow" aria-labelledby="signin-title">
      <h1 id="signin-title">{viewer ? 'You are signed in' : 'Sign in'}</h1>
      {token && viewerLoading && !viewer && <Loading label="Checking your token…" />}
      {viewer && (
        <div className="card" data-testid="whoami">
          <p>
            Signed in as <strong>{viewer.subject}</strong>
            {viewer.roles.length > 0 && <> · roles: {viewer.roles.join(', ')}</>}
          </p>
          <p>Teams: {viewer.teams.length ? viewer.teams.join(', ') : <span className="muted">none</span>}</p>
          {expiresAt && <p className="muted">Token expires {expiresAt.toLocaleString()}</p>}
          <button type="button" className="btn" onClick={signOut}>
            Sign out
          </button>
        </div>
      )}
      {problem && (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
      {users === null && <Loading label="Looking for demo users…" />}
      {Array.isArray(users) && (
        <>
          <h2>{viewer ? 'Switch user' : 'Demo users'}</h2>
          <ul className="user-list">
            {users.map((u) => (
              <li key={u.subject}>
                <button type="button" className="btn user-btn" disabled={!!busy} onClick={() => pick(u.subject)} data-testid={`demo-user-${u.subject}`}>
                  <strong>{u.subject}</strong>
                  {u.admin && <span className="badge">admin</span>}
                  <span className="muted small">{u.teams.join(', ') || 'no team'}</span>
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
      <h2>Paste a token</h2>
      {users === 'none' && !viewer && (
        <p className="muted">Your platform issues the tokens this server accepts (a JWT from your identity provider, or one minted with <code>mesh-catalog token</code>).</p>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const t = paste.trim().replace(/^Bearer\s+/i, '');
          if (!t) return setProblem('Paste a JWT first.');
          signIn(t);
          setPaste('');
          navigate('/sign-in');
        }}
      >
        <label htmlFor="token-input">JWT (sent as <code>Authorization: Bearer …</code>)</label>
        <textarea id="token-input" className="input mono" rows={4} value={paste} onChange={(e) => setPaste(e.target.value)} />
        <button type="submit" className="btn btn-primary">
          Use this token
        </button>
      </form>
    </section>
  );
}
