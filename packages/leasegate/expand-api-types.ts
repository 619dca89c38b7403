/**
 * Runs after `tsc` when the package is packed. The client's API types are inferred from the
 * gateway's zod schemas (`src/client/api-types.ts`), so tsc's declaration for them imports
 * `src/http/schemas.ts`, and with it zod and Hono, which the package does not ship: an installed
 * client would see every answer typed `any`. This writes the inferred types out in full instead
 * and drops the gateway's modules that only the type imports brought into `dist/`.
 */
import { rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const source = fileURLToPath(new URL("../../src/client/api-types.ts", import.meta.url));
const declaration = fileURLToPath(new URL("dist/client/api-types.d.ts", import.meta.url));
const gatewayOnly = fileURLToPath(new URL("dist/http", import.meta.url));

const configPath = fileURLToPath(new URL("tsconfig.json", import.meta.url));
const config = ts.getParsedCommandLineOfConfigFile(configPath, {}, {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
    throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"));
  },
});
if (!config) throw new Error(`cannot read ${configPath}`);

const program = ts.createProgram([source], config.options);
const checker = program.getTypeChecker();
const sourceFile = program.getSourceFile(source);
if (!sourceFile) throw new Error(`cannot read ${source}`);

const printFlags =
  ts.TypeFormatFlags.NoTruncation |
  ts.TypeFormatFlags.InTypeAlias |
  ts.TypeFormatFlags.UseSingleQuotesForStringLiteralType;

const lines = [
  "// The gateway API's types, written out from its zod schemas when the package was built.",
];
for (const statement of sourceFile.statements) {
  if (!ts.isTypeAliasDeclaration(statement)) continue;
  const exported = statement.modifiers?.some((modifier) => modifier.kind === ts.SyntaxKind.ExportKeyword);
  if (!exported) continue;
  const docs = ts
    .getJSDocCommentsAndTags(statement)
    .map((doc) => doc.getFullText(sourceFile).trim())
    .filter((text) => text.startsWith("/**"));
  const expanded = checker.typeToString(checker.getTypeAtLocation(statement.name), statement, printFlags);
  if (/\bz\.|\bany\b/.test(expanded)) {
    throw new Error(`${statement.name.text} did not expand to plain types: ${expanded.slice(0, 200)}`);
  }
  lines.push(...docs, `export type ${statement.name.text} = ${expanded};`);
}

writeFileSync(declaration, `${lines.join("\n")}\n`);
rmSync(gatewayOnly, { recursive: true, force: true });
