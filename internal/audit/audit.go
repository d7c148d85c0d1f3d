package audit

import (
	"sort"
	"time"
	"unicode/utf8"
)

// Actions recorded.
const (
	ActionDeploy   = "deploy"
	ActionRollback = "rollback"
	ActionPromote  = "promote"
	ActionSync     = "sync"
)

// Results recorded.
const (
	ResultAccepted = "accepted"
	ResultSuccess  = "success"
	ResultFailed   = "failed"
	ResultRejected = "rejected"
)

// MaxPerService bounds the records kept with a service's state; the
// environment's are bounded by a Store's Retention.
const MaxPerService = 100

// Record is one audited change.
type Record struct {
	Time  time.Time `json:"time"`
	Actor string    `json:"actor"`
	// Address is the network address the actor called from, when the
	// change came through the API (docs/security.md).
	Address  string `json:"address,omitempty"`
	Action   string `json:"action"`
	Service  string `json:"service"`
	Version  string `json:"version"`
	Revision string `json:"revision"`
	// GistsRevision is the gists repository's revision a sync applied
	// with Revision, when the environment names one (gists_repository).
	GistsRevision string `json:"gists_revision,omitempty"`
	Result        string `json:"result"`
	Message       string `json:"message"`
}

// MaxMessageBytes bounds a record's message: records share ConfigMaps of
// at most 1 MiB, and a message that long is not read anyway.
const MaxMessageBytes = 2 << 10

// Append adds r to records, dropping the oldest beyond max. A message over
// MaxMessageBytes is cut (see Truncate).
func Append(records []Record, r Record, max int) []Record {
	r.Message = Truncate(r.Message, MaxMessageBytes)
	records = append(records, r)
	if len(records) > max {
		records = append([]Record(nil), records[len(records)-max:]...)
	}
	return records
}

// Query selects records newest first: only service's when service is set,
// at most limit when limit > 0.
func Query(sets [][]Record, service string, limit int) []Record {
	out := []Record{}
	for _, set := range sets {
		for _, r := range set {
			if service == "" || r.Service == service {
				out = append(out, r)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.After(out[j].Time) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// Truncate cuts s to at most n bytes, on a character boundary, ending it
// with "…" when it cut.
func Truncate(s string, n int) string {
	const mark = "…"
	if len(s) <= n {
		return s
	}
	cut := max(n-len(mark), 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}
