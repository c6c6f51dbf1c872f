package consumer

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sysmon-dev/sysmon/internal/alert"
	"github.com/sysmon-dev/sysmon/internal/config"
	"github.com/sysmon-dev/sysmon/internal/fleet"
	"github.com/sysmon-dev/sysmon/internal/history"
	"github.com/sysmon-dev/sysmon/internal/mq"
)

// DefaultConfigFile is where the package installs the consumer's settings.
const DefaultConfigFile = "/etc/sysmon/consumer.env"

// Config is the consumer's settings.
type Config struct {
	File       string
	Broker     config.Broker
	HTTP       config.HTTP
	Queue      mq.Queue
	MaxMessage int
	Fleet      fleet.Config
	SendBuffer int
	// Tick is how often dashboards get what changed (0: at once).
	Tick time.Duration
	// StateDir keeps what the consumer remembers across restarts
	// (history, alerts); "" keeps nothing.
	StateDir string
	// History is how long each tier of the history is kept in StateDir
	// (HISTORY_RAW, HISTORY_MINUTE, HISTORY_HOUR); all 0: no history.
	History    history.Retention
	Thresholds map[string]Thresholds
	Identity   Identity
	Alerts     Alerts
	// Forward sends each host's latest snapshot on to a merged view.
	Forward  Forward
	LogLevel slog.Level
}

// Forward is the shard side of a sharded deployment (README "Beyond one
// consumer"): Exchange "" is off.
type Forward struct {
	Exchange string
	Every    time.Duration
}

// LoadConfig reads the env file at path (the environment overrides it).
func LoadConfig(path string, explicit bool, lookupEnv func(string) (string, bool)) (Config, []config.Warning, error) {
	return config.Load(path, explicit, lookupEnv, Read)
}

