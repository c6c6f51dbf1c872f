package web

import "encoding/json"

// configJSON is the "config" object of the state frame.
func (w *Web) configJSON() []byte {
	b, _ := json.Marshal(map[string]any{
		"thresholds":              w.opts.Thresholds,
		"stale_after_intervals":   w.opts.Limits.StaleAfter,
		"offline_after_intervals": w.opts.Limits.OfflineAfter,
		"stale_min_seconds":       w.opts.Limits.StaleFloor.Seconds(),
		"offline_min_seconds":     w.opts.Limits.OfflineFloor.Seconds(),
		"version":                 w.opts.Version,
	})
	return b
}
