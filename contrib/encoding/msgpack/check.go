package msgpack

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// maxDepth bounds the nesting of arrays and maps. The decoder recurses per
// level, so without a bound a few megabytes of nested one-element arrays
// would exhaust the goroutine's stack and kill the process.
const maxDepth = 1000

var errTruncated = errors.New("truncated input")

// check walks one MessagePack value in data without decoding it, in one
// linear pass, and fails if a declared array, map, string or binary length
// exceeds the bytes that are left, if nesting goes deeper than maxDepth, or
// if bytes follow the value.
//
// It exists because msgpack/v5 allocates for a declared length before it
// reads the elements (v5.4.1 means to cap that, but the cap is never on for
// slices): five bytes claiming 2^32 elements made it ask for tens of GiB.
// Every element takes at least one byte, so a length above the bytes left is
// a lie, and refusing it here bounds every allocation by the input size.
func check(data []byte) error {
	// pending[i] is the number of values still to read at depth i.
	pending := make([]int, 1, 16)
	pending[0] = 1
	p := 0
	for len(pending) > 0 {
		if pending[len(pending)-1] == 0 {
			pending = pending[:len(pending)-1]
			continue
		}
		pending[len(pending)-1]--
		if p >= len(data) {
			return errTruncated
		}
		c := data[p]
		p++
		var size, items int // bytes of payload to skip, values to read
		switch {
		case c <= 0x7f, c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3:
		case c <= 0x8f:
			items = 2 * int(c&0x0f)
		case c <= 0x9f:
			items = int(c & 0x0f)
		case c <= 0xbf:
			size = int(c & 0x1f)
		case c == 0xc1:
			return fmt.Errorf("invalid code 0xc1 at byte %d", p-1)
		default:
			var n, extra int
			var err error
			switch c {
			case 0xc4, 0xd9: // bin8, str8
				n, err = readLen(data, &p, 1)
			case 0xc5, 0xda: // bin16, str16
				n, err = readLen(data, &p, 2)
			case 0xc6, 0xdb: // bin32, str32
				n, err = readLen(data, &p, 4)
			case 0xc7, 0xc8, 0xc9: // ext8, ext16, ext32: length, then a type byte
				n, err = readLen(data, &p, 1<<(c-0xc7))
				extra = 1
			case 0xca:
				n = 4
			case 0xcb:
				n = 8
			case 0xcc, 0xcd, 0xce, 0xcf:
				n = 1 << (c - 0xcc)
			case 0xd0, 0xd1, 0xd2, 0xd3:
				n = 1 << (c - 0xd0)
			case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext: type byte + 1..16
				n, extra = 1<<(c-0xd4), 1
			case 0xdc, 0xdd: // array16, array32
				items, err = readLen(data, &p, 2<<(c-0xdc))
			case 0xde, 0xdf: // map16, map32
				items, err = readLen(data, &p, 2<<(c-0xde))
				items *= 2
			}
			if err != nil {
				return err
			}
			size = n + extra
		}
		if size > len(data)-p {
			return fmt.Errorf("length %d at byte %d exceeds the %d bytes left", size, p, len(data)-p)
		}
		p += size
		if items > 0 {
			if items > len(data)-p {
				return fmt.Errorf("%d elements declared at byte %d, %d bytes left", items, p, len(data)-p)
			}
			if len(pending) >= maxDepth {
				return fmt.Errorf("nesting deeper than %d", maxDepth)
			}
			pending = append(pending, items)
		}
	}
	if p != len(data) {
		return fmt.Errorf("%d bytes after the value", len(data)-p)
	}
	return nil
}

// readLen reads a big-endian length of width bytes at *p.
func readLen(data []byte, p *int, width int) (int, error) {
	if len(data)-*p < width {
		return 0, errTruncated
	}
	b := data[*p : *p+width]
	*p += width
	switch width {
	case 1:
		return int(b[0]), nil
	case 2:
		return int(binary.BigEndian.Uint16(b)), nil
	}
	return int(binary.BigEndian.Uint32(b)), nil
}
