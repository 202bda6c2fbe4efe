// The GraphQL-over-HTTP audit (graphql-http's serverAudits) against a
// running server: `node audit.mjs http://127.0.0.1:8080/graphql`.
// Prints every audit; exits 1 when a MUST or a SHOULD fails (unless the
// SHOULD is listed in `departures` with the reason we depart from it).
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs <graphql endpoint URL>');
  process.exit(2);
}

// SHOULDs we do not follow, on purpose, with the reason (none today).
const departures = {};

const results = [];
for (const audit of serverAudits({ url })) {
  results.push(await audit.fn());
}
let failed = 0;
for (const r of results) {
  const level = r.name.split(' ')[0];
  const departure = r.status !== 'ok' && level === 'SHOULD' ? departures[r.id] : undefined;
  const mark = r.status === 'ok' ? 'ok  ' : departure ? 'skip' : level === 'MAY' ? 'may ' : 'FAIL';
  if (mark === 'FAIL') failed++;
  console.log(`${mark} ${r.id} ${r.name}${r.status !== 'ok' ? ` — ${departure ?? r.reason}` : ''}`);
}
const count = (level, status) =>
  results.filter((r) => r.name.startsWith(level) && (status ? r.status === 'ok' : true)).length;
console.log(
  `MUST ${count('MUST', true)}/${count('MUST')}, SHOULD ${count('SHOULD', true)}/${count('SHOULD')}, MAY ${count('MAY', true)}/${count('MAY')}`,
);
process.exit(failed ? 1 : 0);
