package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/cdrpipe/cdrpipe/blocklist"
	"github.com/cdrpipe/cdrpipe/feed"
)

// serveCmd serves the blocklist to switches that poll (package feed). It
// only reads ClickHouse, so it runs as the read-only user, and it applies
// no migrations.
func (a *app) serveCmd() *cobra.Command {
	var listen string
	var every time.Duration
	var minScore float64
	c := &cobra.Command{
		Use:   "serve [--listen ADDR]",
		Short: "Serve the blocklist over HTTP to switches and SIP proxies that poll it (GET /v1/blocklist, /v1/numbers/{number})",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if every < time.Second {
				return usageError{fmt.Errorf("--refresh %s: want at least 1s", every)}
			}
			if minScore < 0 || minScore > 1 {
				return usageError{fmt.Errorf("--min-score %g: want a score from 0 to 1", minScore)}
			}
			c, err := a.config()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			s, err := a.connect(ctx, c, 3*time.Second, true)
			if err != nil {
				return err
			}
			defer s.Close()
			f := feed.New(blocklist.New(s.Conn(), c.ClickHouse.Database, time.Now),
				blocklist.Query{MinScore: minScore, TTL: c.Blocklist.TTL}, a.log)
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return usageError{fmt.Errorf("--listen %s: %w", listen, err)}
			}
			srv := &http.Server{Handler: f.Handler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
				WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10}
			go f.Run(ctx, every) // reads the first list at once, and retries until ClickHouse answers
			go func() {
				<-ctx.Done()
				sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				srv.Shutdown(sctx)
			}()
			a.log.Info("serving the blocklist", "listen", ln.Addr().String(), "refresh", every, "database", c.ClickHouse.Database)
			fmt.Fprintf(cmd.ErrOrStderr(), "serving the blocklist on http://%s/v1/blocklist\n", ln.Addr())
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	c.Flags().StringVar(&listen, "listen", "127.0.0.1:8089", "address to listen on")
	c.Flags().DurationVar(&every, "refresh", 10*time.Second, "how often to read the lists from ClickHouse (one read, however many clients)")
	c.Flags().Float64Var(&minScore, "min-score", 0, "leave out entries scored lower")
	return c
}
