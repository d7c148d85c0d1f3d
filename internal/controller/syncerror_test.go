package controller

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"unicode/utf8"

	"github.com/envop/envop/internal/audit"
	"github.com/envop/envop/internal/manifest"
	"github.com/envop/envop/internal/metrics"
)

// recordedEvents keeps the Events a controller records.
type recordedEvents struct {
	mu       sync.Mutex
	warnings []string
}

func (*recordedEvents) Normal(string, string)                     {}
func (*recordedEvents) On(string, string, string, string, string) {}

func (e *recordedEvents) Warning(reason, message string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.warnings = append(e.warnings, reason+": "+message)
}

// brokenFile is a manifest whose services each have an unknown field named
// field: one error a service.
func brokenFile(services int, field string) string {
	var b strings.Builder
	b.WriteString("project: shop\nenvironments:\n  - name: dev\n    namespace: shop-dev\n    services:\n")
	for i := range services {
		fmt.Fprintf(&b, "      - name: s%d\n        %s: 2\n", i, field)
	}
	return b.String()
}

// wantLine is the error of service i of brokenFile, as `envop validate`
// prints it.
func wantLine(i int, field string) string {
	return fmt.Sprintf("environments.bitesize:%d:9: environments[0].services[%d].%s: unknown field", 7+2*i, i, field)
}

// syncInvalid syncs a revision of content into a controller with no
// cluster (an invalid revision never reaches one) and returns the sync
// error as status, the audit record and the Event show it, and the log.
func syncInvalid(t *testing.T, content string) (status, auditMsg, event, logs string) {
	t.Helper()
	var logBuf bytes.Buffer
	events := &recordedEvents{}
	var records []audit.Record
	c := New(Config{Namespace: "shop-dev", Environment: "dev", File: "environments.bitesize"}, Deps{
		Metrics: metrics.New(), Events: events, Log: slog.New(slog.NewJSONHandler(&logBuf, nil)),
		Audit: func(_ context.Context, r audit.Record) { records = append(records, r) },
	})
	c.Submit(Snapshot{Revision: "0123456789abcdef0123", Files: fstest.MapFS{
		"environments.bitesize": {Data: []byte(content)},
	}})
	err := c.reconcileNext(t.Context())
	var invalid *InvalidError
	if !errors.As(err, &invalid) {
		t.Fatalf("sync: %v, want an InvalidError", err)
	}
	if len(records) != 1 || records[0].Result != audit.ResultFailed || len(events.warnings) != 1 {
		t.Fatalf("audit %+v, events %q: want one failed record and one Warning", records, events.warnings)
	}
	return c.Status().Error, records[0].Message, events.warnings[0], logBuf.String()
}

const prefix = "revision 0123456789ab is invalid: "

func TestInvalidRevisionListsItsErrors(t *testing.T) {
	const field = "surprise" // close to no field: no hint
	for _, tt := range []struct {
		name          string
		errors, shown int
	}{
		{"one", 1, 1},
		{"a few", 3, 3},
		{"exactly the bound", maxListedErrors, maxListedErrors},
		{"many", 500, maxListedErrors},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, auditMsg, event, logs := syncInvalid(t, brokenFile(tt.errors, field))
			var lines []string
			for i := range tt.shown {
				lines = append(lines, wantLine(i, field))
			}
			want := prefix + lines[0]
			if tt.errors > 1 {
				want = fmt.Sprintf("%s%d errors:\n%s", prefix, tt.errors, strings.Join(lines, "\n"))
			}
			if more := tt.errors - tt.shown; more > 0 {
				want += fmt.Sprintf("\n... and %d more", more)
			}
			if status != want {
				t.Errorf("status error:\n%s\nwant:\n%s", status, want)
			}
			if !strings.Contains(logs, `"msg":"sync failed"`) || !strings.Contains(logs, lines[len(lines)-1]) {
				t.Errorf("log lacks the errors:\n%s", logs)
			}
			// The audit record and the Event list as many as fit.
			if !strings.HasPrefix(want, strings.TrimSuffix(auditMsg, "\n"+lastLine(auditMsg, "\n"))) || len(auditMsg) > maxAuditBytes {
				t.Errorf("audit message of %d bytes:\n%s\nwant the start of:\n%s", len(auditMsg), auditMsg, want)
			}
			oneLine := strings.Replace(strings.ReplaceAll(want, "\n", "; "), "errors:; ", "errors: ", 1)
			if !strings.HasPrefix(oneLine, strings.TrimPrefix(strings.TrimSuffix(event, "; "+lastLine(event, "; ")), "SyncFailed: ")) ||
				len(event) > len("SyncFailed: ")+maxEventBytes {
				t.Errorf("event of %d bytes:\n%s\nwant the start of:\n%s", len(event), event, oneLine)
			}
			for what, msg := range map[string]string{"audit message": auditMsg, "event": event} {
				if tt.errors > tt.shown && !strings.HasSuffix(msg, " more") {
					t.Errorf("%s does not count the errors left out: %q", what, msg)
				}
			}
		})
	}
}

