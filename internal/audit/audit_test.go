package audit

import (
	"iter"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestAppendBoundsRecordsAndMessages(t *testing.T) {
	var records []Record
	for i := range 5 {
		records = Append(records, Record{Version: string(rune('a' + i))}, 3)
	}
	if len(records) != 3 || records[0].Version != "c" || records[2].Version != "e" {
		t.Errorf("kept %+v, want the newest 3", records)
	}
	long := strings.Repeat("é", MaxMessageBytes) // 2 bytes each
	got := Append(nil, Record{Message: long}, 1)[0].Message
	if len(got) > MaxMessageBytes || !utf8.ValidString(got) || !strings.HasSuffix(got, "…") {
		t.Errorf("message of %d bytes, valid UTF-8 %v, ends %q", len(got), utf8.ValidString(got), got[len(got)-10:])
	}
	if short := Append(nil, Record{Message: "fine"}, 1)[0].Message; short != "fine" {
		t.Errorf("short message changed to %q", short)
	}
}

func TestRepeatsLastSync(t *testing.T) {
	applied := Record{Action: ActionSync, Revision: "abc", Result: ResultSuccess, Message: "applied revision abc"}
	deploy := Record{Action: ActionDeploy, Revision: "abc", Result: ResultAccepted}
	failed := Record{Action: ActionSync, Revision: "def", Result: ResultFailed, Message: strings.Repeat("x", 3*MaxMessageBytes)}
	for _, tt := range []struct {
		name    string
		records []Record
		r       Record
		want    bool
	}{
		{"nothing yet", nil, applied, false},
		{"the same revision applied again (a restart)", []Record{applied, deploy}, applied, true},
		{"a new revision", []Record{applied}, Record{Action: ActionSync, Revision: "def", Result: ResultSuccess}, false},
		{"applied after failing", []Record{applied, failed}, applied, false},
		{"the same failure again, its message cut when stored", Append([]Record{applied}, failed, 10), failed, true},
	} {
		if got := repeatsLastSync(backward(tt.records), tt.r); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// backward walks records newest first, as a Store does.
func backward(records []Record) iter.Seq[Record] {
	return func(yield func(Record) bool) {
		for _, r := range slices.Backward(records) {
			if !yield(r) {
				return
			}
		}
	}
}
