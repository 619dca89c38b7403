/**
 * Lock names are Lease names exactly: a DNS-1123 subdomain, so a lock and its Lease share one
 * name and `kubectl get lease <name>` finds it. Returns the first rule the name breaks.
 */
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function lockNameProblem(name: string): string | null {
  if (name.length === 0) return "must not be empty";
  if (name.length > 253) return "must be at most 253 characters";
  if (/[^a-z0-9.-]/.test(name)) return "may contain only lower-case letters, digits, '-' and '.'";
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) return "must start and end with a letter or digit";
  for (const label of name.split(".")) {
    if (!LABEL.test(label)) return "each '.'-separated part must be non-empty and start and end with a letter or digit";
  }
  return null;
}
