//go:build !linux && !darwin

package checks

import "errors"

func statfs(string) (DiskUsage, error) {
	return DiskUsage{}, errors.New("statfs is not supported on this platform")
}
