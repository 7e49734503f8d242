package v1

import "fmt"

// maxNameLen bounds HelloRequest.Name.
const maxNameLen = 64

// Validate checks a HelloRequest; the validate middleware calls it and turns
// a failure into a 400 with reason VALIDATOR.
func (x *HelloRequest) Validate() error {
	switch {
	case x.GetName() == "":
		return fmt.Errorf("name: must not be empty")
	case len(x.GetName()) > maxNameLen:
		return fmt.Errorf("name: %d characters, at most %d allowed", len(x.GetName()), maxNameLen)
	case x.GetCount() < 0 || x.GetCount() > 100:
		return fmt.Errorf("count: %d out of range [0, 100]", x.GetCount())
	}
	return nil
}
