package gateway

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/puddlestore/puddlestore/client"
	"github.com/puddlestore/puddlestore/gateway/ui"
)

// Config configures a Gateway.
type Config struct {
	// Client is the cluster the gateway serves (required). The gateway
	// does not close it.
	Client *client.Client
	// Logger receives the internal errors behind 500 replies (nil:
	// discard).
	Logger *slog.Logger
	// Registry is where the gateway's metrics are registered (nil:
	// prometheus.DefaultRegisterer). Metrics already registered there by
	// another Gateway are shared.
	Registry prometheus.Registerer
	// MaxUpload bounds the body of a PUT, in bytes (0: no bound); a
	// larger one is refused with 413 and leaves the file as it was.
	MaxUpload int64
	// NodeTimeout bounds each node's answer to the cluster, overlay and
	// where routes and the health check (default 2s).
	NodeTimeout time.Duration
}

// maxJSONBody bounds the JSON body of a request (rename).
const maxJSONBody = 1 << 20

// Gateway is the HTTP API over a cluster's client, and the web UI. It is
// an http.Handler, safe for concurrent use.
type Gateway struct {
	c       *client.Client
	log     *slog.Logger
	cfg     Config
	mux     *http.ServeMux
	metrics *metrics
}

var _ http.Handler = (*Gateway)(nil)

// New returns a gateway over cfg.Client.
func New(cfg Config) (*Gateway, error) {
	if cfg.Client == nil {
		return nil, errors.New("gateway: Config.Client is nil")
	}
	if cfg.MaxUpload < 0 {
		return nil, errors.New("gateway: Config.MaxUpload is negative")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.DefaultRegisterer
	}
	if cfg.NodeTimeout <= 0 {
		cfg.NodeTimeout = 2 * time.Second
	}
	m, err := newMetrics(cfg.Registry)
	if err != nil {
		return nil, err
	}
	g := &Gateway{c: cfg.Client, log: cfg.Logger, cfg: cfg, mux: http.NewServeMux(), metrics: m}
	g.routes()
	return g, nil
}

// route is one API route: its metrics label, the mux pattern, and its
// handlers by method.
type route struct {
	name    string
	pattern string
	methods map[string]http.HandlerFunc
}

func (g *Gateway) routes() {
	for _, rt := range []route{
		{"files", "/api/v1/files/{path...}", map[string]http.HandlerFunc{
			http.MethodGet: g.getFile, http.MethodHead: g.getFile, http.MethodPut: g.putFile, http.MethodDelete: g.deleteFile}},
		{"mkdir", "/api/v1/mkdir/{path...}", map[string]http.HandlerFunc{http.MethodPost: g.mkdir}},
		{"rename", "/api/v1/rename", map[string]http.HandlerFunc{http.MethodPost: g.rename}},
		{"stat", "/api/v1/stat/{path...}", map[string]http.HandlerFunc{http.MethodGet: g.stat, http.MethodHead: g.stat}},
		{"history", "/api/v1/history/{path...}", map[string]http.HandlerFunc{http.MethodGet: g.history, http.MethodHead: g.history}},
		{"restore", "/api/v1/restore/{path...}", map[string]http.HandlerFunc{http.MethodPost: g.restore}},
		{"cluster", "/api/v1/cluster", map[string]http.HandlerFunc{http.MethodGet: g.cluster, http.MethodHead: g.cluster}},
		{"overlay", "/api/v1/overlay", map[string]http.HandlerFunc{http.MethodGet: g.overlay, http.MethodHead: g.overlay}},
		{"where", "/api/v1/where/{path...}", map[string]http.HandlerFunc{http.MethodGet: g.where, http.MethodHead: g.where}},
		{"health", "/api/v1/health", map[string]http.HandlerFunc{http.MethodGet: g.health, http.MethodHead: g.health}},
	} {
		g.mux.Handle(rt.pattern, g.instrument(rt.name, methodSwitch(rt.methods)))
	}
	g.mux.Handle("/api/", g.instrument("unknown", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, kindNotFound, "no API route "+r.URL.Path)
	})))
	g.mux.Handle("/", g.instrument("ui", ui.Handler()))
}

// methodSwitch dispatches on the method: any other gets 405 with the
// Allow header and a JSON error.
func methodSwitch(m map[string]http.HandlerFunc) http.Handler {
	var allow []string
	for _, meth := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete} {
		if m[meth] != nil {
			allow = append(allow, meth)
		}
	}
	allowed := strings.Join(allow, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := m[r.Method]; h != nil {
			h(w, r)
			return
		}
		w.Header().Set("Allow", allowed)
		writeError(w, http.StatusMethodNotAllowed, kindMethod, "method "+r.Method+" not allowed; allowed: "+allowed)
	})
}

// ServeHTTP serves the API under /api/ and the web UI elsewhere.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// ServeMux answers a path with "." or ".." elements or empty ones
	// with a redirect to its clean form; under /api/ that would silently
	// operate on another file, so such paths are refused instead.
	if strings.HasPrefix(r.URL.Path, "/api/") {
		if msg := uncleanPath(r.URL.Path); msg != "" {
			g.instrument("invalid", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				writeError(w, http.StatusBadRequest, kindInvalid, msg)
			})).ServeHTTP(w, r)
			return
		}
	}
	g.mux.ServeHTTP(w, r)
}

// uncleanPath returns why p (a URL path, unescaped) is not clean, or "".
// A single trailing slash is allowed (directories).
func uncleanPath(p string) string {
	segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, s := range segs {
		switch {
		case s == "" && i != len(segs)-1:
			return "empty path element in " + quoteShort(p)
		case s == "." || s == "..":
			return "path element " + s + " in " + quoteShort(p) + " (paths are absolute and clean)"
		}
	}
	return ""
}
