// Command shop runs the whole Zelos shop in one process: the user,
// product, order and chat services and the API gateway in front of them,
// on an in-memory registry, with SQLite files in ./data:
//
//	go run ./examples/shop            # or: make shop
//	go run ./examples/shop -addr :8080 -data /tmp/shop -product-instances 2
//	go run ./examples/shop -product-instances 2 -slow-product 50ms
//
// Each service logs to stdout with service=<name> on every line. On the
// first start it loads demo data (a few products and the user
// demo@zelos.dev, password demo1234) and it always prints the gateway's
// URL and a curl session to try. Ctrl-C stops every service gracefully,
// each draining first as it would in Kubernetes. -slow-product D makes the
// last product instance answer D later than the others, to see the
// gateway's and order's balancers route around a slow instance.
//
// Each service also runs alone (./examples/shop/<svc>/cmd/<svc>), and the
// gateway as zelos-gateway -conf examples/shop/gateway/configs/gateway.yaml.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	var o options
	flag.StringVar(&o.Addr, "addr", ":8000", "the gateway's address")
	flag.StringVar(&o.DataDir, "data", "./data", "the directory of the services' SQLite files")
	flag.IntVar(&o.ProductInstances, "product-instances", 1, "how many product service instances to run (they share one database)")
	flag.DurationVar(&o.SlowProduct, "slow-product", 0, "delay every request of the last product instance by this much (e.g. 50ms with -product-instances 2)")
	flag.Parse()
	o.Logs = os.Stdout
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "shop:", err)
		os.Exit(1)
	}
}

// run starts the shop, prints how to try it, and stops it when ctx ends
// (main's ends on SIGINT or SIGTERM).
func run(ctx context.Context, o options, out io.Writer) error {
	s, err := start(ctx, o)
	if err != nil {
		return err
	}
	printWelcome(out, s)
	<-ctx.Done()
	fmt.Fprintln(out, "shop: stopping (each service drains first; Ctrl-C again does not hurry them)")
	return s.Stop()
}

// slowNote says which product instance -slow-product slowed, if any.
func slowNote(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return fmt.Sprintf(", the last one %v slower", d)
}

// printWelcome prints the gateway's URL and a curl session through it.
func printWelcome(w io.Writer, s *shop) {
	u := s.GatewayURL
	fmt.Fprintf(w, `
Zelos shop is up. Gateway: %[1]s (%[2]d product instance(s)%[6]s, data in %[3]s)

Try it:
  # log in as the demo user (or register: POST %[1]s/api/v1/users {"name","email","password"})
  TOKEN=$(curl -s %[1]s/api/v1/login -H 'Content-Type: application/json' \
    -d '{"email":"%[4]s","password":"%[5]s"}' | sed -E 's/.*"token":"([^"]+)".*/\1/')
  curl -s %[1]s/api/v1/products -H "Authorization: Bearer $TOKEN"
  PRODUCT=$(curl -s '%[1]s/api/v1/products?q=mug' -H "Authorization: Bearer $TOKEN" | sed -E 's/.*"id":"([^"]+)".*/\1/')
  USER=$(curl -s %[1]s/api/v1/login -H 'Content-Type: application/json' \
    -d '{"email":"%[4]s","password":"%[5]s"}' | sed -E 's/.*"user":\{"id":"([^"]+)".*/\1/')
  curl -s %[1]s/api/v1/orders -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -H "Idempotency-Key: $(date +%%s)" -d "{\"user_id\":\"$USER\",\"items\":[{\"product_id\":\"$PRODUCT\",\"quantity\":1}]}"
  curl -s "%[1]s/api/v1/orders?user_id=$USER" -H "Authorization: Bearer $TOKEN"
  # chat (read-only, Server-Sent Events): curl -N "%[1]s/api/v1/chat/events?room=lobby&access_token=$TOKEN"

Ctrl-C stops the shop.
`, u, len(s.Products), s.DataDir, demoEmail, demoPassword, slowNote(s.SlowProduct))
}
