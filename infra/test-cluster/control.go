package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"time"
)

// serveControl exposes stop/start/restart of each component on loopback, for fault tests.
// Each call returns once the component is down, or up and ready again.
func (c *cluster) serveControl(timeout time.Duration) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("control endpoint: %w", err)
	}
	components := map[string]*component{"apiserver": c.apiserver, "etcd": c.etcd}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{component}/{action}", func(w http.ResponseWriter, r *http.Request) {
		comp := components[r.PathValue("component")]
		if comp == nil {
			http.Error(w, "unknown component", http.StatusNotFound)
			return
		}
		var err error
		switch r.PathValue("action") {
		case "stop":
			comp.stop()
		case "start":
			err = comp.start(timeout)
		case "restart":
			comp.stop()
			err = comp.start(timeout)
		default:
			http.Error(w, "unknown action", http.StatusNotFound)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		c.writeStatus(w)
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) { c.writeStatus(w) })
	go func() { _ = http.Serve(l, mux) }()
	return "http://" + l.Addr().String(), nil
}

func (c *cluster) writeStatus(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]bool{"etcd": c.etcd.running(), "apiserver": c.apiserver.running()})
}
