package metrics

// ForwardSources are a shard's forwarding counters (internal/forward).
type ForwardSources struct {
	Queued, Confirmed, Dropped, Skipped func() uint64
	Waiting                             func() int
}

// Forward registers the forwarder's metrics: how much of the fleet reaches
// the merged view, and what it had to leave out.
func Forward(r *Registry, s ForwardSources) {
	r.counter("sysmon_forward_queued_total", "Hosts' latest snapshots queued for the merged view's exchange (FORWARD_EXCHANGE).", s.Queued)
	r.counter("sysmon_forward_confirmed_total", "Forwarded snapshots the broker confirmed.", s.Confirmed)
	r.counter("sysmon_forward_dropped_total", "Forwarded snapshots pushed out of a full backlog before the broker took them.", s.Dropped)
	r.counter("sysmon_forward_skipped_total", "Hosts not forwarded in their slot because the backlog was full (they go at their next slot).", s.Skipped)
	r.gauge("sysmon_forward_backlog", "Forwarded snapshots waiting for the broker.", func() float64 { return float64(s.Waiting()) })
}
