// Command sysmon-floor is the smallest Go program doing the core of what
// sysmon-publisher does: an HTTP listener, an amqp091 connection with
// publisher confirms, and one JSON message a second, under the publisher's
// runtime settings (one P, a 9 MiB soft memory limit, GOGC 25). The bench
// measures it beside the publisher: its RSS is what the Go runtime and these
// libraries cost before any of sysmon's own work (issue 16).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

func main() {
	url := flag.String("url", "amqp://guest:guest@127.0.0.1:5672/", "AMQP `URL`")
	exchange := flag.String("exchange", "", "exchange to publish to (declared by the caller)")
	flag.Parse()
	if err := run(*url, *exchange); err != nil {
		fmt.Fprintln(os.Stderr, "sysmon-floor:", err)
		os.Exit(1)
	}
}

func run(url, exchange string) error {
	runtime.GOMAXPROCS(1)
	debug.SetMemoryLimit(9 << 20)
	debug.SetGCPercent(25)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()

	conn, err := amqp.Dial(url)
	if err != nil {
		return err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	if err := ch.Confirm(false); err != nil {
		return err
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var seq uint64
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			seq++
			body, err := json.Marshal(map[string]any{"host": "floor", "seq": seq, "time": now, "cpu_per_core": []float64{1.5, 2.5}})
			if err != nil {
				return err
			}
			dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, exchange, "floor", false, false,
				amqp.Publishing{ContentType: "application/json", DeliveryMode: amqp.Persistent, Body: body})
			if err != nil {
				return err
			}
			if _, err := dc.WaitContext(ctx); err != nil && ctx.Err() == nil {
				return err
			}
		}
	}
}
