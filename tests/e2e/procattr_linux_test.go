package e2e

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel kill a service when the test process dies
// without stopping it (a -timeout panic, a kill), so no run leaves services
// behind. (The signal follows the OS thread that started the child; the Go
// runtime keeps its threads alive, so in practice that is the process.)
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
