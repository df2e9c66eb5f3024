//go:build !linux

package e2e

import "os/exec"

// dieWithParent has no portable equivalent of Linux's parent-death signal;
// elsewhere a killed test run may leave its services running.
func dieWithParent(*exec.Cmd) {}
