package card

import (
	"errors"
	"fmt"
	"io"

	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/felica/secure"
)

// The card side of authenticated access (FELICA-SECURE.md): Request Service v2,
// Authentication1/2 v2 and Read/Write v2 (AES), Authentication1/2 and the encrypted
// Read/Write (DES). The card stays silent on anything it cannot authenticate: a
// wrong Challenge 2B, a bad MAC, a stale transaction number, a secure command
// outside an authenticated session, or a malformed plaintext behind a good MAC.
// Silence changes nothing. Block-level errors are answered inside the secure frame.

// Encryption identifiers of Request Service v2.
const (
	encryptionAES    = 0x4F // AES only
	encryptionAESDES = 0x41 // AES and DES: AES versions, then DES versions
)

// authMode is where the card is in authentication, as Request Response reports it.
type authMode uint8

const (
	modeIdle    authMode = 0 // no authentication
	modeAuth1   authMode = 1 // Authentication1 (v2) answered, waiting for 2
	modeSession authMode = 2 // authenticated: secure commands accepted
)

// authState is the card's authentication state. Called only with the card's mu held.
type authState struct {
	mode authMode
	des  bool // the legacy DES authentication, not AES
	// nodes is the Authentication1 v2 node list (DES: the Authentication1 service
	// list): what the block elements of secure commands index.
	nodes []felica.NodeCode
	// Between Authentication1 and 2.
	aesAuth secure.AESAuth
	r1, r2  [16]byte
	c3c     [4]byte
	desAuth secure.DESAuth
	desR1   [8]byte
	desR2   [8]byte
	// In a session: the keys and the last transaction number used.
	aes   secure.AESSession
	desS  secure.DESSession
	lastT uint16
}

// reset drops the authentication, zeroing its keys.
func (a *authState) reset() {
	*a = authState{}
}

// errNotAuthentic is why the card stays silent on what it cannot authenticate.
var errNotAuthentic = errors.New("does not authenticate")

func (c *Card) requestServiceV2(frame []byte) ([]byte, error) {
	cmd, err := felica.ParseRequestServiceV2Command(frame, c.settings.Framing)
	if err != nil {
		return nil, err
	}
	if err := c.addressed(cmd.IDm); err != nil {
		return nil, err
	}
	if !c.nodes.hasAES {
		return nil, errors.New("Request Service v2 on a card without AES keys")
	}
	r := felica.RequestServiceV2Response{IDm: c.idm}
	if len(cmd.Nodes) < 1 || len(cmd.Nodes) > felica.MaxRequestServiceNodes {
		r.Status = felica.Status{SF1: 1, SF2: felica.SF2ServiceCount}
		return r.Append(nil, c.settings.Framing)
	}
	r.EncryptionID = encryptionAES
	if c.nodes.hasDES {
		r.EncryptionID = encryptionAESDES
		r.DESKeyVersions = make([]uint16, len(cmd.Nodes))
	}
	r.AESKeyVersions = make([]uint16, len(cmd.Nodes))
	for i, node := range cmd.Nodes {
		keys, version, _ := c.nodes.nodeKeys(node)
		r.AESKeyVersions[i] = felica.KeyVersionNone
		if keys.AES != nil {
			r.AESKeyVersions[i] = version
		}
		if r.DESKeyVersions != nil {
			r.DESKeyVersions[i] = felica.KeyVersionNone
			if keys.DES != nil {
				r.DESKeyVersions[i] = version
			}
		}
	}
	return r.Append(nil, c.settings.Framing)
}

// challenge reads the card's random values.
func (c *Card) challenge(dst ...[]byte) error {
	for _, b := range dst {
		if _, err := io.ReadFull(c.settings.Rand, b); err != nil {
			return fmt.Errorf("card challenge: %w", err)
		}
	}
	return nil
}

