import { memo, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useQuery, type CombinedError } from 'urql';
import { Link, useLocation, useSearchParams } from 'wouter';
import { ComboBox, Input, Label, ListBox, ListBoxItem, Popover, Button } from 'react-aria-components';
import { graphql, type ResultOf } from '../graphql';
import { ErrorView, Loading, Empty } from '../errors';
import { count, enumLabel, excerpt, formatLabel, plainText, Marked, QualityClassBadge, StatusBadge, Tags, TierBadge } from '../components/bits';
import { OpenWhenSuggested } from '../components/OpenWhenSuggested';

const SearchQuery = graphql(`
  query Search($query: String!, $filters: SearchFiltersInput, $first: Int!, $after: String, $prefix: String!, $withSuggest: Boolean!) {
    suggest(prefix: $prefix, limit: 8) @include(if: $withSuggest) {
      kind
      text
      displayName
      productCount
    }
    search(query: $query, filters: $filters, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      facets {
        domains { value count }
        tags { value count }
        tiers { value count }
        qualityClasses { value count }
        statuses { value count }
        owners { value count }
        formats { value count }
      }
      edges {
        cursor
        node {
          score
          matchedFields
          highlights {
            field
            fragment
            ranges { start end }
          }
          product {
            id
            qualifiedName
            displayName
            description
            status
            qualityClass
            visibility
            tags
            qualityScore
            subscriberCount
            domain { name }
            ownerTeam { name }
            sla { tier }
            schema { format }
          }
        }
      }
    }
  }
`);



/** The facets; `show` words an enumeration's values (the URL and the query keep them as the API spells them). */
export const FACETS = [
  { param: 'domain', key: 'domains', label: 'Domain', show: String },
  { param: 'tag', key: 'tags', label: 'Tag', show: String },
  { param: 'tier', key: 'tiers', label: 'SLA tier', show: enumLabel },
  { param: 'qc', key: 'qualityClasses', label: 'Quality class', show: enumLabel },
  { param: 'status', key: 'statuses', label: 'Status', show: enumLabel },
  { param: 'owner', key: 'owners', label: 'Owner team', show: String },
  { param: 'format', key: 'formats', label: 'Schema format', show: formatLabel },
] as const;

type FacetKey = (typeof FACETS)[number]['key'];
const PAGE_SIZE = 10;
const FIRST_PAGE: string[] = [];

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

function lastWord(text: string): string {
  const m = /([^\s]+)$/.exec(text);
  return m ? m[1] : '';
}

