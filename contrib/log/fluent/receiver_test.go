package fluent_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/tinylib/msgp/msgp"
)

// event is one record a receiver got.
type event struct {
	tag    string
	time   any
	record map[string]any
}

// receiver is an in-process fluentd forward input: it accepts connections
// and decodes the forward protocol's Message mode ([tag, time, record,
// option?]) and Forward mode ([tag, [[time, record], ...], option?]), as
// the protocol specification (v1) describes them. When an entry's option
// has "chunk", it answers {"ack": chunk}, as fluentd does for
// require_ack_response.
type receiver struct {
	lis net.Listener
	wg  sync.WaitGroup

	mu     sync.Mutex
	events []event
	conns  []net.Conn
	got    chan struct{}
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	return newReceiverOn(t, "tcp", "127.0.0.1:0")
}

// newReceiverOn listens on network and address, such as a unix socket.
func newReceiverOn(t *testing.T, network, address string) *receiver {
	t.Helper()
	lis, err := net.Listen(network, address)
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{lis: lis, got: make(chan struct{}, 1024)}
	r.wg.Add(1)
	go r.accept()
	t.Cleanup(r.close)
	return r
}

func (r *receiver) addr() string { return r.lis.Addr().Network() + "://" + r.lis.Addr().String() }

func (r *receiver) accept() {
	defer r.wg.Done()
	for {
		c, err := r.lis.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		r.conns = append(r.conns, c)
		r.mu.Unlock()
		r.wg.Add(1)
		go r.serve(c)
	}
}

func (r *receiver) serve(c net.Conn) {
	defer r.wg.Done()
	defer c.Close()
	rd := msgp.NewReader(c)
	w := msgp.NewWriter(c)
	for {
		v, err := rd.ReadIntf()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				_ = err // a closed connection ends the loop either way
			}
			return
		}
		msg, ok := v.([]any)
		if !ok || len(msg) < 2 {
			return // not the forward protocol: fluentd drops the connection
		}
		tag, _ := msg[0].(string)
		var option map[string]any
		switch entries := msg[1].(type) {
		case []any: // Forward mode
			for _, e := range entries {
				if pair, ok := e.([]any); ok && len(pair) == 2 {
					rec, _ := pair[1].(map[string]any)
					r.add(event{tag, pair[0], rec})
				}
			}
			if len(msg) > 2 {
				option, _ = msg[2].(map[string]any)
			}
		default: // Message mode
			if len(msg) < 3 {
				return
			}
			rec, _ := msg[2].(map[string]any)
			r.add(event{tag, msg[1], rec})
			if len(msg) > 3 {
				option, _ = msg[3].(map[string]any)
			}
		}
		if chunk, ok := option["chunk"]; ok {
			_ = w.WriteMapHeader(1)
			_ = w.WriteString("ack")
			_ = w.WriteIntf(chunk)
			_ = w.Flush()
		}
	}
}

func (r *receiver) add(e event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	r.got <- struct{}{}
}

func (r *receiver) all() []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event(nil), r.events...)
}

func (r *receiver) close() {
	_ = r.lis.Close()
	r.mu.Lock()
	for _, c := range r.conns {
		_ = c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}

func (e event) String() string { return fmt.Sprintf("%s %v", e.tag, e.record) }
