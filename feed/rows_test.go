package feed_test

import (
	"time"

	"github.com/cdrpipe/cdrpipe/pipeline/sink"
	"github.com/cdrpipe/cdrpipe/schemas"
)

// sinkBatch builds the rows the feed's integration test writes.
type sinkBatch struct{ sink.Batch }

func (b *sinkBatch) flag(n, d string, at time.Time) {
	b.AddFlag(&schemas.Flag{Number: n, Detector: d, WindowStart: at, WindowEnd: at.Add(time.Hour), Score: 0.7, Value: 100,
		Evidence: d + " evidence", FlaggedAt: at, Final: true})
}

func (b *sinkBatch) group(prefix, d string, at time.Time) {
	b.AddGroup(&schemas.GroupFlag{TrunkID: "SIPT-7", Prefix: prefix, Detector: d, WindowStart: at, WindowEnd: at.Add(time.Hour),
		Score: 0.7, Value: 60, Evidence: d + " evidence", Numbers: []string{prefix + "0"}})
}
