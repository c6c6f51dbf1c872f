package config

import "strings"

// predeclared are the exchanges every RabbitMQ virtual host has, with their
// types: the only amq.* names a client may declare (with that type).
var predeclared = map[string]string{
	"amq.direct": "direct", "amq.fanout": "fanout", "amq.topic": "topic",
	"amq.headers": "headers", "amq.match": "headers",
}

// checkExchange refuses what the broker would refuse at every connection
// attempt: a new exchange named amq.*, or a predeclared one with another
// type.
func checkExchange(l *Loader, name, kind string) {
	if !strings.HasPrefix(name, "amq.") {
		return
	}
	want, ok := predeclared[name]
	switch {
	case !ok:
		l.Fail("EXCHANGE_NAME", "names starting with amq. are reserved by RabbitMQ (it refuses to declare %q): choose another name", clip(name, 64))
	case want != kind:
		l.Fail("EXCHANGE_NAME", "%s is RabbitMQ's predeclared %s exchange: set EXCHANGE_TYPE=%s or choose another name", name, want, want)
	}
}
