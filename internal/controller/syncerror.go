package controller

import (
	"errors"
	"fmt"
	"strings"

	"github.com/envop/envop/internal/audit"
	"github.com/envop/envop/internal/manifest"
)

// fileErrors are the errors of a file that does not validate. Its message
// lists them one a line, as `envop validate` prints them, up to a bound,
// then counts the rest: a file with hundreds of errors must not make a huge
// status, log line, audit record or Event.
type fileErrors struct {
	diags manifest.Diagnostics
}

// Bounds of a sync error: the errors of a file listed, and the bytes of
// the message where it is shown. Audit records are shorter than /status:
// the environment's 500 share a ConfigMap, at most 1 MiB. events.k8s.io
// limits an Event's note to 1 KiB.
const (
	maxListedErrors = 20
	maxStatusBytes  = 4096
	maxAuditBytes   = 1536
	maxEventBytes   = 1024
)

func (e *fileErrors) Error() string { return e.list(false, maxStatusBytes) }

// list writes the errors one a line (or on one line, separated by "; ") in
// at most maxBytes, keeping room for the count of those left out. The first
// error is always there, cut if it must be.
func (e *fileErrors) list(oneLine bool, maxBytes int) string {
	if len(e.diags) == 1 {
		return audit.Truncate(e.diags[0].String(), maxBytes)
	}
	first, sep := "\n", "\n"
	if oneLine {
		first, sep = " ", "; "
	}
	more := func(n int) string { return fmt.Sprintf("%s... and %d more", sep, n) }
	var b strings.Builder
	fmt.Fprintf(&b, "%d errors:", len(e.diags))
	listed := 0
	for i, d := range e.diags {
		limit := maxBytes - len(more(len(e.diags)))
		if i == len(e.diags)-1 {
			limit = maxBytes // the last one needs no count after it
		}
		line := d.String()
		if listed == maxListedErrors || listed > 0 && b.Len()+len(sep)+len(line) > limit {
			break
		}
		if listed == 0 {
			b.WriteString(first)
		} else {
			b.WriteString(sep)
		}
		b.WriteString(audit.Truncate(line, limit-b.Len()))
		listed++
	}
	if left := len(e.diags) - listed; left > 0 {
		b.WriteString(more(left))
	}
	return b.String()
}

// auditMessage is err as a failed sync's audit record says it.
func auditMessage(err error) string {
	if invalid, file, ok := asFileErrors(err); ok {
		prefix := invalidPrefix(invalid)
		return prefix + file.list(false, maxAuditBytes-len(prefix))
	}
	return audit.Truncate(err.Error(), maxAuditBytes)
}

// eventMessage is err on one line, as an Event's message reads best in
// `kubectl get events`.
func eventMessage(err error) string {
	if invalid, file, ok := asFileErrors(err); ok {
		prefix := invalidPrefix(invalid)
		return prefix + file.list(true, maxEventBytes-len(prefix))
	}
	var lines []string
	for _, l := range strings.Split(err.Error(), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return audit.Truncate(strings.Join(lines, "; "), maxEventBytes)
}

func asFileErrors(err error) (*InvalidError, *fileErrors, bool) {
	var invalid *InvalidError
	var file *fileErrors
	ok := errors.As(err, &invalid) && errors.As(invalid.Err, &file)
	return invalid, file, ok
}

func invalidPrefix(e *InvalidError) string {
	return fmt.Sprintf("revision %s is invalid: ", shortRev(e.Revision))
}
