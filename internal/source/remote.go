package source

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// maxCAFile bounds the CA bundle read from CAFile.
const maxCAFile = 1 << 20

// remoteOptions holds what every fetch from the remote needs.
type remoteOptions struct {
	auth     transport.AuthMethod
	caBundle []byte
	insecure bool
}

func (r remoteOptions) fetchOptions(spec config.RefSpec) *git.FetchOptions {
	return &git.FetchOptions{
		RemoteName:      remoteName,
		RefSpecs:        []config.RefSpec{spec},
		Depth:           1,
		Auth:            r.auth,
		Tags:            git.NoTags,
		Force:           true,
		CABundle:        r.caBundle,
		InsecureSkipTLS: r.insecure,
	}
}

// newRemoteOptions builds authentication and TLS settings for rawURL (which
// carries no credentials).
func newRemoteOptions(rawURL string, opts GitOptions, creds credentials, log *slog.Logger) (remoteOptions, error) {
	ep, err := transport.NewEndpoint(rawURL)
	if err != nil {
		return remoteOptions{}, fmt.Errorf("parse URL: %w", err)
	}
	switch ep.Protocol {
	case "http":
		log.Warn("git repository over plain http: contents and credentials travel unencrypted", "source", redactURL(rawURL))
		fallthrough
	case "https":
		return httpsOptions(opts, creds, log)
	case "ssh":
		auth, err := sshAuth(ep, opts, log)
		return remoteOptions{auth: auth}, err
	case "file":
		return remoteOptions{}, nil
	}
	return remoteOptions{}, fmt.Errorf("unsupported protocol %q", ep.Protocol)
}

func httpsOptions(opts GitOptions, creds credentials, log *slog.Logger) (remoteOptions, error) {
	r := remoteOptions{insecure: opts.InsecureSkipTLSVerify}
	if r.insecure {
		log.Warn("TLS certificate verification is off for the git repository", "source", redactURL(opts.URL))
	}
	switch {
	case creds.tokenAsUser:
		r.auth = &githttp.BasicAuth{Username: creds.token}
	case creds.token != "":
		// Git hosts ignore the user name with a token but need one.
		r.auth = &githttp.BasicAuth{Username: cmp.Or(creds.user, "git"), Password: creds.token}
	}
	if opts.CAFile != "" {
		ca, err := readBounded(opts.CAFile, maxCAFile)
		if err != nil {
			return r, fmt.Errorf("read CA file: %w", err)
		}
		r.caBundle = ca
	}
	return r, nil
}

// splitUserinfo removes the userinfo from an http(s) URL and returns it.
func splitUserinfo(raw string) (clean, user, pass string, err error) {
	lower := strings.ToLower(raw)
	if !strings.HasPrefix(lower, "https://") && !strings.HasPrefix(lower, "http://") {
		return raw, "", "", nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse errors quote the URL; do not pass it on.
		return "", "", "", errors.New("invalid URL")
	}
	if u.User == nil {
		return raw, "", "", nil
	}
	user = u.User.Username()
	pass, _ = u.User.Password()
	u.User = nil
	return u.String(), user, pass, nil
}

func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	buf := make([]byte, st.Size())
	_, err = io.ReadFull(f, buf)
	return buf, err
}
