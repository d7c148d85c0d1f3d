package vault

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/envop/envop/internal/manifest"
)

// Fields of the KV v2 entry.
const (
	FieldCertificate = "certificate"
	FieldPrivateKey  = "private_key"
)

// maxField bounds each field: a Secret holds 1 MiB at most.
const maxField = 256 << 10

// ErrNotFound is a path with no entry (or whose current version is deleted).
var ErrNotFound = errors.New("no entry at this path")

// pair is a validated certificate and key as read from Vault.
type pair struct {
	cert, key []byte
	version   int
	notAfter  time.Time
}

type cached struct {
	pair pair
	at   time.Time
}

// read returns the entry at path, from the cache when it is fresh enough.
// Errors are not cached, so an entry fixed in Vault is used at once.
func (s *Source) read(ctx context.Context, path string) (pair, error) {
	if p, ok := s.cached(path); ok {
		return p, nil
	}
	s.fetchMu.Lock()
	defer s.fetchMu.Unlock()
	if p, ok := s.cached(path); ok { // read by another caller meanwhile
		return p, nil
	}
	p, err := s.fetch(ctx, path)
	if err != nil {
		return pair{}, err
	}
	s.mu.Lock()
	s.cache[path] = cached{pair: p, at: s.now()}
	s.mu.Unlock()
	return p, nil
}

func (s *Source) cached(path string) (pair, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.cache[path]
	if !ok || s.opts.CacheTTL < 0 || s.now().Sub(c.at) >= s.opts.CacheTTL {
		return pair{}, false
	}
	return c.pair, true
}

// fetch reads path from Vault and validates it. Callers hold fetchMu.
func (s *Source) fetch(ctx context.Context, path string) (pair, error) {
	path = s.relative(path)
	if err := checkPath(path); err != nil {
		return pair{}, err
	}
	tok, err := s.token()
	if err != nil {
		return pair{}, err
	}
	s.client.SetToken(tok)
	start := s.now()
	sec, err := s.client.KVv2(s.opts.Mount).Get(ctx, path)
	if err != nil {
		return pair{}, s.describe(err)
	}
	p, err := parse(sec.Data)
	if errors.Is(err, ErrNotFound) {
		return pair{}, s.describe(err)
	}
	if err != nil {
		return pair{}, err
	}
	if sec.VersionMetadata != nil {
		p.version = sec.VersionMetadata.Version
	}
	s.log.Debug("vault entry read", "path", path, "version", p.version, "duration", s.now().Sub(start))
	return p, nil
}

// describe turns the client's errors into short ones. Vault's answers name
// neither the token nor the entry's content, but say why in their own words.
func (s *Source) describe(err error) error {
	var re *api.ResponseError
	switch {
	case errors.Is(err, api.ErrSecretNotFound), errors.Is(err, ErrNotFound):
		return fmt.Errorf("%w (KV v2 mount %q at %s)", ErrNotFound, s.opts.Mount, s.opts.Address)
	case errors.As(err, &re):
		why := strings.Join(re.Errors, "; ")
		if why == "" {
			why = http.StatusText(re.StatusCode)
		}
		return fmt.Errorf("vault answered %d: %s", re.StatusCode, why)
	}
	return &unreachableError{err: err}
}

// unreachableError is a read that got no answer from Vault: down, timed
// out, or its certificate refused. The other paths of the same call are
// not tried, so an outage costs one timeout per sync, not one per path.
type unreachableError struct{ err error }

func (e *unreachableError) Error() string { return "vault unreachable: " + e.err.Error() }
func (e *unreachableError) Unwrap() error { return e.err }

// parse checks the entry's fields: PEM, a certificate, and a key matching it.
func parse(data map[string]any) (pair, error) {
	if data == nil {
		return pair{}, ErrNotFound
	}
	cert, err := field(data, FieldCertificate)
	if err != nil {
		return pair{}, err
	}
	key, err := field(data, FieldPrivateKey)
	if err != nil {
		return pair{}, err
	}
	if b, _ := pem.Decode(cert); b == nil || b.Type != "CERTIFICATE" {
		return pair{}, fmt.Errorf("field %q is not a PEM certificate", FieldCertificate)
	}
	if b, _ := pem.Decode(key); b == nil || !strings.HasSuffix(b.Type, "PRIVATE KEY") {
		return pair{}, fmt.Errorf("field %q is not a PEM private key", FieldPrivateKey)
	}
	kp, err := tls.X509KeyPair(cert, key)
	if err != nil {
		// The tls package's messages name no key material.
		return pair{}, fmt.Errorf("certificate and private key do not form a pair: %w", err)
	}
	leaf, err := x509.ParseCertificate(kp.Certificate[0])
	if err != nil {
		return pair{}, fmt.Errorf("field %q: %w", FieldCertificate, err)
	}
	return pair{cert: cert, key: key, notAfter: leaf.NotAfter}, nil
}

func field(data map[string]any, name string) ([]byte, error) {
	v, ok := data[name]
	if !ok {
		return nil, fmt.Errorf("the entry has no field %q", name)
	}
	str, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("field %q is a %T, not a string", name, v)
	}
	if strings.TrimSpace(str) == "" {
		return nil, fmt.Errorf("field %q is empty", name)
	}
	if len(str) > maxField {
		return nil, fmt.Errorf("field %q is larger than %d bytes", name, maxField)
	}
	return []byte(str), nil
}

// relative is path relative to the mount (see manifest.RelativeVaultPath:
// the installer's prefix is checked on the same form).
func (s *Source) relative(path string) string {
	return manifest.RelativeVaultPath(path, s.opts.Mount)
}

// checkPath refuses paths that could leave the mount or the KV API:
// empty, dot segments, empty segments, and characters that would change
// the URL's meaning.
func checkPath(path string) error {
	if path == "" {
		return errors.New("empty path")
	}
	if strings.ContainsFunc(path, func(r rune) bool { return r <= ' ' || r == 0x7f || strings.ContainsRune(`?#%\`, r) }) {
		return errors.New("path contains a space, a control character or one of ?#%\\")
	}
	for seg := range strings.SplitSeq(path, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return errors.New("path has an empty, . or .. segment")
		}
	}
	return nil
}