export function SearchPage() {
  const [params, setParams] = useSearchParams();
  const [, navigate] = useLocation();
  const urlQ = params.get('q') ?? '';
  const [text, setText] = useState(urlQ);
  const lastPushed = useRef(urlQ);

  // A URL changed from outside (a link, back/forward) sets the text.
  useEffect(() => {
    if (urlQ !== lastPushed.current) {
      lastPushed.current = urlQ;
      setText(urlQ);
    }
  }, [urlQ]);
  // What is typed is searched at once (a request per edit; urql drops the answer to an older one);
  // the URL follows once typing pauses, for sharing and back/forward, without a history entry
  // per keystroke.
  const forUrl = useDebounced(text, 300);
  useEffect(() => {
    if (forUrl === lastPushed.current) return;
    lastPushed.current = forUrl;
    setParams(
      (p) => {
        const n = new URLSearchParams(p);
        if (forUrl) n.set('q', forUrl);
        else n.delete('q');
        n.delete('pg');
        return n;
      },
      { replace: true },
    );
  }, [forUrl, setParams]);

  const filters = useMemo(() => {
    const f: Record<string, string[]> = {};
    for (const facet of FACETS) f[facet.key] = params.getAll(facet.param);
    return f;
  }, [params]);
  // The page (a cursor per page turned) belongs to the text in the URL; while newer text waits to
  // go there, its results start at the first page.
  const urlPages = useMemo(() => params.getAll('pg'), [params]);
  const pages = text === urlQ ? urlPages : FIRST_PAGE;
  const after = pages.length ? pages[pages.length - 1] : null;

  // One request per edit: the results and the typeahead's suggestions for
  // the last word (none past 64 letters, the longest word indexed).
  const prefix = lastWord(text);
  const suggesting = prefix.length >= 2 && prefix.length <= 64;
  const [{ data, fetching, error, operation }] = useQuery({
    query: SearchQuery,
    variables: {
      query: text,
      filters: filters as never,
      first: PAGE_SIZE,
      after,
      prefix,
      withSuggest: suggesting,
    },
    requestPolicy: 'cache-and-network',
  });
  const suggestions = suggesting ? (data?.suggest ?? []) : [];

  const toggle = useCallback(
    (param: string, value: string) =>
      setParams((p) => {
        const n = new URLSearchParams(p);
        const vals = n.getAll(param);
        n.delete(param);
        const next = vals.includes(value) ? vals.filter((v) => v !== value) : [...vals, value];
        next.forEach((v) => n.append(param, v));
        n.delete('pg');
        return n;
      }),
    [setParams],
  );
  const clearFilters = useCallback(
    () =>
      setParams((p) => {
        const n = new URLSearchParams(p);
        FACETS.forEach((f) => n.delete(f.param));
        n.delete('pg');
        return n;
      }),
    [setParams],
  );
  const activeFilters = FACETS.flatMap((f) => params.getAll(f.param).map((v) => ({ ...f, value: v })));

  const search = data?.search;
  const [wide, setWide] = useState(() => window.matchMedia('(min-width: 901px)').matches);
  // The text the shown results are for (the box may already hold newer text).
  const shownQ = (operation?.variables as { query?: string } | undefined)?.query ?? text;

  return (
    <section className="page search-page" aria-labelledby="search-title">
      <h1 id="search-title">Explore data products</h1>
      <form
        role="search"
        className="search-form"
        onSubmit={(e) => {
          e.preventDefault();
          lastPushed.current = text;
          setParams((p) => {
            const n = new URLSearchParams(p);
            if (text) n.set('q', text);
            else n.delete('q');
            n.delete('pg');
            return n;
          });
        }}
      >
        <ComboBox
          className="combo"
          aria-label="Search data products"
          inputValue={text}
          onInputChange={setText}
          allowsCustomValue
          menuTrigger="input"
          items={suggestions.map((s) => ({ id: `${s.kind}:${s.text}`, ...s }))}
          onSelectionChange={(key) => {
            if (key == null) return;
            const [kind, ...rest] = String(key).split(':');
            const value = rest.join(':');
            if (kind === 'PRODUCT') {
              navigate(`/products/${encodeURIComponent(value)}`);
            } else {
              const words = text.split(/\s+/);
              words[words.length - 1] = value;
              setText(words.join(' '));
            }
          }}
        >
          <Label className="sr-only">Search data products</Label>
          <OpenWhenSuggested count={suggestions.length} text={text} inputTestId="search-input" />
          <div className="combo-field">
            <Input
              className="input search-input"
              placeholder="Search products, fields, tags, owners… (typos are fine)"
              maxLength={1000}
              data-testid="search-input"
            />
            <Button className="btn" aria-label="Show suggestions">
              ▾
            </Button>
          </div>
          <Popover className="popover" placement="bottom start">
            <ListBox
              className="listbox"
              renderEmptyState={() => <p className="muted small pad">{prefix.length < 2 ? 'Type two letters for suggestions' : 'No suggestion'}</p>}
            >
              {(s: { id: string; kind: string; text: string; displayName?: string | null; productCount?: number | null }) => (
                <ListBoxItem id={s.id} textValue={s.text} className="listbox-item">
                  <span className={`sugg-kind sugg-${s.kind.toLowerCase()}`}>{s.kind === 'PRODUCT' ? 'Product' : 'Field'}</span>{' '}
                  <span>{s.text}</span>
                  {s.kind === 'PRODUCT' && s.displayName && <span className="muted"> — {s.displayName}</span>}
                  {s.kind === 'FIELD' && s.productCount != null && (
                    <span className="muted">
                      {' '}
                      in {count(s.productCount, 'product')}
                    </span>
                  )}
                </ListBoxItem>
              )}
            </ListBox>
          </Popover>
        </ComboBox>
        <button type="submit" className="btn btn-primary">
          Search
        </button>
      </form>

      {activeFilters.length > 0 && (
        <div className="active-filters" aria-label="Active filters">
          {activeFilters.map((f) => (
            <button key={f.param + f.value} type="button" className="chip" onClick={() => toggle(f.param, f.value)}>
              {f.label}: {f.show(f.value)} <span aria-hidden="true">×</span>
              <span className="sr-only"> (remove filter)</span>
            </button>
          ))}
          <button type="button" className="linkish" onClick={clearFilters}>
            Clear filters
          </button>
        </div>
      )}

      <div className="search-layout">
        <details className="facets-box" open={wide} onToggle={(e) => setWide((e.target as HTMLDetailsElement).open)}>
          <summary>
            Filters{activeFilters.length > 0 && ` (${activeFilters.length} active)`}
          </summary>
          <FacetList facets={search?.facets} selected={filters} toggle={toggle} />
        </details>
        <ResultList
          search={search}
          fetching={fetching}
          error={error}
          shownQ={shownQ}
          pages={pages}
          setParams={setParams}
          clearFilters={activeFilters.length > 0 ? clearFilters : null}
        />
      </div>
    </section>
  );
}

