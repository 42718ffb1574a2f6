//go:build !unix

package runbook

import "os/exec"

func setProcessGroup(*exec.Cmd) {}
