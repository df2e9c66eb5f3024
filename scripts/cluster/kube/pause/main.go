// Command pause is the pod sandbox's infrastructure container for the local
// cluster: it holds the pod's namespaces, reaps the children reparented to it
// and exits on SIGINT or SIGTERM. No registry is reachable here, so
// containerd's sandbox_image is built from it.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sig {
		if s != syscall.SIGCHLD {
			return
		}
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
