package main

import (
	"bufio"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/traffic"
)

// These tests drive execute, which writes to os.Stdout and os.Stderr and
// reads CDRPIPE_* variables, so none of them runs in parallel.

// runCLI runs execute(args) with os.Stdout and os.Stderr redirected to
// files, and returns what it wrote and its exit status.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	dir := t.TempDir()
	outF, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	errF, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	func() {
		oldOut, oldErr := os.Stdout, os.Stderr
		os.Stdout, os.Stderr = outF, errF
		defer func() {
			os.Stdout, os.Stderr = oldOut, oldErr
			if r := recover(); r != nil {
				t.Errorf("execute(%q) panicked: %v", args, r)
				code = -1
			}
		}()
		code = execute(args)
	}()
	outF.Close()
	errF.Close()
	o, err := os.ReadFile(outF.Name())
	if err != nil {
		t.Fatal(err)
	}
	e, err := os.ReadFile(errF.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(o), string(e), code
}

// cleanEnv unsets every CDRPIPE_* variable for the test (the Makefile
// exports some), restoring them afterwards, then sets env.
func cleanEnv(t *testing.T, env map[string]string) {
	t.Helper()
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "CDRPIPE_") {
			t.Setenv(k, "") // registers the restore
			os.Unsetenv(k)
		}
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
}

// writeFile writes a file into a fresh temporary folder and returns its
// path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// parseConfig splits `cdrpipe config` output into its key: value lines,
// failing on any line of another shape or any key printed twice.
func parseConfig(t *testing.T, out string) map[string]string {
	t.Helper()
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ": ")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			t.Errorf("config output line %q is not `key: value`", sc.Text())
			continue
		}
		if _, dup := m[k]; dup {
			t.Errorf("config output prints %s twice", k)
		}
		m[k] = v
	}
	return m
}

// TestConfigDefaults prints the configuration with nothing set: every
// key once, in order, with the defaults of config.Default.
func TestConfigDefaults(t *testing.T) {
	cleanEnv(t, nil)
	stdout, stderr, code := runCLI(t, "config")
	if code != 0 || stderr != "" {
		t.Fatalf("cdrpipe config: exit %d, stderr %q", code, stderr)
	}
	if want := printable(config.Default()); stdout != want {
		t.Errorf("cdrpipe config printed\n%s\nwant\n%s", stdout, want)
	}
	got := parseConfig(t, stdout)
	if len(got) != len(settings()) {
		t.Errorf("printed %d keys, want %d", len(got), len(settings()))
	}
	for k, want := range map[string]string{
		"clickhouse.database":                      "cdrpipe",
		"clickhouse.addr":                          "127.0.0.1:9000",
		"clickhouse.password":                      "",
		"numbering.country_code":                   "86",
		"kafka.brokers":                            "127.0.0.1:9092",
		"kafka.topic":                              "cdrs",
		"kafka.max_bytes":                          "16777216",
		"window.size":                              "1h0m0s",
		"window.slide":                             "5m0s",
		"detectors.short_calls.min_share":          "0.7",
		"detectors.sequential_dialing.max_step":    "3",
		"detectors.sequential_dialing.min_callees": "10",
		"blocklist.ttl":                            "7d",
		"engine.shards":                            "0",
		"retention.cdrs":                           "180d",
		"retention.device_ids":                     "30d",
		"privacy.callee_key":                       "",
		"privacy.clear_callees":                    "+86110,+86112,+86119,+86120,+86122,+8612110,+8612395,+8610000,+8610001,+8610010,+8610086,+8610099,+86400*,+86800*",
	} {
		if v, ok := got[k]; !ok || v != want {
			t.Errorf("%s: %q (printed: %v), want %q", k, v, ok, want)
		}
	}
}

