package gitaddr

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// Form is the form of a repository address.
type Form int

// The forms an address may take.
const (
	// URL is an https://, http://, ssh:// or file:// address.
	URL Form = iota + 1
	// SCP is an ssh address in the scp form, [user@]host:path.
	SCP
	// Path is a path on the machine that reads it: a git repository or a
	// plain folder.
	Path
)

// ErrEmpty is the error of an empty address.
var ErrEmpty = errors.New("no repository given")

// schemes are the URL schemes git is fetched over, with their default
// ports (file has none).
var schemes = map[string]string{"https": "443", "http": "80", "ssh": "22", "file": ""}

// scpLike matches ssh addresses in the scp form, user@host:path.
var scpLike = regexp.MustCompile(`^(?:[A-Za-z0-9._~-]+@)?[A-Za-z0-9.-]+:`)

// Parse returns the form of raw, or why it is none. A string that reads as
// an scp-like address may also be a relative path holding a colon
// ("config:v1/repo"); isPath, when given, says whether it is one (a path
// that exists). Without isPath such a string is an ssh address.
func Parse(raw string, isPath func(string) bool) (Form, error) {
	if raw == "" {
		return 0, ErrEmpty
	}
	if scheme, _, ok := strings.Cut(raw, "://"); ok {
		if _, known := schemes[strings.ToLower(scheme)]; !known {
			return 0, fmt.Errorf("unsupported scheme %q: want https, http, ssh or file, an ssh address user@host:path, or a local path", scheme)
		}
		u, err := url.Parse(raw)
		if err != nil {
			// url.Parse errors quote the URL, which may hold a password.
			return 0, errors.New("not a valid URL")
		}
		if u.Host == "" && strings.ToLower(scheme) != "file" {
			return 0, fmt.Errorf("no host in the %s URL", strings.ToLower(scheme))
		}
		return URL, nil
	}
	if scpLike.MatchString(raw) && (isPath == nil || !isPath(raw)) {
		return SCP, nil
	}
	return Path, nil
}

// Local reports whether raw names a repository on the machine that reads
// it: a path or a file:// URL.
func Local(raw string) bool {
	form, err := Parse(raw, nil)
	return err == nil && (form == Path || form == URL && strings.EqualFold(scheme(raw), "file"))
}

func scheme(raw string) string {
	s, _, _ := strings.Cut(raw, "://")
	return s
}

// Server names the server of a remote address for comparison, as
// scheme://host:port in lowercase with the scheme's default port filled in
// (an scp-like address is ssh on port 22); "" for a local or invalid
// address. The user name is no part of it.
func Server(raw string) string {
	form, err := Parse(raw, nil)
	switch {
	case err != nil || form == Path:
		return ""
	case form == SCP:
		host := scpLike.FindString(raw)
		if _, h, ok := strings.Cut(host, "@"); ok {
			host = h
		}
		return "ssh://" + strings.ToLower(strings.TrimSuffix(host, ":")) + ":22"
	}
	u, err := url.Parse(raw)
	if err != nil || strings.EqualFold(u.Scheme, "file") {
		return ""
	}
	s := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		port = schemes[s]
	}
	return s + "://" + strings.ToLower(u.Hostname()) + ":" + port
}

// SameServer reports whether a and b are remote addresses of one server,
// reached the same way (scheme and port).
func SameServer(a, b string) bool {
	sa := Server(a)
	return sa != "" && sa == Server(b)
}

// HasCredentials reports whether raw, a URL, carries credentials: a
// password, or for http(s) a user name alone, which git hosts take as a
// token. An ssh user name (git@) is no credential.
func HasCredentials(raw string) bool {
	if _, _, ok := strings.Cut(raw, "://"); !ok {
		return false
	}
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return false
	}
	if _, ok := u.User.Password(); ok {
		return true
	}
	s := strings.ToLower(u.Scheme)
	return (s == "https" || s == "http") && u.User.Username() != ""
}

// CheckBranch reports why name cannot be a branch, by git's rules for
// reference names (git check-ref-format), or nil.
func CheckBranch(name string) error {
	switch {
	case name == "":
		return errors.New("empty branch name")
	case name == "@":
		return errors.New(`"@" is no branch name`)
	case strings.HasPrefix(name, "-"):
		return errors.New("a branch name cannot start with '-'")
	case strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") || strings.Contains(name, "//"):
		return errors.New("a branch name cannot start or end with '/' nor hold '//'")
	case strings.HasSuffix(name, ".") || strings.HasSuffix(name, ".lock"):
		return errors.New("a branch name cannot end with '.' or '.lock'")
	case strings.Contains(name, "..") || strings.Contains(name, "@{"):
		return errors.New("a branch name cannot hold '..' or '@{'")
	}
	for _, part := range strings.Split(name, "/") {
		if strings.HasPrefix(part, ".") {
			return errors.New("no part of a branch name can start with '.'")
		}
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(" ~^:?*[\\", r) {
			return fmt.Errorf("a branch name cannot hold %q", r)
		}
	}
	return nil
}
