package blocklist_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/blocklist"
	"github.com/cdrpipe/cdrpipe/internal/golden"
)

// sample is a list with what exports must get right: automatic and manual
// entries, a number block, reasons with the characters formats escape.
func sample() *blocklist.List {
	at := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	return &blocklist.List{At: at.Add(time.Hour), Items: []blocklist.Item{
		{Number: "+8613800000001", Score: 0.9, Detectors: []string{"fan_out", "short_calls"},
			Reasons: []string{"fan_out: 412 distinct callees in 1 h (threshold 50)", `short_calls: 91% of 233 answered calls under 10s: "hello?"`},
			First:   at, Last: at.Add(30 * time.Minute), Expires: at.Add(30*time.Minute + 168*time.Hour), Source: "auto"},
		{Number: "+8675588880000", Score: 1, Detectors: []string{"manual"}, Reasons: []string{"blocked by hand by ops: complaints"},
			First: at, Last: at, Source: "manual"},
		{Number: "+86216000100", Prefix: true, Score: 0.9, Detectors: []string{"number_rotation", "short_calls"},
			Reasons: []string{"number_rotation: block +8621600010xx on trunk SIPT-7: 318 calls from 60 distinct numbers in 1 h"},
			First:   at, Last: at.Add(time.Hour), Expires: at.Add(169 * time.Hour), Source: "auto"},
	}}
}

func TestExportGolden(t *testing.T) {
	for _, f := range blocklist.Formats {
		if f == "parquet" {
			continue // binary: TestExportParquetReadsBack
		}
		t.Run(f, func(t *testing.T) {
			var b bytes.Buffer
			if err := blocklist.Write(&b, f, sample()); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", "export."+f+".golden"), b.String())
		})
	}
	if err := blocklist.Write(new(bytes.Buffer), "yaml", sample()); err == nil {
		t.Error("an unknown format was accepted")
	}
}

// TestLeftOut: the formats of exact numbers say how many blocks they drop.
func TestLeftOut(t *testing.T) {
	want := map[string]int{"asterisk": 1, "freeswitch": 1, "numbers": 1}
	for _, f := range blocklist.Formats {
		if got := blocklist.LeftOut(f, sample()); got != want[f] {
			t.Errorf("LeftOut(%s) = %d, want %d", f, got, want[f])
		}
	}
}

func TestExportParquetReadsBack(t *testing.T) {
	want := sample()
	var b bytes.Buffer
	if err := blocklist.Write(&b, "parquet", want); err != nil {
		t.Fatal(err)
	}
	got, err := blocklist.ReadParquet(context.Background(), bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	got.At = want.At
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back\n%+v\nwant\n%+v", got.Items, want.Items)
	}
	var csv bytes.Buffer
	if err := blocklist.Write(&csv, "csv", got); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "export.parquet.golden"), csv.String())
}

// TestWriteFileAtomic: the file is replaced whole, db_text formats get
// their version file, and no temporary file is left behind.
func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "blocklist.csv")
	if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := blocklist.WriteFile(path, "csv", sample()); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); !bytes.HasPrefix(b, []byte("number,kind,score")) {
		t.Errorf("file holds %q", b)
	}
	kam := filepath.Join(dir, "dbtext")
	if err := blocklist.WriteFile(kam, "kamailio", sample()); err != nil {
		t.Fatal(err)
	}
	if v, _ := os.ReadFile(filepath.Join(kam, "version")); string(v) != blocklist.DBTextVersion {
		t.Errorf("version file %q", v)
	}
	if b, _ := os.ReadFile(filepath.Join(kam, "globalblocklist")); !bytes.HasSuffix(b, []byte("\n")) || !bytes.Contains(b, []byte(":86216000100:0:")) {
		t.Errorf("globalblocklist %q", b)
	}
	for _, d := range []string{dir, kam} {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			if e.Name()[0] == '.' {
				t.Errorf("temporary file %s left in %s", e.Name(), d)
			}
		}
	}
	if err := blocklist.WriteFile(filepath.Join(dir, "no", "such", "dir", "x.csv"), "csv", sample()); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
}

func TestDBTextEscapes(t *testing.T) {
	l := &blocklist.List{Items: []blocklist.Item{{Number: "+8613800000001", Score: 0.9, Detectors: []string{`a:b\c`}, Source: "auto"}}}
	var b bytes.Buffer
	if err := blocklist.Write(&b, "kamailio", l); err != nil {
		t.Fatal(err)
	}
	if want := "1:8613800000001:0:cdrpipe auto 0.90 a\\:b\\\\c\n"; !bytes.HasSuffix(b.Bytes(), []byte(want)) {
		t.Errorf("row %q, want it to end %q", b.String(), want)
	}
}