// TestConfigPrecedence checks the layering defaults < YAML file <
// CDRPIPE_* environment < flags, key by key.
func TestConfigPrecedence(t *testing.T) {
	const file = `kafka:
  brokers: [file1:9092, file2:9092]
  topic: file-topic
clickhouse:
  database: fromfile
window:
  size: 30m
detectors:
  short_calls:
    min_share: 0.8
`
	tests := []struct {
		name string
		file string
		env  map[string]string
		args []string // after --config FILE, when there is a file
		want map[string]string
	}{
		{
			name: "file over defaults",
			file: file,
			args: []string{"config"},
			want: map[string]string{
				"clickhouse.database":             "fromfile",
				"kafka.brokers":                   "file1:9092,file2:9092",
				"kafka.topic":                     "file-topic",
				"kafka.group":                     "cdrpipe", // not in the file
				"window.size":                     "30m0s",
				"window.slide":                    "5m0s",
				"detectors.short_calls.min_share": "0.8",
			},
		},
		{
			name: "env over defaults",
			env: map[string]string{
				"CDRPIPE_CLICKHOUSE_DATABASE":                   "fromenv",
				"CDRPIPE_WINDOW_SIZE":                           "2h",
				"CDRPIPE_DETECTORS_SHORT_CALLS_MIN_SHARE":       "0.9",
				"CDRPIPE_DETECTORS_SEQUENTIAL_DIALING_MAX_STEP": "18446744073709551615",
			},
			args: []string{"config"},
			want: map[string]string{
				"clickhouse.database":                   "fromenv",
				"window.size":                           "2h0m0s",
				"detectors.short_calls.min_share":       "0.9",
				"detectors.sequential_dialing.max_step": "18446744073709551615",
				"kafka.brokers":                         "127.0.0.1:9092",
			},
		},
		{
			name: "env over file",
			file: file,
			env: map[string]string{
				"CDRPIPE_CLICKHOUSE_DATABASE": "fromenv",
				"CDRPIPE_KAFKA_BROKERS":       "env1:9092, env2:9093,env3:9094",
				"CDRPIPE_WINDOW_SIZE":         "2h",
			},
			args: []string{"config"},
			want: map[string]string{
				"clickhouse.database":             "fromenv",
				"kafka.brokers":                   "env1:9092,env2:9093,env3:9094",
				"kafka.topic":                     "file-topic",
				"window.size":                     "2h0m0s",
				"detectors.short_calls.min_share": "0.8",
			},
		},
		{
			name: "flags over env over file",
			file: file,
			env: map[string]string{
				"CDRPIPE_CLICKHOUSE_DATABASE": "fromenv",
				"CDRPIPE_KAFKA_BROKERS":       "env1:9092,env2:9093",
				"CDRPIPE_KAFKA_TOPIC":         "env-topic",
				"CDRPIPE_WINDOW_SIZE":         "2h",
			},
			args: []string{"--database", "fromflag", "--brokers", "flag1:9092,flag2:9092", "--window=3h", "--country-code", "852", "config"},
			want: map[string]string{
				"clickhouse.database":             "fromflag",
				"kafka.brokers":                   "flag1:9092,flag2:9092",
				"kafka.topic":                     "env-topic",
				"window.size":                     "3h0m0s",
				"numbering.country_code":          "852",
				"detectors.short_calls.min_share": "0.8",
			},
		},
		{
			name: "flags over defaults",
			args: []string{"--batch-size", "1000", "--slide", "10m", "--fan-out-callees", "80", "--clickhouse-user", "reader", "config"},
			want: map[string]string{
				"sink.batch_size":               "1000",
				"window.slide":                  "10m0s",
				"window.size":                   "1h0m0s",
				"detectors.fan_out.min_callees": "80",
				"clickhouse.username":           "reader",
			},
		},
		{
			name: "flags after the subcommand",
			env:  map[string]string{"CDRPIPE_KAFKA_TOPIC": "env-topic"},
			args: []string{"config", "--topic", "flag-topic"},
			want: map[string]string{"kafka.topic": "flag-topic"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cleanEnv(t, tt.env)
			args := tt.args
			if tt.file != "" {
				args = append([]string{"--config", writeFile(t, "cdrpipe.yml", tt.file)}, args...)
			}
			stdout, stderr, code := runCLI(t, args...)
			if code != 0 || stderr != "" {
				t.Fatalf("cdrpipe %q: exit %d, stderr %q", args, code, stderr)
			}
			got := parseConfig(t, stdout)
			for k, want := range tt.want {
				if got[k] != want {
					t.Errorf("%s = %q, want %q", k, got[k], want)
				}
			}
		})
	}
}

