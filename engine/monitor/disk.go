//go:build linux || darwin || freebsd

package monitor

import (
	"fmt"
	"syscall"
)

// DiskUsage returns the used share (0..1) of the filesystem holding path, as
// node_exporter's 1 − avail/size: space reserved for root counts as used,
// because the service cannot write there. It is one statfs call.
func DiskUsage(path string) (used float64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, fmt.Errorf("disk usage of %s: %w", path, err)
	}
	size := uint64(st.Blocks) * uint64(st.Bsize)
	if size == 0 {
		return 0, fmt.Errorf("disk usage of %s: filesystem reports zero size", path)
	}
	avail := uint64(st.Bavail) * uint64(st.Bsize)
	return 1 - float64(avail)/float64(size), nil
}
