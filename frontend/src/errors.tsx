import type { CombinedError } from 'urql';
import { Link } from 'wouter';

const CODE_WORDS: Record<string, string> = {
  UNAUTHENTICATED: 'You are not signed in, or your token was refused (expired or invalid).',
  FORBIDDEN: 'You are not allowed to do this.',
  NOT_FOUND: 'Not found (or not visible to you).',
  VALIDATION: 'The request was not valid.',
  CONFLICT: 'Not possible in the catalog’s current state.',
  INCOMPATIBLE_SCHEMA: 'The schema is not compatible with the product’s compatibility mode.',
  RATE_LIMITED: 'Too many requests: wait a moment and retry.',
  UNAVAILABLE: 'A service is unavailable (Kafka or the database): retry shortly.',
  INTERNAL: 'Internal server error.',
};

export function codeInWords(code: string | undefined): string {
  if (!code) return 'Error';
  return CODE_WORDS[code] ?? code;
}

export interface PortalError {
  code?: string;
  message: string;
}

export function errorsOf(error: CombinedError | undefined | null): PortalError[] {
  if (!error) return [];
  if (error.graphQLErrors.length) {
    return error.graphQLErrors.map((e) => ({
      code: typeof e.extensions?.code === 'string' ? (e.extensions.code as string) : undefined,
      message: e.message,
    }));
  }
  return [{ code: 'NETWORK', message: error.networkError?.message ?? error.message }];
}

export function hasCode(error: CombinedError | undefined | null, code: string): boolean {
  return errorsOf(error).some((e) => e.code === code);
}

export function ErrorView({ error, title }: { error: CombinedError | undefined | null | PortalError[]; title?: string }) {
  const list = Array.isArray(error) ? error : errorsOf(error);
  if (!list.length) return null;
  return (
    <div className="error" role="alert">
      {title && <strong>{title} </strong>}
      {list.map((e, i) => (
        <p key={i}>
          <strong>{e.code === 'NETWORK' ? 'Cannot reach the server.' : codeInWords(e.code)}</strong>{' '}
          <span className="muted">{e.message}</span>
          {e.code && e.code !== 'NETWORK' && <code className="code-badge">{e.code}</code>}
          {e.code === 'UNAUTHENTICATED' && (
            <>
              {' '}
              <Link href="/sign-in">Sign in</Link>
            </>
          )}
        </p>
      ))}
    </div>
  );
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> {label}
    </div>
  );
}

export function Empty({ children }: { children: React.ReactNode }) {
  return <div className="empty">{children}</div>;
}