type SearchResult = NonNullable<ResultOf<typeof SearchQuery>['search']>;

/** Values a facet lists before its "Show all". */
const FACET_VALUES = 12;

/** The facets and their counts (a selected value no longer counted stays, at 0); rendered again when the answer or the filters change, not per keystroke. */
const FacetList = memo(function FacetList({
  facets,
  selected,
  toggle,
}: {
  facets: SearchResult['facets'] | undefined;
  selected: Record<string, string[]>;
  toggle: (param: string, value: string) => void;
}) {
  // Facets listing every value, not the first FACET_VALUES (and the chosen ones).
  const [whole, setWhole] = useState<Record<string, boolean>>({});
  return (
    <div className="facets" role="group" aria-label="Filters">
    {facets &&
      FACETS.map((f) => {
        const counts = facets[f.key as FacetKey];
        const chosen = selected[f.key] ?? [];
        const values = [...counts];
        for (const s of chosen) if (!values.some((v) => v.value === s)) values.push({ value: s, count: 0 });
        return (
          <fieldset key={f.key} className="facet" data-testid={`facet-${f.param}`}>
            <legend>{f.label}</legend>
            {values.length === 0 && <p className="muted small">none</p>}
            <ul>
              {(whole[f.key] ? values : values.filter((v, i) => i < FACET_VALUES || chosen.includes(v.value))).map((v) => (
                <li key={v.value}>
                  <label>
                    <input type="checkbox" checked={chosen.includes(v.value)} onChange={() => toggle(f.param, v.value)} />{' '}
                    <span className="facet-value">{f.show(v.value)}</span> <span className="count">{v.count}</span>
                  </label>
                </li>
              ))}
            </ul>
            {values.length > FACET_VALUES && (
              <button
                type="button"
                className="linkish small"
                aria-expanded={!!whole[f.key]}
                onClick={() => setWhole((w) => ({ ...w, [f.key]: !w[f.key] }))}
              >
                {whole[f.key] ? 'Show fewer' : `Show all ${values.length}`}
              </button>
            )}
          </fieldset>
        );
      })}
    </div>
  );
});

