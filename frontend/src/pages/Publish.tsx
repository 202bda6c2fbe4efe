import { useMemo, useState } from 'react';
import { useClient, useMutation, useQuery } from 'urql';
import { Link, useLocation } from 'wouter';
import CodeMirror from '@uiw/react-codemirror';
import { json } from '@codemirror/lang-json';
import { EditorView } from '@codemirror/view';
import { graphql } from '../graphql';
import { ErrorView, Loading, Empty, errorsOf, type PortalError } from '../errors';
import { useAuth, useIsMember } from '../auth';
import { ImpactView } from '../lineage/LineageTab';

const PublishContext = graphql(`
  query PublishContext {
    domains { id name ownerTeam { name } }
  }
`);

const EditQuery = graphql(`
  query EditProduct($qn: String!) {
    dataProduct(qualifiedName: $qn) {
      id
      qualifiedName
      name
      displayName
      description
      domain { name ownerTeam { name } }
      ownerTeam { name }
      tags
      status
      qualityClass
      visibility
      compatibility
      version
      topic { name partitions retentionMs cleanupPolicy }
      sla { tier maxFreshnessSeconds availabilityPercent }
      schema { version format definition }
    }
  }
`);

const CheckCompat = graphql(`
  query CheckCompat($qn: String!, $schema: SchemaInput!) {
    checkSchemaCompatibility(product: $qn, schema: $schema) {
      compatible
      mode
      incompatibilities { path message againstVersion }
    }
  }
`);

const PublishMutation = graphql(`
  mutation Publish($input: PublishDataProductInput!) {
    publishDataProduct(input: $input) { id qualifiedName status version schema { version } }
  }
`);

const editorExtensions = [json(), EditorView.contentAttributes.of({ 'aria-labelledby': 'f-def-label', tabindex: '0' })];

const NEW_SCHEMA = `{
  "type": "object",
  "properties": {
    "id": { "type": "string", "description": "Identifier" },
    "occurredAt": { "type": "string", "format": "date-time" }
  },
  "required": ["id"],
  "additionalProperties": false
}`;

interface Form {
  domain: string;
  name: string;
  displayName: string;
  description: string;
  tags: string;
  qualityClass: string;
  visibility: string;
  compatibility: string;
  tier: string;
  maxFreshnessSeconds: string;
  partitions: string;
  retentionDays: string;
  cleanupPolicy: string;
  format: 'AVRO' | 'JSON_SCHEMA';
  definition: string;
  draft: boolean;
}

const EMPTY: Form = {
  domain: '',
  name: '',
  displayName: '',
  description: '',
  tags: '',
  qualityClass: 'RAW',
  visibility: 'PUBLIC',
  compatibility: 'BACKWARD',
  tier: 'SILVER',
  maxFreshnessSeconds: '3600',
  partitions: '3',
  retentionDays: '7',
  cleanupPolicy: 'DELETE',
  format: 'JSON_SCHEMA',
  definition: NEW_SCHEMA,
  draft: false,
};

type Report = { compatible: boolean; mode: string; incompatibilities: readonly { path: string; message: string; againstVersion: number | null }[] };

export default function PublishPage({ qn }: { qn?: string }) {
  const { viewer } = useAuth();
  const isMember = useIsMember();
  const client = useClient();
  const [, navigate] = useLocation();
  const [ctx] = useQuery({ query: PublishContext });
  const [edit] = useQuery({ query: EditQuery, variables: { qn: qn ?? '' }, pause: !qn });
  const existing = edit.data?.dataProduct;
  if (!viewer)
    return (
      <section className="page">
        <h1>Publish data products</h1>
        <Empty>
          Publishing needs a signed-in member of a domain’s team. <Link href="/sign-in">Sign in</Link>.
        </Empty>
      </section>
    );
  if (qn && edit.fetching && !edit.data) return <Loading />;
  if (qn && !edit.data) return <section className="page"><h1>{qn}</h1><ErrorView error={edit.error} /></section>;
  if (qn && !existing) return <section className="page"><h1>No product “{qn}”</h1></section>;
  return <PublishForm key={existing?.id ?? 'new'} qn={qn} existing={existing ?? null} ctx={ctx} client={client} isMember={isMember} navigate={navigate} />;
}

