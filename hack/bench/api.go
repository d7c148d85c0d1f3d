package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"time"
)

// maxResponse bounds what the bench reads of one answer.
const maxResponse = 64 << 20

// api is a client of one operator's HTTP API.
type api struct {
	url    string
	token  string
	secret []byte
	http   *http.Client
}

// Views of the API's answers: only what the bench reads.
type (
	statusView struct {
		Revision string
		Status   string
		Sync     struct{ Status, Error string }
		Services []serviceView
	}
	serviceView struct{ Name, Version, Status, Reason string }
	deployView  struct{ ID, Service, Version, Status, Reason, Message string }
)

func (a api) do(ctx context.Context, method, path string, body []byte, header http.Header, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, a.url+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := a.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	answer := io.LimitReader(resp.Body, maxResponse)
	if out == nil || resp.StatusCode/100 != 2 {
		_, err = io.Copy(io.Discard, answer)
		return resp.StatusCode, err
	}
	if err := json.NewDecoder(answer).Decode(out); err != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return resp.StatusCode, nil
}

// sum reads the answer to GET path and returns its status code and a
// checksum of its body, into buf (reused by the caller).
func (a api) sum(ctx context.Context, path string, buf *bytes.Buffer) (int, uint32, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.url+path, nil)
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := a.http.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	buf.Reset()
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, maxResponse)); err != nil {
		return resp.StatusCode, 0, err
	}
	return resp.StatusCode, crc32.ChecksumIEEE(buf.Bytes()), nil
}

func (a api) get(ctx context.Context, path string, out any) (int, error) {
	return a.do(ctx, http.MethodGet, path, nil, nil, out)
}

func (a api) status(ctx context.Context) (*statusView, error) {
	var s statusView
	code, err := a.get(ctx, "/status", &s)
	if err == nil && code != http.StatusOK {
		err = fmt.Errorf("GET /status: %d", code)
	}
	return &s, err
}

// deploy starts a deploy; the answer is 202 with the deploy's id.
func (a api) deploy(ctx context.Context, service, version string) (deployView, error) {
	body, _ := json.Marshal(map[string]string{"name": service, "version": version})
	h := http.Header{"Content-Type": {"application/json"}}
	var d deployView
	code, err := a.do(ctx, http.MethodPost, "/deploy", body, h, &d)
	if err == nil && (code != http.StatusAccepted || d.ID == "") {
		err = fmt.Errorf("POST /deploy %s %s: %d", service, version, code)
	}
	return d, err
}

// waitDeploy asks for a deploy, waiting on the server up to wait for it to end.
func (a api) waitDeploy(ctx context.Context, id string, wait time.Duration) (deployView, error) {
	var d deployView
	code, err := a.get(ctx, "/deploys/"+id+"?wait="+wait.String(), &d)
	if err == nil && code != http.StatusOK {
		err = fmt.Errorf("GET /deploys/%s: %d", id, code)
	}
	return d, err
}

// webhook sends a push event signed the way GitHub signs it; each is new
// (the operator ignores a delivery it received before).
func (a api) webhook(ctx context.Context) error {
	body := fmt.Appendf(nil, `{"ref":"refs/heads/master","sent":%d}`, time.Now().UnixNano())
	mac := hmac.New(sha256.New, a.secret)
	mac.Write(body)
	h := http.Header{
		"Content-Type":        {"application/json"},
		"X-Hub-Signature-256": {"sha256=" + hex.EncodeToString(mac.Sum(nil))},
	}
	code, err := a.do(ctx, http.MethodPost, "/webhook", body, h, nil)
	if err == nil && code != http.StatusAccepted {
		err = fmt.Errorf("POST /webhook: %d", code)
	}
	return err
}

// metrics reads the operator's own Prometheus metrics.
func (a api) metrics(ctx context.Context) (samples, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.url+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("read operator metrics: %w", err)
	}
	return parseSamples(data, "envop_")
}
