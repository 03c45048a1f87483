// PostGraphile's own CLI in N worker processes sharing one port (Node's cluster module): the
// peer's multi-process configuration for bench/run.sh. Run from the directory where
// postgraphile is installed:
//   node cluster.js N <postgraphile CLI arguments…>
"use strict";
const cluster = require("node:cluster");

const workers = Number(process.argv[2]);
if (cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on("exit", () => process.exit(1));
  process.on("SIGTERM", () => {
    cluster.removeAllListeners("exit");
    for (const worker of Object.values(cluster.workers)) worker.kill();
    process.exit(0);
  });
} else {
  process.argv.splice(2, 1); // the CLI sees its own arguments
  const { runCli } = require("graphile-config/cli");
  const { options, run } = require("postgraphile/cli");
  runCli(options, run);
}
