#!/usr/bin/env node
// The `leasegate` command as installed from npm: the CLI compiled to JavaScript (dist/), which
// runs on Node >= 20. (In the repository, bin/leasegate.js runs the TypeScript sources directly.)
const { main } = await import("../dist/cli/main.js");
process.exit(await main(process.argv.slice(2)));
