//go:build !unix

package store

import "os"

// processAlive reports whether a process with this pid exists on this
// host (on Windows FindProcess fails for a process that is gone).
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	_, err := os.FindProcess(pid)
	return err == nil
}
