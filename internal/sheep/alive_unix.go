//go:build unix

package sheep

import (
	"errors"
	"net"
	"syscall"
)

// alive tells whether an idle connection is still open. Sheep sends nothing
// unasked, so a non-blocking peek that would block means open; EOF (a sheep
// that restarted closed it), unsolicited bytes or an error mean not. (A read
// deadline in the past cannot tell: Go then fails the read without looking
// at the socket.)
func alive(conn net.Conn) bool {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		var b [1]byte
		_, _, rerr = syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true // never wait for readiness
	})
	if err != nil {
		return false
	}
	// Only "nothing to read yet" is alive: a nil error means EOF or data.
	return errors.Is(rerr, syscall.EAGAIN) || errors.Is(rerr, syscall.EWOULDBLOCK)
}
