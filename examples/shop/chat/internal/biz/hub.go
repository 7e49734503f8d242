// Package biz is the chat service's business layer: the Hub that fans each
// message of a room out to every member of that room.
//
//	hub := biz.NewHub()
//	sub, _ := hub.Join("lobby", "alice")
//	defer sub.Leave()
//	hub.Publish("lobby", "bob", "hello") // alice (and bob, if joined) receive it
//	m := <-sub.Messages()
//
// Members are subscriptions with a bounded buffer. Publish never waits for
// a member: one whose buffer is full is dropped from the room (its channel
// closed, Err reporting ErrSlowConsumer), so a slow or stuck client cannot
// hold up everyone else in the room.
//
// The hub lives in one process: members connected to different instances
// of the chat service are in different rooms. Spreading rooms over
// instances needs a broker between them, which this example leaves out.
package biz

import (
	"cmp"
	crand "crypto/rand"
	"encoding/hex"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	v1 "github.com/zelos-go/zelos/examples/shop/chat/api/chat/v1"
)

// Limits of what the hub accepts.
const (
	// MaxRoomLen is the longest room ID, in bytes.
	MaxRoomLen = 64
	// MaxUserLen is the longest user ID, in bytes.
	MaxUserLen = 64
	// MaxContentLen is the longest message, in bytes.
	MaxContentLen = 4096
	// DefaultBuffer is the number of messages a member may fall behind
	// before it is dropped.
	DefaultBuffer = 64
	// DefaultMaxMembers bounds the members of one room.
	DefaultMaxMembers = 1000
)

// Errors of the hub. They are Zelos errors, so the transports send them
// with their code: a bad room or message is the client's fault (400), a
// full room or a dropped member is a 503 the client may retry later.
var (
	// ErrSlowConsumer is the Err of a member dropped because its buffer
	// was full.
	ErrSlowConsumer = v1.ErrorSlowConsumer("chat: the member fell too far behind the room and was dropped")
	// ErrRoomFull is returned by Join when the room has MaxMembers.
	ErrRoomFull = v1.ErrorRoomFull("chat: the room is full")
	// ErrClosed is returned by Join and Publish once the hub is closed, and
	// is the Err of the members it closed.
	ErrClosed = v1.ErrorChatClosed("chat: the service is stopping")
)

// Message is one chat message as members receive it.
type Message struct {
	ID      string
	RoomID  string
	UserID  string
	Content string
	Time    time.Time
}

// Option configures a Hub.
type Option func(*Hub)

// Buffer sets how many messages a member may fall behind before it is
// dropped. The default is DefaultBuffer; values below 1 mean 1.
func Buffer(n int) Option { return func(h *Hub) { h.buffer = max(n, 1) } }

// MaxMembers bounds the members of one room. The default is
// DefaultMaxMembers; values below 1 mean 1.
func MaxMembers(n int) Option { return func(h *Hub) { h.maxMembers = max(n, 1) } }

// Clock sets the hub's clock, which stamps messages. The default is
// time.Now.
func Clock(now func() time.Time) Option { return func(h *Hub) { h.now = now } }

// Hub is the set of rooms and their members. It is safe for concurrent
// use.
type Hub struct {
	buffer     int
	maxMembers int
	now        func() time.Time
	idPrefix   string
	seq        atomic.Uint64 // message sequence
	joins      uint64        // join sequence, guarded by mu

	// One lock for every room: publishing is a few non-blocking channel
	// sends, so a lock per room would buy little and cost a second map.
	mu     sync.Mutex
	rooms  map[string]map[*Subscription]struct{}
	closed bool
}

// NewHub returns an empty Hub.
func NewHub(opts ...Option) *Hub {
	var b [4]byte
	_, _ = crand.Read(b[:])
	h := &Hub{
		buffer:     DefaultBuffer,
		maxMembers: DefaultMaxMembers,
		now:        time.Now,
		// The random prefix keeps message IDs of two instances (or of a
		// restarted one) apart.
		idPrefix: hex.EncodeToString(b[:]) + "-",
		rooms:    make(map[string]map[*Subscription]struct{}),
	}
	for _, o := range opts {
		o(h)
	}
	return h
}

// Subscription is one member of a room.
type Subscription struct {
	hub    *Hub
	room   string
	user   string
	joined uint64 // the hub's join sequence, to list members in order
	ch     chan Message
	err    error // why ch was closed; written under hub.mu before the close
	closed bool  // ch is closed; guarded by hub.mu
}

// Room returns the room the member joined.
func (s *Subscription) Room() string { return s.room }

