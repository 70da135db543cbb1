package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/puddlestore/puddlestore/client"
	"github.com/puddlestore/puddlestore/gateway"
)

// httpServer is the HTTP side of a node or of puddle dev: the gateway (its
// API and web UI) and /metrics.
type httpServer struct {
	srv    *http.Server
	client *client.Client
	addr   string
	done   chan error
}

// listenHTTP takes the HTTP address first, so that a taken one fails
// before a cluster starts.
func listenHTTP(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot serve the web UI and HTTP API at %s (another puddle dev?): %w; give --http ADDR, or --http \"\" for none", errUsage, addr, err)
	}
	return ln, nil
}

// serveHTTP serves on ln the gateway, over a client of the cluster whose
// metadata nodes are at metaAddrs, and the process's metrics at
// /metrics. It closes ln if it fails.
func serveHTTP(ln net.Listener, metaAddrs []string, log *slog.Logger) (*httpServer, error) {
	c, err := client.Dial(metaAddrs...)
	if err != nil {
		ln.Close()
		return nil, err
	}
	gw, err := gateway.New(gateway.Config{Client: c, Logger: log, Registry: prometheus.DefaultRegisterer})
	if err != nil {
		ln.Close()
		c.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.Handler())
	mux.Handle("/", gw)
	h := &httpServer{
		srv:    &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)},
		client: c, addr: ln.Addr().String(), done: make(chan error, 1),
	}
	go func() { h.done <- h.srv.Serve(ln) }()
	return h, nil
}

// URL is where the server answers.
func (h *httpServer) URL() string { return "http://" + h.addr + "/" }

// Close stops accepting, lets requests in flight finish (for at most 5 s),
// and closes the client.
func (h *httpServer) Close() error {
	if h == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := h.srv.Shutdown(ctx)
	if serr := <-h.done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return errors.Join(err, h.client.Close())
}
