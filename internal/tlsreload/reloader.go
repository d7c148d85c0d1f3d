package tlsreload

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"
)

// DefaultInterval is how long a look at the files is trusted. The kubelet
// takes up to a minute or so to update a Secret volume; a few seconds more
// cost nothing, and handshakes in between cost no system call.
const DefaultInterval = 5 * time.Second

// maxFileSize bounds what is read: a certificate chain or a key is a few
// kilobytes.
const maxFileSize = 1 << 20

// Options say which files to serve and how to report reloads.
type Options struct {
	CertFile, KeyFile string
	// Interval is the least time between two looks at the files;
	// DefaultInterval when zero.
	Interval time.Duration
	Log      *slog.Logger
	// Reloaded, when set, is called after each attempt to load changed
	// files, with nil when the new pair is served.
	Reloaded func(error)
}

// Reloader holds the key pair served; its GetCertificate goes in a
// tls.Config.
type Reloader struct {
	opts Options

	mu   sync.Mutex
	cert *tls.Certificate
	// seen are the files last loaded, or last found bad: a change is
	// tried once, so a bad pair is reported once, not at every handshake.
	seen    [2]os.FileInfo
	next    time.Time
	missing bool
}

// New loads the key pair: a server must not start with files it cannot
// serve.
func New(opts Options) (*Reloader, error) {
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	r := &Reloader{opts: opts}
	seen, err := r.stat()
	if err != nil {
		return nil, err
	}
	if r.cert, err = r.load(); err != nil {
		return nil, err
	}
	r.seen, r.next = seen, time.Now().Add(opts.Interval)
	return r, nil
}

// GetCertificate returns the pair to serve, first looking at the files if
// the last look is older than the interval.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := time.Now(); !now.Before(r.next) {
		r.next = now.Add(r.opts.Interval)
		r.check()
	}
	return r.cert, nil
}

// check loads the files if they changed since last seen. The files are
// looked at before they are read: a change landing between the two is
// then seen again at the next look, never missed.
func (r *Reloader) check() {
	log := r.opts.Log.With("cert_file", r.opts.CertFile, "key_file", r.opts.KeyFile)
	seen, err := r.stat()
	if err != nil {
		// Files missing for a moment (a swap) are no change: the same
		// files coming back are not loaded again.
		if !r.missing {
			log.Error("serving certificate files unreadable, keeping the last one", "error", err)
			r.missing = true
		}
		return
	}
	r.missing = false
	if same(seen[0], r.seen[0]) && same(seen[1], r.seen[1]) {
		return
	}
	r.seen = seen
	cert, err := r.load()
	if err == nil {
		r.cert = cert
		log.Info("serving certificate reloaded", "not_after", cert.Leaf.NotAfter)
	} else {
		log.Error("serving certificate not reloaded, keeping the last one", "error", err)
	}
	if r.opts.Reloaded != nil {
		r.opts.Reloaded(err)
	}
}

// stat looks at both files through any symbolic links: the kubelet
// updates a Secret volume by pointing its ..data link at a new directory,
// so the names stay and the files behind them change.
func (r *Reloader) stat() ([2]os.FileInfo, error) {
	var out [2]os.FileInfo
	for i, name := range []string{r.opts.CertFile, r.opts.KeyFile} {
		fi, err := os.Stat(name)
		if err != nil {
			return out, err
		}
		out[i] = fi
	}
	return out, nil
}

// same says whether two looks found the same file unchanged. A rewrite
// in place that keeps the size within one tick of the file system's clock
// goes unnoticed until the next change; cert-manager and the kubelet write
// new files instead.
func same(a, b os.FileInfo) bool {
	return a != nil && b != nil && os.SameFile(a, b) && a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size()
}

func (r *Reloader) load() (*tls.Certificate, error) {
	certPEM, err := readFile(r.opts.CertFile)
	if err != nil {
		return nil, err
	}
	keyPEM, err := readFile(r.opts.KeyFile)
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("load key pair %s, %s: %w", r.opts.CertFile, r.opts.KeyFile, err)
	}
	return &cert, nil
}

func readFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("read %s: %w", name, errTooLarge)
	}
	return data, nil
}

var errTooLarge = errors.New("larger than 1 MiB")
