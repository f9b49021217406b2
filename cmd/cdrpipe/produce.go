package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/pipeline/decode"
	"github.com/cdrpipe/cdrpipe/pipeline/formats"
	"github.com/cdrpipe/cdrpipe/pipeline/source"
	"github.com/cdrpipe/cdrpipe/schemas"
	"github.com/cdrpipe/cdrpipe/traffic"
)

func (a *app) produceCmd() *cobra.Command {
	var partitions int
	var key traffic.Key
	var format, rejects string
	cmd := &cobra.Command{
		Use:   "produce [--format F] [FILE...]",
		Short: "Send CDR files (or stdin) to the Kafka topic, keyed by caller (or --key)",
		Long: "Send CDR files (or stdin) to the Kafka topic, keyed by caller (or --key). JSON lines (--format json,\n" +
			"the default) are sent as they are. Files in a switch's format (--format " + strings.Join(formats.Names[1:], ", ") + ")\n" +
			"are parsed and checked record by record, and each good record is sent as a line of the contract's JSON;\n" +
			"records that cannot be read are not sent but written to --rejects with the reason, and counted.",
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.config()
			if err != nil {
				return err
			}
			if _, err := formats.NewParser(format, c); err != nil {
				return usageError{fmt.Errorf("--format: %w", err)}
			}
			in, total, err := openInputs(args)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			conn, err := a.kafka(ctx, c)
			if err != nil {
				return err
			}
			if err := source.EnsureTopicOn(ctx, conn, c.Kafka.Topic, partitions); err != nil {
				return err
			}
			bar := newProgress(cmd.ErrOrStderr(), total)
			cr := &countingReader{r: joinLines(in)}
			var lines io.Reader = cr
			var conv *converter
			if format != "json" {
				if conv, err = newConverter(format, c, rejects, args); err != nil {
					return err
				}
				lines = conv.start(ctx, in, cr)
			}
			pc := traffic.ProduceConfig{Brokers: conn.Brokers, Topic: c.Kafka.Topic, Transport: conn.Transport(), Key: key}
			sent, err := traffic.Produce(ctx, pc, lines, func(sent int64) { bar.update(sent, cr.n.Load()) })
			bar.done(sent, cr.n.Load())
			if conv != nil {
				if cerr := conv.finish(cmd.ErrOrStderr()); err == nil {
					err = cerr
				}
			}
			return err
		},
	}
	cmd.Flags().IntVar(&partitions, "partitions", 4, "partitions when the topic has to be created")
	cmd.Flags().Var(&key, "key", keyUsage)
	cmd.Flags().StringVar(&format, "format", "json", "the files' format: "+strings.Join(formats.Names, ", "))
	cmd.Flags().StringVar(&rejects, "rejects", "", "where records that cannot be read are kept, a JSON line each (default: FIRST-FILE.rejects, or cdrpipe-produce.rejects for stdin)")
	return cmd
}

// openInputs opens the files (none, or "-": stdin) and sums their sizes
// for the progress bar.
func openInputs(args []string) (in []io.Reader, total int64, err error) {
	if len(args) == 0 || len(args) == 1 && args[0] == "-" {
		return []io.Reader{os.Stdin}, 0, nil
	}
	for _, name := range args {
		f, err := os.Open(name)
		if err != nil {
			return nil, 0, fmt.Errorf("open %s: %w", name, err)
		}
		// The files stay open until the command exits.
		if st, err := f.Stat(); err == nil {
			total += st.Size()
		}
		in = append(in, f)
	}
	return in, total, nil
}

// joinLines reads the files one after the other, with a line end between
// them: a file may end without one, and its last line must not run into
// the next file's first.
func joinLines(in []io.Reader) io.Reader {
	var rs []io.Reader
	for i, r := range in {
		if i > 0 {
			rs = append(rs, strings.NewReader("\n"))
		}
		rs = append(rs, r)
	}
	return io.MultiReader(rs...)
}

// attemptWindow is how many records back a row of a call attempt is
// merged with the attempt's first row (formats.Attempts).
const attemptWindow = 4096

