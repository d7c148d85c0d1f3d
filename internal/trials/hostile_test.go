package trials

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envop/envop/internal/testcluster"
)

// probe is one hostile request, sent raw over its own connection.
type probe struct {
	kind string
	raw  []byte
	// body, when set, is written after raw (large bodies share one buffer).
	body []byte
	// ok2xx marks requests a lenient server may rightly accept.
	ok2xx bool
	// protocol marks protocol violations: net/http may answer them itself
	// (400, 431, or 501/505 for a coding or version it does not implement)
	// or close the connection.
	protocol bool
}

// outcome tallies the answers of the hostile trial.
type outcome struct {
	mu         sync.Mutex
	byCode     map[int]int
	closed     int
	netHTTP5xx int
	failures   []string
}

func (o *outcome) fail(format string, args ...any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.failures) < 20 {
		o.failures = append(o.failures, fmt.Sprintf(format, args...))
	}
}

// TestTrialHostileHTTP sends malformed and hostile requests: only 4xx
// answers (or closed connections for protocol violations), never a 5xx from
// the API, the operator stays up and its memory stays bounded; slow clients
// are cut off by the server's header timeout.
func TestTrialHostileHTTP(t *testing.T) {
	t.Parallel()
	rep := record(t, "malformed and hostile HTTP requests, slow clients")
	n := pick(1000, 10000)
	rng := newRand(t)
	ns := testcluster.Namespace(t)
	r := newRepo(t, false)
	r.commit(manifest(ns, "web=1.0.0"))
	op := newProc(t, ns, r.Work, "--poll-interval", "1h")
	op.start()
	for range 20 { // warm up before the first measure
		_, _, _ = op.call("GET", "/status", nil)
	}
	rssBefore, goBefore, fdsBefore := vmKiB(t, op.pid(), "VmRSS"), metric(op, "go_goroutines"), metric(op, "process_open_fds")

	slow := make(chan string, 2)
	go func() { slow <- slowClients(op.addr, pick(3, 10), pick(20, 50)) }()
	go func() {
		if long { // a minute: the server's ReadTimeout
			slow <- slowBodies(op.addr, 3)
		} else {
			slow <- ""
		}
	}()

	o := &outcome{byCode: map[int]int{}}
	start := time.Now()
	// Authenticated probes first: failed authentications block the client
	// address for a minute, after which every answer would be 429.
	authed := n * 6 / 10
	flood(op.addr, o, authed, func(i int) probe { return authedProbe(rng, i) })
	flood(op.addr, o, n-authed, func(i int) probe { return unauthedProbe(rng, i) })
	took := time.Since(start)
	slowResult := <-slow + "\x00" + <-slow
	rssAfter, hwm := vmKiB(t, op.pid(), "VmRSS"), vmKiB(t, op.pid(), "VmHWM")
	goAfter, fdsAfter := metric(op, "go_goroutines"), metric(op, "process_open_fds")

	for _, f := range o.failures {
		t.Error(f)
	}
	if !op.running() {
		t.Fatalf("the operator died:\n%s", op.logTail(30))
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, _, err := op.get(path, false); err != nil || code != 200 {
			t.Errorf("GET %s after the flood = %d %v", path, code, err)
		}
	}
	if logs, _ := os.ReadFile(op.logPath); bytes.Contains(logs, []byte("handler panicked")) {
		t.Errorf("a handler panicked:\n%s", op.logTail(30))
	}
	if grown := rssAfter - rssBefore; grown > 100<<10 {
		t.Errorf("RSS grew by %d MiB (from %d to %d MiB), want at most 100 MiB", grown>>10, rssBefore>>10, rssAfter>>10)
	}
	for _, line := range strings.Split(slowResult, "\x00") {
		if strings.HasPrefix(line, "FAIL") {
			t.Error(line)
		}
	}
	rep.add("%d requests in %s (%d authenticated, %d not): %s", n, took.Round(time.Millisecond), authed, n-authed, o.summary())
	for _, line := range strings.Split(slowResult, "\x00") {
		if line != "" {
			rep.add("%s", line)
		}
	}
	rep.add("RSS %.1f MiB before, %.1f MiB after, peak %.1f MiB; goroutines %s → %s; open fds %s → %s",
		float64(rssBefore)/1024, float64(rssAfter)/1024, float64(hwm)/1024, goBefore, goAfter, fdsBefore, fdsAfter)
}

