// Command gateway is Ledgerline's public entry point: statement uploads and the /v2 REST API.
package main

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/corvane/ledgerline/gateway/internal/server"
)

func main() {
	configPath := flag.String("config", "config/ledgerline.yaml", "path to the Ledgerline configuration file")
	flag.Parse()

	cfg, err := server.LoadConfig(*configPath)
	if err != nil {
		slog.Error("cannot load configuration", "path", *configPath, "err", err)
		os.Exit(2)
	}

	srv, err := server.New(cfg)
	if err != nil {
		slog.Error("cannot start gateway", "err", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	go func() {
		slog.Info("gateway listening", "addr", cfg.Listen)
		if err := srv.ListenAndServeTLS(); err != nil {
			slog.Error("listener stopped", "err", err)
			stop()
		}
	}()

	<-ctx.Done()
	// Give in-flight uploads up to 30 seconds to finish before the pod is killed.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		slog.Error("unclean shutdown", "err", err)
	}
}