func (c *Card) auth1V2(frame []byte) ([]byte, error) {
	cmd, err := felica.ParseAuth1V2Command(frame, c.settings.Framing)
	if err != nil {
		return nil, err
	}
	if err := c.addressed(cmd.IDm); err != nil {
		return nil, err
	}
	if cmd.OpParam != 0 {
		return nil, fmt.Errorf("operation parameter %02X, only 00 is known", cmd.OpParam)
	}
	if len(cmd.Nodes) < 1 || len(cmd.Nodes) > felica.MaxAuthNodes {
		return nil, fmt.Errorf("%d nodes, want 1..%d", len(cmd.Nodes), felica.MaxAuthNodes)
	}
	keys := make([]secure.AESKey, len(cmd.Nodes))
	for i, node := range cmd.Nodes {
		k, _, ok := c.nodes.nodeKeys(node)
		if !ok || k.AES == nil {
			return nil, fmt.Errorf("node %s has no AES key", node)
		}
		keys[i] = *k.AES
	}
	c.auth.reset()
	a := &c.auth
	a.aesAuth = secure.NewAESAuth(secure.AESGroupKey(keys), c.individual, c.idm)
	clear(keys)
	if err := c.challenge(a.r2[:], a.c3c[:]); err != nil {
		c.auth.reset()
		return nil, err
	}
	r1, c1b, c2a := a.aesAuth.AnswerAuth1(cmd.Challenge1A, a.r2, a.c3c)
	a.mode, a.r1, a.nodes = modeAuth1, r1, cmd.Nodes
	r := felica.Auth1V2Response{IDm: c.idm, Challenge1B: c1b, Challenge2A: c2a, Challenge3C: a.c3c}
	return r.Append(nil, c.settings.Framing)
}

func (c *Card) auth2V2(frame []byte) ([]byte, error) {
	cmd, err := felica.ParseAuth2V2Command(frame, c.settings.Framing)
	if err != nil {
		return nil, err
	}
	if err := c.addressed(cmd.IDm); err != nil {
		return nil, err
	}
	a := &c.auth
	if a.mode != modeAuth1 || a.des {
		return nil, errors.New("Authentication2 v2 without Authentication1 v2")
	}
	if !a.aesAuth.CheckChallenge2B(cmd.Challenge2B, a.r2) {
		return nil, fmt.Errorf("challenge 2B %w", errNotAuthentic)
	}
	session := secure.NewAESSession(a.r1, a.r2, a.c3c)
	id := append(c.idi[:len(c.idi):len(c.idi)], c.pmi[:]...)
	payload, mac, err := session.Seal(felica.CodeAuth2V2Response, 0, id)
	if err != nil {
		return nil, err
	}
	answer, err := felica.Auth2V2Response{Transaction: 0, Payload: [16]byte(payload), MAC: mac}.Append(nil, c.settings.Framing)
	if err != nil {
		return nil, err
	}
	nodes := a.nodes
	a.reset()
	a.mode, a.nodes, a.aes = modeSession, nodes, session
	return answer, nil
}

// freshTN checks a secure command's transaction number: above the last one, and
// below FFFF so that the answer's TN+1 fits (at FFFF the reader authenticates again).
func (a *authState) freshTN(tn uint16) error {
	if tn <= a.lastT || tn == 0xFFFF {
		return fmt.Errorf("transaction number %04X, last %04X: stale", tn, a.lastT)
	}
	return nil
}

func (c *Card) aesSession() (*authState, error) {
	if c.auth.mode != modeSession || c.auth.des {
		return nil, errors.New("secure v2 command outside an AES session")
	}
	return &c.auth, nil
}

func (c *Card) readV2(frame []byte) ([]byte, error) {
	cmd, err := felica.ParseReadV2Command(frame, c.settings.Framing)
	if err != nil {
		return nil, err
	}
	a, plain, err := c.openV2(felica.CodeReadV2, cmd.Transaction, cmd.Payload, cmd.MAC)
	if err != nil {
		return nil, err
	}
	req, err := felica.ParseSecureReadRequest(plain, false)
	if err != nil {
		return nil, err
	}
	reply, err := c.secureRead(req).AppendPlain(nil)
	if err != nil {
		return nil, err
	}
	tn, sealed, mac, err := a.sealV2(felica.CodeReadV2Response, cmd.Transaction, reply)
	if err != nil {
		return nil, err
	}
	return felica.ReadV2Response{Transaction: tn, Payload: sealed, MAC: mac}.Append(nil, c.settings.Framing)
}

func (c *Card) writeV2(frame []byte) ([]byte, error) {
	cmd, err := felica.ParseWriteV2Command(frame, c.settings.Framing)
	if err != nil {
		return nil, err
	}
	a, plain, err := c.openV2(felica.CodeWriteV2, cmd.Transaction, cmd.Payload, cmd.MAC)
	if err != nil {
		return nil, err
	}
	req, err := felica.ParseSecureWriteRequest(plain, false)
	if err != nil {
		return nil, err
	}
	reply, _ := c.secureWrite(req).AppendPlain(nil)
	tn, sealed, mac, err := a.sealV2(felica.CodeWriteV2Response, cmd.Transaction, reply)
	if err != nil {
		return nil, err
	}
	return felica.WriteV2Response{Transaction: tn, Payload: [2]byte(sealed), MAC: mac}.Append(nil, c.settings.Framing)
}