func (o *outcome) summary() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	codes := make([]int, 0, len(o.byCode))
	for c := range o.byCode {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	var parts []string
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%d×%d", c, o.byCode[c]))
	}
	return fmt.Sprintf("answers %s; %d connections closed by the server on protocol violations; %d 5xx written by net/http itself for a version or transfer coding it does not implement (RFC 9112), 0 from the API",
		strings.Join(parts, " "), o.closed, o.netHTTP5xx)
}

// flood sends count probes from 4 workers.
func flood(addr string, o *outcome, count int, gen func(int) probe) {
	var mu sync.Mutex
	next := 0
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				var p probe
				if i < count {
					p = gen(i) // the generator is not safe for concurrent use
				}
				mu.Unlock()
				if i >= count {
					return
				}
				send(addr, p, o)
			}
		}()
	}
	wg.Wait()
}

// send writes p on a fresh connection and classifies the answer.
func send(addr string, p probe, o *outcome) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		o.fail("%s: dial: %v", p.kind, err)
		return
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	go func() {
		if _, err := conn.Write(p.raw); err == nil && p.body != nil {
			_, _ = conn.Write(p.body)
		}
	}()
	method := "GET"
	if f := bytes.Fields(p.raw); len(f) > 0 {
		method = string(f[0])
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			o.fail("%s: no answer within 30s", p.kind)
			return
		}
		if !p.protocol {
			o.fail("%s: connection closed without an answer: %v", p.kind, err)
			return
		}
		o.mu.Lock()
		o.closed++
		o.mu.Unlock()
		return
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	code := resp.StatusCode
	o.mu.Lock()
	o.byCode[code]++
	o.mu.Unlock()
	fromNetHTTP := strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain")
	switch {
	case code >= 500 && p.protocol && fromNetHTTP && (code == 501 || code == 505):
		o.mu.Lock()
		o.netHTTP5xx++
		o.mu.Unlock()
	case code >= 500:
		o.fail("%s: %d %s (request %q)", p.kind, code, truncate(string(body), 200), truncate(string(p.raw), 200))
	case code >= 300 && code < 400:
		loc := resp.Header.Get("Location")
		if !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.Contains(loc, `\`) {
			o.fail("%s: redirect to %q leaves the server (request %q)", p.kind, loc, truncate(string(p.raw), 200))
		}
	case code < 300 && !p.ok2xx:
		o.fail("%s: accepted with %d (request %q)", p.kind, code, truncate(string(p.raw), 200))
	}
}

// request builds a raw HTTP/1.1 request; a Content-Length is added for a
// body unless headers set the framing.
func request(method, target string, headers []string, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n", method, target)
	framed := false
	for _, h := range headers {
		b.WriteString(h + "\r\n")
		lh := strings.ToLower(h)
		framed = framed || strings.HasPrefix(lh, "content-length:") || strings.HasPrefix(lh, "transfer-encoding:")
	}
	if body != nil && !framed {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}

var (
	bearer    = "Authorization: Bearer " + deployToken
	jsonType  = "Content-Type: application/json"
	bigBuffer = bytes.Repeat([]byte("a"), 16<<20)
	badJSON   = []string{
		`{`, `}`, `[]`, `null`, `""`, `0`, `{"name":1}`, `{"name":"web","version":2}`, `{"name":null,"version":"1"}`,
		`{"name":"web","version":"1.0"}}`, `{"name":"web","version":"1.0"}]`, `{"name":"web","version":"1.0","x":1}`,
		`{"name":"web","version":"1.0"} {"name":"web"}`, `{"name":"web" "version":"1"}`, `{'name':'web'}`,
		`{"name":"web","version":"\ud800"`, `{"name":"nope","version":"1.0"}`, `{"name":"web","version":"bad version!"}`,
		`{"name":"web","version":"$(reboot)"}`, `{"name":"../../etc/passwd","version":"1"}`, `{"name":"web","version":"1\n2"}`,
		`{"name":"web","version":""}`, `{"name":"","version":"1"}`, `{"name":"web"}`, `{"version":"1"}`,
		`{"name":"web","version":"1.0","application":"other"}`, "\xff\xfe{\x00}", `{"name":"web","version":"1.0"`,
		strings.Repeat("[", 100000), `{"name":"web","version":"` + strings.Repeat("9", 5000) + `"}`,
		`{"name":"` + strings.Repeat("a", 300) + `","version":"1"}`, `{"name":"web","version":"1.0","name":"nope"}`,
	}
	oddPaths = []string{
		"/../../etc/passwd", "/%00", "/status/%00", "/status%00", "/deploys/%2e%2e%2fstatus", "/status/..%2f..%2fetc",
		"/status/web%2F..%2F..%2Fetc", "//evil.example/status", "/%2F%2Fevil.example", "/\\evil.example", "/status/%zz",
		"/deploys/" + strings.Repeat("x", 10000), "/" + strings.Repeat("a", 8000), "/" + strings.Repeat("a/", 30000),
		"/status/" + strings.Repeat("%41", 20000), "/ünïcødé", "/status/web/pods/../../../audit", "/.git/config",
		"/deploy?" + strings.Repeat("a=b&", 10000), "/status?%zz=1", "/audit?limit=-1", "/audit?limit=abc",
		"/audit?limit=99999999999999999999999", "/deploys/x?wait=-1s",
		"/deploys/x?wait=abc", "/deploys/x?wait=999999999h", "/deploys/nope?wait=1ms", "/status/nope", "/status/nope/pods",
		"/status/web/pods/x", "/status/web/pods?lines=-5&x=", "/metrics/../status", "/openapi.json/x", "/healthz/x", "*",
	}
	methods = []string{"DELETE", "PUT", "PATCH", "TRACE", "PROPFIND", "FOO", "get", "POST", "OPTIONS"}
)

func pickOne[T any](rng *rand.Rand, list []T) T { return list[rng.IntN(len(list))] }

// authedProbe is a malformed request carrying a valid deploy token.
func authedProbe(rng *rand.Rand, i int) probe {
	switch i % 8 {
	case 0, 1: // bad JSON bodies
		return probe{kind: "bad JSON", raw: request("POST", pickOne(rng, []string{"/deploy", "/rollback", "/promote"}),
			[]string{bearer, jsonType}, []byte(pickOne(rng, badJSON)))}
	case 2: // random bytes, or valid JSON cut short
		body := make([]byte, rng.IntN(2048))
		for j := range body {
			body[j] = byte(rng.IntN(256))
		}
		return probe{kind: "random body", raw: request("POST", "/deploy", []string{bearer, jsonType}, body)}
	case 3: // huge bodies, declared or chunked
		size := pickOne(rng, pick([]int{65 << 10, 1 << 20, 4 << 20}, []int{65 << 10, 1 << 20, 4 << 20, 16 << 20}))
		if rng.IntN(2) == 0 {
			return probe{kind: "huge body", protocol: true,
				raw:  request("POST", "/deploy", []string{bearer, jsonType, "Content-Length: " + strconv.Itoa(size)}, []byte(`{"name":"web","version":"`)),
				body: bigBuffer[:size-25]}
		}
		var chunked bytes.Buffer
		for chunked.Len() < size {
			fmt.Fprintf(&chunked, "%x\r\n%s\r\n", 4096, bigBuffer[:4096])
		}
		chunked.WriteString("0\r\n\r\n")
		return probe{kind: "huge chunked body", protocol: true,
			raw: request("POST", "/deploy", []string{bearer, jsonType, "Transfer-Encoding: chunked"}, chunked.Bytes())}
	case 4: // wrong content types (the form type curl -d sends is accepted with a JSON body)
		ct := pickOne(rng, []string{"text/plain", "multipart/form-data; boundary=x", "application/json;;;=", "application/xml", "\x7f"})
		return probe{kind: "content type", raw: request("POST", "/deploy", []string{bearer, "Content-Type: " + ct}, []byte(`{"name":"web","version":"9.9.9"}`)), protocol: ct == "\x7f"}
	case 5: // odd paths
		path := pickOne(rng, oddPaths)
		// GET /status takes no parameters: a broken query changes nothing.
		return probe{kind: "odd path", raw: request("GET", path, []string{bearer}, nil), protocol: len(path) > 60000 || path == "*", ok2xx: path == "/status?%zz=1"}
	case 6: // wrong methods
		m := pickOne(rng, methods)
		path := pickOne(rng, []string{"/deploy", "/status", "/audit", "/webhook", "/deploys/x", "/rollback"})
		if m == "POST" {
			path = pickOne(rng, []string{"/status", "/audit", "/deploys/x", "/status/web"})
		}
		return probe{kind: "wrong method", raw: request(m, path, []string{bearer}, nil)}
	default: // random path and query
		var b strings.Builder
		b.WriteString("/")
		for range rng.IntN(200) {
			fmt.Fprintf(&b, "%%%02X", rng.IntN(256))
		}
		return probe{kind: "random path", raw: request("GET", b.String(), []string{bearer}, nil), ok2xx: b.String() == "/"}
	}
}

