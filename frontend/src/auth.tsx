import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState } from 'react';
import { Client, Provider, cacheExchange, fetchExchange, mapExchange, subscriptionExchange, useQuery } from 'urql';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { graphql } from './graphql';

const TOKEN_KEY = 'mesh.portal.token';

export interface Viewer {
  subject: string;
  teams: string[];
  roles: string[];
}

interface AuthState {
  token: string | null;
  viewer: Viewer | null;
  viewerLoading: boolean;
  isAdmin: boolean;
  /** Why the last token stopped working, if it did. */
  authProblem: string | null;
  signIn: (token: string) => void;
  signOut: () => void;
  dismissProblem: () => void;
  ws: WsClient;
  expiresAt: Date | null;
}

const AuthContext = createContext<AuthState | null>(null);

export function useAuth(): AuthState {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error('useAuth outside AuthProvider');
  return ctx;
}

export function wsUrl(): string {
  const proto = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${window.location.host}/graphql`;
}

/** The `exp` of a JWT, without verifying it (the server does). */
export function tokenExpiry(token: string): Date | null {
  try {
    const payload = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))) as { exp?: number };
    return typeof payload.exp === 'number' ? new Date(payload.exp * 1000) : null;
  } catch {
    return null;
  }
}

function makeClients(token: string | null, onUnauthenticated: () => void) {
  const ws = createWsClient({
    url: wsUrl(),
    lazy: true,
    lazyCloseTimeout: 3000,
    retryAttempts: 3,
    connectionParams: token ? { Authorization: `Bearer ${token}` } : {},
    on: {
      closed: (event) => {
        const code = (event as CloseEvent | undefined)?.code;
        if (token && (code === 4401 || code === 4403)) onUnauthenticated();
      },
    },
  });
  const client = new Client({
    url: '/graphql',
    preferGetMethod: false,
    requestPolicy: 'cache-and-network',
    fetchOptions: (): RequestInit => {
      const headers: Record<string, string> = {};
      if (token) headers.Authorization = `Bearer ${token}`;
      return { headers };
    },
    exchanges: [
      mapExchange({
        onError(error) {
          if (token && error.graphQLErrors.some((e) => e.extensions?.code === 'UNAUTHENTICATED')) onUnauthenticated();
        },
      }),
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query || '' };
          return {
            subscribe(sink) {
              const unsubscribe = ws.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
  });
  return { client, ws };
}

const ViewerQuery = graphql(`
  query Viewer {
    viewer {
      subject
      teams
      roles
    }
  }
`);

export function AuthProvider({ children }: { children: React.ReactNode }) {
  const [token, setToken] = useState<string | null>(() => localStorage.getItem(TOKEN_KEY));
  const [authProblem, setAuthProblem] = useState<string | null>(null);

  const onUnauthenticated = useCallback(() => {
    setAuthProblem('Your token was refused by the server (expired or invalid). Sign in again, or continue anonymously.');
    localStorage.removeItem(TOKEN_KEY);
    setToken(null);
  }, []);

  const clients = useMemo(() => makeClients(token, onUnauthenticated), [token, onUnauthenticated]);
  // Close the previous socket once a new token has replaced it (not on StrictMode's effect replays).
  const previous = useRef<WsClient | null>(null);
  useEffect(() => {
    if (previous.current && previous.current !== clients.ws) void previous.current.dispose();
    previous.current = clients.ws;
  }, [clients]);

  const expiresAt = useMemo(() => (token ? tokenExpiry(token) : null), [token]);
  useEffect(() => {
    if (!expiresAt) return;
    const ms = expiresAt.getTime() - Date.now();
    if (ms <= 0) {
      const t = setTimeout(() => {
        setAuthProblem('Your token has expired. Sign in again, or continue anonymously.');
        localStorage.removeItem(TOKEN_KEY);
        setToken(null);
      }, 0);
      return () => clearTimeout(t);
    }
    const t = setTimeout(() => {
      setAuthProblem('Your token has expired. Sign in again, or continue anonymously.');
      localStorage.removeItem(TOKEN_KEY);
      setToken(null);
    }, Math.min(ms, 2 ** 31 - 1));
    return () => clearTimeout(t);
  }, [expiresAt]);

  const signIn = useCallback((t: string) => {
    localStorage.setItem(TOKEN_KEY, t);
    setAuthProblem(null);
    setToken(t);
  }, []);
  const signOut = useCallback(() => {
    localStorage.removeItem(TOKEN_KEY);
    setToken(null);
  }, []);
  const dismissProblem = useCallback(() => setAuthProblem(null), []);

  return (
    <Provider value={clients.client}>
      <ViewerLoader
        token={token}
        ws={clients.ws}
        authProblem={authProblem}
        signIn={signIn}
        signOut={signOut}
        dismissProblem={dismissProblem}
        expiresAt={expiresAt}
      >
        {children}
      </ViewerLoader>
    </Provider>
  );
}

function ViewerLoader(props: Omit<AuthState, 'viewer' | 'viewerLoading' | 'isAdmin'> & { children: React.ReactNode }) {
  const [{ data, fetching }] = useQuery({ query: ViewerQuery, requestPolicy: 'network-only' });
  const viewer = props.token ? (data?.viewer ?? null) : null;
  const value: AuthState = {
    token: props.token,
    ws: props.ws,
    authProblem: props.authProblem,
    signIn: props.signIn,
    signOut: props.signOut,
    dismissProblem: props.dismissProblem,
    expiresAt: props.expiresAt,
    viewer,
    viewerLoading: fetching,
    isAdmin: !!viewer?.roles.includes('admin'),
  };
  return <AuthContext.Provider value={value}>{props.children}</AuthContext.Provider>;
}

/** Whether the viewer is in one of these teams (by name), or an admin. */
export function useIsMember() {
  const { viewer, isAdmin } = useAuth();
  return useCallback(
    (...teams: (string | undefined | null)[]) => isAdmin || (!!viewer && teams.some((t) => !!t && viewer.teams.includes(t))),
    [viewer, isAdmin],
  );
}
