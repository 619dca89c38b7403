import type { JWTPayload } from "jose";

/** An authenticated caller: who issued its token, who it is there, and every claim for policy. */
export interface Caller {
  issuer: string;
  subject: string;
  claims: JWTPayload;
}

export type AuthFailure = "unauthenticated" | "forbidden";

/** Carries only a short code to the caller; `internal` is for the gateway's own log. */
export class AuthError extends Error {
  readonly reason: AuthFailure;
  readonly internal?: string;
  constructor(reason: AuthFailure, internal?: string) {
    super(reason === "unauthenticated" ? "missing or invalid bearer token" : "not allowed");
    this.name = "AuthError";
    this.reason = reason;
    this.internal = internal;
  }
}
