// Loads schema.graphql with graphql-js, as schema linters, inspectors, client code generators
// and federation composition do; exits 1 when it is not a valid schema.
import { readFileSync } from 'node:fs';
import { buildSchema } from 'graphql';

const path = process.argv[2];
try {
  const schema = buildSchema(readFileSync(path, 'utf8'));
  const types = Object.keys(schema.getTypeMap()).filter((n) => !n.startsWith('__')).length;
  console.log(`${path} loads with graphql-js: ${types} types`);
} catch (error) {
  console.log(`${path} does not load with graphql-js: ${error.message}`);
  process.exit(1);
}
