package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// component is one child process (etcd or kube-apiserver) that can be stopped and started again
// with the same arguments, for fault tests.
type component struct {
	name    string
	args    []string
	logFile string
	ready   func(timeout time.Duration) error

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

func (c *component) start(timeout time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd != nil {
		return nil
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	log, err := os.OpenFile(c.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(self, c.args...)
	cmd.Stdout, cmd.Stderr = log, log
	// The child dies with the launcher, however the launcher ends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("%s: %w", c.name, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		log.Close()
		close(exited)
	}()
	c.cmd, c.exited = cmd, exited

	readyErr := make(chan error, 1)
	go func() { readyErr <- c.ready(timeout) }()
	select {
	case err := <-readyErr:
		if err != nil {
			c.killLocked()
			return fmt.Errorf("%s did not become ready: %w (log: %s)%s", c.name, err, c.logFile, tail(c.logFile))
		}
		return nil
	case <-exited:
		c.cmd = nil
		return fmt.Errorf("%s exited during start-up (log: %s)%s", c.name, c.logFile, tail(c.logFile))
	}
}

func (c *component) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.killLocked()
}

func (c *component) killLocked() {
	if c.cmd == nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
	c.cmd = nil
}

func (c *component) running() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil {
		return false
	}
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

// tail returns the last lines of a log, to put the cause of a failed start in front of the user.
func tail(path string) string {
	data, err := os.ReadFile(filepath.Clean(path))
	if err != nil || len(data) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > 8 {
		lines = lines[len(lines)-8:]
	}
	return "\n  " + strings.Join(lines, "\n  ")
}
