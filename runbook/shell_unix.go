//go:build unix

package runbook

import (
	"os/exec"
	"syscall"
)

// setProcessGroup puts the shell in its own process group so that a
// timeout kills its children too.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