/** The hits of one answer, their count and the pager; rendered again when the answer changes, not per keystroke. */
const ResultList = memo(function ResultList({
  search,
  fetching,
  error,
  shownQ,
  pages,
  setParams,
  clearFilters,
}: {
  search: SearchResult | undefined;
  fetching: boolean;
  error: CombinedError | undefined;
  shownQ: string;
  pages: string[];
  setParams: ReturnType<typeof useSearchParams>[1];
  /** `null` when no filter is set. */
  clearFilters: (() => void) | null;
}) {
  const pageNo = pages.length + 1;
  const top = useRef<HTMLDivElement>(null);
  // A page turned from the pager at the bottom starts at the top of the results.
  const turn = (update: Parameters<typeof setParams>[0]) => {
    setParams(update);
    top.current?.scrollIntoView({ block: 'start' });
  };
  return (
    <div className="results" aria-live="polite" aria-busy={fetching} ref={top}>
      <ErrorView error={error} />
      {!search && fetching && <Loading label="Searching…" />}
      {search && (
        <>
          <p className="result-count" data-testid="result-count">
            {count(search.totalCount, 'product')}
            {shownQ && (
              <>
                {' '}
                for <strong>“{shownQ}”</strong>
              </>
            )}
            {pageNo > 1 && <> · page {pageNo}</>}
            {fetching && <span className="muted"> · updating…</span>}
          </p>
          {search.edges.length === 0 && (
            <Empty>
              No product matches. Try fewer words
              {clearFilters ? (
                <>
                  {' '}or <button type="button" className="linkish" onClick={clearFilters}>clear the filters</button>
                </>
              ) : (
                ' or another spelling'
              )}
              .
            </Empty>
          )}
          <ol className="hits" data-testid="hits">
            {search.edges.map(({ node, cursor }) => {
              const p = node.product;
              if (!p) return null;
              return (
                <li key={cursor} className="hit card">
                  <div className="hit-head">
                    <Link href={`/products/${encodeURIComponent(p.qualifiedName)}`} className="hit-title">
                      {p.displayName || p.qualifiedName}
                    </Link>
                    <code className="qn">{p.qualifiedName}</code>
                  </div>
                  <div className="hit-meta">
                    <StatusBadge status={p.status} /> <QualityClassBadge value={p.qualityClass} /> <TierBadge tier={p.sla?.tier} />
                    {p.visibility === 'PRIVATE' && <span className="badge badge-private">PRIVATE</span>}
                    <span className="muted">
                      {p.domain.name} · owned by {p.ownerTeam.name}
                      {p.schema && <> · {formatLabel(p.schema.format)}</>}
                      {p.qualityScore != null && <> · quality {Math.round(p.qualityScore)}</>} · {count(p.subscriberCount, 'subscriber')}
                    </span>
                  </div>
                  {node.matchedFields.length > 0 && (
                    <p className="matched small">
                      Matched in: {node.matchedFields.map((f) => <span key={f} className="matched-field">{f}</span>)}
                    </p>
                  )}
                  {node.highlights.length > 0 ? (
                    <ul className="highlights">
                      {node.highlights.slice(0, 3).map((h, i) => (
                        <li key={i}>
                          <span className="hl-field">{h.field}</span> <Marked fragment={h.fragment} ranges={h.ranges} />
                        </li>
                      ))}
                    </ul>
                  ) : (
                    <p className="desc">{excerpt(plainText(p.description), 200)}</p>
                  )}
                  <Tags tags={p.tags} />
                </li>
              );
            })}
          </ol>
          <nav className="pager" aria-label="Pages">
            <button
              type="button"
              className="btn"
              disabled={pages.length === 0}
              onClick={() =>
                turn((p) => {
                  const n = new URLSearchParams(p);
                  const pg = n.getAll('pg');
                  n.delete('pg');
                  pg.slice(0, -1).forEach((c) => n.append('pg', c));
                  return n;
                })
              }
            >
              Previous page
            </button>
            <span>Page {pageNo}</span>
            <button
              type="button"
              className="btn"
              disabled={!search.pageInfo.hasNextPage}
              onClick={() =>
                turn((p) => {
                  const n = new URLSearchParams(p);
                  // The cursor belongs to the shown results' text, which the URL may not hold yet.
                  if ((n.get('q') ?? '') !== shownQ) {
                    n.delete('pg');
                    if (shownQ) n.set('q', shownQ);
                    else n.delete('q');
                  }
                  if (search.pageInfo.endCursor) n.append('pg', search.pageInfo.endCursor);
                  return n;
                })
              }
            >
              Next page
            </button>
          </nav>
        </>
      )}
    </div>
  );
});
