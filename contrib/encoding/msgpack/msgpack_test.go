package msgpack_test

import (
	"bytes"
	"context"
	"io"
	"net"
	nethttp "net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	vm "github.com/vmihailenco/msgpack/v5"
	"go.uber.org/goleak"

	"github.com/zelos-go/zelos/contrib/encoding/msgpack"
	"github.com/zelos-go/zelos/encoding"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/transport/http"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type order struct {
	ID     string   `json:"id"`
	Amount int64    `json:"amount_minor"`
	Items  []string `json:"items"`
}

func TestRegisteredAndRoundTrip(t *testing.T) {
	c := encoding.GetCodec("msgpack")
	if c == nil || c.Name() != msgpack.Name {
		t.Fatalf("codec = %v", c)
	}
	in := order{ID: "o-1", Amount: 1999, Items: []string{"a", "b"}}
	b, err := c.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	// Field names come from the json tags.
	var raw map[string]any
	if err := vm.Unmarshal(b, &raw); err != nil || raw["amount_minor"] == nil {
		t.Fatalf("raw = %v, %v", raw, err)
	}
	var out order
	if err := c.Unmarshal(b, &out); err != nil || out.ID != "o-1" || out.Amount != 1999 || len(out.Items) != 2 {
		t.Fatalf("out = %+v, %v", out, err)
	}
}

func TestErrorsNameThePackage(t *testing.T) {
	c := encoding.GetCodec("msgpack")
	var out order
	if err := c.Unmarshal([]byte{0xc1}, &out); err == nil || !strings.HasPrefix(err.Error(), "msgpack: unmarshal into *msgpack_test.order") {
		t.Fatalf("err = %v", err)
	}
	if _, err := c.Marshal(make(chan int)); err == nil || !strings.HasPrefix(err.Error(), "msgpack: marshal chan int") {
		t.Fatalf("err = %v", err)
	}
}

func TestLengthBomb(t *testing.T) {
	// array32 claiming 2^32-1 elements, then nothing: must fail without
	// allocating for the claimed length.
	bomb := []byte{0xdd, 0xff, 0xff, 0xff, 0xff}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var out []int64
	if err := encoding.GetCodec("msgpack").Unmarshal(bomb, &out); err == nil {
		t.Fatal("no error for a truncated array")
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Fatalf("a 5-byte input allocated %d MiB", grew>>20)
	}
}

func TestLargeBodyLinear(t *testing.T) {
	// 4 MiB of map entries decodes well within the 1 s (10 s allowed
	// here for -race on a loaded machine).
	m := make(map[string]int, 220_000)
	for i := range 220_000 {
		m["key-"+strings.Repeat("x", i%8)+string(rune('a'+i%26))+itoa(i)] = i
	}
	b, _ := vm.Marshal(m)
	start := time.Now()
	var out map[string]int
	if err := encoding.GetCodec("msgpack").Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("decoding %d KiB took %v", len(b)>>10, d)
	}
	t.Logf("decoded %d KiB in %v", len(b)>>10, time.Since(start))
}

func itoa(i int) string {
	var b [20]byte
	n := len(b)
	for {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			return string(b[n:])
		}
	}
}

func TestHTTPBindAndReply(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := http.NewServer(http.Listener(lis), http.Logger(log.NewStdLogger(io.Discard)), http.RequestCodecs("json", "msgpack"))
	srv.Route("/").POST("/orders", func(ctx http.Context) error {
		var in order
		if err := ctx.Bind(&in); err != nil {
			return err
		}
		in.ID = "created-" + in.ID
		return ctx.Result(200, &in)
	})
	done := make(chan error, 1)
	go func() { done <- srv.Start(context.Background()) }()
	defer func() {
		_ = srv.Stop(context.Background())
		<-done
	}()
	body, _ := encoding.GetCodec("msgpack").Marshal(order{ID: "1", Amount: 500, Items: []string{"book"}})
	req, _ := nethttp.NewRequest("POST", "http://"+lis.Addr().String()+"/orders", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/msgpack")
	req.Header.Set("Accept", "application/msgpack")
	res, err := nethttp.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/msgpack" {
		t.Fatalf("status %d, content type %q: %q", res.StatusCode, res.Header.Get("Content-Type"), b)
	}
	var out order
	if err := encoding.GetCodec("msgpack").Unmarshal(b, &out); err != nil || out.ID != "created-1" || out.Amount != 500 {
		t.Fatalf("reply = %+v, %v", out, err)
	}

	// Malformed MessagePack is a 400 with the structured body.
	req, _ = nethttp.NewRequest("POST", "http://"+lis.Addr().String()+"/orders", bytes.NewReader([]byte{0xc1, 0x00}))
	req.Header.Set("Content-Type", "application/msgpack")
	res, err = nethttp.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ = io.ReadAll(res.Body)
	if res.StatusCode != 400 || !bytes.Contains(b, []byte(`"code":400`)) {
		t.Fatalf("malformed body: %d %s", res.StatusCode, b)
	}
}

func FuzzUnmarshal(f *testing.F) {
	seed, _ := vm.Marshal(order{ID: "x", Amount: 1, Items: []string{"a"}})
	f.Add(seed)
	f.Add([]byte{0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0xdf, 0x7f, 0xff, 0xff, 0xff})
	c := encoding.GetCodec("msgpack")
	f.Fuzz(func(t *testing.T, data []byte) {
		var o order
		_ = c.Unmarshal(data, &o)
		var anyv any
		_ = c.Unmarshal(data, &anyv)
	})
}

func TestDeepNesting(t *testing.T) {
	deep := bytes.Repeat([]byte{0x91}, 5<<20) // 5M nested one-element arrays
	var out any
	if err := encoding.GetCodec("msgpack").Unmarshal(append(deep, 0x01), &out); err == nil || !strings.Contains(err.Error(), "nesting deeper") {
		t.Fatalf("err = %v, want a nesting error", err)
	}
}

func TestCheckAcceptsEveryType(t *testing.T) {
	v := map[string]any{
		"nil": nil, "t": true, "f": false, "i8": int8(-100), "i16": int16(-1000), "i32": int32(-100000), "i64": int64(-1 << 40),
		"u8": uint8(200), "u16": uint16(60000), "u32": uint32(1 << 30), "u64": uint64(1 << 50), "f32": float32(1.5), "f64": 2.5,
		"s": strings.Repeat("x", 40), "s16": strings.Repeat("y", 300), "s32": strings.Repeat("z", 70000),
		"bin": []byte{1, 2, 3}, "bin16": make([]byte, 300), "bin32": make([]byte, 70000),
		"arr": []any{1, "a"}, "arr16": make([]any, 20), "map16": map[string]int{"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6, "g": 7, "h": 8, "i": 9, "j": 10, "k": 11, "l": 12, "m": 13, "n": 14, "o": 15, "p": 16},
		"time": time.Unix(1, 5), "neg": -5,
	}
	b, err := vm.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := encoding.GetCodec("msgpack").Unmarshal(b, &out); err != nil {
		t.Fatalf("valid input refused: %v", err)
	}
	if err := encoding.GetCodec("msgpack").Unmarshal(append(b, 0x00), &out); err == nil {
		t.Fatal("trailing bytes accepted")
	}
	for i := 0; i < len(b); i += 1 + i/64 { // truncations fail cleanly
		if err := encoding.GetCodec("msgpack").Unmarshal(b[:i], &out); err == nil {
			t.Fatalf("input truncated to %d bytes accepted", i)
		}
	}
}
