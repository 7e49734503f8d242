package biz_test

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/examples/shop/chat/internal/biz"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func recv(t *testing.T, s *biz.Subscription) biz.Message {
	t.Helper()
	select {
	case m, ok := <-s.Messages():
		if !ok {
			t.Fatalf("%s: channel closed: %v", s.User(), s.Err())
		}
		return m
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: no message", s.User())
	}
	return biz.Message{}
}

func TestHubRoom(t *testing.T) {
	t.Run("every member receives, other rooms do not", func(t *testing.T) {
		fixed := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		h := biz.NewHub(biz.Clock(func() time.Time { return fixed }))
		alice, err := h.Join("lobby", "alice")
		if err != nil {
			t.Fatal(err)
		}
		bob, _ := h.Join("lobby", "bob")
		carol, _ := h.Join("kitchen", "carol")
		sent, err := h.Publish("lobby", "alice", "hi")
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []*biz.Subscription{alice, bob} {
			if got := recv(t, s); got != sent {
				t.Errorf("%s got %+v, want %+v", s.User(), got, sent)
			}
		}
		if sent.RoomID != "lobby" || sent.UserID != "alice" || sent.Content != "hi" || !sent.Time.Equal(fixed) || sent.ID == "" {
			t.Errorf("message %+v", sent)
		}
		select {
		case m := <-carol.Messages():
			t.Errorf("another room got %+v", m)
		default:
		}
		if got := h.Members("lobby"); !slices.Equal(got, []string{"alice", "bob"}) {
			t.Errorf("lobby members %q, want alice, bob in join order", got)
		}
		if got := h.Members("kitchen"); !slices.Equal(got, []string{"carol"}) {
			t.Errorf("kitchen members %q", got)
		}
		alice.Leave()
		alice.Leave() // twice is fine
		if _, ok := <-alice.Messages(); ok || alice.Err() != nil {
			t.Errorf("after Leave: open or err %v", alice.Err())
		}
		bob.Leave()
		carol.Leave()
		if len(h.Members("lobby")) != 0 {
			t.Error("empty room kept")
		}
	})
	t.Run("message IDs are unique and ordered per room", func(t *testing.T) {
		h := biz.NewHub()
		s, _ := h.Join("r", "u")
		defer s.Leave()
		a, _ := h.Publish("r", "u", "1")
		b, _ := h.Publish("r", "u", "2")
		if a.ID == b.ID || recv(t, s).Content != "1" || recv(t, s).Content != "2" {
			t.Errorf("ids %q %q", a.ID, b.ID)
		}
	})
	t.Run("publish to an empty room", func(t *testing.T) {
		if _, err := biz.NewHub().Publish("nobody", "u", "x"); err != nil {
			t.Error(err)
		}
	})
}

func TestHubSlowConsumer(t *testing.T) {
	h := biz.NewHub(biz.Buffer(2))
	slow, _ := h.Join("r", "slow")
	fast, _ := h.Join("r", "fast")
	defer fast.Leave()
	for i := range 10 {
		// Publish never blocks, though slow never reads; fast, which
		// keeps up, gets every message.
		sent, err := h.Publish("r", "fast", strings.Repeat("x", i+1))
		if err != nil {
			t.Fatal(err)
		}
		if got := recv(t, fast); got != sent {
			t.Fatalf("fast got %+v, want %+v", got, sent)
		}
	}
	n := 0
	for range slow.Messages() {
		n++
	}
	if n != 2 || !errors.Is(slow.Err(), biz.ErrSlowConsumer) {
		t.Errorf("slow: %d buffered, err %v; want 2, ErrSlowConsumer", n, slow.Err())
	}
	if got := h.Members("r"); !slices.Equal(got, []string{"fast"}) {
		t.Errorf("members after drop: %q", got)
	}
	slow.Leave() // after a drop: no double close
}

func TestHubLimits(t *testing.T) {
	h := biz.NewHub(biz.MaxMembers(1))
	defer h.Close()
	for _, tc := range []struct {
		name, room, user, content string
		reason                    string
	}{
		{"no room", "", "u", "x", "ROOM_REQUIRED"},
		{"long room", strings.Repeat("r", biz.MaxRoomLen+1), "u", "x", "INVALID_ROOM"},
		{"control in room", "a\nb", "u", "x", "INVALID_ROOM"},
		{"bad utf8 room", "\xff", "u", "x", "INVALID_ROOM"},
		{"long user", "r", strings.Repeat("u", biz.MaxUserLen+1), "x", "INVALID_MESSAGE"},
		{"empty content", "r", "u", "", "INVALID_MESSAGE"},
		{"long content", "r", "u", strings.Repeat("c", biz.MaxContentLen+1), "MESSAGE_TOO_LONG"},
		{"bad utf8 content", "r", "u", "\xff\xfe", "INVALID_MESSAGE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.Publish(tc.room, tc.user, tc.content)
			if errors.Reason(err) != tc.reason || errors.Code(err) != 400 {
				t.Errorf("Publish: %v, want 400 %s", err, tc.reason)
			}
			if tc.content != "" && tc.reason != "MESSAGE_TOO_LONG" && !strings.HasPrefix(tc.name, "bad utf8 content") {
				if _, err := h.Join(tc.room, tc.user); errors.Reason(err) != tc.reason {
					t.Errorf("Join: %v, want %s", err, tc.reason)
				}
			}
		})
	}
	t.Run("room full", func(t *testing.T) {
		s, err := h.Join("full", "a")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Leave()
		if _, err := h.Join("full", "b"); !errors.Is(err, biz.ErrRoomFull) {
			t.Errorf("second member: %v", err)
		}
	})
}

func TestHubClose(t *testing.T) {
	h := biz.NewHub()
	s, _ := h.Join("r", "u")
	h.Close()
	h.Close()
	if _, ok := <-s.Messages(); ok || !errors.Is(s.Err(), biz.ErrClosed) {
		t.Errorf("member after Close: err %v", s.Err())
	}
	if _, err := h.Join("r", "u"); !errors.Is(err, biz.ErrClosed) {
		t.Errorf("Join after Close: %v", err)
	}
	if _, err := h.Publish("r", "u", "x"); !errors.Is(err, biz.ErrClosed) {
		t.Errorf("Publish after Close: %v", err)
	}
}

func TestHubConcurrent(t *testing.T) {
	h := biz.NewHub(biz.Buffer(1000))
	const members, msgs = 8, 50
	subs := make([]*biz.Subscription, members)
	for i := range subs {
		subs[i], _ = h.Join("r", "u")
	}
	var wg sync.WaitGroup
	for range members {
		wg.Go(func() {
			for range msgs {
				if _, err := h.Publish("r", "u", "m"); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	for _, s := range subs {
		if n := len(s.Messages()); n != members*msgs {
			t.Errorf("member got %d, want %d", n, members*msgs)
		}
		s.Leave()
	}
}
