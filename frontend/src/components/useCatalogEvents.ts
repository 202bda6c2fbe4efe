import { useEffect, useRef } from 'react';
import { useSubscription } from 'urql';
import { graphql } from '../graphql';

export const CatalogEventsSub = graphql(`
  subscription CatalogEvents($kinds: [ChangeKind!], $domains: [String!]) {
    catalogEvents(kinds: $kinds, domains: $domains) {
      __typename
      ... on CatalogEvent { eventId type time actor entityKind entityId entityName summary domains }
      ... on Lagged { skipped }
    }
  }
`);

type Kind = 'ACCESS_REQUESTED' | 'ACCESS_APPROVED' | 'ACCESS_REJECTED' | 'ACCESS_REVOKED' | 'USE_CASE_REGISTERED' | 'APPLICATION_CREATED';

/** Calls `onEvent` for each live catalog event of these kinds. */
export function useCatalogEvents(kinds: Kind[], onEvent: () => void, pause = false) {
  const cb = useRef(onEvent);
  useEffect(() => {
    cb.current = onEvent;
  }, [onEvent]);
  const [res] = useSubscription({ query: CatalogEventsSub, variables: { kinds, domains: null }, pause });
  useEffect(() => {
    if (res.data) cb.current();
  }, [res.data]);
  return res.error;
}
