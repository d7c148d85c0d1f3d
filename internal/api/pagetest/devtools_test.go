package pagetest

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/envop/envop/internal/testlog"
)

// waitTimeout bounds every wait for the page: long, since two cores shared
// with other work can make a browser slow; waits poll, so a fast run is
// fast.
const waitTimeout = 90 * time.Second

// tab is one page of a headless Chromium driven over the DevTools protocol,
// as a person would use it: it navigates, clicks at an element's place and
// types into the focused field. The protocol runs on a pipe
// (--remote-debugging-pipe: Chromium reads commands from fd 3 and writes
// answers and events to fd 4, each a JSON message ended by a NUL byte), so
// no port is opened and nothing but the standard library is needed.
type tab struct {
	t       *testing.T
	in      io.WriteCloser
	session string

	mu      sync.Mutex
	lastID  int
	replies map[int]chan message
	waiters []waiter
	closed  chan struct{} // closed when Chromium's output ends
}

// waiter wants the params of the next event called method that match.
type waiter struct {
	method string
	match  func(params json.RawMessage) bool
	ch     chan json.RawMessage
}

type message struct {
	ID        int             `json:"id,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *struct {
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// openTab starts Chromium with a fresh profile and one blank tab; extra
// are more command-line flags. Chromium and its helpers end with the test.
func openTab(t *testing.T, extra ...string) *tab {
	t.Helper()
	toChrome, in, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	out, fromChrome, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run",
		"--remote-debugging-pipe", "--user-data-dir=" + t.TempDir(),
	}, extra...)
	// The test's context ends before its cleanups run: Chromium's process
	// group is killed then, so no helper outlives the test and keeps writing
	// into the profile directory.
	cmd := exec.CommandContext(t.Context(), chromium(t), args...)
	cmd.WaitDelay = 10 * time.Second
	cmd.ExtraFiles = []*os.File{toChrome, fromChrome} // fd 3 and fd 4
	stderr := &testlog.Buffer{}
	cmd.Stderr = stderr
	ownProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	toChrome.Close()
	fromChrome.Close()
	b := &tab{t: t, in: in, replies: map[int]chan message{}, closed: make(chan struct{})}
	go b.read(out)
	t.Cleanup(func() {
		in.Close()
		killProcessGroup(cmd)
		_ = cmd.Wait()
		out.Close()
		if t.Failed() {
			t.Logf("chromium stderr (last lines):\n%s", stderr.Tail(20))
		}
	})

	var target struct {
		TargetID string `json:"targetId"`
	}
	b.browserCall("Target.createTarget", map[string]any{"url": "about:blank"}, &target)
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	b.browserCall("Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached)
	b.session = attached.SessionID
	return b
}

// read delivers Chromium's answers to their callers and events to
// whoever waits for them; the rest is dropped.
func (b *tab) read(r io.Reader) {
	defer close(b.closed)
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		raw, err := br.ReadBytes(0)
		if err != nil {
			return
		}
		var m message
		if json.Unmarshal(raw[:len(raw)-1], &m) != nil {
			continue
		}
		b.mu.Lock()
		if ch, ok := b.replies[m.ID]; ok && m.ID != 0 {
			delete(b.replies, m.ID)
			ch <- m
		} else if m.Method != "" {
			b.waiters = slices.DeleteFunc(b.waiters, func(w waiter) bool {
				if w.method != m.Method || (w.match != nil && !w.match(m.Params)) {
					return false
				}
				w.ch <- m.Params
				return true
			})
		}
		b.mu.Unlock()
	}
}

// send runs one protocol command, in the tab's session unless session is
// "", and decodes its result into result (when not nil).
func (b *tab) send(session, method string, params, result any) error {
	b.mu.Lock()
	b.lastID++
	id := b.lastID
	ch := make(chan message, 1)
	b.replies[id] = ch
	b.mu.Unlock()
	cmd := map[string]any{"id": id, "method": method, "params": params}
	if session != "" {
		cmd["sessionId"] = session
	}
	data, err := json.Marshal(cmd)
	if err != nil {
		return err
	}
	if _, err := b.in.Write(append(data, 0)); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	ctx, cancel := context.WithTimeout(b.t.Context(), waitTimeout)
	defer cancel()
	select {
	case m := <-ch:
		if m.Error != nil {
			return fmt.Errorf("%s: %s", method, m.Error.Message)
		}
		if result != nil {
			return json.Unmarshal(m.Result, result)
		}
		return nil
	case <-b.closed:
		return fmt.Errorf("%s: chromium exited", method)
	case <-ctx.Done():
		return fmt.Errorf("%s: no answer: %w", method, ctx.Err())
	}
}

func (b *tab) browserCall(method string, params, result any) {
	b.t.Helper()
	if err := b.send("", method, params, result); err != nil {
		b.t.Fatal(err)
	}
}

func (b *tab) call(method string, params, result any) {
	b.t.Helper()
	if err := b.send(b.session, method, params, result); err != nil {
		b.t.Fatal(err)
	}
}

// expectEvent returns a channel that gets the params of the next event
// called method for which match (when not nil) holds; ask before the
// command that causes it.
func (b *tab) expectEvent(method string, match func(params json.RawMessage) bool) <-chan json.RawMessage {
	ch := make(chan json.RawMessage, 1)
	b.mu.Lock()
	b.waiters = append(b.waiters, waiter{method, match, ch})
	b.mu.Unlock()
	return ch
}

// event waits for what expectEvent returned.
func (b *tab) event(what string, ch <-chan json.RawMessage) json.RawMessage {
	b.t.Helper()
	select {
	case p := <-ch:
		return p
	case <-b.closed:
		b.t.Fatalf("chromium exited before %s", what)
	case <-time.After(waitTimeout):
		b.t.Fatalf("no %s within %v", what, waitTimeout)
	}
	return nil
}

// navigate opens url in the tab, as typing it into the address bar does.
func (b *tab) navigate(url string) {
	b.t.Helper()
	var res struct {
		ErrorText string `json:"errorText"`
	}
	b.call("Page.navigate", map[string]any{"url": url}, &res)
	if res.ErrorText != "" {
		b.t.Fatalf("navigate to %s: %s", url, res.ErrorText)
	}
}

// eval evaluates a JavaScript expression in the page (awaiting a promise)
// and decodes its value into v.
func (b *tab) eval(expr string, v any) error {
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	params := map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}
	if err := b.send(b.session, "Runtime.evaluate", params, &res); err != nil {
		return err
	}
	if e := res.ExceptionDetails; e != nil {
		return fmt.Errorf("%s: %s %s", expr, e.Text, e.Exception.Description)
	}
	if v == nil {
		return nil
	}
	return json.Unmarshal(res.Result.Value, v)
}

// value is eval that fails the test on an error.
func (b *tab) value(expr string, v any) {
	b.t.Helper()
	if err := b.eval(expr, v); err != nil {
		b.t.Fatal(err)
	}
}

// waitFor polls until the expression is true. Errors while polling (the
// page navigating away, an element not there yet) count as not yet.
func (b *tab) waitFor(what, expr string) {
	b.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		var ok bool
		if err := b.eval("Boolean("+expr+")", &ok); err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			var where, shown string
			_ = b.eval("location.href", &where)
			_ = b.eval("document.body ? document.body.innerText : ''", &shown)
			b.t.Fatalf("after %v, still not %s (%s)\nthe page at %s shows:\n%s", waitTimeout, what, expr, where, tail(shown, 30))
		}
		select {
		case <-b.t.Context().Done():
			b.t.Fatal(b.t.Context().Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// visible is a JavaScript expression: the element matching selector exists
// and takes room on the screen.
func visible(selector string) string {
	return fmt.Sprintf("(e => e && e.getClientRects().length > 0)(document.querySelector(%q))", selector)
}

// click waits until the element is on screen and is what the mouse would
// hit at its centre (nothing covers it, the layout has settled), then
// clicks there with the mouse.
func (b *tab) click(selector string) {
	b.t.Helper()
	at := fmt.Sprintf(`(e => { if (!e || e.getClientRects().length === 0) return null;
		e.scrollIntoView({block: "center"}); const r = e.getBoundingClientRect();
		const x = r.x + r.width / 2, y = r.y + r.height / 2, hit = document.elementFromPoint(x, y);
		return hit && (hit === e || e.contains(hit)) ? {X: x, Y: y} : null; })(document.querySelector(%q))`, selector)
	b.waitFor(selector+" ready to be clicked", at)
	var p struct{ X, Y float64 }
	b.value(at, &p)
	for _, typ := range []string{"mouseMoved", "mousePressed", "mouseReleased"} {
		b.call("Input.dispatchMouseEvent", map[string]any{"type": typ, "x": p.X, "y": p.Y, "button": "left", "clickCount": 1}, nil)
	}
}

// typeInto clicks the field and types text into it.
func (b *tab) typeInto(selector, text string) {
	b.t.Helper()
	b.click(selector)
	var focused bool
	b.value(fmt.Sprintf("document.activeElement === document.querySelector(%q)", selector), &focused)
	if !focused {
		b.t.Fatalf("clicking %s did not focus it", selector)
	}
	b.call("Input.insertText", map[string]any{"text": text}, nil)
}

// dom is the tab's current DOM.
func (b *tab) dom() *html.Node {
	b.t.Helper()
	var markup string
	b.value("document.documentElement.outerHTML", &markup)
	doc, err := html.Parse(strings.NewReader(markup))
	if err != nil {
		b.t.Fatalf("parse the DOM: %v", err)
	}
	return doc
}

// storage is the tab's session storage for the current page's origin.
func (b *tab) storage() map[string]string {
	b.t.Helper()
	var s map[string]string
	b.value("Object.fromEntries(Object.entries(sessionStorage))", &s)
	return s
}

// advance lets budget of virtual time pass in the page (timers fire, the
// clock moves), pausing it while requests are in flight, and waits for it
// to have passed.
func (b *tab) advance(budget time.Duration) {
	b.t.Helper()
	expired := b.expectEvent("Emulation.virtualTimeBudgetExpired", nil)
	b.call("Emulation.setVirtualTimePolicy", map[string]any{"policy": "pauseIfNetworkFetchesPending", "budget": budget.Milliseconds()}, nil)
	b.event(fmt.Sprintf("the end of %v of virtual time", budget), expired)
}

// screenshot is a PNG of the tab's viewport.
func (b *tab) screenshot() []byte {
	b.t.Helper()
	var res struct {
		Data string `json:"data"`
	}
	b.call("Page.captureScreenshot", map[string]any{"format": "png"}, &res)
	png, err := base64.StdEncoding.DecodeString(res.Data)
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	return png
}
