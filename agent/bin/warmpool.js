#!/usr/bin/env node
// The `warmpool` command. npm links a package's bins when it installs it, before `npm run build` has
// compiled dist/, and skips a bin whose file is missing — which left `npx warmpool` on a fresh clone
// with "could not determine executable to run". This file is always there; it runs the compiled CLI,
// or says how to build it.
const path = require("node:path");
const main = path.join(__dirname, "..", "dist", "src", "cli", "main.js");
try {
  require.resolve(main);
} catch {
  process.stderr.write(`warmpool: the CLI is not built yet (${main} is missing): run \`npm run build\` in the repository\n`);
  process.exit(2);
}
require(main).run();
