// Audits a GraphQL-over-HTTP server with graphql-http's auditServer; exits 1 on any error.
import { auditServer } from 'graphql-http';

const url = process.argv[2];
const results = await auditServer({ url });
let errors = 0;
for (const result of results) {
  if (result.status === 'error') {
    errors++;
    console.log(`ERROR ${result.id} ${result.name}: ${result.reason}`);
  } else if (result.status === 'warn') {
    console.log(`WARN  ${result.id} ${result.name}: ${result.reason}`);
  }
}
console.log(`graphql-http audit: ${results.length} checks, ${errors} errors`);
process.exit(errors ? 1 : 0);