// openV2 checks a Read v2 or Write v2 command against the AES session (a
// fresh transaction number, a good MAC) and returns the session and the
// command's plaintext. Any failure leaves the card silent.
func (c *Card) openV2(code felica.Code, tn uint16, payload []byte, mac [8]byte) (*authState, []byte, error) {
	a, err := c.aesSession()
	if err != nil {
		return nil, nil, err
	}
	if err := a.freshTN(tn); err != nil {
		return nil, nil, err
	}
	plain, err := a.aes.Open(code, tn, payload, mac)
	if err != nil {
		return nil, nil, err
	}
	return a, plain, nil
}

// sealV2 seals the plaintext of the answer to the command of transaction
// number cmdTN; the answer carries cmdTN+1, which becomes the session's last.
func (a *authState) sealV2(code felica.Code, cmdTN uint16, plain []byte) (tn uint16, sealed []byte, mac [8]byte, err error) {
	tn = cmdTN + 1
	sealed, mac, err = a.aes.Seal(code, tn, plain)
	if err != nil {
		return 0, nil, mac, err
	}
	a.lastT = tn
	return tn, sealed, mac, nil
}

// secureRead executes the block list of an authenticated read over the session's
// node list. Called with mu held.
func (c *Card) secureRead(req felica.SecureReadRequest) felica.SecureReadReply {
	targets, rej := c.nodes.resolveBlockList(c.auth.nodes, req.Blocks, false, true, c.settings.MaxReadBlocks)
	if rej != nil {
		return felica.SecureReadReply{Status: c.status(rej)}
	}
	data := make([]byte, 0, len(targets)*felica.BlockSize)
	for _, t := range targets {
		data = append(data, t.data.blocks[t.block][:]...)
	}
	return felica.SecureReadReply{Data: data}
}

// secureWrite applies an authenticated write all or nothing. Key change (access
// mode 4) is refused with A7 like every other mode but normal.
func (c *Card) secureWrite(req felica.SecureWriteRequest) felica.SecureWriteReply {
	targets, rej := c.nodes.resolveBlockList(c.auth.nodes, req.Blocks, true, true, c.settings.MaxWriteBlocks)
	if rej != nil {
		return felica.SecureWriteReply{Status: c.status(rej)}
	}
	data := make([][felica.BlockSize]byte, len(targets))
	for i := range data {
		copy(data[i][:], req.Block(i))
	}
	applyWrite(targets, data)
	return felica.SecureWriteReply{}
}

// desKeyOf returns the DES key of a node the DES authentication names; key-free
// services have none and are skipped (ok true, key nil).
func (c *Card) desKeyOf(node felica.NodeCode, service bool) (*secure.DESKey, error) {
	k, _, ok := c.nodes.nodeKeys(node)
	switch {
	case !ok:
		return nil, fmt.Errorf("no node %s", node)
	case service && !node.Keyed():
		return nil, nil
	case k.DES == nil:
		return nil, fmt.Errorf("node %s has no DES key", node)
	}
	return k.DES, nil
}

func (c *Card) auth1DES(frame []byte) ([]byte, error) {
	cmd, err := felica.ParseAuth1Command(frame, c.settings.Framing)
	if err != nil {
		return nil, err
	}
	if err := c.addressed(cmd.IDm); err != nil {
		return nil, err
	}
	if n := len(cmd.Areas) + len(cmd.Services); n < 1 || n > felica.MaxAuthNodes {
		return nil, fmt.Errorf("%d areas and services, want 1..%d", n, felica.MaxAuthNodes)
	}
	if c.systemKeys.DES == nil {
		return nil, errors.New("no DES system key")
	}
	var areaKeys, serviceKeys []secure.DESKey
	for _, node := range cmd.Areas {
		if !node.IsArea() {
			return nil, fmt.Errorf("%s in the area list", node)
		}
		k, err := c.desKeyOf(node, false)
		if err != nil {
			return nil, err
		}
		areaKeys = append(areaKeys, *k)
	}
	for _, node := range cmd.Services {
		if !node.IsService() {
			return nil, fmt.Errorf("%s in the service list", node)
		}
		k, err := c.desKeyOf(node, true)
		if err != nil {
			return nil, err
		}
		if k != nil {
			serviceKeys = append(serviceKeys, *k)
		}
	}
	group := secure.DESGroupKey(*c.systemKeys.DES, areaKeys)
	auth := secure.NewDESAuth(group, secure.DESUserKey(group, serviceKeys), c.idm)
	clear(areaKeys)
	clear(serviceKeys)
	c.auth.reset()
	a := &c.auth
	if err := c.challenge(a.desR2[:]); err != nil {
		c.auth.reset()
		return nil, err
	}
	r1, c1b, c2a := auth.AnswerAuth1(cmd.Challenge1A, a.desR2)
	a.mode, a.des, a.desAuth, a.desR1, a.nodes = modeAuth1, true, auth, r1, cmd.Services
	return felica.Auth1Response{IDm: c.idm, Challenge1B: c1b, Challenge2A: c2a}.Append(nil, c.settings.Framing)
}

