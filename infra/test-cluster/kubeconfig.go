package main

import (
	"fmt"
	"os"
)

func writeKubeconfig(path, server, caFile, token, namespace string) error {
	config := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test-cluster
  cluster:
    server: %s
    certificate-authority: %s
users:
- name: admin
  user:
    token: %s
contexts:
- name: test-cluster
  context:
    cluster: test-cluster
    user: admin
    namespace: %s
current-context: test-cluster
`, server, caFile, token, namespace)
	return os.WriteFile(path, []byte(config), 0o600)
}
