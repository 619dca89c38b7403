import { createRemoteJWKSet, type ExportedJWKSCache, jwksCache, type JWTVerifyGetKey } from "jose";

/**
 * An issuer's JWKS fetched from its URL by jose, which fetches it again when its copy is older
 * than `cacheMaxAge` or when a token names a key it lacks (at most once per `cooldownDuration`),
 * and which can also say whether the keys it serves have changed since it was last asked, so that
 * whatever was decided with the old keys can be forgotten.
 */
export class RemoteKeySet {
  readonly getKey: JWTVerifyGetKey;
  /** jose records each key set it adopts here (the document and when it was fetched). */
  readonly #adopted: Partial<ExportedJWKSCache> = {};
  /** The document last looked at, and its keys as JSON. */
  #seenDocument: unknown;
  #seenKeys: string | undefined;

  constructor(url: URL) {
    this.getKey = createRemoteJWKSet(url, {
      timeoutDuration: 3000,
      cooldownDuration: 30_000,
      cacheMaxAge: 600_000,
      // Starts empty, so jose fetches before the first use exactly as without it.
      [jwksCache]: this.#adopted as Record<string, never>,
    });
  }

  /**
   * Whether the keys differ from those seen at the previous call. Costs one comparison unless jose
   * adopted a new document since; a document that brings the same keys again (every refetch
   * after `cacheMaxAge`, or one a token with a made-up `kid` provoked) is no change.
   */
  keysChanged(): boolean {
    const document = this.#adopted.jwks;
    if (document === this.#seenDocument) return false;
    this.#seenDocument = document;
    const keys = JSON.stringify(document?.keys ?? null);
    const changed = this.#seenKeys !== undefined && keys !== this.#seenKeys;
    this.#seenKeys = keys;
    return changed;
  }
}
