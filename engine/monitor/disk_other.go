//go:build !(linux || darwin || freebsd)

package monitor

import (
	"errors"
	"fmt"
)

// DiskUsage is not implemented on this platform.
func DiskUsage(path string) (used float64, err error) {
	return 0, fmt.Errorf("disk usage of %s: %w", path, errors.ErrUnsupported)
}
