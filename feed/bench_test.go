package feed

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/blocklist"
)

// BenchmarkLookup measures GET /v1/numbers/{number} over loopback TCP
// with 16 clients keeping connections alive, as SIP proxies would, against
// a list of 100,000 numbers and 1,000 blocked ranges: lookups/s and the
// 99th percentile latency.
func BenchmarkLookup(b *testing.B) {
	var items []blocklist.Item
	for i := range 100000 {
		items = append(items, num(fmt.Sprintf("+86138%08d", i*7), 0.9))
	}
	for i := range 1000 {
		items = append(items, block(fmt.Sprintf("+8621%07d", i)))
	}
	f := New(&lists{ls: []*blocklist.List{list(items...)}}, blocklist.Query{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := f.Refresh(context.Background()); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(f.Handler())
	defer srv.Close()
	const clients = 16
	tr := &http.Transport{MaxIdleConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	lat := make([][]time.Duration, clients)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for i := c; i < b.N; i += clients {
				n := fmt.Sprintf("+86138%08d", i%700000)
				t0 := time.Now()
				r, err := hc.Get(srv.URL + "/v1/numbers/" + n)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, r.Body)
				r.Body.Close()
				lat[c] = append(lat[c], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	if len(all) > 0 {
		b.ReportMetric(float64(len(all))/elapsed.Seconds(), "lookups/s")
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
	}
}
