package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func sign(secret, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	return hex.EncodeToString(mac.Sum(nil))
}

func TestWebhook(t *testing.T) {
	const payload = `{"ref": "refs/heads/main", "after": "c0ffee"}`
	good := sign(hookSecret, payload)
	for _, tc := range []struct {
		name    string
		secret  string // configured
		headers map[string]string
		code    int
		sender  string
	}{
		{"github", hookSecret, map[string]string{"X-Hub-Signature-256": "sha256=" + good}, 202, "webhook:github"},
		{"gitea", hookSecret, map[string]string{"X-Gitea-Signature": good}, 202, "webhook:gitea"},
		{"gogs", hookSecret, map[string]string{"X-Gogs-Signature": good}, 202, "webhook:gitea"},
		{"gitlab", hookSecret, map[string]string{"X-Gitlab-Token": hookSecret}, 202, "webhook:gitlab"},
		{"github wrong signature", hookSecret, map[string]string{"X-Hub-Signature-256": "sha256=" + sign("other", payload)}, 401, ""},
		{"github without prefix", hookSecret, map[string]string{"X-Hub-Signature-256": good}, 401, ""},
		{"github sha1", hookSecret, map[string]string{"X-Hub-Signature-256": "sha1=" + good}, 401, ""},
		{"github not hex", hookSecret, map[string]string{"X-Hub-Signature-256": "sha256=zz"}, 401, ""},
		{"github signature of another body", hookSecret, map[string]string{"X-Hub-Signature-256": "sha256=" + sign(hookSecret, payload+" ")}, 401, ""},
		{"gitea wrong signature", hookSecret, map[string]string{"X-Gitea-Signature": sign("other", payload)}, 401, ""},
		{"gitlab wrong token", hookSecret, map[string]string{"X-Gitlab-Token": hookSecret + "x"}, 401, ""},
		{"gitlab prefix of the token", hookSecret, map[string]string{"X-Gitlab-Token": hookSecret[:8]}, 401, ""},
		{"unsigned", hookSecret, nil, 401, ""},
		{"bearer token is not a signature", hookSecret, map[string]string{"Authorization": "Bearer " + adminToken}, 401, ""},
		{"no secret configured", "", map[string]string{"X-Hub-Signature-256": "sha256=" + sign("", payload)}, 401, ""},
		{"no secret configured, empty gitlab token", "", map[string]string{"X-Gitlab-Token": ""}, 401, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, withWebhookSecret(tc.secret))
			r := req("POST", "/webhook", "", payload)
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			rec := e.serve(r)
			if tc.code != http.StatusAccepted {
				wantError(t, rec, tc.code)
				if len(e.be.webhooks) != 0 {
					t.Fatalf("a refused webhook triggered a sync: %v", e.be.webhooks)
				}
				return
			}
			if body := decodeBody(t, rec, tc.code); body["status"] == "" {
				t.Errorf("body %v", body)
			}
			if !slices.Equal(e.be.webhooks, []string{tc.sender}) {
				t.Fatalf("Backend.Webhook calls %v, want one from %s", e.be.webhooks, tc.sender)
			}
		})
	}
}

func TestWebhookTooLarge(t *testing.T) {
	e := newEnv(t, withWebhookSecret(hookSecret))
	payload := `{"pad": "` + strings.Repeat("a", 1<<20) + `"}`
	r := req("POST", "/webhook", "", payload)
	r.Header.Set("X-Hub-Signature-256", "sha256="+sign(hookSecret, payload))
	wantError(t, e.serve(r), http.StatusRequestEntityTooLarge)
	if len(e.be.webhooks) != 0 {
		t.Fatal("an oversized webhook triggered a sync")
	}
}
