package card

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/felica/secure"
)

// Settings are a card's product parameters. The zero value is a card that takes
// frames with LEN, reads 15 and writes 13 blocks at most, reports SF1 as an ordinal
// and sleeps on a real timer.
type Settings struct {
	Framing felica.Framing
	// MaxReadBlocks and MaxWriteBlocks limit the block list of one Read or Write
	// Without Encryption (A2 past it); 0 means the packet-size limit, 15 and 13.
	MaxReadBlocks, MaxWriteBlocks int
	// SF1Bitmap reports a failing element as a bitmap instead of its ordinal.
	SF1Bitmap bool
	// Sleep waits out an AnswerLate delay; nil waits on a timer and gives up when ctx
	// ends. Tests pass a function that records the delay instead of sleeping.
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand supplies the card's challenges (R2, C3C) in mutual authentication; nil
	// is crypto/rand. Tests pass a fixed stream to replay known exchanges.
	Rand io.Reader
}

// Card is a virtual FeliCa card. Every method is safe for concurrent use: a card
// executes one command at a time behind its own mutex.
type Card struct {
	// Fixed by New, read without the lock.
	label      string
	idm        felica.IDm
	pmm        felica.PMm
	systemCode felica.SystemCode
	settings   Settings
	// The card's secrets and what it reveals in Authentication2.
	individual secure.AESKey
	systemKeys NodeKeys
	idi        felica.IDm
	pmi        felica.PMm
	overrides  map[string]KeyOverride

	mu sync.Mutex // serialises commands; guards nodes' blocks, faults and frames
	// nodes is the file system; its maps are fixed, its blocks change under mu.
	nodes  *nodeTable
	faults []armedFault
	// frames counts the frames given to Transceive with a live context, for
	// Fault.AtCommand.
	frames int
	// auth is the authentication state: mode 0, an authentication begun, or a
	// session (secure.go).
	auth authState
}

// New makes a card from a layout and an image, which it copies: changing them
// afterwards does not change the card.
func New(layout Layout, img Image, s Settings) (*Card, error) {
	if err := layout.Validate(); err != nil {
		return nil, err
	}
	if err := layout.validateImage(img); err != nil {
		return nil, err
	}
	if s.Framing != felica.WithLEN && s.Framing != felica.WithoutLEN {
		return nil, fmt.Errorf("card: new: unknown framing %d", s.Framing)
	}
	if s.MaxReadBlocks < 0 || s.MaxReadBlocks > felica.MaxReadBlocks || s.MaxWriteBlocks < 0 || s.MaxWriteBlocks > felica.MaxWriteBlocks {
		return nil, fmt.Errorf("card: new: block limits %d/%d, want 0..%d/0..%d", s.MaxReadBlocks, s.MaxWriteBlocks, felica.MaxReadBlocks, felica.MaxWriteBlocks)
	}
	if s.MaxReadBlocks == 0 {
		s.MaxReadBlocks = felica.MaxReadBlocks
	}
	if s.MaxWriteBlocks == 0 {
		s.MaxWriteBlocks = felica.MaxWriteBlocks
	}
	if s.Sleep == nil {
		s.Sleep = sleep
	}
	if s.Rand == nil {
		s.Rand = rand.Reader
	}
	c := &Card{label: img.Label, idm: img.IDm, pmm: layout.PMm, systemCode: layout.SystemCode, settings: s, nodes: newNodeTable(layout, img),
		individual: img.IndividualKey, systemKeys: layout.SystemKeys, idi: img.IDi, pmi: img.PMi, overrides: maps.Clone(img.KeyOverrides)}
	if c.idi == (felica.IDm{}) {
		c.idi = img.IDm
	}
	if c.pmi == (felica.PMm{}) {
		c.pmi = layout.PMm
	}
	return c, nil
}

// IDm returns the card's IDm. Safe for concurrent use.
func (c *Card) IDm() felica.IDm { return c.idm }

// PMm returns the card's PMm. Safe for concurrent use.
func (c *Card) PMm() felica.PMm { return c.pmm }

