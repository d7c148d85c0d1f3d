package source

import (
	"bytes"
	"io/fs"
	"log/slog"
	"sync"
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

// logBuf collects log output for assertions.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newTestLogger() (*slog.Logger, *logBuf) {
	buf := &logBuf{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
