import { isCanonicalBase64url } from "../encoding/base64url.ts";

/**
 * The shape of a lock token, defined once for the API schema, the gateway and the CLI:
 * `lg2.<fencing token>.<secret>.<holder identity>.<mac>`: the fencing token in decimal, the
 * other parts unpadded base64url. Only the gateway can tell whether a well-formed token is valid.
 */
export const LOCK_TOKEN_PREFIX = "lg2";
export const LOCK_TOKEN_MAX_LENGTH = 3072;
export const LOCK_TOKEN_PATTERN = /^lg2\.[0-9]{1,20}\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{2,2900}\.[A-Za-z0-9_-]{43}$/;

/** Whether `text` has a lock token's shape, each base64url part spelled canonically. */
export function isLockTokenShaped(text: string): boolean {
  if (text.length > LOCK_TOKEN_MAX_LENGTH || !LOCK_TOKEN_PATTERN.test(text)) return false;
  const [, , secret, identity, mac] = text.split(".") as [string, string, string, string, string];
  return isCanonicalBase64url(secret) && isCanonicalBase64url(identity) && isCanonicalBase64url(mac);
}
