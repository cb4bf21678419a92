package sam

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/felica/secure"
)

// Config configures a software SAM.
type Config struct {
	// KeyDir is the key store directory: one <issuerId>.json per issuer
	// (CONTRACT.md section 5), each readable by its owner only. Empty: no
	// directory (TestKeys only).
	KeyDir string
	// TestKeys adds the built-in DEMOAES published TEST KEYS for an issuer the
	// directory does not hold. Never for production.
	TestKeys bool
	// SealKey seals the session states (at least 32 bytes, from LoadSealKeyFile
	// of the --seal-key file). Nil: a random key for this process only, so that
	// states do not survive a restart (the card is then authenticated again).
	SealKey []byte
	// Challenges supplies the reader's challenge R1; nil is crypto/rand. Tests
	// pass a fixed stream to replay known exchanges. Sealing never uses it.
	Challenges io.Reader
}

// Software is the software SAM: keys in memory from the key store, sessions in
// sealed states. It is safe for concurrent use; Reload and Load may run while
// sessions are in flight (a call uses the keys it found when it started).
type Software struct {
	cfg    Config
	sealer *sealer
	rand   io.Reader

	mu   sync.RWMutex // guards keys: readers copy the keys they need out under RLock
	keys *KeyStore
}

var _ SAM = (*Software)(nil)

