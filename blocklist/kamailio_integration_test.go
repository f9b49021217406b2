package blocklist_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/blocklist"
	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/feed"
	"github.com/cdrpipe/cdrpipe/internal/e2e"
	"github.com/cdrpipe/cdrpipe/pipeline/sink"
	"github.com/cdrpipe/cdrpipe/schemas"
)

// TestKamailioRefusesBlockedCallers proves the kamailio export on a real
// SIP proxy: Debian's Kamailio with userblocklist and db_text loads the
// exported globalblocklist, SIPp places calls through it to a SIPp
// answering them: a blocked caller and a caller in a blocked range get
// 403, an ordinary or allowlisted caller gets through; a number blocked by
// hand is refused after the next export and reload.
func TestKamailioRefusesBlockedCallers(t *testing.T) {
	e2e.Require(t)
	kamcmd := tool(t, "kamcmd")
	ctx := context.Background()
	s, cfg := e2e.Require(t).Sink(t, config.Default(), "cdrpipe_kamailio")
	db := cfg.ClickHouse.Database
	if _, err := s.Migrate(ctx, cfg.Verdict()); err != nil {
		t.Fatal(err)
	}
	const (
		robocaller = "+8613800000001" // fan_out + short_calls
		hospital   = "+8675588880000" // the same flags, allowlisted
		ordinary   = "+8613900000002"
		inRange    = "+862160001004" // under the blocked range +86216000100
		byHand     = "+8613800000007"
	)
	now := time.Now().UTC().Truncate(time.Second).Add(-time.Minute)
	var b sink.Batch
	for _, n := range []string{robocaller, hospital} {
		for _, d := range []string{"fan_out", "short_calls"} {
			b.AddFlag(&schemas.Flag{Number: n, Detector: d, WindowStart: now, WindowEnd: now.Add(time.Hour), Score: 0.7,
				Evidence: d, FlaggedAt: now, Final: true})
		}
	}
	for _, d := range []string{"number_rotation", "short_calls"} {
		b.AddGroup(&schemas.GroupFlag{TrunkID: "SIPT-7", Prefix: "+86216000100", Detector: d, WindowStart: now, WindowEnd: now.Add(time.Hour),
			Score: 0.7, Evidence: d, Numbers: []string{inRange}})
	}
	if err := s.Write(ctx, &b); err != nil {
		t.Fatal(err)
	}
	st := blocklist.New(s.Conn(), db, time.Now)
	if err := st.Allow(ctx, hospital, "ops", "hospital switchboard", time.Time{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	dbtext := filepath.Join(dir, "dbtext")
	export := func() {
		t.Helper()
		l, err := st.Snapshot(ctx, blocklist.Query{TTL: cfg.Blocklist.TTL})
		if err != nil {
			t.Fatal(err)
		}
		if err := blocklist.WriteFile(dbtext, "kamailio", l); err != nil {
			t.Fatal(err)
		}
	}
	export()

	call := proxy(t, dir, "kamailio.cfg", map[string]string{"@DBTEXT@": dbtext})
	ctl := filepath.Join(dir, "kamailio_ctl")
	call(robocaller, 403)
	call(inRange, 403)
	call(ordinary, 200)
	call(hospital, 200)
	call(byHand, 200)

	if err := st.Add(ctx, byHand, "analyst", "complaints"); err != nil {
		t.Fatal(err)
	}
	// db_text notices a changed file by its modification time, in whole
	// seconds: a file written again within the second is not read again.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
	export()
	if out, err := exec.Command(kamcmd, "-s", "unixs:"+ctl, "userblocklist.reload_blocklist").CombinedOutput(); err != nil {
		t.Fatalf("kamcmd userblocklist.reload_blocklist: %v\n%s", err, out)
	}
	call(byHand, 403)
	call(ordinary, 200)
}

// proxy starts a SIPp answering calls and Kamailio with deploy/local/
// kamailio/cfg and values filled in (besides the ports, modules and
// control socket), and returns a function placing one call from caller
// through it that must get want.
func proxy(t *testing.T, dir, cfg string, values map[string]string) func(caller string, want int) {
	t.Helper()
	kamailio, sipp := tool(t, "kamailio"), tool(t, "sipp")
	uasPort, proxyPort := freeUDP(t), freeUDP(t)
	start(t, sipp, "-sn", "uas", "-i", "127.0.0.1", "-p", fmt.Sprint(uasPort), "-nostdin", "-trace_err",
		"-error_file", filepath.Join(dir, "uas-errors.log"))
	ctl := filepath.Join(dir, "kamailio_ctl")
	all := map[string]string{"@PORT@": fmt.Sprint(proxyPort), "@MODULES@": modulesDir(t), "@CTL@": ctl, "@UAS_PORT@": fmt.Sprint(uasPort)}
	for k, v := range values {
		all[k] = v
	}
	kcfg := renderConfig(t, dir, cfg, all)
	if out, err := exec.Command(kamailio, "-c", "-f", kcfg).CombinedOutput(); err != nil {
		t.Fatalf("kamailio -c: %v\n%s", err, out)
	}
	start(t, kamailio, "-DD", "-E", "-f", kcfg, "-Y", dir, "-P", filepath.Join(dir, "kamailio.pid"))
	waitFor(t, ctl)
	return func(caller string, want int) {
		t.Helper()
		scen := filepath.Join(dir, fmt.Sprintf("uac-%d.xml", want))
		if err := os.WriteFile(scen, []byte(scenario(want)), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(sipp, "-sf", scen, "-m", "1", "-i", "127.0.0.1", "-p", fmt.Sprint(freeUDP(t)),
			"-key", "caller", caller, "-s", "8613911112222", "-timeout", "10s", "-timeout_error", "-nostdin",
			"-trace_err", "-error_file", filepath.Join(dir, "uac-errors.log"), fmt.Sprintf("127.0.0.1:%d", proxyPort))
		cmd.Dir = dir
		cmd.WaitDelay = time.Second
		if out, err := cmd.CombinedOutput(); err != nil {
			errs, _ := os.ReadFile(filepath.Join(dir, "uac-errors.log"))
			t.Errorf("a call from %s did not get %d: %v\n%s\n%s", caller, want, err, lastLines(out, 15), errs)
		}
	}
}

// scenario is a SIPp caller expecting want (200: the call goes through
// and is hung up; 403: it is refused and acknowledged).
func scenario(want int) string {
	invite := `<send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[caller]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: sip:[caller]@[local_ip]:[local_port]
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="100" optional="true"/>
`
	ack := func(cseq string) string {
		return `<send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[caller]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: ` + cseq + ` ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
`
	}
	body := invite
	if want == 403 {
		body += `<recv response="403"/>` + "\n" + ack("1")
	} else {
		body += `<recv response="180" optional="true"/>
<recv response="200"/>
` + ack("1") + `<send retrans="500"><![CDATA[
BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[caller]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="200"/>
`
	}
	return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="cdrpipe call">
` + body + `</scenario>
`
}

// tool finds a program the stack installs (deploy/local/up.sh).
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed (make up installs Debian's kamailio and sip-tester): %v", name, err)
	}
	return p
}

func modulesDir(t *testing.T) string {
	t.Helper()
	for _, d := range []string{"/usr/lib/x86_64-linux-gnu/kamailio/modules", "/usr/lib/" + runtime.GOARCH + "-linux-gnu/kamailio/modules",
		"/usr/lib/aarch64-linux-gnu/kamailio/modules", "/usr/lib/kamailio/modules"} {
		if _, err := os.Stat(filepath.Join(d, "userblocklist.so")); err == nil {
			return d
		}
	}
	t.Fatal("Kamailio's userblocklist module not found")
	return ""
}

// renderConfig fills deploy/local/kamailio/name in and writes it to dir.
func renderConfig(t *testing.T, dir, name string, values map[string]string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "deploy", "local", "kamailio", name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for k, v := range values {
		s = strings.ReplaceAll(s, k, v)
	}
	path := filepath.Join(dir, "kamailio.cfg")
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// start runs a program, in a process group of its own (Kamailio forks
// its workers), until the test ends.
func start(t *testing.T, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(name), lastLines(out.Bytes(), 30))
		}
	})
}

// syncBuffer is a buffer two goroutines may write.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

func waitFor(t *testing.T, path string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return
		}
	}
	t.Fatalf("%s did not appear: Kamailio did not start", path)
}

func freeUDP(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TestKamailioAsksTheFeed: Kamailio looks every new call's caller up in
// cdrpipe's feed (blocklist serve) with its http_client module: a blocked
// caller gets 403, an ordinary one gets through, and a number blocked by
// hand is refused once the feed has refreshed, without touching Kamailio.
func TestKamailioAsksTheFeed(t *testing.T) {
	e2e.Require(t)
	modules := modulesDir(t)
	if _, err := os.Stat(filepath.Join(modules, "http_client.so")); err != nil {
		t.Fatalf("Kamailio's http_client module is missing (make up installs kamailio-utils-modules): %v", err)
	}
	ctx := context.Background()
	s, cfg := e2e.Require(t).Sink(t, config.Default(), "cdrpipe_kamailio_feed")
	if _, err := s.Migrate(ctx, cfg.Verdict()); err != nil {
		t.Fatal(err)
	}
	const (
		robocaller = "+8613800000001"
		ordinary   = "+8613900000002"
		byHand     = "+8613800000007"
	)
	now := time.Now().UTC().Truncate(time.Second).Add(-time.Minute)
	var b sink.Batch
	for _, d := range []string{"fan_out", "short_calls"} {
		b.AddFlag(&schemas.Flag{Number: robocaller, Detector: d, WindowStart: now, WindowEnd: now.Add(time.Hour), Score: 0.7,
			Evidence: d, FlaggedAt: now, Final: true})
	}
	if err := s.Write(ctx, &b); err != nil {
		t.Fatal(err)
	}
	st := blocklist.New(s.Conn(), cfg.ClickHouse.Database, time.Now)
	fd := feed.New(st, blocklist.Query{TTL: cfg.Blocklist.TTL}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := fd.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: fd.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	dir := t.TempDir()
	call := proxy(t, dir, "kamailio-feed.cfg", map[string]string{"@FEED_PORT@": fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)})
	call(robocaller, 403)
	call(ordinary, 200)
	call(byHand, 200)
	if err := st.Add(ctx, byHand, "analyst", "complaints"); err != nil {
		t.Fatal(err)
	}
	if err := fd.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	call(byHand, 403)
	call(ordinary, 200)
}