// TestConfigMasksPassword sets the ClickHouse password from each source
// and makes sure `cdrpipe config` prints it masked, and that neither
// output ever carries it in clear, also when the configuration is bad.
func TestConfigMasksPassword(t *testing.T) {
	const secret = "s3cr3t-Pa55w0rd"
	tests := []struct {
		name     string
		file     string
		env      map[string]string
		wantCode int
	}{
		{name: "env", env: map[string]string{"CDRPIPE_CLICKHOUSE_PASSWORD": secret}},
		{name: "file", file: "clickhouse:\n  password: " + secret + "\n"},
		{name: "env over file", file: "clickhouse:\n  password: other-secret\n", env: map[string]string{"CDRPIPE_CLICKHOUSE_PASSWORD": secret}},
		{name: "env with a bad setting", env: map[string]string{"CDRPIPE_CLICKHOUSE_PASSWORD": secret, "CDRPIPE_SINK_BATCH_SIZE": "many"}, wantCode: 2},
		{name: "file with a bad setting", file: "clickhouse:\n  password: " + secret + "\n  addr: nowhere\n", wantCode: 2},
		{name: "secret file", env: map[string]string{"CDRPIPE_CLICKHOUSE_PASSWORD_FILE": "@secret"}},
		{name: "secret file and value", env: map[string]string{"CDRPIPE_CLICKHOUSE_PASSWORD_FILE": "@secret", "CDRPIPE_CLICKHOUSE_PASSWORD": secret}, wantCode: 2},
		{name: "secret file missing", env: map[string]string{"CDRPIPE_CLICKHOUSE_PASSWORD_FILE": "/nonexistent/secret"}, wantCode: 2},
	}
	secretFile := writeFile(t, "password", secret+"\n")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				if v == "@secret" {
					tt.env[k] = secretFile
				}
			}
			cleanEnv(t, tt.env)
			args := []string{"config"}
			if tt.file != "" {
				args = append([]string{"--config", writeFile(t, "cdrpipe.yml", tt.file)}, args...)
			}
			stdout, stderr, code := runCLI(t, args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr %q", code, tt.wantCode, stderr)
			}
			if strings.Contains(stdout+stderr, secret) || strings.Contains(stdout+stderr, "other-secret") {
				t.Errorf("password printed in clear:\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
			}
			if tt.wantCode == 0 {
				if got := parseConfig(t, stdout)["clickhouse.password"]; got != "********" {
					t.Errorf("clickhouse.password printed as %q, want ********", got)
				}
			}
		})
	}
}

// TestSecretFromFile: a password read from a *_file key is the file's
// content less its final newline.
func TestSecretFromFile(t *testing.T) {
	c := config.Default()
	c.ClickHouse.PasswordFile = writeFile(t, "pw", "p@ss:word\n")
	if err := c.ReadSecrets(); err != nil || c.ClickHouse.Password != "p@ss:word" {
		t.Errorf("ReadSecrets: password %q, %v", c.ClickHouse.Password, err)
	}
}

// TestActor: who a manual change is recorded as.
func TestActor(t *testing.T) {
	t.Setenv("USER", "ops1")
	c := config.Default()
	if got := actor(c, ""); got != "ops1" {
		t.Errorf("no --by, no blocklist.actor: %q, want the login name", got)
	}
	c.Blocklist.Actor = "noc-shift-b"
	if got := actor(c, ""); got != "noc-shift-b" {
		t.Errorf("blocklist.actor set: %q", got)
	}
	if got := actor(c, "alice"); got != "alice" {
		t.Errorf("--by alice: %q", got)
	}
}

