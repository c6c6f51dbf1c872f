// Package e2e holds end-to-end tests of the real daemons: both binaries are
// built with the race detector and run as processes against real RabbitMQ
// brokers, as an operator would run them.
package e2e
