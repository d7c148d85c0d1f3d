package source

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/go-git/go-git/v5/plumbing/transport"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// sshAuth builds public-key authentication with host key checking for ep.
func sshAuth(ep *transport.Endpoint, opts GitOptions, log *slog.Logger) (transport.AuthMethod, error) {
	if len(opts.PrivateKey) == 0 {
		return nil, fmt.Errorf("an ssh repository needs a private key: set %s", opts.Settings.orDefault().Key)
	}
	user := ep.User
	if user == "" {
		user = "git"
	}
	signer, err := parsePrivateKey(opts.PrivateKey, opts.PrivateKeyPassphrase, opts.Settings.orDefault().Key)
	if err != nil {
		return nil, err
	}
	auth := &gitssh.PublicKeys{User: user, Signer: signer}
	switch {
	case len(opts.KnownHosts) > 0:
		auth.HostKeyCallback, auth.HostKeyAlgorithms, err = knownHostsCallback(opts.KnownHosts, ep)
		return auth, err
	case opts.InsecureIgnoreHostKey:
		log.Warn("ssh host key checking is off for the git repository", "source", redactURL(opts.URL))
		auth.HostKeyCallback = ssh.InsecureIgnoreHostKey()
		return auth, nil
	}
	return nil, fmt.Errorf("%w: set GIT_KNOWN_HOSTS to the server's known_hosts lines (ssh-keyscan HOST), or turn host key checking off explicitly", ErrNoKnownHosts)
}

// parsePrivateKey parses a PEM key, decrypting it with passphrase when it
// is encrypted. Errors explain the problem without the key's content; name
// is the setting the key comes from.
func parsePrivateKey(pemBytes []byte, passphrase, name string) (ssh.Signer, error) {
	signer, err := ssh.ParsePrivateKey(pemBytes)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		if passphrase == "" {
			return nil, fmt.Errorf("%s is encrypted: give its passphrase", name)
		}
		signer, err = ssh.ParsePrivateKeyWithPassphrase(pemBytes, []byte(passphrase))
	}
	switch {
	case errors.Is(err, x509.IncorrectPasswordError):
		return nil, fmt.Errorf("%s: wrong passphrase", name)
	case err != nil:
		// x/crypto's parse errors name the problem, never the key bytes.
		return nil, fmt.Errorf("%s is not a valid private key: %w", name, err)
	}
	return signer, nil
}

// knownHostsCallback checks host keys against known_hosts content and lists
// the key algorithms known for the host, so the server offers a key that can
// be checked rather than another one it also has.
func knownHostsCallback(content []byte, ep *transport.Endpoint) (ssh.HostKeyCallback, []string, error) {
	// knownhosts reads files only: write the content to a private temporary
	// file and remove it once parsed.
	f, err := os.CreateTemp("", "envop-known-hosts-")
	if err != nil {
		return nil, nil, fmt.Errorf("write known hosts: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(content)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, nil, fmt.Errorf("write known hosts: %w", err)
	}
	db, err := gitssh.NewKnownHostsDb(f.Name())
	if err != nil {
		return nil, nil, fmt.Errorf("parse GIT_KNOWN_HOSTS: %w", err)
	}
	hostPort := net.JoinHostPort(ep.Host, fmt.Sprint(portOr(ep.Port, 22)))
	return checkHostKey(db.HostKeyCallback()), db.HostKeyAlgorithms(hostPort), nil
}

// checkHostKey turns knownhosts' errors into ones that say what to do.
func checkHostKey(cb ssh.HostKeyCallback) ssh.HostKeyCallback {
	return func(host string, remote net.Addr, key ssh.PublicKey) error {
		err := cb(host, remote, key)
		var keyErr *knownhosts.KeyError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &keyErr) && len(keyErr.Want) > 0:
			return fmt.Errorf("%w: the %s key of %s does not match GIT_KNOWN_HOSTS", ErrHostKey, key.Type(), host)
		case errors.As(err, &keyErr):
			return fmt.Errorf("%w: %s is not in GIT_KNOWN_HOSTS", ErrHostKey, host)
		}
		return fmt.Errorf("%w: %v", ErrHostKey, err)
	}
}

func portOr(p, def int) int {
	if p == 0 {
		return def
	}
	return p
}