// TestNormalizeUsesThePlan: numbers given on the command line are read
// with the whole home plan, trunk prefix included.
func TestNormalizeUsesThePlan(t *testing.T) {
	c := config.Default()
	for in, want := range map[string]string{"075512345678": "+8675512345678", "008613912345678": "+8613912345678", "13912345678": "+8613912345678"} {
		if got, err := normalize(c, in); err != nil || got != want {
			t.Errorf("normalize(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// TestPprofOnlyWhenAsked: Go's profiles are served only with
// metrics.pprof.
func TestPprofOnlyWhenAsked(t *testing.T) {
	for _, on := range []bool{false, true} {
		rec := httptest.NewRecorder()
		metricsMux(nil, on).ServeHTTP(rec, httptest.NewRequest("GET", "/debug/pprof/", nil))
		if (rec.Code == 200) != on {
			t.Errorf("pprof %v: /debug/pprof/ answered %d", on, rec.Code)
		}
	}
}

// checkOneErrorLine checks the contract for a rejected command line or
// configuration: exit status 2, nothing on stdout, and exactly one line
// on stderr, prefixed "cdrpipe: ", containing want, with no trace.
func checkOneErrorLine(t *testing.T, stdout, stderr string, code int, want string) {
	t.Helper()
	if code != exitConfig {
		t.Errorf("exit %d, want %d", code, exitConfig)
	}
	if stdout != "" {
		first, _, _ := strings.Cut(stdout, "\n")
		t.Errorf("stdout not empty (%d bytes, starting %q)", len(stdout), first)
	}
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.HasSuffix(stderr, "\n") {
		t.Fatalf("stderr is not exactly one line: %q", stderr)
	}
	if !strings.HasPrefix(lines[0], "cdrpipe: ") {
		t.Errorf("stderr %q does not start with \"cdrpipe: \"", lines[0])
	}
	if !strings.Contains(lines[0], want) {
		t.Errorf("stderr %q does not name %q", lines[0], want)
	}
	for _, bad := range []string{"goroutine", "panic", ".go:"} {
		if strings.Contains(stderr, bad) {
			t.Errorf("stderr contains %q: %q", bad, stderr)
		}
	}
}

// TestBadConfigFiles runs `cdrpipe --config F config` for every
// testdata/*.bad.yml; each file's first line, `# want: KEY`, names the
// key the one-line error must mention.
func TestBadConfigFiles(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.bad.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/*.bad.yml files")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".bad.yml"), func(t *testing.T) {
			cleanEnv(t, nil)
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(data), "\n")
			key, ok := strings.CutPrefix(first, "# want: ")
			if !ok || strings.TrimSpace(key) == "" {
				t.Fatalf("%s: first line %q is not `# want: <key>`", file, first)
			}
			key = strings.TrimSpace(key)
			stdout, stderr, code := runCLI(t, "--config", file, "config")
			checkOneErrorLine(t, stdout, stderr, code, "config "+key+":")
		})
	}
}

// TestBadCommandLine checks bad flags and bad environment values: exit
// status 2 and one line naming what to fix.
func TestBadCommandLine(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"unknown flag", nil, []string{"--bogus", "config"}, "unknown flag: --bogus"},
		{"unknown flag after subcommand", nil, []string{"config", "--bogus"}, "unknown flag: --bogus"},
		{"flag without value", nil, []string{"config", "--database"}, "--database"},
		{"bad log level", nil, []string{"--log-level", "loud", "config"}, "--log-level"},
		{"missing config file", nil, []string{"--config", filepath.Join("testdata", "does-not-exist.yml"), "config"}, "config --config:"},
		{"flag duration in words", nil, []string{"--window", "5 minutes", "config"}, "config window.size:"},
		{"flag duration without unit", nil, []string{"--window", "3600", "config"}, "config window.size:"},
		{"flag bad int", nil, []string{"--batch-size", "many", "config"}, "config sink.batch_size:"},
		{"flag negative batch size", nil, []string{"--batch-size", "-5", "config"}, "config sink.batch_size:"},
		{"flag country code leading zero", nil, []string{"--country-code", "086", "config"}, "config numbering.country_code:"},
		{"flag empty topic", nil, []string{"--topic", "", "config"}, "config kafka.topic:"},
		{"flag database sql", nil, []string{"--database", "drop table;", "config"}, "config clickhouse.database:"},
		{"flag brokers only commas", nil, []string{"--brokers", ",,", "config"}, "config kafka.brokers:"},
		{"env bad int", map[string]string{"CDRPIPE_SINK_BATCH_SIZE": "many"}, []string{"config"}, "config sink.batch_size:"},
		{"env duration without unit", map[string]string{"CDRPIPE_WINDOW_SIZE": "3600"}, []string{"config"}, "config window.size:"},
		{"env duration in words", map[string]string{"CDRPIPE_KAFKA_MAX_WAIT": "5 minutes"}, []string{"config"}, "config kafka.max_wait:"},
		{"env size not multiple of slide", map[string]string{"CDRPIPE_WINDOW_SLIDE": "7m"}, []string{"config"}, "config window.size:"},
		{"env country code letters", map[string]string{"CDRPIPE_NUMBERING_COUNTRY_CODE": "abcd"}, []string{"config"}, "config numbering.country_code:"},
		{"env min_share 1.5", map[string]string{"CDRPIPE_DETECTORS_SHORT_CALLS_MIN_SHARE": "1.5"}, []string{"config"}, "config detectors.short_calls.min_share:"},
		{"env min_share NaN", map[string]string{"CDRPIPE_DETECTORS_SHORT_CALLS_MIN_SHARE": "NaN"}, []string{"config"}, "config detectors.short_calls.min_share:"},
		{"env max_step negative", map[string]string{"CDRPIPE_DETECTORS_SEQUENTIAL_DIALING_MAX_STEP": "-1"}, []string{"config"}, "config detectors.sequential_dialing.max_step:"},
		{"env brokers without port", map[string]string{"CDRPIPE_KAFKA_BROKERS": "a:9092,b"}, []string{"config"}, "config kafka.brokers:"},
		{"flag fixes nothing it does not set", map[string]string{"CDRPIPE_SINK_BATCH_SIZE": "many"}, []string{"--database", "ok", "config"}, "config sink.batch_size:"},
		// A bad command line is a usage error whatever part of it is
		// wrong: an unknown subcommand or a stray argument should exit
		// 2 as an unknown flag does.
		{"unknown subcommand", nil, []string{"bogus"}, `unknown command "bogus"`},
		{"stray argument", nil, []string{"config", "extra"}, `"extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cleanEnv(t, tt.env)
			stdout, stderr, code := runCLI(t, tt.args...)
			checkOneErrorLine(t, stdout, stderr, code, tt.want)
		})
	}
}

// TestEnvReadAtRun makes sure the environment is read when a command
// runs, not when the package is loaded: two runs in one process see two
// different values.
func TestEnvReadAtRun(t *testing.T) {
	for _, db := range []string{"first", "second"} {
		cleanEnv(t, map[string]string{"CDRPIPE_CLICKHOUSE_DATABASE": db})
		stdout, stderr, code := runCLI(t, "config")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if got := parseConfig(t, stdout)["clickhouse.database"]; got != db {
			t.Errorf("clickhouse.database = %q, want %q", got, db)
		}
	}
}

// TestTrafficModelConfig: the settings the demo runs the generated
// traffic with (deploy/local/traffic-model.yaml) name the zones of every
// switch of the fleet that writes local times, and nothing else.
func TestTrafficModelConfig(t *testing.T) {
	cleanEnv(t, nil)
	stdout, stderr, code := runCLI(t, "--config", filepath.Join("..", "..", "deploy", "local", "traffic-model.yaml"), "config")
	if code != 0 {
		t.Fatalf("cdrpipe config: exit %d, stderr %q", code, stderr)
	}
	got := parseConfig(t, stdout)["input.switch_zones"]
	if want := strings.Join(traffic.SwitchZones(), ","); got != want {
		t.Errorf("deploy/local/traffic-model.yaml has input.switch_zones %q, the fleet needs %q", got, want)
	}
}
