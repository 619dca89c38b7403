/** Where the apiserver keeps a namespace's Leases, and one of them. */
export const leasesPath = (namespace: string): string => `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;

export const leasePath = (namespace: string, name: string): string => `${leasesPath(namespace)}/${encodeURIComponent(name)}`;