// User returns the member's user ID.
func (s *Subscription) User() string { return s.user }

// Messages returns the channel of the room's messages. It is closed when
// the member leaves, is dropped or the hub closes; Err then says why.
func (s *Subscription) Messages() <-chan Message { return s.ch }

// Err returns why Messages was closed: nil after Leave, ErrSlowConsumer or
// ErrClosed. It must be called only after Messages was closed.
func (s *Subscription) Err() error {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return s.err
}

// Leave removes the member from its room and closes Messages. It may be
// called more than once.
func (s *Subscription) Leave() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	s.hub.removeLocked(s, nil)
}

// Join adds a member, user, to room, creating the room if needed.
func (h *Hub) Join(room, user string) (*Subscription, error) {
	if err := ValidateRoom(room); err != nil {
		return nil, err
	}
	if err := ValidateUser(user); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	members := h.rooms[room]
	if len(members) >= h.maxMembers {
		return nil, ErrRoomFull
	}
	if members == nil {
		members = make(map[*Subscription]struct{})
		h.rooms[room] = members
	}
	h.joins++
	s := &Subscription{hub: h, room: room, user: user, joined: h.joins, ch: make(chan Message, h.buffer)}
	members[s] = struct{}{}
	return s, nil
}

// Publish sends content from user to every member of room, the sender
// included if it joined, and returns the message as sent. A room without
// members is not an error: the message reaches no one.
func (h *Hub) Publish(room, user, content string) (Message, error) {
	if err := ValidateRoom(room); err != nil {
		return Message{}, err
	}
	if err := ValidateUser(user); err != nil {
		return Message{}, err
	}
	if err := validateContent(content); err != nil {
		return Message{}, err
	}
	m := Message{
		ID:      h.idPrefix + strconv.FormatUint(h.seq.Add(1), 10),
		RoomID:  room,
		UserID:  user,
		Content: content,
		Time:    h.now(),
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return Message{}, ErrClosed
	}
	for s := range h.rooms[room] {
		select {
		case s.ch <- m:
		default:
			// Waiting here would let one stuck member stop the room.
			h.removeLocked(s, ErrSlowConsumer)
		}
	}
	return m, nil
}

// Members returns the user IDs of room's members in the order they
// joined; a user who joined twice is named twice.
func (h *Hub) Members(room string) []string {
	h.mu.Lock()
	subs := make([]*Subscription, 0, len(h.rooms[room]))
	for s := range h.rooms[room] {
		subs = append(subs, s)
	}
	h.mu.Unlock()
	slices.SortFunc(subs, func(a, b *Subscription) int { return cmp.Compare(a.joined, b.joined) })
	users := make([]string, len(subs))
	for i, s := range subs {
		users[i] = s.user
	}
	return users
}

// Close closes every member's channel with ErrClosed and refuses new
// members and messages. It may be called more than once.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for _, members := range h.rooms {
		for s := range members {
			h.removeLocked(s, ErrClosed)
		}
	}
}

// removeLocked takes s out of its room and closes its channel with err.
func (h *Hub) removeLocked(s *Subscription, err error) {
	if s.closed {
		return
	}
	s.closed, s.err = true, err
	close(s.ch)
	members := h.rooms[s.room]
	delete(members, s)
	if len(members) == 0 {
		delete(h.rooms, s.room) // rooms live as long as their members
	}
}

// ValidateRoom checks a room ID: 1 to MaxRoomLen bytes of UTF-8 without
// control characters.
func ValidateRoom(room string) error {
	if room == "" {
		return v1.ErrorRoomRequired("chat: room is required")
	}
	if len(room) > MaxRoomLen || !printable(room) {
		return v1.ErrorInvalidRoom("chat: room must be 1 to %d printable characters", MaxRoomLen)
	}
	return nil
}

// ValidateUser checks a user ID: at most MaxUserLen bytes of UTF-8
// without control characters; "" is an anonymous member.
func ValidateUser(user string) error {
	if len(user) > MaxUserLen || !printable(user) {
		return v1.ErrorInvalidMessage("chat: user_id must be at most %d printable characters", MaxUserLen)
	}
	return nil
}

func validateContent(content string) error {
	if content == "" {
		return v1.ErrorInvalidMessage("chat: content is required")
	}
	if len(content) > MaxContentLen {
		return v1.ErrorMessageTooLong("chat: content is longer than %d bytes", MaxContentLen)
	}
	if !utf8.ValidString(content) {
		return v1.ErrorInvalidMessage("chat: content is not valid UTF-8")
	}
	return nil
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}
