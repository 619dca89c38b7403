// Command test-cluster runs a real kube-apiserver against a real embedded etcd on loopback, for
// leasegate's tests and local runs. The launcher re-executes itself for each component, so etcd
// and the apiserver are separate processes that can be stopped and restarted independently.
//
//	test-cluster [--dir DIR] [--keep] [--start-timeout 90s]   start both; print one JSON ready line
//	test-cluster etcd ...        (internal) run embedded etcd
//	test-cluster apiserver ...   (internal) run kube-apiserver with the given flags
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "etcd":
			exitOn(runEtcd(os.Args[2:]))
			return
		case "apiserver":
			exitOn(runAPIServer(os.Args[2:]))
			return
		}
	}
	exitOn(runLauncher(os.Args[1:]))
}

func exitOn(err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "test-cluster: %v\n", err)
		os.Exit(1)
	}
}
