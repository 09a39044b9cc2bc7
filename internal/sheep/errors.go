package sheep

import (
	"errors"
	"fmt"
)

// Result codes of include/sheepdog_proto.h. Those marked "recorded" were
// seen on a real sheep (sheepdog.md §6, §10); the others only name codes in
// error messages.
const (
	ResSuccess      uint32 = 0x00 // recorded
	ResUnknown      uint32 = 0x01
	ResNoObj        uint32 = 0x02
	ResEIO          uint32 = 0x03 // recorded
	ResVDIExist     uint32 = 0x04 // recorded
	ResInvalidParms uint32 = 0x05 // recorded
	ResSystemError  uint32 = 0x06
	ResVDILocked    uint32 = 0x07
	ResNoVDI        uint32 = 0x08 // recorded
	ResNoBaseVDI    uint32 = 0x09
	ResNoTag        uint32 = 0x0E // recorded
	ResStartup      uint32 = 0x0F
	ResShutdown     uint32 = 0x11
	ResNoMem        uint32 = 0x12
	ResFullVDI      uint32 = 0x13
	ResVerMismatch  uint32 = 0x14 // recorded
	ResNoSpace      uint32 = 0x15 // recorded
	ResWaitForFmt   uint32 = 0x16 // recorded
	ResWaitForJoin  uint32 = 0x17 // recorded
	ResJoinFailed   uint32 = 0x18
	ResHalt         uint32 = 0x19
	ResReadOnly     uint32 = 0x1A // recorded
)

// Sentinels for the result codes a caller acts on. A *ResultError with one
// of these codes matches it with errors.Is.
var (
	ErrVDIExists     = errors.New("VDI exists already")
	ErrNoVDI         = errors.New("no VDI found")
	ErrNoTag         = errors.New("failed to find requested tag")
	ErrNoSpace       = errors.New("server has no room for new objects")
	ErrWaitForFormat = errors.New("waiting for cluster to be formatted")
	ErrWaitForJoin   = errors.New("waiting for other nodes to join cluster")
	ErrIO            = errors.New("I/O error")
	ErrInvalidParms  = errors.New("invalid parameters")
	ErrReadOnly      = errors.New("object is read-only")
	ErrVerMismatch   = errors.New("protocol version mismatch")
)

// Errors of the client itself.
var (
	// ErrUnreachable: the sheep could not be dialled, did not answer within
	// the timeout or the context, or dropped the connection.
	ErrUnreachable = errors.New("sheep unreachable")
	// ErrProtocol: a short, oversized or otherwise garbled reply.
	ErrProtocol = errors.New("sheep protocol error")
	// ErrClosed: the Client was closed.
	ErrClosed = errors.New("sheep client closed")
	// ErrTagExists: Snapshot was asked for a tag the VDI already has (dog:
	// "maybe snapshot id (0) or tag (…) is existed").
	ErrTagExists = errors.New("snapshot tag exists already")
)

var resultSentinel = map[uint32]error{
	ResEIO:          ErrIO,
	ResVDIExist:     ErrVDIExists,
	ResInvalidParms: ErrInvalidParms,
	ResNoVDI:        ErrNoVDI,
	ResNoTag:        ErrNoTag,
	ResVerMismatch:  ErrVerMismatch,
	ResNoSpace:      ErrNoSpace,
	ResWaitForFmt:   ErrWaitForFormat,
	ResWaitForJoin:  ErrWaitForJoin,
	ResReadOnly:     ErrReadOnly,
}

var resultText = map[uint32]string{
	ResUnknown:     "unknown error",
	ResNoObj:       "no object found",
	ResSystemError: "system error",
	ResVDILocked:   "VDI is locked",
	ResNoBaseVDI:   "no base VDI found",
	ResStartup:     "sheepdog is starting up",
	ResShutdown:    "sheepdog is shutting down",
	ResNoMem:       "cannot allocate memory",
	ResFullVDI:     "maximum number of VDIs reached",
	ResJoinFailed:  "node failed to join sheepdog",
	ResHalt:        "sheepdog stopped doing I/O",
}

// ResultError is a non-zero result code in a sheep reply. Unwrap gives the
// sentinel of the code when there is one (errors.Is(err, ErrNoVDI)); any
// other code, known by name or not, stays an error.
type ResultError struct {
	Op   string // what the client was doing, e.g. "NEW_VDI volume-1"
	Code uint32
}

func (e *ResultError) Error() string {
	return fmt.Sprintf("sheep %s: %s (result %#02x)", e.Op, ResultText(e.Code), e.Code)
}

// Unwrap returns the sentinel of the code, or nil.
func (e *ResultError) Unwrap() error { return resultSentinel[e.Code] }

// ResultText is the meaning of a result code, "unknown result code" when it
// is not one of sheepdog_proto.h's.
func ResultText(code uint32) string {
	if s, ok := resultSentinel[code]; ok {
		return s.Error()
	}
	if s, ok := resultText[code]; ok {
		return s
	}
	return "unknown result code"
}

func resultErr(op string, code uint32) error {
	if code == ResSuccess {
		return nil
	}
	return &ResultError{Op: op, Code: code}
}