func (c *Card) auth2DES(frame []byte) ([]byte, error) {
	cmd, err := felica.ParseAuth2Command(frame, c.settings.Framing)
	if err != nil {
		return nil, err
	}
	if err := c.addressed(cmd.IDm); err != nil {
		return nil, err
	}
	a := &c.auth
	if a.mode != modeAuth1 || !a.des {
		return nil, errors.New("Authentication2 without Authentication1")
	}
	if !a.desAuth.CheckChallenge2B(cmd.Challenge2B, a.desR2) {
		return nil, fmt.Errorf("challenge 2B %w", errNotAuthentic)
	}
	session := secure.NewDESSession(a.desR1, a.desR2)
	id := append(c.idi[:len(c.idi):len(c.idi)], c.pmi[:]...)
	enc, err := session.Seal(felica.CodeAuth2Response, 0, id)
	if err != nil {
		return nil, err
	}
	answer, err := felica.Auth2Response{Encrypted: [32]byte(enc)}.Append(nil, c.settings.Framing)
	if err != nil {
		return nil, err
	}
	nodes := a.nodes
	a.reset()
	a.mode, a.des, a.nodes, a.desS = modeSession, true, nodes, session
	return answer, nil
}

// openDES opens a DES secure command in the session and checks its TN.
func (c *Card) openDES(code felica.Code, enc []byte) (*authState, uint16, []byte, error) {
	a := &c.auth
	if a.mode != modeSession || !a.des {
		return nil, 0, nil, errors.New("DES secure command outside a DES session")
	}
	tn, plain, err := a.desS.Open(code, enc)
	if err != nil {
		return nil, 0, nil, err
	}
	if err := a.freshTN(tn); err != nil {
		return nil, 0, nil, err
	}
	return a, tn, plain, nil
}

func (c *Card) readDES(frame []byte) ([]byte, error) {
	cmd, err := felica.ParseReadDESCommand(frame, c.settings.Framing)
	if err != nil {
		return nil, err
	}
	a, tn, plain, err := c.openDES(felica.CodeReadDES, cmd.Encrypted)
	if err != nil {
		return nil, err
	}
	req, err := felica.ParseSecureReadRequest(plain, true)
	if err != nil {
		return nil, err
	}
	reply, err := c.secureRead(req).AppendPlain(nil)
	if err != nil {
		return nil, err
	}
	enc, err := a.desS.Seal(felica.CodeReadDESResponse, tn+1, reply)
	if err != nil {
		return nil, err
	}
	a.lastT = tn + 1
	return felica.ReadDESResponse{Encrypted: enc}.Append(nil, c.settings.Framing)
}

func (c *Card) writeDES(frame []byte) ([]byte, error) {
	cmd, err := felica.ParseWriteDESCommand(frame, c.settings.Framing)
	if err != nil {
		return nil, err
	}
	a, tn, plain, err := c.openDES(felica.CodeWriteDES, cmd.Encrypted)
	if err != nil {
		return nil, err
	}
	req, err := felica.ParseSecureWriteRequest(plain, true)
	if err != nil {
		return nil, err
	}
	reply, _ := c.secureWrite(req).AppendPlain(nil)
	enc, err := a.desS.Seal(felica.CodeWriteDESResponse, tn+1, reply)
	if err != nil {
		return nil, err
	}
	a.lastT = tn + 1
	return felica.WriteDESResponse{Encrypted: enc}.Append(nil, c.settings.Framing)
}
