import type { Grant, LockState } from "../locks/lock-service.ts";

export function grantBody(grant: Grant, namespace: string) {
  return {
    name: grant.name,
    namespace,
    lease: grant.name,
    holder: grant.holder,
    holderIdentity: grant.holderIdentity,
    subject: grant.subject,
    token: grant.token,
    fencingToken: grant.fencingToken,
    acquiredAt: grant.acquiredAt.toISOString(),
    renewedAt: grant.renewedAt.toISOString(),
    expiresAt: grant.expiresAt.toISOString(),
    ttlSeconds: grant.ttlSeconds,
    transitions: grant.transitions,
    metadata: grant.metadata,
  };
}

export function stateBody(state: LockState, namespace: string) {
  return {
    name: state.name,
    namespace,
    status: state.status,
    holderIdentity: state.holderIdentity,
    holder: state.holder,
    subject: state.subject,
    issuer: state.issuer,
    fencingToken: state.fencingToken,
    acquiredAt: state.acquiredAt?.toISOString(),
    renewedAt: state.renewedAt?.toISOString(),
    expiresAt: state.expiresAt?.toISOString(),
    ttlSeconds: state.ttlSeconds,
    transitions: state.transitions,
    metadata: state.metadata,
    forcedRelease: state.forcedRelease && {
      by: state.forcedRelease.by,
      issuer: state.forcedRelease.issuer,
      at: state.forcedRelease.at.toISOString(),
    },
    maxHolders: state.maxHolders,
    holders: state.holders.map((holder) => ({
      holderIdentity: holder.holderIdentity,
      holder: holder.holder,
      subject: holder.subject,
      issuer: holder.issuer,
      fencingToken: holder.fencingToken,
      acquiredAt: holder.acquiredAt.toISOString(),
      renewedAt: holder.renewedAt.toISOString(),
      expiresAt: holder.expiresAt.toISOString(),
      metadata: holder.metadata,
    })),
    waiters: state.queue.length,
    queue: state.queue.map((waiter) => ({
      position: waiter.position,
      holderIdentity: waiter.holderIdentity,
      holder: waiter.holder,
      subject: waiter.subject,
      issuer: waiter.issuer,
      waitingSince: waiter.waitingSince.toISOString(),
      expiresAt: waiter.expiresAt.toISOString(),
    })),
  };
}