type Existing = NonNullable<import('gql.tada').ResultOf<typeof EditQuery>['dataProduct']>;

function initialForm(existing: Existing | null): Form {
  if (!existing) return EMPTY;
  const def = existing.schema ? JSON.stringify(JSON.parse(existing.schema.definition), null, 2) : NEW_SCHEMA;
  return {
    domain: existing.domain.name,
    name: existing.name,
    displayName: existing.displayName,
    description: existing.description,
    tags: existing.tags.join(', '),
    qualityClass: existing.qualityClass,
    visibility: existing.visibility,
    compatibility: existing.compatibility,
    tier: existing.sla?.tier ?? 'SILVER',
    maxFreshnessSeconds: existing.sla?.maxFreshnessSeconds?.toString() ?? '',
    partitions: String(existing.topic.partitions),
    retentionDays: existing.topic.retentionMs < 0 ? '-1' : String(existing.topic.retentionMs / 86_400_000),
    cleanupPolicy: existing.topic.cleanupPolicy,
    format: existing.schema?.format ?? 'JSON_SCHEMA',
    definition: def,
    draft: existing.status === 'DRAFT',
  };
}

function PublishForm({
  qn,
  existing,
  ctx,
  client,
  isMember,
  navigate,
}: {
  qn?: string;
  existing: Existing | null;
  ctx: { data?: import('gql.tada').ResultOf<typeof PublishContext>; error?: import('urql').CombinedError };
  client: ReturnType<typeof useClient>;
  isMember: ReturnType<typeof useIsMember>;
  navigate: (to: string) => void;
}) {
  const [form, setForm] = useState<Form>(() => initialForm(existing));
  const original = existing ? initialForm(existing).definition : null;
  const [report, setReport] = useState<{ def: string; report: Report } | null>(null);
  const [checkErrors, setCheckErrors] = useState<PortalError[]>([]);
  const [checking, setChecking] = useState(false);
  const [res, publish] = useMutation(PublishMutation);


  const myDomains = useMemo(() => (ctx.data?.domains ?? []).filter((d) => isMember(d.ownerTeam.name)), [ctx.data, isMember]);
  const domain = form.domain || myDomains[0]?.name || '';

  const up = <K extends keyof Form>(k: K) => (v: Form[K]) => setForm((f) => ({ ...f, [k]: v }));

  const problems: string[] = [];
  if (!domain) problems.push('Choose a domain.');
  if (!/^[a-z0-9][a-z0-9-]*$/.test(form.name)) problems.push('The name takes lowercase letters, digits and dashes.');
  let defOk = true;
  try {
    JSON.parse(form.definition);
  } catch (e) {
    defOk = false;
    problems.push(`The schema is not valid JSON: ${(e as Error).message}`);
  }
  if (form.maxFreshnessSeconds && !(Number(form.maxFreshnessSeconds) > 0)) problems.push('Max freshness must be a positive number of seconds.');
  if (!(Number(form.partitions) >= 1)) problems.push('Partitions must be at least 1.');

  const schemaChanged = !!existing && original !== null && form.definition.trim() !== original.trim();
  const needsCheck = !!existing && schemaChanged;
  const checkedCurrent = report && report.def === form.definition;
  const canSubmit = problems.length === 0 && (!needsCheck || (checkedCurrent && report.report.compatible));

  const runCheck = async () => {
    if (!qn || !defOk) return;
    setChecking(true);
    setCheckErrors([]);
    const r = await client.query(CheckCompat, { qn, schema: { format: form.format, definition: form.definition } }, { requestPolicy: 'network-only' }).toPromise();
    setChecking(false);
    if (r.error) setCheckErrors(errorsOf(r.error));
    else if (r.data) setReport({ def: form.definition, report: r.data.checkSchemaCompatibility });
  };

  const submit = async () => {
    const retention = Number(form.retentionDays);
    const r = await publish({
      input: {
        domain,
        name: form.name,
        displayName: form.displayName || null,
        description: form.description,
        tags: form.tags.split(',').map((t) => t.trim()).filter(Boolean),
        qualityClass: form.qualityClass as 'RAW',
        visibility: form.visibility as 'PUBLIC',
        compatibility: form.compatibility as 'BACKWARD',
        sla: { tier: form.tier as 'SILVER', maxFreshnessSeconds: form.maxFreshnessSeconds ? Number(form.maxFreshnessSeconds) : null },
        topic: { partitions: Number(form.partitions), retentionMs: retention < 0 ? -1 : Math.round(retention * 86_400_000), cleanupPolicy: form.cleanupPolicy as 'DELETE' },
        schema: { format: form.format, definition: form.definition },
        draft: form.draft,
        expectedVersion: existing?.version ?? null,
      },
    });
    if (r.data) navigate(`/products/${encodeURIComponent(r.data.publishDataProduct.qualifiedName)}`);
  };

  return (
    <section className="page" aria-labelledby="publish-title">
      <h1 id="publish-title">{existing ? `Evolve ${existing.qualifiedName}` : 'Publish a data product'}</h1>
      {!qn && (
        <p className="muted">
          Or adopt a topic that already exists in the cluster: <Link href="/adopt">Adopt topics</Link>.
        </p>
      )}
      <ErrorView error={ctx.error} />
      {!qn && ctx.data && myDomains.length === 0 && <Empty>None of your teams owns a domain: you cannot publish here.</Empty>}
      <form
        className="form-grid"
        onSubmit={(e) => {
          e.preventDefault();
          if (canSubmit) void submit();
        }}
      >
        <fieldset>
          <legend>Identity</legend>
          <label htmlFor="f-domain">Domain</label>
          <select id="f-domain" className="input" value={domain} disabled={!!qn} onChange={(e) => up('domain')(e.target.value)}>
            {qn && <option value={domain}>{domain}</option>}
            {!qn && myDomains.map((d) => <option key={d.id} value={d.name}>{d.name}</option>)}
          </select>
          <label htmlFor="f-name">Name</label>
          <input id="f-name" className="input" value={form.name} disabled={!!qn} required onChange={(e) => up('name')(e.target.value)} aria-describedby="f-name-help" />
          <small id="f-name-help" className="muted">lowercase, digits and dashes; the product is <code>{domain || 'domain'}.{form.name || 'name'}</code></small>
          <label htmlFor="f-display">Display name</label>
          <input id="f-display" className="input" value={form.displayName} onChange={(e) => up('displayName')(e.target.value)} />
          <label htmlFor="f-desc">Description (Markdown)</label>
          <textarea id="f-desc" className="input" rows={4} value={form.description} onChange={(e) => up('description')(e.target.value)} />
          <label htmlFor="f-tags">Tags (comma-separated)</label>
          <input id="f-tags" className="input" value={form.tags} onChange={(e) => up('tags')(e.target.value)} />
        </fieldset>
        <fieldset>
          <legend>Promises</legend>
          <label htmlFor="f-qc">Quality class</label>
          <select id="f-qc" className="input" value={form.qualityClass} onChange={(e) => up('qualityClass')(e.target.value)}>
            <option value="AUTHORITATIVE">AUTHORITATIVE — the system of record</option>
            <option value="CURATED">CURATED — cleaned and conformed</option>
            <option value="RAW">RAW — as produced</option>
          </select>
          <label htmlFor="f-vis">Visibility</label>
          <select id="f-vis" className="input" value={form.visibility} onChange={(e) => up('visibility')(e.target.value)}>
            <option value="PUBLIC">PUBLIC — anyone signed in discovers it</option>
            <option value="PRIVATE">PRIVATE — only its teams and approved consumers</option>
          </select>
          <label htmlFor="f-tier">SLA tier</label>
          <select id="f-tier" className="input" value={form.tier} onChange={(e) => up('tier')(e.target.value)}>
            {['PLATINUM', 'GOLD', 'SILVER', 'BRONZE'].map((t) => <option key={t}>{t}</option>)}
          </select>
          <label htmlFor="f-fresh">Max freshness (seconds)</label>
          <input id="f-fresh" className="input" inputMode="numeric" value={form.maxFreshnessSeconds} onChange={(e) => up('maxFreshnessSeconds')(e.target.value)} />
          <label htmlFor="f-compat">Compatibility mode</label>
          <select id="f-compat" className="input" value={form.compatibility} onChange={(e) => up('compatibility')(e.target.value)}>
            {['BACKWARD', 'BACKWARD_TRANSITIVE', 'FORWARD', 'FORWARD_TRANSITIVE', 'FULL', 'FULL_TRANSITIVE', 'NONE'].map((t) => <option key={t}>{t}</option>)}
          </select>
        </fieldset>
        <fieldset>
          <legend>Topic</legend>
          <label htmlFor="f-parts">Partitions</label>
          <input id="f-parts" className="input" inputMode="numeric" value={form.partitions} onChange={(e) => up('partitions')(e.target.value)} />
          <label htmlFor="f-ret">Retention (days, -1 = forever)</label>
          <input id="f-ret" className="input" inputMode="decimal" value={form.retentionDays} onChange={(e) => up('retentionDays')(e.target.value)} />
          <label htmlFor="f-cleanup">Cleanup policy</label>
          <select id="f-cleanup" className="input" value={form.cleanupPolicy} onChange={(e) => up('cleanupPolicy')(e.target.value)}>
            <option>DELETE</option>
            <option>COMPACT</option>
            <option>COMPACT_DELETE</option>
          </select>
          <label className="check">
            <input type="checkbox" checked={form.draft} onChange={(e) => up('draft')(e.target.checked)} /> Keep as a draft
          </label>
        </fieldset>
        <fieldset className="wide">
          <legend>Schema</legend>
          <label htmlFor="f-format">Format</label>
          <select id="f-format" className="input" value={form.format} onChange={(e) => up('format')(e.target.value as Form['format'])}>
            <option value="JSON_SCHEMA">JSON Schema</option>
            <option value="AVRO">Avro</option>
          </select>
          <span className="label" id="f-def-label">Definition</span>
          <div className="editor" data-testid="schema-editor">
            <CodeMirror value={form.definition} height="300px" extensions={editorExtensions} onChange={(v) => up('definition')(v)} />
          </div>
          {existing && (
            <div className="compat">
              <button type="button" className="btn" disabled={!defOk || checking || !schemaChanged} onClick={runCheck} data-testid="check-compat">
                {checking ? 'Checking…' : 'Check compatibility'}
              </button>{' '}
              {!schemaChanged && <span className="muted">The schema is unchanged: no new version will be registered.</span>}
              <ErrorView error={checkErrors} />
              {report && (
                <div className={report.report.compatible ? 'ok-box' : 'error'} role="status" data-testid="compat-report">
                  {report.report.compatible ? (
                    <p>
                      <strong>Compatible</strong> under {report.report.mode}
                      {!checkedCurrent && ' (the definition changed since: check again)'}.
                    </p>
                  ) : (
                    <>
                      <p>
                        <strong>Not compatible</strong> under {report.report.mode}:
                      </p>
                      <ul>
                        {report.report.incompatibilities.map((i, k) => (
                          <li key={k}>
                            <code>{i.path || '(schema)'}</code> {i.message} {i.againstVersion != null && <>(against v{i.againstVersion})</>}
                          </li>
                        ))}
                      </ul>
                    </>
                  )}
                </div>
              )}
            </div>
          )}
        </fieldset>
        {existing && schemaChanged && <ImpactView qn={existing.qualifiedName} />}
        <div className="wide">
          {problems.length > 0 && (
            <ul className="problems" aria-label="To fix before publishing">
              {problems.map((p) => <li key={p}>{p}</li>)}
            </ul>
          )}
          {needsCheck && !checkedCurrent && <p className="muted">Check the new schema’s compatibility before submitting.</p>}
          <ErrorView error={res.error} />
          <button type="submit" className="btn btn-primary" disabled={!canSubmit || res.fetching} data-testid="publish-submit">
            {existing ? 'Save changes' : form.draft ? 'Save draft' : 'Publish'}
          </button>
        </div>
      </form>
    </section>
  );
}