// Read reads every key of the daemon from l.
func Read(l *config.Loader) (Config, error) {
	host, _ := os.Hostname()
	c := Config{
		File:       l.File(),
		Broker:     config.LoadBroker(l),
		HTTP:       config.LoadHTTP(l, 8003),
		MaxMessage: l.Int("MAX_MESSAGE_BYTES", 1<<20, 1024, 64<<20),
		Fleet: fleet.Config{
			HistorySize:  l.Int("HISTORY_SIZE", 300, 0, 100_000),
			MaxHosts:     l.Int("MAX_HOSTS", 20_000, 1, 10_000_000),
			Expire:       l.Duration("HOST_EXPIRE", 7*24*time.Hour, 0, 10*365*24*time.Hour),
			StaleAfter:   3,
			OfflineAfter: 10,
			StaleFloor:   l.Duration("HOST_STALE_MIN", 10*time.Second, 0, 24*time.Hour),
			OfflineFloor: l.Duration("HOST_OFFLINE_MIN", time.Minute, 0, 7*24*time.Hour),
		},
		SendBuffer: l.Int("WS_SEND_BUFFER", 1024, 16, 1_000_000),
		Tick:       l.Duration("WS_TICK", 250*time.Millisecond, 0, 10*time.Second),
		StateDir:   strings.TrimSpace(l.String("STATE_DIR", config.StateDirectory())),
		LogLevel:   config.LoadLogLevel(l),
	}
	if c.Tick > 0 && c.Tick < 10*time.Millisecond {
		// A timer that fine costs more than it saves: say 0 for "at once".
		l.Fail("WS_TICK", "expected 0 (each update at once) or from 10ms to 10s, got %v", c.Tick)
	}
	if c.StateDir != "" && !filepath.IsAbs(c.StateDir) {
		l.Fail("STATE_DIR", "expected an absolute directory, or nothing to keep no state across restarts, got %q", c.StateDir)
	}
	if c.Fleet.OfflineFloor < c.Fleet.StaleFloor {
		l.Fail("HOST_OFFLINE_MIN", "expected at least HOST_STALE_MIN (%v), got %v", c.Fleet.StaleFloor, c.Fleet.OfflineFloor)
	}
	c.History = history.Retention{
		Raw:    retention(l, "HISTORY_RAW", time.Hour, time.Minute, 30*day),
		Minute: retention(l, "HISTORY_MINUTE", 7*day, time.Hour, 2*year),
		Hour:   retention(l, "HISTORY_HOUR", year, day, 20*year),
	}
	switch r := c.History; {
	case (r.Raw == 0 || r.Minute == 0 || r.Hour == 0) && r != (history.Retention{}):
		// The store aggregates each tier from the one below it.
		l.Fail(firstZero(r), "a single tier cannot be turned off (each is aggregated from the one below): set HISTORY_RAW, HISTORY_MINUTE and HISTORY_HOUR all to 0 to keep no history, or each to a duration")
	case r.Minute > 0 && r.Minute < r.Raw:
		l.Fail("HISTORY_MINUTE", "expected at least HISTORY_RAW (%s), or 0 to keep no minute aggregates: a coarser tier that ends before the finer one leaves nothing to show", days(r.Raw))
	case r.Hour > 0 && r.Hour < max(r.Minute, r.Raw):
		l.Fail("HISTORY_HOUR", "expected at least HISTORY_MINUTE and HISTORY_RAW (%s), or 0 to keep no hour aggregates", days(max(r.Minute, r.Raw)))
	}
	maxLen := l.Int("QUEUE_MAX_LENGTH", 100_000, 0, 100_000_000)
	expiry := l.Duration("QUEUE_EXPIRES", 7*24*time.Hour, 0, 365*24*time.Hour)
	if expiry > 0 && expiry < time.Second {
		// x-expires is in whole milliseconds and must be positive.
		l.Fail("QUEUE_EXPIRES", "expected 0 (never) or at least 1s, got %v", expiry)
	}
	exclusive := l.Bool("QUEUE_EXCLUSIVE", false)
	queueType := l.Enum("QUEUE_TYPE", "classic", "classic", "quorum")
	if queueType == "quorum" && exclusive {
		l.Fail("QUEUE_TYPE", "a quorum queue cannot be exclusive: remove QUEUE_EXCLUSIVE=true or use QUEUE_TYPE=classic")
	}
	name := l.Name("QUEUE_NAME", "sysmon-consumer."+host)
	if strings.HasPrefix(name, "amq.") {
		l.Fail("QUEUE_NAME", "names starting with amq. are reserved by RabbitMQ (it refuses to declare such a queue): choose another name")
	}
	bindingKey := l.String("QUEUE_BINDING_KEY", "#")
	if c.Broker.ExchangeType == config.ConsistentHash {
		// The binding key is the queue's weight: the number of points it
		// takes on the exchange's hash ring. With one point per queue the
		// shares are as uneven as random cuts of a circle: 102, 71, 127 of
		// 300 hosts over 3 shards, against 95, 100, 105 with 100 points
		// each (TestShardsMergeIntoOneFleet).
		if !l.IsSet("QUEUE_BINDING_KEY") {
			bindingKey = "100"
		}
		if w, err := strconv.Atoi(bindingKey); err != nil || w < 1 || w > 1000 {
			l.Fail("QUEUE_BINDING_KEY", "with EXCHANGE_TYPE=%s the binding key is this shard's weight: expected a whole number from 1 to 1000, got %q", config.ConsistentHash, bindingKey)
		}
	}
	if len(bindingKey) > config.MaxName || !utf8.ValidString(bindingKey) {
		l.Fail("QUEUE_BINDING_KEY", "expected a binding key of at most %d bytes of UTF-8 (# for every host), got %d bytes", config.MaxName, len(bindingKey))
	}
	c.Queue = mq.Queue{
		Name:       name,
		Exclusive:  exclusive,
		Durable:    !exclusive,
		AutoDelete: exclusive,
		BindingKey: bindingKey,
		Prefetch:   l.Int("QUEUE_PREFETCH", 500, 1, 65535),
		Type:       queueType,
		MaxLength:  maxLen,
		Expires:    expiry,
	}
	c.Identity = Identity{Required: l.Enum("HOST_IDENTITY", "none", "none", "broker-user") == "broker-user",
		UserPrefix: l.String("HOST_USER_PREFIX", DefaultUserPrefix)}
	switch p := c.Identity.UserPrefix; {
	case l.IsSet("HOST_USER_PREFIX") && !c.Identity.Required:
		l.Fail("HOST_USER_PREFIX", "only applies with HOST_IDENTITY=broker-user: set that too, or remove this key")
	case len(p) >= MaxUserID || strings.ContainsFunc(p, unicode.IsControl):
		l.Fail("HOST_USER_PREFIX", "expected a prefix of broker user names, shorter than %d bytes, without control characters", MaxUserID)
	}
	c.Thresholds = map[string]Thresholds{
		"cpu":    thresholds(l, "THRESHOLD_CPU", 80, 95, 100),
		"memory": thresholds(l, "THRESHOLD_MEMORY", 85, 95, 100),
		"swap":   thresholds(l, "THRESHOLD_SWAP", 50, 80, 100),
		"disk":   thresholds(l, "THRESHOLD_DISK", 85, 95, 100),
		"load":   thresholds(l, "THRESHOLD_LOAD", 1.5, 3, 1000),
	}
	c.Alerts = loadAlerts(l)
	c.Forward = Forward{Exchange: strings.TrimSpace(l.String("FORWARD_EXCHANGE", "")),
		Every: l.Duration("FORWARD_EVERY", 10*time.Second, 100*time.Millisecond, time.Hour)}
	switch fx := c.Forward.Exchange; {
	case fx == "":
	case config.CheckName(fx) != nil:
		l.Fail("FORWARD_EXCHANGE", "expected an exchange name, or nothing to forward nothing: the name %v", config.CheckName(fx))
	case strings.HasPrefix(fx, "amq."):
		l.Fail("FORWARD_EXCHANGE", "names starting with amq. are reserved by RabbitMQ: choose another name")
	case fx == c.Broker.Exchange:
		// Forwarded snapshots would come back to this consumer, forever.
		l.Fail("FORWARD_EXCHANGE", "expected another exchange than EXCHANGE_NAME (%q): the merged view's", fx)
	}
	if err := l.Err(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// firstZero names the first tier set to 0.
func firstZero(r history.Retention) string {
	switch {
	case r.Raw == 0:
		return "HISTORY_RAW"
	case r.Minute == 0:
		return "HISTORY_MINUTE"
	}
	return "HISTORY_HOUR"
}

const (
	day  = 24 * time.Hour
	year = 365 * day
)

// retention reads a tier's retention: 0, or a duration from lo to hi
// written as Go's (36h), seconds (3600), or in days or years (7d, 1y), as
// retention is usually said.
func retention(l *config.Loader, key string, def, lo, hi time.Duration) time.Duration {
	v := strings.TrimSpace(l.String(key, ""))
	if v == "" {
		return def
	}
	d, err := parseRetention(v)
	if err != nil || d != 0 && (d < lo || d > hi) {
		l.Fail(key, "expected 0 (off) or a duration from %s to %s such as 90d, 1y, 36h or 3600 (seconds), got %q", days(lo), days(hi), v)
		return def
	}
	return d
}

// parseRetention reads 7d, 1y, 1.5d, or whatever config.ParseDuration does.
func parseRetention(v string) (time.Duration, error) {
	unit := map[byte]time.Duration{'d': day, 'y': year, 'w': 7 * day}[v[len(v)-1]]
	if unit == 0 {
		return config.ParseDuration(v)
	}
	f, err := config.ParseNumber(v[:len(v)-1])
	if err != nil || f < 0 || f > 100 {
		return 0, fmt.Errorf("not a number of days or years up to 100: %q", v)
	}
	return time.Duration(f * float64(unit)), nil
}

// days writes a retention as it is configured: 7d rather than 168h0m0s.
func days(d time.Duration) string {
	switch {
	case d == 0:
		return "0 (off)"
	case d%year == 0:
		return fmt.Sprintf("%dy", d/year)
	case d%day == 0:
		return fmt.Sprintf("%dd", d/day)
	}
	return d.String()
}

// Rules are the alert rules these settings give: the default rules with
// the thresholds, the alert timings and the fleet's offline and expiry
// limits of the settings.
func (c Config) Rules() alert.Config {
	rules := alert.DefaultConfig()
	rules.For, rules.Repeat, rules.Expire = c.Alerts.For, c.Alerts.Repeat, c.Fleet.Expire
	rules.OfflineAfter, rules.OfflineFloor = c.Fleet.OfflineAfter, c.Fleet.OfflineFloor
	for k, t := range c.Thresholds {
		rules.Thresholds[k] = [2]float64{t.Warn, t.Crit}
	}
	return rules
}

// Thresholds is one metric's warning and critical levels on the dashboard.
type Thresholds struct {
	Warn float64 `json:"warn"`
	Crit float64 `json:"crit"`
}

// thresholds reads "WARN,CRIT", both from 0 to limit.
func thresholds(l *config.Loader, key string, warn, crit, limit float64) Thresholds {
	p := l.FloatPair(key, [2]float64{warn, crit}, 0, limit)
	return Thresholds{Warn: p[0], Crit: p[1]}
}

// Describe lists the effective settings for -check-config (password masked).
func (c Config) Describe() string {
	pairs := [][2]string{
		{"config file", c.File},
		{"broker", strings.Join(c.Broker.Redacted(), ", ")},
		{"TLS", c.Broker.TLSSummary()},
		{"EXCHANGE_NAME", c.Broker.Exchange},
		{"EXCHANGE_TYPE", c.Broker.ExchangeType},
		{"RABBITMQ_HEARTBEAT", c.Broker.Heartbeat.String()},
		{"RECONNECT_MAX_DELAY", c.Broker.ReconnectMax.String()},
		{"listen", c.HTTP.Describe()},
		{"QUEUE_NAME", c.Queue.Name},
		{"QUEUE_EXCLUSIVE", fmt.Sprint(c.Queue.Exclusive)},
		{"QUEUE_TYPE", c.Queue.Type},
		{"QUEUE_MAX_LENGTH", fmt.Sprint(c.Queue.MaxLength)},
		{"QUEUE_EXPIRES", c.Queue.Expires.String()},
		{"QUEUE_PREFETCH", fmt.Sprint(c.Queue.Prefetch)},
		{"QUEUE_BINDING_KEY", c.Queue.BindingKey},
		{"MAX_MESSAGE_BYTES", fmt.Sprint(c.MaxMessage)},
		{"HISTORY_SIZE", fmt.Sprint(c.Fleet.HistorySize)},
		{"MAX_HOSTS", fmt.Sprint(c.Fleet.MaxHosts)},
		{"HOST_EXPIRE", c.Fleet.Expire.String()},
		{"HOST_STALE_MIN", c.Fleet.StaleFloor.String()},
		{"HOST_OFFLINE_MIN", c.Fleet.OfflineFloor.String()},
		{"WS_SEND_BUFFER", fmt.Sprint(c.SendBuffer)},
		{"WS_TICK", c.Tick.String()},
		{"STATE_DIR", stateText(c.StateDir)},
		{"HISTORY_RAW", days(c.History.Raw)},
		{"HISTORY_MINUTE", days(c.History.Minute)},
		{"HISTORY_HOUR", days(c.History.Hour)},
		{"HOST_IDENTITY", identityText(c.Identity)},
		{"FORWARD_EXCHANGE", forwardText(c.Forward)},
		{"FORWARD_EVERY", c.Forward.Every.String()},
	}
	for _, k := range []string{"cpu", "memory", "swap", "disk", "load"} {
		t := c.Thresholds[k]
		pairs = append(pairs, [2]string{"THRESHOLD_" + strings.ToUpper(k), fmt.Sprintf("%g,%g", t.Warn, t.Crit)})
	}
	pairs = append(pairs, describeAlerts(c.Alerts)...)
	pairs = append(pairs, [2]string{"LOG_LEVEL", strings.ToLower(c.LogLevel.String())})
	return config.Describe(pairs...)
}

func stateText(dir string) string {
	if dir == "" {
		return "none (nothing kept across restarts: no history, charts start empty)"
	}
	return dir
}

func forwardText(f Forward) string {
	if f.Exchange == "" {
		return "none (this consumer is not a shard of a merged view)"
	}
	return f.Exchange
}

func identityText(id Identity) string {
	if !id.Required {
		return "none (any broker user may publish for any host)"
	}
	return fmt.Sprintf("broker-user (host H only from broker user %q)", id.User("H"))
}

// Level is the configured log level.
func (c Config) Level() slog.Level { return c.LogLevel }

// BrokerConfig is the broker section.
func (c Config) BrokerConfig() config.Broker { return c.Broker }
