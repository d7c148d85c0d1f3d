package audit

import (
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
