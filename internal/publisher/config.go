package publisher

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/sysmon-dev/sysmon/internal/config"
	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// DefaultConfigFile is where the package installs the publisher's settings.
const DefaultConfigFile = "/etc/sysmon/publisher.env"

// Config is the publisher's settings.
type Config struct {
	File           string
	Broker         config.Broker
	HTTP           config.HTTP
	Interval       time.Duration // 0: publish on demand only
	PublishTimeout time.Duration // how long /publish waits for the broker's confirm
	RateLimit      float64       // /publish calls per second
	OutboxSize     int
	OutboxDir      string // where the outbox is kept on disk; "": memory only
	CollectTimeout time.Duration
	HostName       string
	// Tags are HOST_TAGS, sent in every snapshot (nil: none).
	Tags map[string]string
	// UserID is PUBLISH_USER_ID: "" stamps the broker login name as
	// user_id; NoUserID (PUBLISH_USER_ID=none) stamps none.
	UserID   string
	NoUserID bool
	LogLevel slog.Level
}

// LoadConfig reads the env file at path (the environment overrides it).
func LoadConfig(path string, explicit bool, lookupEnv func(string) (string, bool)) (Config, []config.Warning, error) {
	return config.Load(path, explicit, lookupEnv, Read)
}

// Read reads every key of the daemon from l.
func Read(l *config.Loader) (Config, error) {
	host, _ := os.Hostname()
	c := Config{
		File:           l.File(),
		Broker:         config.LoadBroker(l),
		HTTP:           config.LoadHTTP(l, 8000),
		Interval:       l.Duration("PUBLISH_INTERVAL", 2*time.Second, 0, 24*time.Hour),
		PublishTimeout: l.Duration("PUBLISH_TIMEOUT", 2*time.Second, 10*time.Millisecond, time.Minute),
		RateLimit:      l.Float("PUBLISH_RATE_LIMIT", 10, 0.01, 1e6),
		OutboxSize:     l.Int("OUTBOX_SIZE", 1000, 2, 1_000_000),
		OutboxDir:      strings.TrimSpace(l.String("OUTBOX_DIR", config.StateDirectory())),
		CollectTimeout: l.Duration("COLLECT_TIMEOUT", time.Second, 10*time.Millisecond, time.Minute),
		HostName:       l.Name("HOST_NAME", host),
		LogLevel:       config.LoadLogLevel(l),
	}
	if v := l.String("HOST_TAGS", ""); strings.TrimSpace(v) != "" {
		tags, err := ParseTags(v)
		if err != nil {
			l.Fail("HOST_TAGS", "expected up to %d key=value pairs separated by commas (env=prod,role=db): %v", snapshot.MaxTags, err)
		}
		c.Tags = tags
	}
	if c.Interval > 0 && c.Interval < 100*time.Millisecond {
		l.Fail("PUBLISH_INTERVAL", "expected 0 (publish on demand only) or at least 100ms, got %v", c.Interval)
	}
	if c.OutboxDir != "" && !filepath.IsAbs(c.OutboxDir) {
		l.Fail("OUTBOX_DIR", "expected an absolute directory, or nothing to keep the outbox in memory only, got %q", c.OutboxDir)
	}
	if l.IsSet("PUBLISH_USER_ID") {
		switch v := strings.TrimSpace(l.String("PUBLISH_USER_ID", "")); {
		case v == "":
			l.Fail("PUBLISH_USER_ID", "expected the broker user name to stamp as user_id, or none; leave it unset for the user the publisher logs in as")
		case v == "none":
			c.NoUserID = true
		case strings.ContainsFunc(v, unicode.IsControl) || len(v) > 255:
			// user_id is an AMQP short string.
			l.Fail("PUBLISH_USER_ID", "expected a broker user name of at most 255 bytes without control characters")
		default:
			c.UserID = v
		}
	}
	if err := l.Err(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Describe lists the effective settings for -check-config (password masked).
func (c Config) Describe() string {
	return config.Describe(
		[2]string{"config file", c.File},
		[2]string{"broker", strings.Join(c.Broker.Redacted(), ", ")},
		[2]string{"TLS", c.Broker.TLSSummary()},
		[2]string{"EXCHANGE_NAME", c.Broker.Exchange},
		[2]string{"EXCHANGE_TYPE", c.Broker.ExchangeType},
		[2]string{"RABBITMQ_HEARTBEAT", c.Broker.Heartbeat.String()},
		[2]string{"RECONNECT_MAX_DELAY", c.Broker.ReconnectMax.String()},
		[2]string{"listen", c.HTTP.Describe()},
		[2]string{"PUBLISH_INTERVAL", intervalText(c.Interval)},
		[2]string{"PUBLISH_TIMEOUT", c.PublishTimeout.String()},
		[2]string{"PUBLISH_RATE_LIMIT", fmt.Sprintf("%g/s", c.RateLimit)},
		[2]string{"OUTBOX_SIZE", fmt.Sprint(c.OutboxSize)},
		[2]string{"OUTBOX_DIR", outboxDirText(c.OutboxDir)},
		[2]string{"COLLECT_TIMEOUT", c.CollectTimeout.String()},
		[2]string{"HOST_NAME", c.HostName},
		[2]string{"HOST_TAGS", tagsText(c.Tags)},
		[2]string{"PUBLISH_USER_ID", userIDText(c)},
		[2]string{"LOG_LEVEL", strings.ToLower(c.LogLevel.String())},
	)
}

// ParseTags reads HOST_TAGS: key=value pairs separated by commas, spaces
// around each allowed, each under the rules the consumer applies
// (snapshot.CheckTag), each key once, at most snapshot.MaxTags.
func ParseTags(v string) (map[string]string, error) {
	tags := map[string]string{}
	for _, pair := range strings.Split(v, ",") {
		pair = strings.TrimSpace(pair)
		key, value, ok := strings.Cut(pair, "=")
		if !ok {
			return nil, fmt.Errorf("%q has no '='", clip(pair))
		}
		if err := snapshot.CheckTag(key, value); err != nil {
			var inv *snapshot.InvalidError
			if errors.As(err, &inv) {
				return nil, errors.New(inv.Reason)
			}
			return nil, err
		}
		if _, dup := tags[key]; dup {
			return nil, fmt.Errorf("tag key %q given twice", key)
		}
		tags[key] = value
	}
	if len(tags) > snapshot.MaxTags {
		return nil, fmt.Errorf("%d tags, limit %d", len(tags), snapshot.MaxTags)
	}
	return tags, nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// tagsText lists tags in key order, as HOST_TAGS would give them.
func tagsText(tags map[string]string) string {
	if len(tags) == 0 {
		return "(none)"
	}
	keys := slices.Sorted(maps.Keys(tags))
	for i, k := range keys {
		keys[i] = k + "=" + tags[k]
	}
	return strings.Join(keys, ",")
}

func userIDText(c Config) string {
	switch {
	case c.NoUserID:
		return "none"
	case c.UserID != "":
		return c.UserID
	}
	return "(the broker user logged in as)"
}

func outboxDirText(dir string) string {
	if dir == "" {
		return "(none: the outbox is kept in memory only)"
	}
	return dir
}

func intervalText(d time.Duration) string {
	if d == 0 {
		return "0 (on demand only)"
	}
	return d.String()
}

// Level is the configured log level.
func (c Config) Level() slog.Level { return c.LogLevel }

// BrokerConfig is the broker section.
func (c Config) BrokerConfig() config.Broker { return c.Broker }
