package consumer

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/sysmon-dev/sysmon/internal/config"
)

// Alerts is the alerting section: when rules fire and where notifications go.
type Alerts struct {
	For, Repeat time.Duration
	// Check is how often the rules are evaluated.
	Check time.Duration
	// WebhookURL receives a JSON POST per notification, signed with
	// WebhookSecret when set.
	WebhookURL    string
	WebhookSecret string
	SMTP          SMTP // Host "" sends no mail
}

// SMTP is the mail server and the addresses of alert mail.
type SMTP struct {
	Host     string
	Port     int
	TLS      string // starttls | tls | none
	User     string
	Password string
	From     string
	To       []string
}

func loadAlerts(l *config.Loader) Alerts {
	a := Alerts{
		For:    l.Duration("ALERT_FOR", 5*time.Minute, 0, 24*time.Hour),
		Repeat: l.Duration("ALERT_REPEAT", 0, 0, 30*24*time.Hour),
		Check:  l.Duration("ALERT_CHECK_INTERVAL", 5*time.Second, 100*time.Millisecond, time.Minute),
	}
	if a.Repeat > 0 && a.Repeat < time.Minute {
		l.Fail("ALERT_REPEAT", "expected 0 (no reminders) or at least 1m, got %v", a.Repeat)
	}
	a.WebhookURL = strings.TrimSpace(l.String("ALERT_WEBHOOK_URL", ""))
	if a.WebhookURL != "" {
		u, err := url.Parse(a.WebhookURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			// The URL itself is not repeated: it may hold a token.
			l.Fail("ALERT_WEBHOOK_URL", "expected an http:// or https:// URL with a host")
		}
	}
	a.WebhookSecret, _ = l.Secret("ALERT_WEBHOOK_SECRET")
	if a.WebhookSecret != "" && a.WebhookURL == "" {
		l.Fail("ALERT_WEBHOOK_SECRET", "signs webhook notifications: set ALERT_WEBHOOK_URL too, or remove this key")
	}
	s := SMTP{
		Host: strings.TrimSpace(l.String("ALERT_SMTP_HOST", "")),
		TLS:  l.Enum("ALERT_SMTP_TLS", "starttls", "starttls", "tls", "none"),
		User: l.String("ALERT_SMTP_USER", ""),
		From: strings.TrimSpace(l.String("ALERT_EMAIL_FROM", "")),
	}
	def := 587
	if s.TLS == "tls" {
		def = 465
	}
	s.Port = l.Int("ALERT_SMTP_PORT", def, 1, 65535)
	s.Password, _ = l.Secret("ALERT_SMTP_PASSWORD")
	to := strings.TrimSpace(l.String("ALERT_EMAIL_TO", ""))
	switch {
	case s.Host == "":
		for _, k := range []string{"ALERT_SMTP_USER", "ALERT_SMTP_PASSWORD", "ALERT_SMTP_PASSWORD_FILE", "ALERT_EMAIL_FROM", "ALERT_EMAIL_TO", "ALERT_SMTP_PORT", "ALERT_SMTP_TLS"} {
			if l.IsSet(k) {
				l.Fail(k, "only applies with ALERT_SMTP_HOST (the mail server): set that too, or remove this key")
				break
			}
		}
	default:
		if _, err := mail.ParseAddress(s.From); err != nil {
			l.Fail("ALERT_EMAIL_FROM", "expected the sender's address (alerts@example.com), got %q", s.From)
		}
		list, err := mail.ParseAddressList(to)
		if err != nil || len(list) == 0 {
			l.Fail("ALERT_EMAIL_TO", "expected one or more addresses separated by commas, got %q", to)
		}
		for _, a := range list {
			s.To = append(s.To, a.Address)
		}
		if s.Password != "" && s.User == "" {
			l.Fail("ALERT_SMTP_USER", "a password is set (ALERT_SMTP_PASSWORD_FILE) but no user to log in as")
		}
		if s.TLS == "none" && s.User != "" && !loopbackHost(s.Host) {
			l.Fail("ALERT_SMTP_TLS", "none would send the SMTP password in clear to %s: use starttls or tls, or a relay on this machine", s.Host)
		}
	}
	a.SMTP = s
	return a
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// describeAlerts is the section for -check-config: no secret, no URL (its
// path or query may be a token).
func describeAlerts(a Alerts) [][2]string {
	repeat := "off"
	if a.Repeat > 0 {
		repeat = a.Repeat.String()
	}
	hook := "none"
	if a.WebhookURL != "" {
		u, _ := url.Parse(a.WebhookURL)
		hook = u.Scheme + "://" + u.Host + "/…"
		if a.WebhookSecret != "" {
			hook += " (signed)"
		}
	}
	smtp := "none"
	if a.SMTP.Host != "" {
		smtp = fmt.Sprintf("%s:%d %s, to %s", a.SMTP.Host, a.SMTP.Port, a.SMTP.TLS, strings.Join(a.SMTP.To, ", "))
	}
	return [][2]string{{"ALERT_FOR", a.For.String()}, {"ALERT_REPEAT", repeat}, {"ALERT_CHECK_INTERVAL", a.Check.String()}, {"ALERT_WEBHOOK_URL", hook}, {"ALERT_SMTP_HOST", smtp}}
}
