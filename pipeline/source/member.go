package source

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
)

// A process killed with SIGKILL leaves its group member behind: the
// coordinator waits for the member's session to time out, and then for
// the rebalance, before anyone reads its partitions again (about a
// minute with the defaults). kafka-go cannot rejoin as the same member
// (static membership), so each process on a host records its member id
// in a slot file it holds a lock on. A process starting takes a free
// slot: a free slot's lock was released by the process's death, so the
// member it names is dead, and is made to leave the group at once.
// Processes running side by side hold different slots, so none ever
// evicts a live member.

// maxSlots bounds the slots per group and state directory.
const maxSlots = 64

// memberSlot is a slot file held locked for the process's lifetime.
type memberSlot struct {
	f *os.File
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// takeSlot locks the first free slot of group under dir ("" for the
// system's temporary directory).
func takeSlot(dir, group string) (*memberSlot, error) {
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "cdrpipe")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("member slots: %w", err)
	}
	base := filepath.Join(dir, "member-"+unsafeName.ReplaceAllString(group, "_"))
	for i := range maxSlots {
		f, err := os.OpenFile(fmt.Sprintf("%s.%d", base, i), os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("member slots: %w", err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			continue
		}
		return &memberSlot{f: f}, nil
	}
	return nil, fmt.Errorf("member slots: all %d slots of %s are held", maxSlots, base)
}

// member returns the member id the slot's last holder recorded.
func (s *memberSlot) member() string {
	if s == nil {
		return ""
	}
	b := make([]byte, 512)
	n, _ := s.f.ReadAt(b, 0)
	return strings.TrimSpace(string(b[:n]))
}

// set records the member id this process joined as.
func (s *memberSlot) set(member string) {
	if s == nil {
		return
	}
	_ = s.f.Truncate(0)
	_, _ = s.f.WriteAt([]byte(member+"\n"), 0)
}

// release forgets the member (it left the group) and unlocks the slot.
func (s *memberSlot) release() {
	if s == nil {
		return
	}
	_ = s.f.Truncate(0)
	s.f.Close()
}
