// Package server wires the gateway's HTTP routes, middleware and dependencies.
package server

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/corvane/ledgerline/gateway/internal/auth"
	"github.com/corvane/ledgerline/gateway/internal/idempotency"
	"github.com/corvane/ledgerline/gateway/internal/statements"
)

// Config holds the gateway section of config/ledgerline.yaml.
type Config struct {
	Listen             string `yaml:"listen"`
	MaxUploadMB        int64  `yaml:"max_upload_mb"`
	RateLimitPerMinute int    `yaml:"rate_limit_per_minute"`
	IdempotencyTTLHrs  int    `yaml:"idempotency_ttl_hours"`
	SpoolDir           string `yaml:"spool_dir"`
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
}

// Server is the gateway: one HTTP server and the components its handlers need.
type Server struct {
	cfg        Config
	http       *http.Server
	limiter    *RateLimiter
	idem       *idempotency.Store
	verifier   *auth.Verifier
	statements *statements.Uploader
}

// New builds a Server from its configuration.
func New(cfg Config) (*Server, error) {
	if cfg.MaxUploadMB == 0 {
		cfg.MaxUploadMB = 50
	}
	if cfg.RateLimitPerMinute == 0 {
		cfg.RateLimitPerMinute = 600
	}
	s := &Server{
		cfg:        cfg,
		limiter:    NewRateLimiter(cfg.RateLimitPerMinute),
		idem:       idempotency.NewStore(time.Duration(cfg.IdempotencyTTLHrs) * time.Hour),
		verifier:   auth.NewVerifier(),
		statements: statements.NewUploader(cfg.MaxUploadMB << 20),
	}
	mux := http.NewServeMux()
	mux.Handle("POST /v2/statements", s.authorised("statements:write", http.HandlerFunc(s.handleUpload)))
	mux.Handle("GET /v2/statements/{id}", s.authorised("matches:read", http.HandlerFunc(s.handleGetStatement)))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	s.http = &http.Server{Addr: cfg.Listen, Handler: s.limiter.Middleware(mux), ReadHeaderTimeout: 10 * time.Second}
	return s, nil
}

// ListenAndServeTLS serves HTTPS until Shutdown is called.
func (s *Server) ListenAndServeTLS() error {
	err := s.http.ListenAndServeTLS(s.cfg.CertFile, s.cfg.KeyFile)
	if err == http.ErrServerClosed {
		return nil
	}
	return err
}

// Shutdown stops accepting requests and waits for in-flight ones.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.http.Shutdown(ctx)
}

func (s *Server) authorised(scope string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, err := s.verifier.Verify(r.Header.Get("Authorization"))
		if err != nil {
			writeError(w, http.StatusUnauthorized, "token_invalid", err.Error())
			return
		}
		if !claims.HasScope(scope) {
			writeError(w, http.StatusForbidden, "scope_missing", "this call needs the scope "+scope)
			return
		}
		next.ServeHTTP(w, r.WithContext(auth.WithClaims(r.Context(), claims)))
	})
}

func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("X-Ledgerline-Idempotency-Key")
	if cached, ok := s.idem.Get(key); ok {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(cached.Status)
		w.Write(cached.Body)
		return
	}
	result, err := s.statements.Upload(r.Context(), r.Header.Get("X-Ledgerline-Bank-Code"), r.Body)
	if err != nil {
		status, code := statements.HTTPStatus(err)
		writeError(w, status, code, err.Error())
		return
	}
	body, _ := json.Marshal(result)
	s.idem.Put(key, idempotency.Response{Status: http.StatusAccepted, Body: body})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	w.Write(body)
}

func (s *Server) handleGetStatement(w http.ResponseWriter, r *http.Request) {
	st, err := s.statements.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusNotFound, "not_found", "no such statement")
		return
	}
	json.NewEncoder(w).Encode(st)
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": message}})
}
