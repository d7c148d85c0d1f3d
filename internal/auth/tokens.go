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
	"slices"
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
	scope  Scope
}

// tokenSet is what one reading of the file gave: the usable tokens, and a
// problem per line (or for the whole file) that was left out.
type tokenSet struct {
	tokens   []staticToken
	problems []string
	warnings []string // weak tokens: used, and logged
}

// tokenStore holds the current token set and reloads it when the file
// changes. Lookups never block on a reload in progress.
type tokenStore struct {
	path     string
	interval time.Duration
	log      *slog.Logger
	now      func() time.Time

	cur atomic.Pointer[tokenSet]

	mu   sync.Mutex // guards the fields below; held by the one reloader
	next time.Time
	stat os.FileInfo
	sum  [sha256.Size]byte
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
	set, sum, err := readTokenFile(path)
	if err != nil {
		return nil, err
	}
	s.stat, s.sum, s.next = fi, sum, now().Add(interval)
	s.store(set, "token file loaded")
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
	return Principal{Name: t.name, Grants: []Grant{{Role: t.role, Scope: t.scope}}, Method: MethodToken}, true
}

// problems returns what the last reading of the file left out, after
// checking the file for changes.
func (s *tokenStore) problems() []string {
	s.maybeReload()
	return s.cur.Load().problems
}

// maybeReload re-reads the file when, at most every interval, a stat shows a
// different file, size or modification time. Revocation fails closed: a file
// that is gone or unreadable leaves no token working, and an invalid line
// only that line out.
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
		set, sum, err = readTokenFile(s.path)
	} else {
		err = fmt.Errorf("read token file: %w", err)
	}
	if err != nil {
		// Forget the file, so that it is read again as soon as it is back.
		s.stat, s.sum = nil, [sha256.Size]byte{}
		if cur := s.cur.Load(); len(cur.tokens) > 0 || !slices.Equal(cur.problems, []string{err.Error()}) {
			s.store(&tokenSet{problems: []string{err.Error()}}, "token file unusable, every token refused")
		}
		return
	}
	s.stat = fi
	if sum == s.sum {
		return
	}
	s.sum = sum
	s.store(set, "token file reloaded")
}

// store makes set current and logs msg with its counts, and each problem.
func (s *tokenStore) store(set *tokenSet, msg string) {
	s.cur.Store(set)
	for _, p := range set.problems {
		s.log.Error("token file problem", "file", s.path, "problem", p)
	}
	for _, w := range set.warnings {
		s.log.Warn("weak token", "file", s.path, "problem", w)
	}
	s.log.Info(msg, "file", s.path, "tokens", len(set.tokens), "problems", len(set.problems))
}

func fileChanged(old, cur os.FileInfo) bool {
	return old == nil || !os.SameFile(old, cur) || old.Size() != cur.Size() || !old.ModTime().Equal(cur.ModTime())
}

// readTokenFile reads and parses the file, returning the set and the digest
// of the content. Only a file that cannot be read at all is an error.
func readTokenFile(path string) (*tokenSet, [sha256.Size]byte, error) {
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
	return parseTokens(data), sha256.Sum256(data), nil
}

// parseTokens parses `TOKEN [NAME [ROLE [SERVICES]]]` lines. A bad line is
// left out and reported by number only: a problem never quotes a field,
// since any of them might be a token written in the wrong place.
func parseTokens(data []byte) *tokenSet {
	set := &tokenSet{}
	seen := map[[sha256.Size]byte]int{}
	problem := func(n int, err error) {
		set.problems = append(set.problems, fmt.Sprintf("line %d: %v (the line is ignored)", n, err))
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxTokenFileSize)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		t, err := parseTokenLine(line, n)
		if err != nil {
			problem(n, err)
			continue
		}
		if first, dup := seen[t.digest]; dup {
			// Neither line can be trusted to say who holds the token.
			problem(n, fmt.Errorf("same token as line %d", first))
			set.tokens = slices.DeleteFunc(set.tokens, func(o staticToken) bool { return o.digest == t.digest })
			continue
		}
		seen[t.digest] = n
		if len(strings.Fields(line)[0]) < weakTokenLen {
			set.warnings = append(set.warnings, fmt.Sprintf("line %d: token %s is shorter than %d characters", n, t.name, weakTokenLen))
		}
		set.tokens = append(set.tokens, t)
	}
	if err := sc.Err(); err != nil {
		set.problems = append(set.problems, fmt.Sprintf("read: %v", err))
	}
	return set
}

func parseTokenLine(line string, n int) (staticToken, error) {
	fields := strings.Fields(line)
	if len(fields) > 4 {
		return staticToken{}, errors.New("too many fields (want TOKEN [NAME [ROLE [SERVICES]]])")
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
	if len(fields) > 3 {
		scope, err := ParseScope(fields[3])
		if err != nil {
			// The scope's own message may quote the field: say only where.
			return staticToken{}, errors.New("the fourth field is not `*` or a comma-separated list of service names")
		}
		t.scope = scope
	}
	return t, nil
}
