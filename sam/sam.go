package sam

import (
	"context"

	"github.com/tes-project/tes/felica"
)

// SAM is what a flow needs to authenticate to a card and talk to it over a
// secure session, in the order a flow calls it:
//
//	BeginAuth    (node list and key versions)  → Authentication1 v2 command
//	ContinueAuth (Authentication1 v2 answer)   → Authentication2 v2 command
//	FinishAuth   (Authentication2 v2 answer)   → authenticated
//	SealRead / SealWrite (blocks)              → Read v2 / Write v2 command
//	Open         (Read v2 / Write v2 answer)   → status flags and block data
//
// Every call takes and returns the session's state as an opaque, sealed byte
// string: the caller stores it between HTTP calls (in the session record) and
// hands it back on the next call; it never sees a key. Frames in and out are
// framed as the AuthRequest said (with or without LEN).
//
// Several secure commands may be sealed before any answer is opened (one
// batch): each SealRead/SealWrite reserves the answer's transaction number, so
// that the card accepts them in order. Open the answers in the order the
// commands were sealed; an answer that never came is skipped over.
//
// Implementations must be safe for concurrent use, and return the sentinel
// errors of this package. The software SAM (Software) is one; a hardware SAM
// or an HSM service is another (see the package documentation).
type SAM interface {
	BeginAuth(ctx context.Context, req AuthRequest) (Step, error)
	ContinueAuth(ctx context.Context, state, answer []byte) (Step, error)
	FinishAuth(ctx context.Context, state, answer []byte) (Authenticated, error)
	SealRead(ctx context.Context, state []byte, blocks []felica.BlockElement) (Step, error)
	SealWrite(ctx context.Context, state []byte, blocks []felica.BlockElement, data []byte) (Step, error)
	Open(ctx context.Context, state, answer []byte) (Opened, error)
}

// AuthRequest starts a mutual authentication with one card.
type AuthRequest struct {
	// Issuer names the key file (<Issuer>.json) whose keys are used.
	Issuer string
	// IDm is the card's; it selects the individualisation code.
	IDm felica.IDm
	// Nodes is the Authentication1 v2 node list (1..16), in the order the group
	// key chains them; the block elements of later secure commands index it.
	Nodes []felica.NodeCode
	// KeyVersions holds the card's key version of each node, as Request Service
	// v2 reported them (AES versions), one per node.
	KeyVersions []uint16
	// Framing of every frame of this session, in and out.
	Framing felica.Framing
}

// Step is a command frame to send to the card and the session state to keep.
type Step struct {
	Frame []byte
	State []byte
}

// Authenticated is the end of a successful mutual authentication: the state of
// the session and what the card revealed in its Authentication2 v2 answer.
type Authenticated struct {
	State []byte
	// IDi and PMi are the card's issue ID and parameters, decrypted and
	// authenticated (not secret, but only now trustworthy).
	IDi felica.IDm
	PMi felica.PMm
}

// Opened is a Read v2 or Write v2 answer, authenticated and decrypted.
type Opened struct {
	State []byte
	// Code is the answer's code: felica.CodeReadV2Response or CodeWriteV2Response.
	Code felica.Code
	// Status is the card's status flags; block-level refusals are here, not in
	// the error.
	Status felica.Status
	// Data holds 16 bytes per block read (Read v2 with status OK), else nil.
	Data []byte
}
