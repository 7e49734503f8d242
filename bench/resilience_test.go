package bench

import (
	"testing"

	"github.com/zelos-go/zelos/resilience/bbr"
	"github.com/zelos-go/zelos/resilience/breaker"
	"github.com/zelos-go/zelos/resilience/bucket"
)

// BenchmarkResilience measures one admission decision plus its completion,
// what the ratelimit and circuitbreaker middleware pay per request: Allow
// and Done for the token bucket (global and keyed) and BBR, Allow and
// Success for both breakers. Each must be 0 allocs/op.
func BenchmarkResilience(b *testing.B) {
	b.Run("bucket", func(b *testing.B) {
		bk := bucket.New(1<<30, 1) // never empty: measure the admit path
		b.ReportAllocs()
		for b.Loop() {
			if !bk.Allow() {
				b.Fatal("rejected")
			}
		}
	})
	b.Run("bucket/keyed", func(b *testing.B) {
		k := bucket.NewKeyed(1<<30, 1)
		b.ReportAllocs()
		for b.Loop() {
			if !k.Allow("user-42") {
				b.Fatal("rejected")
			}
		}
	})
	b.Run("bbr", func(b *testing.B) {
		l := bbr.New(bbr.WithCPU(bbr.CPUFunc(func() float64 { return 0.9 }))) // hot CPU: the full check
		b.ReportAllocs()
		for b.Loop() {
			t, err := l.Allow()
			if err != nil {
				b.Fatal(err)
			}
			l.Done(t)
		}
	})
	b.Run("bbr/parallel", func(b *testing.B) {
		l := bbr.New(bbr.WithCPU(bbr.CPUFunc(func() float64 { return 0.9 })))
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if t, err := l.Allow(); err == nil {
					l.Done(t)
				}
			}
		})
	})
	for _, tc := range []struct {
		name string
		new  func() breaker.Breaker
	}{
		{"breaker/ratio", func() breaker.Breaker { return breaker.NewRatio(0.6) }},
		{"breaker/sre", func() breaker.Breaker { return breaker.NewSRE() }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			br := tc.new()
			b.ReportAllocs()
			for b.Loop() {
				t, err := br.Allow()
				if err != nil {
					b.Fatal(err)
				}
				br.Success(t)
			}
		})
	}
}

// TestResilienceZeroAllocs holds the benchmarks' 0 allocs/op claim in the
// test run.
func TestResilienceZeroAllocs(t *testing.T) {
	bk := bucket.New(1<<30, 1)
	k := bucket.NewKeyed(1<<30, 1)
	l := bbr.New(bbr.WithCPU(bbr.CPUFunc(func() float64 { return 0.9 })))
	ratio, sre := breaker.NewRatio(0.6), breaker.NewSRE()
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"bucket", func() { bk.Allow() }},
		{"bucket/keyed", func() { k.Allow("user-42") }},
		{"bbr", func() {
			if tk, err := l.Allow(); err == nil {
				l.Done(tk)
			}
		}},
		{"breaker/ratio", func() {
			if tk, err := ratio.Allow(); err == nil {
				ratio.Success(tk)
			}
		}},
		{"breaker/sre", func() {
			if tk, err := sre.Allow(); err == nil {
				sre.Success(tk)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(1000, tc.f); n != 0 {
				t.Fatalf("%v allocs per Allow+done, want 0", n)
			}
		})
	}
}