// unauthedProbe is a request without a valid token, with broken headers,
// or not HTTP at all.
func unauthedProbe(rng *rand.Rand, i int) probe {
	switch i % 6 {
	case 0, 1: // bad tokens
		auth := pickOne(rng, []string{"", "Authorization: Bearer", "Authorization: Bearer ", "Authorization: Basic dXNlcjpwYXNz",
			"Authorization: Bearer " + deployToken + "x", "Authorization: Bearer " + deployToken[:5], "Authorization: Token " + deployToken,
			"Authorization: Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.", "Authorization: Bearer " + strings.Repeat("t", 8000),
			"Authorization: Bearer ünï", "Authorization: Bearer a b c", "Authorization: " + deployToken})
		var headers []string
		if auth != "" {
			headers = []string{auth}
		}
		path := pickOne(rng, []string{"/status", "/audit", "/deploys/x", "/status/web/pods"})
		if rng.IntN(2) == 0 {
			return probe{kind: "bad token", raw: request("POST", "/deploy", append(headers, jsonType), []byte(`{"name":"web","version":"6.6.6"}`))}
		}
		return probe{kind: "bad token", raw: request("GET", path, headers, nil)}
	case 2: // oversized and broken headers
		h := pickOne(rng, []string{
			"X-Big: " + strings.Repeat("b", 70<<10), "Bad Header: x", "X-Nul: a\x00b", "X-Bare-CR: a\rb", "X-Obs-Fold: a\r\n b",
			"Content-Length: 5\r\nContent-Length: 6", "Content-Length: -1", "Content-Length: 1e3", "Transfer-Encoding: gzip, chunked",
			"Transfer-Encoding: chunked\r\nContent-Length: 3", "Host: a\r\nHost: b", ": no-name", "X-Request-Id: \x01\x02",
			strings.Repeat("X-Many: m\r\n", 8000) + "X-End: 1",
		})
		return probe{kind: "bad header", protocol: true, raw: request("GET", "/status", []string{h}, nil)}
	case 3: // not HTTP/1.1 as the server speaks it
		raw := pickOne(rng, []string{"GARBAGE\r\n\r\n", "GET /\r\n\r\n", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", "GET / HTTP/9.9\r\nHost: x\r\n\r\n",
			"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", "GET  /status  HTTP/1.1\r\nHost: x\r\n\r\n",
			"GET /status HTTP/1.1\r\n\r\n", "G\x00T /status HTTP/1.1\r\nHost: x\r\n\r\n", "CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: x\r\n\r\n",
			"GET http://evil.example/status HTTP/1.1\r\nHost: evil.example\r\n\r\n", "\r\n\r\n\r\n", strings.Repeat("A", 100<<10) + "\r\n\r\n",
			"POST /deploy HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n", "GET /status HTTP/1.1\nHost: x\n\n"})
		return probe{kind: "not HTTP/1.1", protocol: true, raw: []byte(raw)}
	case 4: // webhooks with bad or no signature, some huge
		body := []byte(`{"ref":"refs/heads/main"}`)
		var extra []byte
		headers := []string{jsonType, pickOne(rng, []string{"X-Hub-Signature-256: sha256=00", "X-Hub-Signature-256: md5=1", "X-Gitlab-Token: guess", "X-Hub-Signature-256: sha256=" + strings.Repeat("ab", 32)})}
		if rng.IntN(4) == 0 {
			headers = append(headers, "Content-Length: "+strconv.Itoa(len(body)+2<<20))
			extra = bigBuffer[:2<<20]
		}
		return probe{kind: "bad webhook", raw: request("POST", "/webhook", headers, body), body: extra, protocol: extra != nil}
	default: // the public endpoints with odd methods and paths
		m := pickOne(rng, []string{"POST", "PUT", "DELETE", "GET"})
		path := pickOne(rng, []string{"/healthz/..", "/readyz?x=" + strings.Repeat("y", 5000), "/metrics?name[]=x", "/openapi.json%00", "/index.html"})
		return probe{kind: "public endpoints", raw: request(m, path, nil, nil), ok2xx: m == "GET" && (strings.HasPrefix(path, "/readyz") || strings.HasPrefix(path, "/metrics"))}
	}
}

