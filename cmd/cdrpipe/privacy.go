package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/pipeline/sink"
	"github.com/cdrpipe/cdrpipe/privacy"
	"github.com/cdrpipe/cdrpipe/retention"
)

// prepared connects to ClickHouse, migrates the database and brings the
// TTLs of a server that has them in line with the configured retention.
// It returns the open sink and what it did, in words; the caller closes
// the sink.
func (a *app) prepared(ctx context.Context, c config.Config) (*sink.Sink, string, error) {
	s, err := a.openSink(ctx, c)
	if err != nil {
		return nil, "", err
	}
	done, err := a.prepare(ctx, s, c)
	if err != nil {
		s.Close()
		return nil, "", err
	}
	return s, done, nil
}

// prepare migrates s's database and sets its retention; see prepared.
func (a *app) prepare(ctx context.Context, s *sink.Sink, c config.Config) (string, error) {
	n, err := s.Migrate(ctx, c.Verdict())
	if err != nil {
		return "", err
	}
	done := fmt.Sprintf("database %s: %d migration(s) applied, views refreshed", c.ClickHouse.Database, n)
	stmts, ttl, err := s.SetRetention(ctx, c.RetentionPolicy())
	for _, stmt := range stmts {
		a.log.Info("retention changed", "statement", stmt)
	}
	if err != nil {
		return "", err
	}
	if !ttl {
		return done + "; this ClickHouse has no TTL: run `cdrpipe retention` daily to enforce retention.*", nil
	}
	return done + fmt.Sprintf(", retention kept by TTL (%d change(s))", len(stmts)), nil
}

func (a *app) retentionCmd() *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "retention",
		Short: "Remove what is kept past its retention (retention.*); run it daily",
		Long: `Drops the partitions of cdrpipe's tables that are wholly past their
retention (retention.cdrs, retention.rejects, ...). On a ClickHouse without
TTL (18.16) it also deletes the older rows of partitions only partly past
it and blanks IMSI, IMEI and cell id past retention.device_ids, with
mutations; a current ClickHouse does that itself at merges, with the TTLs
that migrate and run set. Idempotent: run it daily (deploy/systemd has a
timer).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.config()
			if err != nil {
				return err
			}
			s, _, err := a.prepared(cmd.Context(), c)
			if err != nil {
				return err
			}
			defer s.Close()
			acts, err := retention.Run(cmd.Context(), s.Conn(), c.ClickHouse.Database, c.RetentionPolicy(),
				retention.Options{Now: time.Now(), DryRun: dryRun})
			w := cmd.OutOrStdout()
			verb, end := "", ""
			if dryRun {
				verb, end = "would ", " (dry run: nothing changed)"
			}
			for _, act := range acts {
				fmt.Fprintf(w, "%s%s\n", verb, act)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "database %s: %d retention action(s)%s\n", c.ClickHouse.Database, len(acts), end)
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "say what would be removed, remove nothing")
	return cmd
}

func (a *app) pseudonymCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "pseudonym NUMBER...",
		Short: "Print the pseudonym cdrs stores for each callee number (needs privacy.callee_key)",
		Long: `With privacy.callee_key set, cdrs keeps callees as keyed pseudonyms. This
prints the pseudonym of each number (read the way CDRs are read), so that
someone entitled to look for the calls to one number can:
  SELECT ... FROM cdrs WHERE callee = '<pseudonym>'`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.config()
			if err != nil {
				return err
			}
			if c.Privacy.CalleeKey == "" {
				return &config.Error{Key: "privacy.callee_key", Msg: "is not set: callees are stored in clear"}
			}
			p := privacy.New(c.Privacy.CalleeKey, c.Privacy.ClearCallees)
			for _, arg := range args {
				n, err := normalize(c, arg)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\n", n, p.Of(n))
			}
			return nil
		},
	}
}
