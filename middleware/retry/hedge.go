package retry

import (
	"context"
	"time"

	"github.com/zelos-go/zelos/transport"
)

// canHedge reports whether attempts of the call in ctx may run at once.
// A client Transporter is one call's state (its request header is the
// outgoing one, its reply header is filled by the reply), so two attempts
// sharing it would race: hedging is limited to chains without one.
func canHedge(ctx context.Context) bool {
	_, ok := transport.FromClientContext(ctx)
	return !ok
}

type result struct {
	reply any
	err   error
}

// hedged runs the call with a backup attempt every r.hedge while none has
// answered, up to r.attempts in all and within the budget. The first reply
// that is not a retryable failure wins; returning cancels the others.
func (r *retrier) hedged(c *call, req any) (any, error) {
	ctx, cancel := context.WithCancel(c)
	defer cancel()
	// Buffered for every attempt, so that the losers' goroutines never
	// block once the winner has returned.
	results := make(chan result, r.attempts)
	sent, pending := 0, 0
	launch := func() {
		attempt := sent
		sent++
		pending++
		go func() {
			reply, err := r.try(ctx, req, attempt) // ctx reaches c's Tried set
			results <- result{reply, err}
		}()
	}
	launch()
	b := r.policy.Start()
	timer := time.NewTimer(r.hedge)
	defer timer.Stop()
	var last result
	for {
		select {
		case res := <-results:
			pending--
			if res.err == nil || !r.retryable(res.err) {
				return res.reply, res.err
			}
			last = res
			if pending > 0 {
				continue
			}
			if sent >= r.attempts {
				return last.reply, noRetry(last.err)
			}
			// Nothing in flight: the next attempt waits the backoff, as a
			// plain retry would.
			timer.Reset(max(b.Next(), retryAfter(ctx, res.err)))
		case <-timer.C:
			if sent >= r.attempts || (r.budget != nil && !r.budget.Retry()) {
				if pending == 0 {
					return last.reply, noRetry(last.err)
				}
				continue
			}
			launch()
			timer.Reset(r.hedge)
		case <-c.Done():
			if last.err != nil {
				return last.reply, last.err
			}
			return nil, c.Err()
		}
	}
}
