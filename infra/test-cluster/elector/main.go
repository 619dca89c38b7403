// Command elector is a stock client-go leader-election candidate on a coordination.k8s.io/v1
// Lease (tools/leaderelection with resourcelock.LeaseLock, nothing changed), so tests can prove
// that leasegate and client-go never both hold the same Lease.
//
// It prints one JSON line per leader-election callback on stdout:
//
//	{"event":"started_leading","identity":"…","at":"<RFC 3339, nanoseconds>"}
//	{"event":"stopped_leading","identity":"…","at":"…"}
//	{"event":"new_leader","identity":"<the leader it observed>","at":"…"}
//
// On SIGTERM or SIGINT, or when stdin closes (its parent went away), it releases the Lease if it
// leads (ReleaseOnCancel) and exits 0. A candidate that loses leadership keeps competing, as a
// restarted controller would, so one process shows every transition it lives through.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

type options struct {
	kubeconfig    string
	namespace     string
	leaseName     string
	identity      string
	leaseDuration time.Duration
	renewDeadline time.Duration
	retryPeriod   time.Duration
}

func main() {
	var opts options
	flag.StringVar(&opts.kubeconfig, "kubeconfig", "", "kubeconfig file (required)")
	flag.StringVar(&opts.namespace, "namespace", "", "namespace of the Lease (required)")
	flag.StringVar(&opts.leaseName, "lease", "", "name of the Lease (required)")
	flag.StringVar(&opts.identity, "identity", "", "this candidate's holderIdentity (required)")
	flag.DurationVar(&opts.leaseDuration, "lease-duration", 15*time.Second, "LeaseDuration")
	flag.DurationVar(&opts.renewDeadline, "renew-deadline", 10*time.Second, "RenewDeadline")
	flag.DurationVar(&opts.retryPeriod, "retry-period", 2*time.Second, "RetryPeriod")
	flag.Parse()
	for name, value := range map[string]string{"kubeconfig": opts.kubeconfig, "namespace": opts.namespace, "lease": opts.leaseName, "identity": opts.identity} {
		if value == "" {
			fmt.Fprintf(os.Stderr, "elector: --%s is required\n", name)
			os.Exit(2)
		}
	}
	if err := run(opts); err != nil {
		fmt.Fprintf(os.Stderr, "elector: %v\n", err)
		os.Exit(1)
	}
}

func run(opts options) error {
	restConfig, err := clientcmd.BuildConfigFromFlags("", opts.kubeconfig)
	if err != nil {
		return fmt.Errorf("reading kubeconfig: %w", err)
	}
	client, err := coordinationv1client.NewForConfig(restConfig)
	if err != nil {
		return fmt.Errorf("creating the coordination client: %w", err)
	}

	events := &eventWriter{out: os.Stdout}
	elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: &resourcelock.LeaseLock{
			LeaseMeta:  metav1.ObjectMeta{Namespace: opts.namespace, Name: opts.leaseName},
			Client:     client,
			LockConfig: resourcelock.ResourceLockConfig{Identity: opts.identity},
		},
		LeaseDuration:   opts.leaseDuration,
		RenewDeadline:   opts.renewDeadline,
		RetryPeriod:     opts.retryPeriod,
		ReleaseOnCancel: true,
		Name:            opts.leaseName,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(context.Context) { events.write("started_leading", opts.identity) },
			OnStoppedLeading: func() { events.write("stopped_leading", opts.identity) },
			OnNewLeader:      func(identity string) { events.write("new_leader", identity) },
		},
	})
	if err != nil {
		return fmt.Errorf("invalid leader-election configuration: %w", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		// A closed stdin means the parent is gone: give the Lease back rather than let it expire.
		_, _ = io.Copy(io.Discard, os.Stdin)
		stop()
	}()

	for ctx.Err() == nil {
		// Run returns when leadership is lost or ctx ends; after ctx ends it has already released.
		elector.Run(ctx)
	}
	return nil
}

// eventWriter prints whole JSON lines: callbacks run on their own goroutines.
type eventWriter struct {
	mu  sync.Mutex
	out io.Writer
}

func (w *eventWriter) write(event, identity string) {
	line, _ := json.Marshal(struct {
		Event    string `json:"event"`
		Identity string `json:"identity"`
		At       string `json:"at"`
	}{event, identity, time.Now().UTC().Format(time.RFC3339Nano)})
	w.mu.Lock()
	defer w.mu.Unlock()
	_, _ = w.out.Write(append(line, '\n'))
}
