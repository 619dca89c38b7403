#!/usr/bin/env node
// The `leasegate` command. The CLI is TypeScript run directly by Node (type stripping), which
// needs Node >= 22.18 (or >= 23.6). This file stays plain JavaScript so that older Node versions
// can at least say so.
if (!process.features?.typescript) {
  process.stderr.write(
    `leasegate: Node.js ${process.versions.node} cannot run it; Node >= 22.18 is needed ` +
      "(it runs TypeScript directly). In this repository, `npx leasegate` uses the pinned Node from `npm ci`.\n",
  );
  process.exit(74);
}
const { main } = await import("../src/cli/main.ts");
process.exit(await main(process.argv.slice(2)));