// NewSoftware makes a software SAM and loads its key store.
func NewSoftware(cfg Config) (*Software, error) {
	sealKey := cfg.SealKey
	if sealKey == nil {
		sealKey = make([]byte, SealKeySize)
		if _, err := rand.Read(sealKey); err != nil {
			return nil, fmt.Errorf("sam: random sealing key: %w", err)
		}
		defer clear(sealKey)
	}
	z, err := newSealer(sealKey)
	if err != nil {
		return nil, err
	}
	s := &Software{cfg: cfg, sealer: z, rand: cfg.Challenges}
	s.cfg.SealKey = nil // keep no copy of the caller's key
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload reads the key store again (Config.KeyDir, plus the test keys when
// configured) and swaps it in whole; on error the old keys stay in use. The
// dropped keys are zeroed. Safe for concurrent use.
func (s *Software) Reload() error {
	ks := &KeyStore{issuers: make(map[string]*issuerKeys)}
	if s.cfg.KeyDir != "" {
		var err error
		if ks, err = LoadKeyDir(s.cfg.KeyDir); err != nil {
			return err
		}
	}
	if s.cfg.TestKeys {
		test, err := TestKeys()
		if err != nil {
			ks.Clear()
			return err
		}
		ks.merge(test)
	}
	s.Load(ks)
	return nil
}

// Load swaps in a key store built by the caller (the SAM owns it from now on)
// and zeroes the one it replaces. Safe for concurrent use.
func (s *Software) Load(ks *KeyStore) {
	s.mu.Lock()
	old := s.keys
	s.keys = ks
	s.mu.Unlock()
	if old != ks {
		old.Clear()
	}
}

// Issuers lists the issuers whose keys are loaded.
func (s *Software) Issuers() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.keys.Issuers()
}

// Format prints the issuers, never a key.
func (s *Software) Format(f fmt.State, _ rune) { fmt.Fprintf(f, "sam.Software%v", s.Issuers()) }

// LogValue keeps keys out of structured logs.
func (s *Software) LogValue() slog.Value { return slog.AnyValue(s.Issuers()) }

// authKeys derives α and β for a request under the read lock, so that a Reload
// cannot zero the keys in the middle.
func (s *Software) authKeys(req AuthRequest) (secure.AESAuth, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	issuer, ok := s.keys.issuers[req.Issuer]
	if !ok {
		return secure.AESAuth{}, fmt.Errorf("%w: %q", ErrUnknownIssuer, req.Issuer)
	}
	keys := make([]secure.AESKey, len(req.Nodes))
	defer clear(keys)
	for i, node := range req.Nodes {
		k, ok := issuer.nodes[nodeVersion{node, req.KeyVersions[i]}]
		if !ok {
			return secure.AESAuth{}, fmt.Errorf("%w: issuer %s node %s version %04X", ErrUnknownKeyVersion, req.Issuer, node, req.KeyVersions[i])
		}
		keys[i] = k
	}
	individual, ok := issuer.cards[req.IDm]
	if !ok {
		individual = issuer.defaultInd
	}
	group := secure.AESGroupKey(keys)
	defer clear(group[:])
	return secure.NewAESAuth(group, individual, req.IDm), nil
}

// BeginAuth makes the Authentication1 v2 command for req with a fresh R1.
func (s *Software) BeginAuth(ctx context.Context, req AuthRequest) (Step, error) {
	if err := ctx.Err(); err != nil {
		return Step{}, err
	}
	if len(req.Nodes) < 1 || len(req.Nodes) > felica.MaxAuthNodes || len(req.KeyVersions) != len(req.Nodes) {
		return Step{}, fmt.Errorf("%w: %d nodes and %d key versions, want 1..%d of each", ErrBadRequest, len(req.Nodes), len(req.KeyVersions), felica.MaxAuthNodes)
	}
	if req.Framing != felica.WithLEN && req.Framing != felica.WithoutLEN {
		return Step{}, fmt.Errorf("%w: framing %d", ErrBadRequest, req.Framing)
	}
	if len(req.Issuer) > 255 {
		return Step{}, fmt.Errorf("%w: issuer id of %d bytes", ErrBadRequest, len(req.Issuer))
	}
	auth, err := s.authKeys(req)
	if err != nil {
		return Step{}, err
	}
	st := &state{phase: phaseAuth1, framing: req.Framing, issuer: req.Issuer, idm: req.IDm, nodes: append([]felica.NodeCode(nil), req.Nodes...), auth: auth}
	defer st.clear()
	if _, err := io.ReadFull(s.rand, st.r1[:]); err != nil {
		return Step{}, fmt.Errorf("sam: challenge: %w", err)
	}
	frame, err := felica.Auth1V2Command{IDm: req.IDm, Nodes: req.Nodes, Challenge1A: auth.Challenge1A(st.r1)}.Append(nil, req.Framing)
	if err != nil {
		return Step{}, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	return s.step(frame, st)
}

func (s *Software) step(frame []byte, st *state) (Step, error) {
	blob, err := s.sealer.seal(st)
	if err != nil {
		return Step{}, err
	}
	return Step{Frame: frame, State: blob}, nil
}

// open opens a state and checks its phase.
func (s *Software) open(ctx context.Context, blob []byte, want phase) (*state, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	st, err := s.sealer.open(blob)
	if err != nil {
		return nil, err
	}
	if st.phase != want {
		st.clear()
		return nil, fmt.Errorf("%w: phase %d, this call needs phase %d", ErrBadState, st.phase, want)
	}
	return st, nil
}

// ContinueAuth checks the card's Authentication1 v2 answer (Challenge 1B) and
// makes the Authentication2 v2 command.
func (s *Software) ContinueAuth(ctx context.Context, blob, answer []byte) (Step, error) {
	st, err := s.open(ctx, blob, phaseAuth1)
	if err != nil {
		return Step{}, err
	}
	defer st.clear()
	rsp, err := felica.ParseAuth1V2Response(answer, st.framing, st.idm)
	if err != nil {
		return Step{}, fmt.Errorf("%w: %w", ErrMalformedAnswer, err)
	}
	c2b, session, err := st.auth.CheckAuth1(st.r1, rsp)
	if err != nil {
		return Step{}, fmt.Errorf("%w: %w", ErrNotAuthentic, err)
	}
	frame, err := felica.Auth2V2Command{IDm: st.idm, Challenge2B: c2b}.Append(nil, st.framing)
	if err != nil {
		return Step{}, err
	}
	st.clear()
	st.phase, st.session = phaseAuth2, session
	return s.step(frame, st)
}

// FinishAuth checks the card's Authentication2 v2 answer (its MAC under the new
// session keys) and starts the session at the card's transaction number.
func (s *Software) FinishAuth(ctx context.Context, blob, answer []byte) (Authenticated, error) {
	st, err := s.open(ctx, blob, phaseAuth2)
	if err != nil {
		return Authenticated{}, err
	}
	defer st.clear()
	rsp, err := felica.ParseAuth2V2Response(answer, st.framing)
	if err != nil {
		return Authenticated{}, fmt.Errorf("%w: %w", ErrMalformedAnswer, err)
	}
	plain, err := st.session.Open(felica.CodeAuth2V2Response, rsp.Transaction, rsp.Payload[:], rsp.MAC)
	if err != nil {
		return Authenticated{}, fmt.Errorf("%w: %w", ErrNotAuthentic, err)
	}
	st.phase, st.tn = phaseSession, rsp.Transaction
	next, err := s.sealer.seal(st)
	if err != nil {
		return Authenticated{}, err
	}
	return Authenticated{State: next, IDi: felica.IDm(plain[:8]), PMi: felica.PMm(plain[8:16])}, nil
}

// nextTN reserves a command's TN and its answer's: the card answers TN+1, so two
// commands of one batch are 2 apart.
func (st *state) nextTN() (uint16, error) {
	if st.tn >= 0xFFFD {
		return 0, fmt.Errorf("%w: at %04X", ErrSessionExhausted, st.tn)
	}
	if len(st.pending) >= maxPending {
		return 0, fmt.Errorf("%w: %d commands sealed and not answered", ErrBadRequest, len(st.pending))
	}
	tn := st.tn + 1
	st.tn = tn + 1
	return tn, nil
}

// SealRead makes a Read v2 command for blocks, whose service indexes point into
// the authenticated node list.
func (s *Software) SealRead(ctx context.Context, blob []byte, blocks []felica.BlockElement) (Step, error) {
	plain, err := felica.SecureReadRequest{Blocks: blocks}.AppendPlain(nil)
	if err != nil {
		return Step{}, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	return s.seal(ctx, blob, felica.CodeReadV2, plain, blocks)
}

// SealWrite makes a Write v2 command for blocks and their data (16 bytes each).
func (s *Software) SealWrite(ctx context.Context, blob []byte, blocks []felica.BlockElement, data []byte) (Step, error) {
	plain, err := felica.SecureWriteRequest{Blocks: blocks, Data: data}.AppendPlain(nil)
	if err != nil {
		return Step{}, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	defer clear(plain)
	return s.seal(ctx, blob, felica.CodeWriteV2, plain, blocks)
}

func (s *Software) seal(ctx context.Context, blob []byte, code felica.Code, plain []byte, blocks []felica.BlockElement) (Step, error) {
	st, err := s.open(ctx, blob, phaseSession)
	if err != nil {
		return Step{}, err
	}
	defer st.clear()
	for _, b := range blocks {
		if int(b.Service) >= len(st.nodes) {
			return Step{}, fmt.Errorf("%w: block element %s names node %d, the session has %d", ErrBadRequest, b, b.Service, len(st.nodes))
		}
	}
	tn, err := st.nextTN()
	if err != nil {
		return Step{}, err
	}
	sealed, mac, err := st.session.Seal(code, tn, plain)
	if err != nil {
		return Step{}, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	var frame []byte
	if code == felica.CodeReadV2 {
		frame, err = felica.ReadV2Command{Transaction: tn, Payload: sealed, MAC: mac}.Append(nil, st.framing)
	} else {
		frame, err = felica.WriteV2Command{Transaction: tn, Payload: sealed, MAC: mac}.Append(nil, st.framing)
	}
	if err != nil {
		return Step{}, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	st.pending = append(st.pending, pending{code: code.Response(), tn: tn})
	return s.step(frame, st)
}

// Open checks and decrypts a Read v2 or Write v2 answer. It pairs the answer
// with the sealed command of its kind whose TN is the greatest below the
// answer's (the card answers TN+1); commands sealed before that one are given
// up (their answers never came), and an answer opens only once.
func (s *Software) Open(ctx context.Context, blob, answer []byte) (Opened, error) {
	st, err := s.open(ctx, blob, phaseSession)
	if err != nil {
		return Opened{}, err
	}
	defer st.clear()
	code, err := felica.PeekCode(answer, st.framing)
	if err != nil {
		return Opened{}, fmt.Errorf("%w: %w", ErrMalformedAnswer, err)
	}
	var tn uint16
	var payload []byte
	var mac [felica.SecureMACSize]byte
	switch code {
	case felica.CodeReadV2Response:
		r, err := felica.ParseReadV2Response(answer, st.framing)
		if err != nil {
			return Opened{}, fmt.Errorf("%w: %w", ErrMalformedAnswer, err)
		}
		tn, payload, mac = r.Transaction, r.Payload, r.MAC
	case felica.CodeWriteV2Response:
		r, err := felica.ParseWriteV2Response(answer, st.framing)
		if err != nil {
			return Opened{}, fmt.Errorf("%w: %w", ErrMalformedAnswer, err)
		}
		tn, payload, mac = r.Transaction, r.Payload[:], r.MAC
	default:
		return Opened{}, fmt.Errorf("%w: %s is not a secure answer", ErrMalformedAnswer, code)
	}
	idx := -1
	for i, p := range st.pending {
		if p.code == code && p.tn < tn && (idx < 0 || p.tn > st.pending[idx].tn) {
			idx = i
		}
	}
	if idx < 0 {
		return Opened{}, fmt.Errorf("%w: %s with TN %04X answers no command sealed in this session", ErrNotAuthentic, code, tn)
	}
	plain, err := st.session.Open(code, tn, payload, mac)
	if err != nil {
		return Opened{}, fmt.Errorf("%w: %w", ErrNotAuthentic, err)
	}
	out := Opened{Code: code}
	if code == felica.CodeReadV2Response {
		reply, err := felica.ParseSecureReadReply(plain, false)
		if err != nil {
			return Opened{}, fmt.Errorf("%w: %w", ErrMalformedAnswer, err)
		}
		out.Status, out.Data = reply.Status, reply.Data
	} else {
		reply, err := felica.ParseSecureWriteReply(plain, false)
		if err != nil {
			return Opened{}, fmt.Errorf("%w: %w", ErrMalformedAnswer, err)
		}
		out.Status = reply.Status
	}
	st.pending = st.pending[idx+1:]
	st.tn = max(st.tn, tn)
	if out.State, err = s.sealer.seal(st); err != nil {
		return Opened{}, err
	}
	return out, nil
}
