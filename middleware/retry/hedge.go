package retry

import (
	"context"
	"time"

	"github.com/zelos-go/zelos/transport"
)

// Forker is implemented by client Transporters whose call can run attempts
// at the same time, as WithHedge does. A Transporter is one call's state
// (the outgoing header, the reply's header and body), so concurrent
// attempts each need their own: Fork returns ctx carrying a Transporter
// for one more attempt, and a function that makes that attempt's reply the
// call's, which the middleware calls for the winning attempt only. The
// Zelos HTTP and gRPC clients implement it.
type Forker interface {
	Fork(ctx context.Context) (attempt context.Context, win func())
}

// canHedge reports whether attempts of the call in ctx may run at once:
// with no client Transporter, or one that forks.
func canHedge(ctx context.Context) bool {
	tr, ok := transport.FromClientContext(ctx)
	if !ok {
		return true
	}
	_, ok = tr.(Forker)
	return ok
}

type result struct {
	reply any
	err   error
	win   func() // makes this attempt the call's (a no-op without a Forker)
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
	var fork Forker
	if tr, ok := transport.FromClientContext(c); ok {
		fork, _ = tr.(Forker)
	}
	launch := func() {
		attempt := sent
		sent++
		pending++
		actx, win := context.Context(ctx), func() {}
		if fork != nil {
			actx, win = fork.Fork(ctx)
		}
		go func() {
			reply, err := r.try(actx, req, attempt) // actx reaches c's Tried set
			results <- result{reply, err, win}
		}()
	}
	// done hands the call the attempt that answers it.
	done := func(res result) (any, error) {
		res.win()
		return res.reply, res.err
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
				return done(res)
			}
			last = res
			if pending > 0 {
				continue
			}
			if sent >= r.attempts {
				res.err = noRetry(res.err)
				return done(res)
			}
			// Nothing in flight: the next attempt waits the backoff, as a
			// plain retry would.
			timer.Reset(max(b.Next(), retryAfter(ctx, res.err)))
		case <-timer.C:
			if sent >= r.attempts || (r.budget != nil && !r.budget.Retry()) {
				if pending == 0 {
					last.err = noRetry(last.err)
					return done(last)
				}
				continue
			}
			launch()
			timer.Reset(r.hedge)
		case <-c.Done():
			if last.err != nil {
				return done(last)
			}
			return nil, c.Err()
		}
	}
}
