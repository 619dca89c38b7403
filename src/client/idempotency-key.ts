import { InvalidRequestError } from "./errors.ts";

/** What the gateway accepts as an Idempotency-Key (and what an HTTP header value can carry). */
const KEY = /^[\x21-\x7e]{1,255}$/;

/** `key`, if the gateway would accept it; else an InvalidRequestError before any request. */
export function checkedIdempotencyKey(key: string): string {
  if (!KEY.test(key)) {
    throw new InvalidRequestError("an Idempotency-Key is 1 to 255 printable ASCII characters without spaces", { code: "invalid_request" });
  }
  return key;
}

/** A key of its own for one acquisition, so that its retries get the grant that landed. */
export function randomIdempotencyKey(prefix: string): string {
  return `${prefix}-${crypto.randomUUID()}`;
}
