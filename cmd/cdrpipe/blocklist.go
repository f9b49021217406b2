package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cdrpipe/cdrpipe/blocklist"
	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/pipeline/decode"
)

// store opens ClickHouse, migrates, and returns the blocklist store.
func (a *app) store(ctx context.Context) (*blocklist.Store, config.Config, func(), error) {
	c, err := a.config()
	if err != nil {
		return nil, c, nil, err
	}
	s, err := a.openSink(ctx, c)
	if err != nil {
		return nil, c, nil, err
	}
	if _, err := s.Migrate(ctx, c.Verdict()); err != nil {
		s.Close()
		return nil, c, nil, err
	}
	return blocklist.New(s.Conn(), c.ClickHouse.Database, time.Now), c, func() { s.Close() }, nil
}

// withStore runs f with the blocklist store of the configured database,
// closing the connection after.
func (a *app) withStore(cmd *cobra.Command, f func(st *blocklist.Store, c config.Config) error) error {
	st, c, done, err := a.store(cmd.Context())
	if err != nil {
		return err
	}
	defer done()
	return f(st, c)
}

// actor is who a manual change is recorded as: --by, else
// blocklist.actor, else the login name.
func actor(c config.Config, by string) string {
	for _, a := range []string{by, c.Blocklist.Actor, os.Getenv("USER")} {
		if a = strings.TrimSpace(a); a != "" {
			return a
		}
	}
	return "cli"
}

// normalize reads a number the way CDRs are read, with the whole home
// plan (trunk and international prefixes too).
func normalize(c config.Config, s string) (string, error) {
	n, err := decode.OptionsFrom(c).Numbering.Normalize([]byte(s))
	if err != nil {
		return "", usageError{fmt.Errorf("%q: %w", s, err)}
	}
	return n, nil
}

func (a *app) blocklistCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "blocklist",
		Short: "List the blocklist and the blocked number blocks, block or release numbers or blocks (PREFIX*) by hand, show their history",
	}
	var reason, by string
	var limit int
	change := func(use, short string, f func(*blocklist.Store, context.Context, string, string, string) error) *cobra.Command {
		c := &cobra.Command{
			Use:   use + " NUMBER|PREFIX*",
			Short: short,
			Args:  exactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				if strings.TrimSpace(reason) == "" {
					return usageError{fmt.Errorf("--reason is required: every change is audited")}
				}
				st, cfg, done, err := a.store(cmd.Context())
				if err != nil {
					return err
				}
				defer done()
				n, err := allowEntry(cfg, args[0])
				if err != nil {
					return err
				}
				who := actor(cfg, by)
				if err := f(st, cmd.Context(), n, who, reason); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s by %s: %s\n", use, n, who, reason)
				return nil
			},
		}
		c.Flags().StringVar(&reason, "reason", "", "why (required; kept in blocklist_changes)")
		c.Flags().StringVar(&by, "by", "", "who, for the audit trail (default: blocklist.actor, else $USER)")
		return c
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "Print the numbers to block, highest risk first, with their reasons",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withStore(cmd, func(st *blocklist.Store, _ config.Config) error {
				es, err := st.List(cmd.Context(), limit)
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "NUMBER\tSCORE\tSOURCE\tLAST FLAGGED\tREASONS")
				for _, e := range es {
					fmt.Fprintf(w, "%s\t%.2f\t%s\t%s\t%s\n", e.Number, e.Score, e.Source, e.Last.Format(time.RFC3339), strings.Join(e.Reasons, "; "))
				}
				return w.Flush()
			})
		},
	}
	list.Flags().IntVar(&limit, "limit", 100, "at most this many rows (0: all)")
	history := &cobra.Command{
		Use:   "history NUMBER|PREFIX*",
		Short: "Print every change of a number's or a block's blocklist state: who, when, why",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withStore(cmd, func(st *blocklist.Store, cfg config.Config) error {
				n, err := allowEntry(cfg, args[0])
				if err != nil {
					return err
				}
				cs, err := st.Changes(cmd.Context(), n)
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "AT\tACTION\tSOURCE\tBY\tSCORE\tREASON")
				for _, c := range cs {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%.2f\t%s\n", c.At.Format(time.RFC3339), c.Action, c.Source, c.Actor, c.Score, c.Reason)
				}
				return w.Flush()
			})
		},
	}
	ranges := &cobra.Command{
		Use:   "ranges",
		Short: "Print the number blocks to block by prefix, highest risk first, with their reasons",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withStore(cmd, func(st *blocklist.Store, _ config.Config) error {
				rs, err := st.Ranges(cmd.Context(), limit)
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "PREFIX\tSCORE\tSOURCE\tNUMBERS SEEN\tLAST FLAGGED\tREASONS")
				for _, r := range rs {
					fmt.Fprintf(w, "%s\t%.2f\t%s\t%d\t%s\t%s\n", r.Prefix, r.Score, r.Source, len(r.Numbers), r.Last.Format(time.RFC3339), strings.Join(r.Reasons, "; "))
				}
				return w.Flush()
			})
		},
	}
	ranges.Flags().IntVar(&limit, "limit", 100, "at most this many rows (0: all)")
	sync := &cobra.Command{
		Use:   "sync",
		Short: "Record automatic blocklist changes in blocklist_changes now (run does it every 30 s)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withStore(cmd, func(st *blocklist.Store, _ config.Config) error {
				added, removed, err := st.Sync(cmd.Context())
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%d added, %d removed\n", added, removed)
				return nil
			})
		},
	}
	cmd.AddCommand(list, ranges, history, sync, a.exportCmd(), a.serveCmd(),
		change("add", "Block a number, or a block of numbers (+8621600010*), by hand until it is removed by hand", (*blocklist.Store).Add),
		change("remove", "Release a number or a block (PREFIX*) by hand; flags before now no longer count", (*blocklist.Store).Remove))
	return cmd
}

