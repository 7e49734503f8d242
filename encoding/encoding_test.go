package encoding_test

import (
	"sync"
	"testing"

	"github.com/zelos-go/zelos/encoding"
)

type testCodec struct{ name string }

func (c testCodec) Marshal(any) ([]byte, error) { return []byte(c.name), nil }
func (testCodec) Unmarshal([]byte, any) error   { return nil }
func (c testCodec) Name() string                { return c.name }

func TestRegistry(t *testing.T) {
	if encoding.GetCodec("zelos-test-missing") != nil {
		t.Error("unknown codec: want nil")
	}
	encoding.RegisterCodec(testCodec{"Zelos-Test"})
	for _, name := range []string{"zelos-test", "ZELOS-TEST", "Zelos-Test"} {
		if c := encoding.GetCodec(name); c == nil || c.Name() != "Zelos-Test" {
			t.Errorf("GetCodec(%q) = %v", name, c)
		}
	}
	// A later registration replaces an earlier one.
	encoding.RegisterCodec(testCodec{"zelos-test"})
	if c := encoding.GetCodec("zelos-test"); c.Name() != "zelos-test" {
		t.Errorf("after re-registering: %v", c.Name())
	}
}

func TestRegisterPanics(t *testing.T) {
	for name, c := range map[string]encoding.Codec{"nil": nil, "empty name": testCodec{""}} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("RegisterCodec did not panic")
				}
			}()
			encoding.RegisterCodec(c)
		})
	}
}

func TestConcurrentAccess(t *testing.T) {
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for range 100 {
				if i == 0 {
					encoding.RegisterCodec(testCodec{"zelos-race"})
				}
				encoding.GetCodec("zelos-race")
			}
		})
	}
	wg.Wait()
}
