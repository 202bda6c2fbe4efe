import { lazy, Suspense, useEffect, useState } from 'react';
import { Link, Route, Switch, useLocation, useSearch } from 'wouter';
import { useAuth } from './auth';
import { Loading } from './errors';
import { SearchPage } from './pages/Search';
import { showsLineage, startLayoutWorker } from './lineage/layoutWorker';

const DomainsPage = lazy(() => import('./pages/Domains'));
const ProductPage = lazy(() => import('./pages/Product'));
const PublishPage = lazy(() => import('./pages/Publish'));
const AdoptPage = lazy(() => import('./pages/Adopt'));
const AppsPage = lazy(() => import('./pages/Apps'));
const AppPage = lazy(() => import('./pages/AppDetail'));
const InboxPage = lazy(() => import('./pages/Inbox'));
const SignInPage = lazy(() => import('./pages/SignIn'));
const ActivityPage = lazy(() => import('./pages/Activity'));
const ActivityPanel = lazy(() => import('./components/ActivityPanel'));
const GraphiQLPage = lazy(() => import('./pages/GraphiQLPage'));
const LineageBench = lazy(() => import('./lineage/LineageBench'));

const PANEL_KEY = 'mesh.portal.activity';

function NavLink({ href, children, onClick }: { href: string; children: React.ReactNode; onClick?: () => void }) {
  const [location] = useLocation();
  const active = href === '/' ? location === '/' || location.startsWith('/products') : location.startsWith(href);
  return (
    <Link href={href} className={active ? 'nav-link active' : 'nav-link'} aria-current={active ? 'page' : undefined} onClick={onClick}>
      {children}
    </Link>
  );
}

/** On navigation to a view with a lineage graph, starts the layout worker at once, while that view's
 * code and data load (on its own, so that App does not re-render on every change of the query string). */
function LineagePrestart() {
  const [location] = useLocation();
  const search = useSearch();
  useEffect(() => {
    if (showsLineage(location, search)) startLayoutWorker();
  }, [location, search]);
  return null;
}

function AuthBanner() {
  const { authProblem, dismissProblem } = useAuth();
  if (!authProblem) return null;
  return (
    <div className="banner banner-warn" role="alert">
      <span>{authProblem}</span>{' '}
      <Link href="/sign-in" onClick={dismissProblem}>Sign in again</Link>{' '}
      <button type="button" className="linkish" onClick={dismissProblem}>Continue anonymously</button>
    </div>
  );
}

export function App() {
  const { viewer, token } = useAuth();
  const [location] = useLocation();
  const [panel, setPanel] = useState(() => localStorage.getItem(PANEL_KEY) === '1');
  const [menuOpen, setMenuOpen] = useState(false);
  useEffect(() => localStorage.setItem(PANEL_KEY, panel ? '1' : '0'), [panel]);

  if (location === '/graphql') {
    return (
      <Suspense fallback={<Loading label="Loading GraphiQL…" />}>
        <GraphiQLPage />
      </Suspense>
    );
  }

  const close = () => setMenuOpen(false);
  return (
    <div className={panel ? 'shell with-panel' : 'shell'}>
      <a href="#main" className="skip-link">Skip to content</a>
      <header className="topbar">
        <Link href="/" className="brand" aria-label="Mesh Catalog, home">
          <span aria-hidden="true" className="brand-mark">◆</span> Mesh Catalog
        </Link>
        <button
          type="button"
          className="menu-toggle"
          aria-expanded={menuOpen}
          aria-controls="main-nav"
          onClick={() => setMenuOpen((o) => !o)}
        >
          Menu
        </button>
        <nav id="main-nav" aria-label="Main" className={menuOpen ? 'spine open' : 'spine'}>
          <ol className="steps">
            <li><NavLink href="/" onClick={close}><span className="step-no" aria-hidden="true">1</span> Explore data products</NavLink></li>
            <li><NavLink href="/apps" onClick={close}><span className="step-no" aria-hidden="true">2</span> Create apps</NavLink></li>
            <li><NavLink href="/publish" onClick={close}><span className="step-no" aria-hidden="true">3</span> Publish data products</NavLink></li>
          </ol>
          <ul className="secondary-nav">
            <li><NavLink href="/domains" onClick={close}>Domains</NavLink></li>
            {token && <li><NavLink href="/inbox" onClick={close}>Inbox</NavLink></li>}
            {token && <li><NavLink href="/adopt" onClick={close}>Adopt topics</NavLink></li>}
            <li><a className="nav-link" href="/graphql">GraphiQL</a></li>
          </ul>
        </nav>
        <div className="topbar-actions">
          <button type="button" className="btn btn-ghost" aria-pressed={panel} onClick={() => setPanel((p) => !p)}>
            Activity
          </button>
          <Link href="/sign-in" className="btn btn-ghost signin-link" data-testid="signin-link">
            {viewer ? <><span className="sr-only">Signed in as </span>{viewer.subject}</> : 'Sign in'}
          </Link>
        </div>
      </header>
      <LineagePrestart />
      <AuthBanner />
      <div className="body">
        <main id="main" tabIndex={-1}>
          <Suspense fallback={<Loading />}>
            <Switch>
              <Route path="/" component={SearchPage} />
              <Route path="/domains" component={DomainsPage} />
              <Route path="/products/:qn">{(p) => <ProductPage key={p.qn} qn={decodeURIComponent(p.qn)} />}</Route>
              <Route path="/publish"><PublishPage /></Route>
              <Route path="/publish/:qn">{(p) => <PublishPage key={p.qn} qn={decodeURIComponent(p.qn)} />}</Route>
              <Route path="/adopt" component={AdoptPage} />
              <Route path="/apps" component={AppsPage} />
              <Route path="/apps/:name">{(p) => <AppPage key={p.name} name={decodeURIComponent(p.name)} />}</Route>
              <Route path="/inbox" component={InboxPage} />
              <Route path="/activity" component={ActivityPage} />
              <Route path="/sign-in" component={SignInPage} />
              <Route path="/_bench/lineage" component={LineageBench} />
              <Route>
                <section className="page">
                  <h1>Page not found</h1>
                  <p>
                    Nothing lives at <code>{location}</code>. <Link href="/">Back to the search</Link>.
                  </p>
                </section>
              </Route>
            </Switch>
          </Suspense>
        </main>
        {panel && (
          <Suspense fallback={<aside className="activity-panel"><Loading /></aside>}>
            <ActivityPanel onClose={() => setPanel(false)} />
          </Suspense>
        )}
      </div>
    </div>
  );
}
