package auth

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// maxTokenFileSize bounds AUTH_TOKEN_FILE.
	maxTokenFileSize = 1 << 20
	// defaultTokenFileCheckInterval is how often, at most, the file is stat'ed.
	defaultTokenFileCheckInterval = 2 * time.Second
	// weakTokenLen is the length under which a token draws a warning.
	weakTokenLen = 16
)

// constantTimeCompare is subtle.ConstantTimeCompare; a variable so that a
// test can prove every configured token is compared.
var constantTimeCompare = subtle.ConstantTimeCompare

// staticToken is one line of the token file. Only the SHA-256 digest of the
// token is kept: comparing digests takes the same time whatever the
// presented token's length, and the token itself is not held in memory.
type staticToken struct {
	digest [sha256.Size]byte
	name   string
	role   Role
}

type tokenSet struct {
	tokens []staticToken
}

// tokenStore holds the current token set and reloads it when the file
// changes. Lookups never block on a reload in progress.
type tokenStore struct {
	path     string
	interval time.Duration
	log      *slog.Logger
	now      func() time.Time

	cur atomic.Pointer[tokenSet]

	mu      sync.Mutex // guards the fields below; held by the one reloader
	next    time.Time
	stat    os.FileInfo
	sum     [sha256.Size]byte
	lastErr string
}

func newTokenStore(path string, interval time.Duration, log *slog.Logger, now func() time.Time) (*tokenStore, error) {
	if interval <= 0 {
		interval = defaultTokenFileCheckInterval
	}
	s := &tokenStore{path: path, interval: interval, log: log, now: now}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read token file: %w", err)
	}
	set, sum, err := readTokenFile(path, log)
	if err != nil {
		return nil, err
	}
	s.stat, s.sum, s.next = fi, sum, now().Add(interval)
	s.cur.Store(set)
	log.Info("token file loaded", "file", path, "tokens", len(set.tokens))
	return s, nil
}

// lookup returns the principal of token, comparing it in constant time with
// every configured token.
func (s *tokenStore) lookup(token string) (Principal, bool) {
	s.maybeReload()
	set := s.cur.Load()
	d := sha256.Sum256([]byte(strings.TrimSpace(token)))
	match := -1
	for i := range set.tokens {
		eq := constantTimeCompare(d[:], set.tokens[i].digest[:])
		match = subtle.ConstantTimeSelect(eq, i, match)
	}
	if match < 0 {
		return Principal{}, false
	}
	t := set.tokens[match]
	return Principal{Name: t.name, Role: t.role, Method: MethodToken}, true
}

// maybeReload re-reads the file when, at most every interval, a stat shows a
// different file, size or modification time. A file that cannot be read or
// parsed keeps the last good set; the error is logged once per change.
func (s *tokenStore) maybeReload() {
	if !s.mu.TryLock() {
		return // another request is checking
	}
	defer s.mu.Unlock()
	now := s.now()
	if now.Before(s.next) {
		return
	}
	s.next = now.Add(s.interval)
	fi, err := os.Stat(s.path)
	if err == nil && !fileChanged(s.stat, fi) {
		return
	}
	var (
		set *tokenSet
		sum [sha256.Size]byte
	)
	if err == nil {
		set, sum, err = readTokenFile(s.path, s.log)
	}
	if err != nil {
		if msg := err.Error(); msg != s.lastErr {
			s.lastErr = msg
			s.log.Error("token file unusable, keeping the last good tokens", "file", s.path, "error", msg)
		}
		return
	}
	s.stat, s.lastErr = fi, ""
	if sum == s.sum {
		return
	}
	s.sum = sum
	s.cur.Store(set)
	s.log.Info("token file reloaded", "file", s.path, "tokens", len(set.tokens))
}

func fileChanged(old, cur os.FileInfo) bool {
	return old == nil || !os.SameFile(old, cur) || old.Size() != cur.Size() || !old.ModTime().Equal(cur.ModTime())
}

// readTokenFile reads and parses the file, returning the set and the digest
// of the content.
func readTokenFile(path string, log *slog.Logger) (*tokenSet, [sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	f, err := os.Open(path)
	if err != nil {
		return nil, sum, fmt.Errorf("read token file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxTokenFileSize+1))
	if err != nil {
		return nil, sum, fmt.Errorf("read token file: %w", err)
	}
	if len(data) > maxTokenFileSize {
		return nil, sum, fmt.Errorf("token file %s: larger than %d bytes", path, maxTokenFileSize)
	}
	set, err := parseTokens(data, log)
	if err != nil {
		return nil, sum, fmt.Errorf("token file %s: %w", path, err)
	}
	return set, sha256.Sum256(data), nil
}

// parseTokens parses `TOKEN [NAME [ROLE]]` lines. Every bad line is
// reported, by number only: an error never quotes a field, since any of
// them might be a token written in the wrong place.
func parseTokens(data []byte, log *slog.Logger) (*tokenSet, error) {
	set := &tokenSet{}
	seen := map[[sha256.Size]byte]int{}
	var errs []error
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxTokenFileSize)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		t, err := parseTokenLine(line, n)
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", n, err))
			continue
		}
		if first, dup := seen[t.digest]; dup {
			errs = append(errs, fmt.Errorf("line %d: same token as line %d", n, first))
			continue
		}
		seen[t.digest] = n
		if len(strings.Fields(line)[0]) < weakTokenLen {
			log.Warn("token shorter than recommended", "line", n, "name", t.name, "min_length", weakTokenLen)
		}
		set.tokens = append(set.tokens, t)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	return set, errors.Join(errs...)
}

func parseTokenLine(line string, n int) (staticToken, error) {
	fields := strings.Fields(line)
	if len(fields) > 3 {
		return staticToken{}, errors.New("too many fields (want TOKEN [NAME [ROLE]])")
	}
	t := staticToken{
		digest: sha256.Sum256([]byte(fields[0])),
		// An unnamed token is named after its line, never after its value.
		name: "token-line-" + strconv.Itoa(n),
		role: RoleDeploy,
	}
	if len(fields) > 1 {
		t.name = fields[1]
	}
	if len(fields) > 2 {
		t.role = Role(fields[2])
		if !t.role.Valid() {
			return staticToken{}, errors.New("the third field is not a role (want view, deploy or admin)")
		}
	}
	return t, nil
}