// Block returns a copy of one block of a service named by its layout name
// ("balance") or one of its codes in hex ("1009"). For a cyclic service, block 0 is
// the newest record. Safe for concurrent use.
func (c *Card) Block(service string, index int) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	data, err := c.nodes.lookup(service)
	if err != nil {
		return nil, err
	}
	if index < 0 || index >= len(data.blocks) {
		return nil, fmt.Errorf("%w: %s block %d, it has %d", ErrBlockOutOfRange, data.Name, index, len(data.blocks))
	}
	b := data.blocks[index]
	return b[:], nil
}

// Snapshot returns the card's current content as an image, every block of every
// service listed. Safe for concurrent use.
func (c *Card) Snapshot() Image {
	c.mu.Lock()
	defer c.mu.Unlock()
	img := Image{Label: c.label, IDm: c.idm, Blocks: make(map[string][][felica.BlockSize]byte, len(c.nodes.order)),
		IndividualKey: c.individual, IDi: c.idi, PMi: c.pmi, KeyOverrides: maps.Clone(c.overrides)}
	for _, data := range c.nodes.order {
		img.Blocks[data.Name] = append([][felica.BlockSize]byte(nil), data.blocks...)
	}
	return img
}

// Arm arms a one-shot fault; several may be armed at once, and the first armed
// fires first when two pick the same frame. Safe for concurrent use.
func (c *Card) Arm(f Fault) error {
	if err := f.validate(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	a := armedFault{Fault: f}
	if f.AtCommand > 0 {
		a.at = c.frames + f.AtCommand
	}
	c.faults = append(c.faults, a)
	return nil
}

// Transceive executes one command frame, framed as Settings.Framing says, and
// returns the response frame. When the card stays silent it returns an error
// wrapping ErrNoAnswer (with the reason); when ctx ends first, ctx's error. Safe for
// concurrent use: commands to one card run one at a time.
func (c *Card) Transceive(ctx context.Context, frame []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("card: transceive: %w", err)
	}
	answer, delay, err := c.transceiveLocked(frame)
	if err != nil {
		return nil, err
	}
	if delay > 0 {
		if err := c.settings.Sleep(ctx, delay); err != nil {
			return nil, fmt.Errorf("card: answer late by %v: %w", delay, err)
		}
	}
	return answer, nil
}

// transceiveLocked executes the frame under the lock and applies a fault that fires
// on it; the delay of AnswerLate is slept by the caller, outside the lock, so that a
// late card does not hold up the tests' assertions on it.
func (c *Card) transceiveLocked(frame []byte) ([]byte, time.Duration, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.frames++
	code, framingErr := felica.PeekCode(frame, c.settings.Framing)
	isWrite := code == felica.CodeWrite || code == felica.CodeWriteV2 || code == felica.CodeWriteDES
	fault, fires := c.takeFault(framingErr == nil && isWrite)
	if fires && fault.Kind == FailBeforeWrite {
		return nil, 0, fmt.Errorf("%w: fault %q", ErrNoAnswer, fault.Kind)
	}
	if framingErr != nil {
		return nil, 0, silent(framingErr)
	}
	answer, err := c.execute(code, frame)
	if err != nil {
		return nil, 0, err
	}
	switch {
	case !fires:
		return answer, 0, nil
	case fault.Kind == AnswerLate:
		return answer, fault.Delay, nil
	}
	return nil, 0, fmt.Errorf("%w: fault %q", ErrNoAnswer, fault.Kind)
}

// takeFault removes and returns the first armed fault that fires on the current
// frame, a write (Without Encryption, v2 or DES) or not. Called with mu held.
func (c *Card) takeFault(isWrite bool) (Fault, bool) {
	for i, f := range c.faults {
		if (f.at == 0 && isWrite) || (f.at != 0 && f.at == c.frames) {
			c.faults = slices.Delete(c.faults, i, i+1)
			return f.Fault, true
		}
	}
	return Fault{}, false
}

// lookup finds a service by layout name or by one of its codes in hex.
func (n *nodeTable) lookup(service string) (*serviceData, error) {
	if data, ok := n.byName[service]; ok {
		return data, nil
	}
	if code, err := felica.ParseNodeCode(strings.TrimPrefix(service, "0x")); err == nil {
		if node, ok := n.services[code]; ok {
			return node.data, nil
		}
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownService, service)
}

// sleep is the default Settings.Sleep: a timer that gives up when ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
