package source

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/envop/envop/internal/testgit"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// sshServer serves git-upload-pack for the repositories under root to
// clients holding an authorized key.
type sshServer struct {
	addr    string
	hostKey ssh.Signer
	root    string
	env     []string // git's, for upload-pack
	wg      sync.WaitGroup
}

func newSSHServer(t *testing.T, root string, authorized ssh.PublicKey) *sshServer {
	t.Helper()
	testgit.Require(t)
	s := &sshServer{root: root, hostKey: newSigner(t), env: testgit.Env(t)}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if string(key.Marshal()) == string(authorized.Marshal()) {
				return nil, nil
			}
			return nil, errors.New("unknown key")
		},
	}
	cfg.AddHostKey(s.hostKey)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	s.wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Go(func() { s.serveConn(t, conn, cfg) })
		}
	})
	return s
}

func (s *sshServer) serveConn(t *testing.T, conn net.Conn, cfg *ssh.ServerConfig) {
	defer conn.Close()
	sc, chans, reqs, err := ssh.NewServerConn(conn, cfg)
	if err != nil {
		return // refused handshakes are part of the tests
	}
	defer sc.Close()
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "session only")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			return
		}
		s.serveSession(t, ch, chReqs)
	}
}

// serveSession runs the first exec request as git upload-pack.
func (s *sshServer) serveSession(t *testing.T, ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	for req := range reqs {
		if req.Type != "exec" || len(req.Payload) < 4 {
			_ = req.Reply(false, nil)
			continue
		}
		command := string(req.Payload[4:])
		repo, ok := strings.CutPrefix(command, "git-upload-pack ")
		if !ok {
			_ = req.Reply(false, nil)
			return
		}
		_ = req.Reply(true, nil)
		code := s.uploadPack(t, ch, strings.Trim(repo, "'"))
		status := make([]byte, 4)
		binary.BigEndian.PutUint32(status, code)
		_, _ = ch.SendRequest("exit-status", false, status)
		return
	}
}

func (s *sshServer) uploadPack(t *testing.T, ch ssh.Channel, repo string) uint32 {
	cmd := exec.Command("git", "upload-pack", filepath.Join(s.root, filepath.Clean("/"+repo)))
	cmd.Env = s.env
	cmd.Stdout, cmd.Stderr = ch, ch.Stderr()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 1
	}
	if err := cmd.Start(); err != nil {
		return 1
	}
	go func() { _, _ = io.Copy(stdin, ch); stdin.Close() }()
	if err := cmd.Wait(); err != nil {
		return 1
	}
	return 0
}

func (s *sshServer) url() string { return "ssh://git@" + s.addr + "/repo.git" }

func (s *sshServer) knownHosts(key ssh.PublicKey) []byte {
	return []byte(knownhosts.Line([]string{knownhosts.Normalize(s.addr)}, key) + "\n")
}

func newSigner(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return signer
}

// newClientKey returns a PEM private key (encrypted when passphrase is set)
// and its public key.
func newClientKey(t *testing.T, passphrase string) ([]byte, ssh.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "test")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "test", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block), sshPub
}

func TestGitSSH(t *testing.T) {
	up := testgit.NewRepo(t)
	first := up.Commit("first", map[string]string{"environments.bitesize": "v1"})
	const passphrase = "correct horse"
	key, pub := newClientKey(t, passphrase)
	srv := newSSHServer(t, filepath.Dir(up.Bare), pub)
	base := GitOptions{URL: srv.url(), Branch: "main", PrivateKey: key, PrivateKeyPassphrase: passphrase}

	t.Run("known host", func(t *testing.T) {
		opts := base
		opts.KnownHosts = srv.knownHosts(srv.hostKey.PublicKey())
		g := newTestGit(t, opts)
		snap, err := g.Fetch(t.Context())
		if err != nil {
			t.Fatalf("Fetch: %v", err)
		}
		if snap.Revision != first || readSnap(t, snap, "environments.bitesize") != "v1" {
			t.Fatalf("revision %s, want %s", snap.Revision, first)
		}
	})
	t.Run("wrong host key", func(t *testing.T) {
		opts := base
		opts.KnownHosts = srv.knownHosts(newSigner(t).PublicKey())
		_, err := newTestGit(t, opts).Fetch(t.Context())
		t.Logf("error: %v", err)
		if !errors.Is(err, ErrHostKey) || !strings.Contains(err.Error(), "does not match GIT_KNOWN_HOSTS") {
			t.Fatalf("err = %v, want a host key mismatch", err)
		}
	})
	t.Run("unknown host", func(t *testing.T) {
		opts := base
		opts.KnownHosts = []byte(knownhosts.Line([]string{"git.example.com"}, srv.hostKey.PublicKey()) + "\n")
		_, err := newTestGit(t, opts).Fetch(t.Context())
		t.Logf("error: %v", err)
		if !errors.Is(err, ErrHostKey) || !strings.Contains(err.Error(), "not in GIT_KNOWN_HOSTS") {
			t.Fatalf("err = %v, want an unknown host", err)
		}
	})
	t.Run("no known hosts", func(t *testing.T) {
		_, err := NewGit(base)
		t.Logf("error: %v", err)
		if !errors.Is(err, ErrNoKnownHosts) || !strings.Contains(err.Error(), "GIT_KNOWN_HOSTS") {
			t.Fatalf("err = %v, want advice to set GIT_KNOWN_HOSTS", err)
		}
	})
	t.Run("insecure ignore host key", func(t *testing.T) {
		opts := base
		opts.InsecureIgnoreHostKey = true
		snap, err := newTestGit(t, opts).Fetch(t.Context())
		if err != nil || snap.Revision != first {
			t.Fatalf("Fetch: %v", err)
		}
	})
	t.Run("unauthorized key", func(t *testing.T) {
		opts := base
		opts.PrivateKey, _ = newClientKey(t, "")
		opts.PrivateKeyPassphrase = ""
		opts.KnownHosts = srv.knownHosts(srv.hostKey.PublicKey())
		_, err := newTestGit(t, opts).Fetch(t.Context())
		t.Logf("error: %v", err)
		if !errors.Is(err, ErrAuthentication) {
			t.Fatalf("err = %v, want ErrAuthentication", err)
		}
	})
}

func TestGitSSHKeyErrors(t *testing.T) {
	key, _ := newClientKey(t, "s3cret-passphrase")
	base := GitOptions{URL: "git@git.example.com:org/repo.git", PrivateKey: key, InsecureIgnoreHostKey: true, Dir: t.TempDir()}
	for name, tc := range map[string]struct {
		mutate func(*GitOptions)
		want   string
	}{
		"missing passphrase": {func(o *GitOptions) {}, "encrypted"},
		"wrong passphrase":   {func(o *GitOptions) { o.PrivateKeyPassphrase = "nope-passphrase" }, "wrong passphrase"},
		"not a key":          {func(o *GitOptions) { o.PrivateKey = []byte("not a key") }, "not a valid private key"},
		"no key":             {func(o *GitOptions) { o.PrivateKey = nil }, "GIT_PRIVATE_KEY"},
	} {
		t.Run(name, func(t *testing.T) {
			opts := base
			tc.mutate(&opts)
			_, err := NewGit(opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "passphrase") && opts.PrivateKeyPassphrase != "" && strings.Contains(err.Error(), opts.PrivateKeyPassphrase) {
				t.Errorf("error holds the passphrase: %v", err)
			}
		})
	}
}
