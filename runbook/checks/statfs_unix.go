//go:build linux || darwin

package checks

import "syscall"

func statfs(path string) (DiskUsage, error) {
	var s syscall.Statfs_t
	if err := syscall.Statfs(path, &s); err != nil {
		return DiskUsage{}, err
	}
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return DiskUsage{}, err
	}
	bs := uint64(s.Bsize)
	return DiskUsage{
		Total: uint64(s.Blocks) * bs,
		Avail: uint64(s.Bavail) * bs,
		Used:  (uint64(s.Blocks) - uint64(s.Bfree)) * bs,
		Dev:   uint64(st.Dev),
	}, nil
}
