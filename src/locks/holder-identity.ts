/**
 * The `holderIdentity` a grant is known by to every Lease client (`kubectl get leases`, client-go):
 * the caller's label and the authenticated subject. A Lease counts as a grant of this service only
 * while its holder identity is exactly this text, so another client that takes the Lease over
 * (and writes its own identity) is never mistaken for the grant, whatever annotations it left.
 */
export function holderIdentityOf(subject: string, label: string | undefined): string {
  return label ? `${label} (${subject})` : subject;
}