func lastLine(s, sep string) string { return s[strings.LastIndex(s, sep)+len(sep):] }

// TestInvalidRevisionMessageIsBounded: long errors are listed until the
// message is as long as it may be, then counted.
func TestInvalidRevisionMessageIsBounded(t *testing.T) {
	field := "x" + strings.Repeat("long", 50)
	status, auditMsg, event, _ := syncInvalid(t, brokenFile(30, field))
	for what, tt := range map[string]struct {
		msg, sep, start string
		bound           int
	}{
		"status": {status, "\n", prefix + "30 errors:\n", len(prefix) + maxStatusBytes},
		"audit":  {auditMsg, "\n", prefix + "30 errors:\n", maxAuditBytes},
		"event":  {event, "; ", "SyncFailed: " + prefix + "30 errors: ", len("SyncFailed: ") + maxEventBytes},
	} {
		listed := strings.Split(strings.TrimPrefix(tt.msg, tt.start), tt.sep)
		listed = listed[:len(listed)-1]
		if len(tt.msg) > tt.bound || !strings.HasPrefix(tt.msg, tt.start) || len(listed) == 0 || listed[0] != wantLine(0, field) ||
			!strings.HasSuffix(tt.msg, fmt.Sprintf("%s... and %d more", tt.sep, 30-len(listed))) {
			t.Errorf("%s of %d bytes (at most %d):\n%s", what, len(tt.msg), tt.bound, tt.msg)
		}
	}
}

// TestOneHugeErrorIsCut: an error longer than the bound is cut, not
// dropped.
func TestOneHugeErrorIsCut(t *testing.T) {
	d := manifest.Diagnostic{File: "environments.bitesize", Line: 7, Col: 9, Path: "environments[0].services[0].env[0].value",
		Message: strings.Repeat("é", maxStatusBytes), Severity: manifest.SeverityError}
	for _, diags := range []manifest.Diagnostics{{d}, {d, d}} {
		msg := (&fileErrors{diags}).Error()
		if len(msg) > maxStatusBytes || !strings.Contains(msg, "environments.bitesize:7:9: environments[0].services[0].env[0].value: éé") ||
			!strings.Contains(msg, "é…") || !utf8.ValidString(msg) {
			t.Errorf("%d errors: message of %d bytes: %.120q...", len(diags), len(msg), msg)
		}
		if len(diags) == 2 && !strings.HasSuffix(msg, "\n... and 1 more") {
			t.Errorf("the second error is not counted: ...%q", msg[len(msg)-40:])
		}
	}
}

func TestEventMessageIsOneLine(t *testing.T) {
	err := errors.Join(errors.New("apply Deployment web: refused"), errors.New("  apply Service web: refused  "))
	if got, want := eventMessage(err), "apply Deployment web: refused; apply Service web: refused"; got != want {
		t.Errorf("eventMessage = %q, want %q", got, want)
	}
	long := errors.New(strings.Repeat("é", maxEventBytes))
	if got := eventMessage(long); len(got) > maxEventBytes || !strings.HasSuffix(got, "é…") {
		t.Errorf("eventMessage of a long error: %d bytes, ends %q", len(got), got[len(got)-8:])
	}
}
