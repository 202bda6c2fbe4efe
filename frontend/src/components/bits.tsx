import { Link } from 'wouter';

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge status-${status.toLowerCase()}`}>{status}</span>;
}

export function QualityClassBadge({ value }: { value: string }) {
  return (
    <span className={`badge qc-${value.toLowerCase()}`} title="Quality class claimed by the owner">
      {value}
    </span>
  );
}

export function TierBadge({ tier }: { tier: string | null | undefined }) {
  if (!tier) return null;
  return <span className={`badge tier-${tier.toLowerCase()}`}>{tier}</span>;
}

export function Tags({ tags }: { tags: readonly string[] }) {
  if (!tags.length) return null;
  return (
    <ul className="tags" aria-label="Tags">
      {tags.map((t) => (
        <li key={t} className={t === 'PII' ? 'tag tag-pii' : 'tag'}>
          {t}
        </li>
      ))}
    </ul>
  );
}

export function ProductLink({ qn, children }: { qn: string; children?: React.ReactNode }) {
  return <Link href={`/products/${encodeURIComponent(qn)}`}>{children ?? qn}</Link>;
}

/** A schema format as people write it: `Avro`, `JSON Schema`. */
export function formatLabel(format: string): string {
  return format === 'AVRO' ? 'Avro' : format === 'JSON_SCHEMA' ? 'JSON Schema' : format;
}

/** A number of things, the noun in the right number: `1 product`, `3 products`. */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** Markdown as plain text for a one-paragraph excerpt: emphasis, code marks, headings' and lists' marks and link targets dropped. */
export function plainText(markdown: string): string {
  return markdown
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/(\*\*|__|`)/g, '')
    .replace(/^\s{0,3}(#{1,6}|[-*+]|\d+[.)])\s+/gm, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** `text` cut to at most `max` characters at a word's end, with an ellipsis when cut. */
export function excerpt(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  const end = cut.search(/\s\S*$/);
  return `${(end > 0 ? cut.slice(0, end) : cut).trimEnd()}…`;
}

/** An enumeration's value as a word (`AUTHORITATIVE` → `Authoritative`), for lists where capitals would not fit. */
export function enumLabel(value: string): string {
  const words = value.toLowerCase().replaceAll('_', ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function fmtTime(s: string | null | undefined): string {
  if (!s) return '—';
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) return s;
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

export function fmtAgo(s: string | null | undefined): string {
  if (!s) return 'never';
  const secs = Math.round((Date.now() - new Date(s).getTime()) / 1000);
  if (secs < 60) return `${secs}s ago`;
  if (secs < 3600) return `${Math.round(secs / 60)} min ago`;
  if (secs < 86400) return `${Math.round(secs / 3600)} h ago`;
  return `${Math.round(secs / 86400)} d ago`;
}

export function fmtMs(ms: number | null | undefined): string {
  if (ms == null) return '—';
  if (ms < 0) return 'forever';
  const h = ms / 3_600_000;
  if (h >= 24) return `${+(h / 24).toFixed(1)} days`;
  if (h >= 1) return `${+h.toFixed(1)} h`;
  return `${Math.round(ms / 1000)} s`;
}

/** Highlighted fragment from its plain text and the matched ranges (code points). */
export function Marked({ fragment, ranges }: { fragment: string; ranges: readonly { start: number; end: number }[] }) {
  const chars = Array.from(fragment);
  const out: React.ReactNode[] = [];
  let pos = 0;
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  sorted.forEach((r, i) => {
    if (r.start < pos) return;
    if (r.start > pos) out.push(chars.slice(pos, r.start).join(''));
    out.push(<mark key={i}>{chars.slice(r.start, r.end).join('')}</mark>);
    pos = r.end;
  });
  if (pos < chars.length) out.push(chars.slice(pos).join(''));
  return <>{out}</>;
}