// slowClients opens conns connections that send request headers a byte at
// a time and idle ones that send nothing: the server must close all of them
// within its header timeout (10s) plus a margin.
func slowClients(addr string, conns, idle int) string {
	const limit = 16 * time.Second
	var wg sync.WaitGroup
	var mu sync.Mutex
	var longest time.Duration
	cut, refused := 0, 0
	head := []byte("GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + strings.Repeat("s", 100))
	for i := range conns + idle {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				mu.Lock()
				refused++
				mu.Unlock()
				return
			}
			defer conn.Close()
			start := time.Now()
			closed := false
			if i < conns {
				for j := 0; time.Since(start) < 2*limit; j = (j + 1) % len(head) {
					if _, err := conn.Write(head[j : j+1]); err != nil {
						closed = true
						break
					}
					time.Sleep(300 * time.Millisecond)
				}
			} else {
				_ = conn.SetReadDeadline(start.Add(2 * limit))
				_, err := conn.Read(make([]byte, 1))
				closed = err != nil && !isTimeout(err)
			}
			took := time.Since(start)
			mu.Lock()
			defer mu.Unlock()
			if closed && took <= limit {
				cut++
			}
			longest = max(longest, took)
		}()
	}
	wg.Wait()
	msg := fmt.Sprintf("%d slowloris (a header byte every 300ms) and %d idle connections: %d cut off by the server, the last after %s (ReadHeaderTimeout 10s)",
		conns, idle, cut, longest.Round(100*time.Millisecond))
	if cut != conns+idle {
		return "FAIL: " + msg
	}
	return msg
}

