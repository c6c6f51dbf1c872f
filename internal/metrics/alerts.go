package metrics

import "sort"

// AlertSources are the alerting's values.
type AlertSources struct {
	// Firing counts the firing alerts per rule (every rule present).
	Firing func() map[string]int
	// Delivery is each channel's notifications sent, failed attempts, and
	// notifications pending.
	Delivery func() map[string][3]uint64
}

// Alerts registers the alerting's metrics.
func Alerts(r *Registry, s AlertSources) {
	r.add("sysmon_alerts_firing", "gauge", "Alerts firing (silenced ones included), by rule.", func() []sample {
		m := s.Firing()
		return labelled("rule", m, func(v int) float64 { return float64(v) })
	})
	r.add("sysmon_alert_notifications_sent_total", "counter", "Notifications a channel accepted, by channel.", func() []sample {
		return labelled("channel", s.Delivery(), func(v [3]uint64) float64 { return float64(v[0]) })
	})
	r.add("sysmon_alert_notifications_failed_total", "counter", "Delivery attempts that failed (each is retried), by channel.", func() []sample {
		return labelled("channel", s.Delivery(), func(v [3]uint64) float64 { return float64(v[1]) })
	})
	r.add("sysmon_alert_notifications_pending", "gauge", "Notifications waiting for delivery (kept on disk with STATE_DIR), by channel.", func() []sample {
		return labelled("channel", s.Delivery(), func(v [3]uint64) float64 { return float64(v[2]) })
	})
}

func labelled[V any](label string, m map[string]V, f func(V) float64) []sample {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]sample, 0, len(keys))
	for _, k := range keys {
		out = append(out, sample{labelString([]string{label, k}), f(m[k])})
	}
	return out
}
