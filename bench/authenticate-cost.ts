/**
 * Measurement, not a test: CPU time per call of JwtAuthenticator.authenticate with and without the
 * verified-token cache, for RS256, ES256 and HS256 tokens, and of the lock-token operations each
 * lock request performs. Run it on its own, on an otherwise idle machine:
 *
 *   node_modules/.bin/node bench/authenticate-cost.ts [calls]
 *
 * CPU time is this process's (process.cpuUsage), which includes the threads WebCrypto runs its
 * jobs on; wall time is the mean per sequential call.
 */
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { JwtAuthenticator } from "../src/auth/jwt-authenticator.ts";
import { issuerSchema } from "../src/config/schema.ts";
import { type Sha256, webCryptoSha256 } from "../src/crypto/sha256.ts";
import { randomSecret, TokenKeys } from "../src/locks/lock-token.ts";
import { nodeSha256 } from "../src/node/node-sha256.ts";

const CALLS = Number(process.argv[2] ?? 5000);
const WARMUP = 300;
/** Each measurement is repeated; the median round is reported, as the first rounds still include compilation. */
const ROUNDS = Number(process.argv[3] ?? 5);
/** Tokens that must all differ are signed beforehand (about 1 ms each for RS256): fewer of them. */
const DISTINCT_CALLS = Math.min(CALLS, 1000);
const AUDIENCE = "leasegate";
const ISSUER = "https://issuer.example";
const HS_ISSUER = "https://shared-secret.example";
const HS_SECRET = "s".repeat(48);
/** The gateway's two implementations of its hashes: the Node entry's and every other runtime's. */
const HASHES: Array<[string, Sha256]> = [
  ["WebCrypto", webCryptoSha256],
  ["node:crypto", nodeSha256],
];

function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function measure(label: string, calls: number, run: (index: number) => Promise<unknown>): Promise<void> {
  // Every call gets its own index, so `run` can hand each one a token never seen before.
  let next = 0;
  for (let index = 0; index < WARMUP; index++) await run(next++);
  const cpus: number[] = [];
  const walls: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const cpuBefore = cpuMs();
    const wallBefore = performance.now();
    for (let index = 0; index < calls; index++) await run(next++);
    cpus.push((cpuMs() - cpuBefore) / calls);
    walls.push((performance.now() - wallBefore) / calls);
  }
  const cpu = median(cpus);
  const wall = median(walls);
  console.log(`${label.padEnd(58)} cpu ${(cpu * 1000).toFixed(1).padStart(7)} µs/call   wall ${(wall * 1000).toFixed(1).padStart(7)} µs/call`);
}

const rs = await generateKeyPair("RS256", { extractable: true });
const es = await generateKeyPair("ES256", { extractable: true });
const keys = [
  { ...(await exportJWK(rs.publicKey)), kid: "rs-1", alg: "RS256", use: "sig" },
  { ...(await exportJWK(es.publicKey)), kid: "es-1", alg: "ES256", use: "sig" },
];
const issuers = [
  issuerSchema.parse({ issuer: ISSUER, audiences: [AUDIENCE], jwks: { keys } }),
  issuerSchema.parse({ issuer: HS_ISSUER, audiences: [AUDIENCE], hs256SecretEnv: "HS_SECRET", allowHs256: true }),
];
const env = { HS_SECRET: HS_SECRET };

/** A token the size of a GitHub Actions OIDC token (about 1 KiB of claims). */
function mint(alg: "RS256" | "ES256" | "HS256", serial = 0): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    sub: "repo:acme/payments:ref:refs/heads/main",
    repository: "acme/payments",
    repository_id: "123456789",
    repository_owner: "acme",
    ref: "refs/heads/main",
    workflow: "deploy",
    run_id: String(9_000_000_000 + serial),
    job_workflow_ref: "acme/payments/.github/workflows/deploy.yml@refs/heads/main",
    environment: "production",
  };
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg, ...(alg === "HS256" ? {} : { kid: alg === "RS256" ? "rs-1" : "es-1" }), typ: "JWT" })
    .setIssuer(alg === "HS256" ? HS_ISSUER : ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + 3600);
  return jwt.sign(alg === "RS256" ? rs.privateKey : alg === "ES256" ? es.privateKey : new TextEncoder().encode(HS_SECRET));
}

// An authenticator built without options is whatever the code's default is; 0 seconds switches
// the cache off (an older authenticator ignores the options and never caches).
const uncached = await JwtAuthenticator.create(issuers, env, { verifiedTokenCacheSeconds: 0 });

console.log(`node ${process.version}, ${CALLS} calls each after ${WARMUP} warm-up calls, median of ${ROUNDS} rounds`);
for (const alg of ["RS256", "ES256", "HS256"] as const) {
  const token = `Bearer ${await mint(alg)}`;
  await measure(`authenticate ${alg}, same token, cache off`, CALLS, () => uncached.authenticate(token));
  for (const [name, sha256] of HASHES) {
    const cached = await JwtAuthenticator.create(issuers, env, { verifiedTokenCacheSeconds: 60, sha256 });
    await measure(`authenticate ${alg}, same token, cache on (${name})`, CALLS, () => cached.authenticate(token));
  }
  // Every call a new token: what the cache costs when it cannot help.
  const distinct = await Promise.all(Array.from({ length: WARMUP + ROUNDS * DISTINCT_CALLS }, (_, index) => mint(alg, index + 1).then((t) => `Bearer ${t}`)));
  await measure(`authenticate ${alg}, distinct tokens, cache off`, DISTINCT_CALLS, (index) => uncached.authenticate(distinct[index]!));
  const fresh = await JwtAuthenticator.create(issuers, env, { verifiedTokenCacheSeconds: 60 });
  await measure(`authenticate ${alg}, distinct tokens, cache on (all misses)`, DISTINCT_CALLS, (index) => fresh.authenticate(distinct[index]!));
}

for (const [name, sha256] of HASHES) {
  const tokenKeys = await TokenKeys.import([new Uint8Array(32).fill(7), new Uint8Array(32).fill(9)], sha256);
  const grant = { fencingToken: "123456", secret: randomSecret(), holderIdentity: "deploy (repo:acme/payments:ref:refs/heads/main)" };
  const lockToken = await tokenKeys.issue("leasegate/deploy-prod", grant);
  if ((await tokenKeys.open("leasegate/deploy-prod", lockToken)) === null) throw new Error("the lock token does not open");
  await measure(`lock token issue (${name})`, CALLS, () => tokenKeys.issue("leasegate/deploy-prod", grant));
  await measure(`lock token open (${name})`, CALLS, () => tokenKeys.open("leasegate/deploy-prod", lockToken));
  await measure(`lock token idempotentSecret (${name})`, CALLS, () => tokenKeys.idempotentSecret("leasegate/deploy-prod", "sub", "key-1"));
  await measure(`verifierOf (${name})`, CALLS, () => tokenKeys.verifierOf(grant.secret));
}
