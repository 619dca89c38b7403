package main

import (
	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

// runAPIServer runs kube-apiserver exactly as its own binary would, with the given flags.
func runAPIServer(args []string) error {
	cmd := app.NewAPIServerCommand()
	cmd.SetArgs(args)
	if code := cli.Run(cmd); code != 0 {
		return errExit(code)
	}
	return nil
}

type errExit int

func (e errExit) Error() string { return "kube-apiserver exited" }
