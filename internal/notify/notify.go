// Package notify owns the alert channels: a signed JSON webhook and email
// over SMTP. Each delivers one alert.Notification or says why not, without
// ever putting a secret (password, signing key, a URL's token) in its error.
package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/sysmon-dev/sysmon/internal/alert"
)

// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the body
// under ALERT_WEBHOOK_SECRET.
const SignatureHeader = "X-Sysmon-Signature"

// Webhook POSTs each notification as JSON.
type Webhook struct {
	URL     string
	Secret  []byte // signs the body when set
	Version string
	Client  *http.Client
}

// Payload is the webhook's body.
type Payload struct {
	Source string `json:"source"` // "sysmon-consumer"
	// Version of the payload: fields are only ever added.
	Version int `json:"version"`
	alert.Notification
	Title string `json:"title"`
	Text  string `json:"text"`
}

// Name is "webhook".
func (w *Webhook) Name() string { return "webhook" }

// Send POSTs n; any answer but 2xx is a failure, retried later.
func (w *Webhook) Send(ctx context.Context, n *alert.Notification) error {
	body, err := json.Marshal(Payload{Source: "sysmon-consumer", Version: 1, Notification: *n, Title: n.Title(), Text: n.Text()})
	if err != nil {
		return fmt.Errorf("encode notification: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return errors.New("invalid webhook URL") // its text may hold a token
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "sysmon-consumer/"+w.Version)
	req.Header.Set("X-Sysmon-Notification", n.ID)
	if len(w.Secret) > 0 {
		m := hmac.New(sha256.New, w.Secret)
		m.Write(body)
		req.Header.Set(SignatureHeader, "sha256="+hex.EncodeToString(m.Sum(nil)))
	}
	c := w.Client
	if c == nil {
		// No redirects: Go follows a 301 or 302 with a GET without the
		// body, whose 200 would count as delivered. A 3xx is a failure
		// that says where the URL should point.
		c = &http.Client{Timeout: 20 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may carry a token (Slack, Telegram)
		}
		return fmt.Errorf("POST to the webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		if loc := resp.Header.Get("Location"); loc != "" && resp.StatusCode/100 == 3 {
			return fmt.Errorf("the webhook answered %s: set ALERT_WEBHOOK_URL to where it redirects", resp.Status)
		}
		return fmt.Errorf("the webhook answered %s", resp.Status)
	}
	return nil
}

// Verify tells whether sig (the SignatureHeader's value) signs body under
// secret: what a receiver does, and what the tests check.
func Verify(secret, body []byte, sig string) bool {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hmac.Equal([]byte(sig), []byte("sha256="+hex.EncodeToString(m.Sum(nil))))
}
