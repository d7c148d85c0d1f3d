package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/envop/envop/internal/audit"
)

// webhook triggers a sync when the call is signed with the shared secret:
// GitHub (X-Hub-Signature-256: sha256=HMAC), Gitea/Gogs (X-Gitea-Signature
// or X-Gogs-Signature: HMAC) or GitLab (X-Gitlab-Token: the secret itself).
// A delivery seen before is answered 200 and ignored; beyond the rate
// limit, 429 (see WebhookLimits).
func (s *server) webhook(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return errorf(http.StatusRequestEntityTooLarge, "webhook body larger than 1 MiB")
		}
		return errorf(http.StatusBadRequest, "read webhook body: %v", err)
	}
	sender, ok := verifyWebhook(s.WebhookSecret, r.Header, body)
	if !ok {
		return errorf(http.StatusUnauthorized, "webhook signature missing or invalid")
	}
	duplicate, wait := s.hooks.admit(deliveryKeys(r.Header, body))
	if duplicate {
		writeJSON(w, http.StatusOK, map[string]string{"status": "duplicate", "message": "this delivery was received before: ignored"})
		return nil
	}
	if wait > 0 {
		return &httpError{code: http.StatusTooManyRequests, retryAfter: wait,
			msg: "too many webhook deliveries: this one is ignored; the operator still polls the repository"}
	}
	s.Log.Info("webhook accepted", "sender", sender, "delivery", deliveryID(r.Header))
	s.Backend.Webhook(r.Context(), sender)
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "sync triggered"})
	return nil
}

// deliveryID is the id the git host gave a delivery, cut to a length fit
// for a log line.
func deliveryID(h http.Header) string {
	for _, name := range deliveryHeaders {
		if id := h.Get(name); id != "" {
			return audit.Truncate(id, 100)
		}
	}
	return ""
}

// verifyWebhook checks the signature in constant time and names the sender.
func verifyWebhook(secret []byte, h http.Header, body []byte) (string, bool) {
	if len(secret) == 0 {
		return "", false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	want := mac.Sum(nil)
	if sig := h.Get("X-Hub-Signature-256"); sig != "" {
		hexSig, ok := strings.CutPrefix(sig, "sha256=")
		return "webhook:github", ok && equalHex(hexSig, want)
	}
	for _, name := range []string{"X-Gitea-Signature", "X-Gogs-Signature"} {
		if sig := h.Get(name); sig != "" {
			return "webhook:gitea", equalHex(sig, want)
		}
	}
	if tok := h.Get("X-Gitlab-Token"); tok != "" {
		// Digests compare in the same time whatever the token's length.
		got, exp := sha256.Sum256([]byte(tok)), sha256.Sum256(secret)
		return "webhook:gitlab", subtle.ConstantTimeCompare(got[:], exp[:]) == 1
	}
	return "", false
}

func equalHex(sig string, want []byte) bool {
	got, err := hex.DecodeString(strings.TrimSpace(sig))
	return err == nil && hmac.Equal(got, want)
}
