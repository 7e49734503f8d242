// Package page turns the page and page_size of a List request into an
// offset and a limit, the same way for every shop service.
//
//	offset, limit := page.Bounds(req.Page, req.PageSize) // 1, 0 -> 0, 20
package page

// DefaultSize is the page size of a request without one; MaxSize is the
// largest page a request gets, whatever it asks for.
const (
	DefaultSize = 20
	MaxSize     = 100
)

// Bounds returns the offset and limit of page number (from 1; below 1
// means 1) of size (below 1 means DefaultSize, above MaxSize means
// MaxSize).
func Bounds(number, size int32) (offset, limit int) {
	limit = int(size)
	switch {
	case limit < 1:
		limit = DefaultSize
	case limit > MaxSize:
		limit = MaxSize
	}
	if number < 1 {
		number = 1
	}
	return (int(number) - 1) * limit, limit
}
