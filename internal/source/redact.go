package source

import (
	"cmp"
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
)

// redactURL returns raw without userinfo, query or fragment, so it can be
// logged. Strings that do not parse as URLs (scp-like ssh addresses, paths)
// are returned as they are: they cannot carry a password.
func redactURL(raw string) string {
	if !strings.Contains(raw, "://") {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		// An unparsable URL may still hold a secret: keep only the scheme.
		scheme, _, _ := strings.Cut(raw, "://")
		return scheme + "://<redacted>"
	}
	u.User = nil
	u.RawQuery = ""
	u.Fragment = ""
	return u.String()
}

// scrubber removes known secrets from error text.
type scrubber struct {
	secrets []secret
}

type secret struct{ value, replacement string }

// add registers a secret: every occurrence of it (and of its URL-escaped
// forms) is replaced by replacement.
func (s *scrubber) add(value, replacement string) {
	if value == "" {
		return
	}
	for _, v := range []string{value, url.QueryEscape(value), url.PathEscape(value)} {
		s.secrets = append(s.secrets, secret{v, replacement})
	}
	// Longer secrets first, so a secret that contains another is removed
	// whole.
	slices.SortStableFunc(s.secrets, func(a, b secret) int {
		return cmp.Compare(len(b.value), len(a.value))
	})
}

func (s *scrubber) scrub(msg string) string {
	pairs := make([]string, 0, 2*len(s.secrets))
	for _, sec := range s.secrets {
		pairs = append(pairs, sec.value, sec.replacement)
	}
	return strings.NewReplacer(pairs...).Replace(msg)
}

// err returns err with its text scrubbed. The returned error unwraps only to
// the sentinel errors callers may test for (context errors and this
// package's), never to the original error, whose text may hold a secret.
func (s *scrubber) err(err error) error {
	if err == nil {
		return nil
	}
	return &scrubbedError{msg: s.scrub(err.Error()), kinds: kindsOf(err)}
}

type scrubbedError struct {
	msg   string
	kinds []error
}

func (e *scrubbedError) Error() string   { return e.msg }
func (e *scrubbedError) Unwrap() []error { return e.kinds }

// sentinels are the errors a scrubbed error still matches with errors.Is.
var sentinels = []error{
	context.Canceled, context.DeadlineExceeded,
	ErrBranchNotFound, ErrAuthentication, ErrRepositoryNotFound,
	ErrNoKnownHosts, ErrHostKey, ErrTreeTooLarge,
}

func kindsOf(err error) []error {
	var out []error
	for _, s := range sentinels {
		if errors.Is(err, s) {
			out = append(out, s)
		}
	}
	return out
}
