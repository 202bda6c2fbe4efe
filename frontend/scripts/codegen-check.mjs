// Fails when src/graphql-env.d.ts is stale against ../schema.graphql, or when
// a document of the portal no longer validates against the schema.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'src/graphql-env.d.ts');
const before = readFileSync(out, 'utf8');
const run = (args) => execFileSync(process.execPath, [join(root, 'node_modules/gql.tada/bin/cli.js'), ...args], { cwd: root, stdio: 'inherit' });
let failed = false;
try {
  run(['generate', 'output']);
  const after = readFileSync(out, 'utf8');
  if (after !== before) {
    console.error('codegen:check: src/graphql-env.d.ts was stale against ../schema.graphql (regenerated it: run `npm run codegen` and commit).');
    failed = true;
  }
  // Validates every graphql() document against the schema.
  run(['check', '--fail-on-warn']);
  // And the result types against their use.
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b'], { cwd: root, stdio: 'inherit' });
} catch (e) {
  console.error('codegen:check failed:', e.message);
  failed = true;
}
if (failed) {
  process.exit(1);
}
console.log('codegen:check: documents and types match ../schema.graphql');