// converter reads files in a switch's format and writes the contract's
// JSON lines into a pipe for the producer, keeping the records it cannot
// read in the rejects file.
type converter struct {
	format, path string
	c            config.Config
	names        []string
	out          *os.File
	rejects      *bufio.Writer
	counts       map[string]int
	good, sent   int // records read well, and sent
	merged       int // rows folded into an earlier row of their call attempt
	done         chan error
}

func newConverter(format string, c config.Config, path string, names []string) (*converter, error) {
	if path == "" {
		path = "cdrpipe-produce.rejects"
		if len(names) > 0 && names[0] != "-" {
			path = names[0] + ".rejects"
		}
	}
	out, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("rejects file: %w", err)
	}
	return &converter{format: format, path: path, c: c, names: names, out: out, rejects: bufio.NewWriter(out),
		counts: map[string]int{}, done: make(chan error, 1)}, nil
}

// rejectLine is one record kept in the rejects file.
type rejectLine struct {
	File   string `json:"file"`
	Record int    `json:"record"`
	Reason string `json:"reason"`
	Error  string `json:"error"`
	Raw    string `json:"raw"`
}

// start converts the inputs one after the other (each file with a parser
// of its own: a header line belongs to its file) into the returned reader.
// All reads go through cr, which counts the bytes for the progress bar.
func (v *converter) start(ctx context.Context, in []io.Reader, cr *countingReader) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		w := bufio.NewWriterSize(pw, 256<<10)
		err := v.convert(ctx, in, cr, w)
		if err == nil {
			err = w.Flush()
		}
		pw.CloseWithError(err)
		v.done <- err
	}()
	return pr
}

func (v *converter) convert(ctx context.Context, in []io.Reader, cr *countingReader, w *bufio.Writer) error {
	d := decode.NewDecoder(decode.OptionsFrom(v.c))
	now := time.Now()
	var line []byte
	for i, r := range in {
		name := "stdin"
		if i < len(v.names) {
			name = v.names[i]
		}
		p, err := formats.NewParser(v.format, v.c)
		if err != nil {
			return err
		}
		cr.r = r
		n := 0
		attempts := formats.NewAttempts(attemptWindow)
		send := func(c *schemas.CDR) error {
			v.sent++
			line = append(schemas.AppendJSON(line[:0], c), '\n')
			_, err := w.Write(line)
			return err
		}
		err = formats.DecodeFile(cr, p, d, now, func(rec []byte, c schemas.CDR, err error) error {
			n++
			if err != nil {
				return v.reject(name, n, rec, err)
			}
			v.good++
			if n%4096 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			return attempts.Add(c, send)
		})
		if err == nil {
			err = attempts.Flush(send)
		}
		v.merged += attempts.Merged
		if err != nil {
			return fmt.Errorf("%s (%s): %w", name, v.format, err)
		}
	}
	return nil
}

func (v *converter) reject(file string, n int, rec []byte, err error) error {
	reason := decode.ReasonOf(err)
	v.counts[reason]++
	b, _ := json.Marshal(rejectLine{File: file, Record: n, Reason: reason, Error: err.Error(), Raw: string(rec)})
	_, werr := v.rejects.Write(append(b, '\n'))
	return werr
}

// finish waits for the conversion, closes the rejects file and says what
// was rejected, by reason.
func (v *converter) finish(w io.Writer) error {
	err := <-v.done
	if ferr := v.rejects.Flush(); err == nil {
		err = ferr
	}
	if cerr := v.out.Close(); err == nil {
		err = cerr
	}
	total := 0
	var reasons []string
	for r, n := range v.counts {
		total += n
		reasons = append(reasons, fmt.Sprintf("%s %d", r, n))
	}
	sort.Strings(reasons)
	fmt.Fprintf(w, "%s: %d records read, %d sent, %d rejected", v.format, v.good+total, v.sent, total)
	if total > 0 {
		fmt.Fprintf(w, " (%s) and kept in %s", strings.Join(reasons, ", "), v.path)
	} else {
		os.Remove(v.path)
	}
	if v.merged > 0 {
		fmt.Fprintf(w, "; %d more rows of call attempts merged into their first row", v.merged)
	}
	fmt.Fprintln(w)
	return err
}
