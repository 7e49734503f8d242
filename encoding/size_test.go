package encoding_test

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/typepb"

	"github.com/zelos-go/zelos/encoding"
	_ "github.com/zelos-go/zelos/encoding/form"
	_ "github.com/zelos-go/zelos/encoding/json"
	_ "github.com/zelos-go/zelos/encoding/xml"
	_ "github.com/zelos-go/zelos/encoding/yaml"
)

// bodySize is the largest request body the HTTP transport accepts by
// default; each codec must decode or reject one in under 1 s.
const bodySize = 4 << 20

// cpuBound is the CPU time a test allows one decode: loose, because CI
// runs tests with -race on a loaded 2-core machine. Every case here takes
// well under 1 s without the race detector.
const cpuBound = 10 * time.Second

// cpuTime is the user and system CPU time this process has used so far.
// CPU time rather than wall time, because other jobs on a shared CI
// machine stretch wall time but not our CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// repeat writes head, then item formatted with 0, 1, 2, ... for as long as
// the result stays within bodySize, then tail.
func repeat(head, item, tail string) []byte {
	var b strings.Builder
	b.WriteString(head)
	for i := 0; ; i++ {
		s := fmt.Sprintf(item, i)
		if b.Len()+len(s)+len(tail) > bodySize {
			break
		}
		b.WriteString(s)
	}
	b.WriteString(tail)
	return []byte(b.String())
}

type formTarget struct {
	IDs    []int             `form:"ids"`
	Labels map[string]string `form:"labels"`
	Name   string            `form:"name"`
}

type xmlTarget struct {
	Items []string `xml:"item"`
	Name  string   `xml:"name"`
}

// TestLargeBodiesDecodeInLinearTime decodes 4 MiB bodies in the shapes that
// make decoders super-linear: many keys in one object, many values for one
// field, deep nesting. A failure to decode is fine (such as a depth limit);
// taking long is not.
func TestLargeBodiesDecodeInLinearTime(t *testing.T) {
	deep := func(open, close string) []byte {
		n := bodySize / (len(open) + len(close))
		return []byte(strings.Repeat(open, n) + strings.Repeat(close, n))
	}
	for _, tc := range []struct {
		codec, name string
		body        []byte
		v           func() any
	}{
		{"json", "many keys into Struct", repeat("{", `"k%d":1,`, `"z":1}`), func() any { return new(structpb.Struct) }},
		{"json", "many keys into map", repeat("{", `"k%d":1,`, `"z":1}`), func() any { return new(map[string]any) }},
		{"json", "long list into message", repeat(`{"oneofs":[`, `"o%d",`, `"z"]}`), func() any { return new(typepb.Type) }},
		{"json", "deep nesting", deep("[", "]"), func() any { return new(structpb.Value) }},
		{"json", "deep nesting into any", deep("[", "]"), func() any { return new(any) }},
		{"form", "many keys", repeat("", "k%d=1&", "z=1"), func() any { return new(formTarget) }},
		{"form", "many values", repeat("", "ids=%d&", "ids=1"), func() any { return new(formTarget) }},
		{"form", "many map keys", repeat("", "labels[k%d]=1&", "name=x"), func() any { return new(formTarget) }},
		{"form", "many values into message", repeat("", "oneofs=%d&", "name=x"), func() any { return new(typepb.Type) }},
		{"form", "many messages", repeat("", "fields.name=%d&", "name=x"), func() any { return new(typepb.Type) }},
		{"xml", "many elements", repeat("<x>", "<item>%d</item>", "</x>"), func() any { return new(xmlTarget) }},
		{"xml", "deep nesting", deep("<a>", "</a>"), func() any { return new(xmlTarget) }},
		{"yaml", "too large", repeat("", "k%d: 1\n", ""), func() any { return new(structpb.Struct) }},
	} {
		t.Run(tc.codec+"/"+tc.name, func(t *testing.T) {
			c := encoding.GetCodec(tc.codec)
			start, startCPU := time.Now(), cpuTime()
			done := make(chan error, 1)
			go func() { done <- c.Unmarshal(tc.body, tc.v()) }()
			var err error
			select {
			case err = <-done:
			case <-time.After(time.Minute):
				t.Fatal("still decoding after a minute")
			}
			wall, cpu := time.Since(start), cpuTime()-startCPU
			msg := "<nil>"
			if err != nil {
				msg = err.Error()
				if len(msg) > 80 {
					msg = msg[:80] + "..."
				}
			}
			t.Logf("%d bytes in %v (%v CPU): %s", len(tc.body), wall, cpu, msg)
			if cpu > cpuBound {
				t.Errorf("took %v of CPU time, want at most %v", cpu, cpuBound)
			}
		})
	}
}