// slowBodies sends complete headers, then a body a byte a second: the
// server's ReadTimeout (1m) must end them.
func slowBodies(addr string, conns int) string {
	const limit = 75 * time.Second
	var wg sync.WaitGroup
	var mu sync.Mutex
	var longest time.Duration
	cut := 0
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				return
			}
			defer conn.Close()
			start := time.Now()
			closed := false
			if _, err := conn.Write(request("POST", "/webhook", []string{jsonType, "X-Hub-Signature-256: sha256=" + strings.Repeat("ab", 32), "Content-Length: 100000"}, nil)); err != nil {
				closed = true
			}
			for !closed && time.Since(start) < 2*limit {
				// A write succeeds into the socket buffer after the server
				// closed; the read sees the close (or its answer) first.
				_ = conn.SetReadDeadline(time.Now().Add(time.Second))
				if _, err := conn.Read(make([]byte, 512)); err != nil && !isTimeout(err) || err == nil {
					closed = true
					break
				}
				if _, err := conn.Write([]byte("{")); err != nil {
					closed = true
				}
			}
			took := time.Since(start)
			mu.Lock()
			defer mu.Unlock()
			if closed && took <= limit {
				cut++
			}
			longest = max(longest, took)
		}()
	}
	wg.Wait()
	msg := fmt.Sprintf("%d slow bodies (a byte a second): %d ended by the server, the last after %s (ReadTimeout 1m)", conns, cut, longest.Round(time.Second))
	if cut != conns {
		return "FAIL: " + msg
	}
	return msg
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// vmKiB reads a field of /proc/PID/status in KiB.
func vmKiB(t *testing.T, pid int, field string) int {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("read the operator's memory: %v", err)
	}
	m := regexp.MustCompile(field + `:\s+(\d+) kB`).FindSubmatch(data)
	if m == nil {
		t.Fatalf("no %s in /proc/%d/status", field, pid)
	}
	v, _ := strconv.Atoi(string(m[1]))
	return v
}

// metric reads one unlabelled value from the operator's /metrics.
func metric(op *proc, name string) string {
	_, data, err := op.get("/metrics", false)
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	return "?"
}