func (a *app) allowlistCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "allowlist",
		Short: "Keep numbers or prefixes (ENTRY ending in '*') off the blocklist; their flags are still recorded",
	}
	var reason, by, expires string
	// entryCmd builds add and remove, which share their checks.
	entryCmd := func(use, short string, do func(ctx context.Context, st *blocklist.Store, entry, who string, until time.Time) error) *cobra.Command {
		return &cobra.Command{
			Use:   use + " ENTRY",
			Short: short,
			Args:  exactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				if strings.TrimSpace(reason) == "" {
					return usageError{fmt.Errorf("--reason is required")}
				}
				until, err := expiry(expires)
				if err != nil {
					return err
				}
				st, cfg, done, err := a.store(cmd.Context())
				if err != nil {
					return err
				}
				defer done()
				entry, err := allowEntry(cfg, args[0])
				if err != nil {
					return err
				}
				who := actor(cfg, by)
				if err := do(cmd.Context(), st, entry, who, until); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "allowlist %s %s by %s: %s\n", use, entry, who, reason)
				return nil
			},
		}
	}
	add := entryCmd("add", "Allowlist a number, or a prefix such as +8695588*", func(ctx context.Context, st *blocklist.Store, e, who string, until time.Time) error {
		return st.Allow(ctx, e, who, reason, until)
	})
	add.Flags().StringVar(&expires, "expires", "", "until when: a duration (720h) or an RFC 3339 time (default: never)")
	remove := entryCmd("remove", "Take a number or prefix off the allowlist", func(ctx context.Context, st *blocklist.Store, e, who string, _ time.Time) error {
		return st.Disallow(ctx, e, who, reason)
	})
	for _, c := range []*cobra.Command{add, remove} {
		c.Flags().StringVar(&reason, "reason", "", "why (required)")
		c.Flags().StringVar(&by, "by", "", "who (default: blocklist.actor, else $USER)")
	}
	cmd.AddCommand(add, remove)
	return cmd
}

// expiry reads --expires: a duration from now or an RFC 3339 time; empty
// means never.
func expiry(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return time.Now().Add(d), nil
	}
	return time.Time{}, usageError{fmt.Errorf("--expires %q: want a duration (720h) or an RFC 3339 time", s)}
}

// allowEntry normalises a number, or checks a prefix ending in '*' (an
// allowlist prefix, or a number block on the blocklist).
func allowEntry(c config.Config, s string) (string, error) {
	if p, ok := strings.CutSuffix(s, "*"); ok {
		if len(p) < 2 || p[0] != '+' || strings.Trim(p[1:], "0123456789") != "" {
			return "", usageError{fmt.Errorf("prefix %q: write it in E.164 with '+', such as +8695588*", s)}
		}
		return s, nil
	}
	return normalize(c, s)
}

// exportCmd writes the blocklist in a format switches and SIP proxies load
// (docs/blocking.md), atomically when to a file.
func (a *app) exportCmd() *cobra.Command {
	var format, out, since string
	var minScore float64
	c := &cobra.Command{
		Use:   "export --format F [--out FILE|DIR]",
		Short: "Write the blocklist (numbers and blocked ranges) as csv, json, parquet, kamailio, opensips, asterisk, freeswitch or numbers",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !slices.Contains(blocklist.Formats, format) {
				return usageError{fmt.Errorf("--format %q: want one of %s", format, strings.Join(blocklist.Formats, ", "))}
			}
			if minScore < 0 || minScore > 1 {
				return usageError{fmt.Errorf("--min-score %g: want a score from 0 to 1", minScore)}
			}
			from, err := sinceFlag(since)
			if err != nil {
				return err
			}
			return a.withStore(cmd, func(st *blocklist.Store, c config.Config) error {
				l, err := st.Snapshot(cmd.Context(), blocklist.Query{MinScore: minScore, Since: from, TTL: c.Blocklist.TTL})
				if err != nil {
					return err
				}
				if n := blocklist.LeftOut(format, l); n > 0 {
					fmt.Fprintf(cmd.ErrOrStderr(), "%d number blocks left out: %s matches exact numbers only; "+
						"export kamailio, opensips, csv, json or parquet to block them (docs/blocking.md)\n", n, format)
				}
				if out == "" {
					return blocklist.Write(cmd.OutOrStdout(), format, l)
				}
				if err := blocklist.WriteFile(out, format, l); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "exported %d entries as %s to %s\n", len(l.Items), format, out)
				return nil
			})
		},
	}
	c.Flags().StringVar(&format, "format", "csv", "csv, json, parquet, kamailio, opensips, asterisk, freeswitch or numbers")
	c.Flags().StringVar(&out, "out", "", "file to replace atomically (for kamailio and opensips: the db_text directory); default stdout")
	c.Flags().Float64Var(&minScore, "min-score", 0, "leave out entries scored lower")
	c.Flags().StringVar(&since, "since", "", "only entries last flagged since: an RFC 3339 time, or a duration back (24h)")
	return c
}

// sinceFlag reads --since: an RFC 3339 time or a duration back from now.
func sinceFlag(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return time.Now().Add(-d), nil
	}
	return time.Time{}, usageError{fmt.Errorf("--since %q: want an RFC 3339 time or a duration (24h)", s)}
}
