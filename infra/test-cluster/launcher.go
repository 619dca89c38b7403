package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

const serviceAccountIssuer = "https://kubernetes.default.svc.cluster.local"

func runLauncher(args []string) error {
	fs := flag.NewFlagSet("test-cluster", flag.ContinueOnError)
	dirFlag := fs.String("dir", "", "state directory (default: a new temp dir, removed on exit)")
	keep := fs.Bool("keep", false, "keep the state directory on exit")
	startTimeout := fs.Duration("start-timeout", 120*time.Second, "give up when a component is not ready within this")
	if err := fs.Parse(args); err != nil {
		return err
	}

	dir := *dirFlag
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "leasegate-cluster-"); err != nil {
			return fmt.Errorf("cannot create a temp dir: %w", err)
		}
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	cleanup := func() {
		if !*keep {
			_ = os.RemoveAll(dir)
		}
	}

	c, err := newCluster(dir)
	if err != nil {
		cleanup()
		return err
	}
	if err := c.startAll(*startTimeout); err != nil {
		c.stopAll()
		cleanup()
		return err
	}
	control, err := c.serveControl(*startTimeout)
	if err != nil {
		c.stopAll()
		cleanup()
		return err
	}

	ready, _ := json.Marshal(map[string]any{
		"event":           "ready",
		"server":          c.server,
		"caFile":          c.pki.caFile,
		"adminKubeconfig": c.adminKubeconfig,
		"dir":             dir,
		"control":         control,
		"pid":             os.Getpid(),
	})
	fmt.Println(string(ready))

	// Stop on a signal, or when whoever started us is gone (so no cluster outlives its test run).
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	parent := os.Getppid()
	ticker := time.NewTicker(500 * time.Millisecond)
	defer ticker.Stop()
loop:
	for {
		select {
		case <-signals:
			break loop
		case <-ticker.C:
			if os.Getppid() != parent {
				break loop
			}
		}
	}
	c.stopAll()
	cleanup()
	return nil
}

type cluster struct {
	dir             string
	pki             *pki
	server          string
	adminKubeconfig string
	etcd, apiserver *component
	client          *http.Client
}

func newCluster(dir string) (*cluster, error) {
	p, err := writePKI(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot write certificates: %w", err)
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, fmt.Errorf("no free loopback ports: %w", err)
	}
	etcdClient := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	etcdPeer := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	c := &cluster{dir: dir, pki: p, server: fmt.Sprintf("https://127.0.0.1:%d", ports[2])}

	caPEM, err := os.ReadFile(p.caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	c.client = &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}

	c.etcd = &component{
		name:    "etcd",
		args:    []string{"etcd", "--data-dir", filepath.Join(dir, "etcd-data"), "--client-url", etcdClient, "--peer-url", etcdPeer},
		logFile: filepath.Join(dir, "etcd.out"),
		ready:   func(t time.Duration) error { return poll(t, func() error { return c.get(etcdClient+"/health", "") }) },
	}
	c.apiserver = &component{
		name: "kube-apiserver",
		args: []string{
			"apiserver",
			"--etcd-servers=" + etcdClient,
			"--bind-address=127.0.0.1",
			"--advertise-address=127.0.0.1",
			fmt.Sprintf("--secure-port=%d", ports[2]),
			"--cert-dir=" + filepath.Join(dir, "apiserver-certs"),
			"--tls-cert-file=" + p.certFile,
			"--tls-private-key-file=" + p.keyFile,
			"--token-auth-file=" + p.tokenFile,
			"--authorization-mode=RBAC",
			"--service-account-issuer=" + serviceAccountIssuer,
			"--api-audiences=" + serviceAccountIssuer,
			"--service-account-key-file=" + p.saPub,
			"--service-account-signing-key-file=" + p.saKey,
			"--service-cluster-ip-range=10.96.0.0/16",
			"--endpoint-reconciler-type=none",
			"--enable-priority-and-fairness=false",
			"--profiling=false",
			"--v=1",
		},
		logFile: filepath.Join(dir, "apiserver.log"),
		ready: func(t time.Duration) error {
			return poll(t, func() error {
				if err := c.get(c.server+"/readyz", p.adminToken); err != nil {
					return err
				}
				// Ready also means the bootstrap controller has created the default namespace.
				return c.get(c.server+"/api/v1/namespaces/default", p.adminToken)
			})
		},
	}
	c.adminKubeconfig = filepath.Join(dir, "admin.kubeconfig")
	if err := writeKubeconfig(c.adminKubeconfig, c.server, p.caFile, p.adminToken, "default"); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *cluster) startAll(timeout time.Duration) error {
	if err := c.etcd.start(timeout); err != nil {
		return err
	}
	return c.apiserver.start(timeout)
}

func (c *cluster) stopAll() {
	c.apiserver.stop()
	c.etcd.stop()
}

func (c *cluster) get(url, token string) error {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.client.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %d", url, res.StatusCode)
	}
	return nil
}

func poll(timeout time.Duration, check func() error) error {
	deadline := time.Now().Add(timeout)
	err := errors.New("timed out")
	for time.Now().Before(deadline) {
		if err = check(); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

// freePorts asks the kernel for distinct free loopback ports. Another process can still take
// one before the component binds it; the component then fails to start with a clear error.
func freePorts(n int) ([]int, error) {
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
