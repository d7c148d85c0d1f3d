package source

import (
	"io/fs"
	"log/slog"
	"testing"
)

func readSnap(t *testing.T, snap *Snapshot, name string) string {
	t.Helper()
	b, err := fs.ReadFile(snap.Files, name)
	if err != nil {
		t.Fatalf("read %s from %s: %v", name, shortRev(snap.Revision), err)
	}
	return string(b)
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
