package issuertest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/tsh"
	yaml "go.yaml.in/yaml/v4"
)

// Limits of a test file.
const (
	// MaxFileBytes bounds one test file.
	MaxFileBytes = 1 << 20
	// maxCasesPerFile bounds the YAML documents of one file.
	maxCasesPerFile = 256
	// maxRunsPerCase bounds the operations of one case.
	maxRunsPerCase = 32
)

// DefaultNow is the test clock's start when a case names none: the DEMO
// sample cards' expiry (2031) is ahead, the expired physical card's (2024)
// behind.
var DefaultNow = time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)

// Default identifiers of a case's ledger and operations.
const (
	DefaultCardID   = "CARD-1"
	DefaultDeviceID = "DEVICE-1"
	DefaultActorID  = "tes-test"
	// DefaultImageFile is the card image file of an issuer folder.
	DefaultImageFile = "cards.json"
)

// Case is one test of an issuer, as decoded from one YAML document of a
// file under the issuer's tests/ folder. It is a plain value; the runner
// resolves it against the issuer's flows and card image file.
type Case struct {
	// File and Line say where the case's document starts.
	File string `yaml:"-"`
	Line int    `yaml:"-"`

	// Name names the case in reports and for --run; default: the file's
	// name and the document's number.
	Name string `yaml:"name"`
	// Now is the test clock's start (RFC 3339); default DefaultNow.
	Now string `yaml:"now"`
	// Card is the card in the field.
	Card CardSpec `yaml:"card"`
	// Keys is reserved and refused: keys never live in an issuer's folder
	// (CONTRACT.md §2.1); keyed cards authenticate with the run's key
	// store (Config.KeyDir, tes test --keys).
	Keys string `yaml:"keys"`
	// Ledger is the ledger before the first operation.
	Ledger LedgerSpec `yaml:"ledger"`
	// Run lists the operations, in order, each with what it must answer.
	Run []RunSpec `yaml:"run"`
	// After is what must hold once every operation ran.
	After AfterSpec `yaml:"after"`
}

// CardSpec picks the card in the field: a sample of a card image file, or
// an inline image, then edits.
type CardSpec struct {
	// Image is the card image file, relative to the issuer folder; default
	// cards.json.
	Image string `yaml:"image"`
	// Sample is a card of the image file, by IDm or label.
	Sample string `yaml:"sample"`
	// IDm and Blocks give an inline image on the file's layout instead of
	// a sample: blocks by service name, 32 hex digits each.
	IDm    string              `yaml:"idm"`
	Blocks map[string][]string `yaml:"blocks"`
	// PMm replaces the layout's PMm (16 hex digits): quirks match on it.
	PMm string `yaml:"pmm"`
	// Set changes bytes of the image.
	Set []ByteEdit `yaml:"set"`
	// Drop takes services off the card (a card that lacks them).
	Drop []string `yaml:"drop"`
	// ReadOnly takes services' read-write codes away: the card refuses
	// writes to them.
	ReadOnly []string `yaml:"readOnly"`
	// None: no card in the field; every command goes unanswered.
	None bool `yaml:"none"`
}

// ByteEdit writes Hex at byte Offset of block Block of a service.
type ByteEdit struct {
	Service string `yaml:"service"`
	Block   int    `yaml:"block"`
	Offset  int    `yaml:"offset"`
	Hex     string `yaml:"hex"`
}

// LedgerSpec is the ledger before the first operation.
type LedgerSpec struct {
	// Card is the ledger card; absent: an ACTIVE card CARD-1 whose product
	// code is the card image's own.
	Card *LedgerCard `yaml:"card"`
	// Cards are more ledger cards (a purchase of another card).
	Cards []LedgerCard `yaml:"cards"`
	// Purchases are top-up and refund orders.
	Purchases []LedgerPurchase `yaml:"purchases"`
	// Blacklist lists blacklisted IDms.
	Blacklist []string `yaml:"blacklist"`
}

// LedgerCard is a card of the ledger.
type LedgerCard struct {
	ID string `yaml:"id"`
	// Absent: no such card in the ledger (the case's operations still name
	// ID, default CARD-1).
	Absent bool   `yaml:"absent"`
	Status string `yaml:"status"`
	// ProductCode defaults to the card image's product code.
	ProductCode *int   `yaml:"productCode"`
	Device      string `yaml:"device"`
	Expiry      string `yaml:"expiry"`
}

// LedgerPurchase is a purchase of the ledger. An UNCERTAIN one is listed on
// its card as unsettled, as a session that lost a write's answer leaves it.
type LedgerPurchase struct {
	ID              string `yaml:"id"`
	Card            string `yaml:"card"`
	Amount          int64  `yaml:"amount"`
	Kind            string `yaml:"kind"`
	Status          string `yaml:"status"`
	ExpectedCounter int    `yaml:"expectedCounter"`
}

// RunSpec is one operation and what it must answer.
type RunSpec struct {
	// Operation is the request's operation; empty: the endpoint's default.
	Operation string `yaml:"operation"`
	// Endpoint defaults to the one that offers Operation.
	Endpoint string `yaml:"endpoint"`
	// CardID defaults to the ledger card's id (not sent in reader mode).
	CardID   string `yaml:"cardId"`
	Purchase string `yaml:"purchase"`
	Device   string `yaml:"device"`
	// Contents is reader mode's cardContents: default, those of the card
	// in the field.
	Contents *ContentsSpec `yaml:"contents"`
	// Wait advances the clock before the operation starts (a duration).
	Wait string `yaml:"wait"`
	// FreshCard puts a fresh copy of the case's card in the field first.
	FreshCard bool `yaml:"freshCard"`
	// Faults are injected as tes sim's --fault reads them:
	// lose-after-write, fail-before-write, device-error:231@3,
	// duplicate@2, pause:70s@2 (N counts the operation's calls from 1).
	Faults []string   `yaml:"faults"`
	Expect ExpectSpec `yaml:"expect"`
}

// ContentsSpec changes the cardContents sent in reader mode.
type ContentsSpec struct {
	// None sends no cardContents.
	None       bool    `yaml:"none"`
	SystemCode *string `yaml:"systemCode"`
	IDm        *string `yaml:"idm"`
	// Areas replaces the areaCodeList.
	Areas *[]AreaSpec `yaml:"areas"`
}

// AreaSpec is one entry of areaCodeList.
type AreaSpec struct {
	AreaCode   string `yaml:"areaCode"`
	KeyVersion string `yaml:"keyVersion"`
}

// ExpectSpec is what an operation must answer.
type ExpectSpec struct {
	// Status is required.
	Status *int `yaml:"status"`
	// Balance is the balance of the last reply; absent: not checked;
	// "none": the reply must carry none.
	Balance *BalanceSpec `yaml:"balance"`
	// Message must be a part of the flow's message for the outcome (the
	// fail transition's message, as the session's trace keeps it; the
	// reply's statusMessage is the status code's standard text).
	Message string `yaml:"message"`
	// Account: the last reply carries a cardAccountId.
	Account *bool `yaml:"account"`
	// Calls is how many calls the operation made (duplicates not counted).
	Calls int `yaml:"calls"`
}

// BalanceSpec is an expected balance, or none.
type BalanceSpec struct {
	None  bool
	Value int64
}

// UnmarshalYAML reads a number or "none".
func (b *BalanceSpec) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.Value == "none" {
		*b = BalanceSpec{None: true}
		return nil
	}
	var v int64
	if err := n.Decode(&v); err != nil {
		return fmt.Errorf("line %d: balance: want an integer or none", n.Line)
	}
	*b = BalanceSpec{Value: v}
	return nil
}

// AfterSpec is what must hold after the last operation.
type AfterSpec struct {
	Card   *CardAfter   `yaml:"card"`
	Ledger *LedgerAfter `yaml:"ledger"`
}

// CardAfter is the virtual card's state after.
type CardAfter struct {
	// Unchanged: every block as before the first operation.
	Unchanged bool `yaml:"unchanged"`
	// Blocks by service name: each listed block must match its pattern, 32
	// hex digits where "." matches any digit. Unlisted blocks are not
	// checked.
	Blocks map[string][]string `yaml:"blocks"`
}

// LedgerAfter is the ledger's state after.
type LedgerAfter struct {
	Card      *LedgerCardAfter  `yaml:"card"`
	Purchases map[string]string `yaml:"purchases"` // id → PENDING, APPLIED or UNCERTAIN
	// Account is the account made from the card in the field's IDm.
	Account *AccountAfter `yaml:"account"`
}

// LedgerCardAfter is the ledger card after; each field set is checked.
type LedgerCardAfter struct {
	ID               string       `yaml:"id"`
	Status           string       `yaml:"status"`
	LastKnownBalance *BalanceSpec `yaml:"lastKnownBalance"`
	ParkedBalance    *BalanceSpec `yaml:"parkedBalance"`
	// Uncertain lists the purchases still unsettled on the card, in order.
	Uncertain *[]string `yaml:"uncertain"`
	// ParkPending: a park write is marked and not confirmed.
	ParkPending *bool `yaml:"parkPending"`
}

// AccountAfter is the account of the card's IDm after.
type AccountAfter struct {
	// Absent: no account exists for the IDm.
	Absent  bool   `yaml:"absent"`
	Balance *int64 `yaml:"balance"`
	Pending *bool  `yaml:"pending"`
}

// ErrCase: a test file does not parse or a case is not valid.
var ErrCase = errors.New("issuertest: bad test case")

// ParseFile reads the cases of one test file: each YAML document is one
// case. file names the file in errors and in each Case. It never panics.
func ParseFile(file string, data []byte) (cases []Case, err error) {
	defer func() {
		if p := recover(); p != nil {
			cases, err = nil, fmt.Errorf("%w: %s: %v", ErrCase, file, p)
		}
	}()
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("%w: %s: larger than %d bytes", ErrCase, file, MaxFileBytes)
	}
	lines, err := documentLines(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s:%s", ErrCase, file, yamlMessage(err))
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	for i := 0; ; i++ {
		var c Case
		err := dec.Decode(&c)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s:%s", ErrCase, file, yamlMessage(err))
		}
		if i >= len(lines) { // the two readings disagree: refuse rather than guess
			return nil, fmt.Errorf("%w: %s: cannot tell where document %d starts", ErrCase, file, i+1)
		}
		c.File, c.Line = file, lines[i]
		if c.Name == "" {
			c.Name = fmt.Sprintf("%s#%d", file, i+1)
		}
		if err := c.validate(); err != nil {
			return nil, fmt.Errorf("%w: %s:%d: %s: %w", ErrCase, file, c.Line, c.Name, err)
		}
		cases = append(cases, c)
	}
	if len(cases) == 0 {
		return nil, fmt.Errorf("%w: %s: no test case", ErrCase, file)
	}
	return cases, nil
}

// documentLines lists the first line of each non-empty document of data.
func documentLines(data []byte) ([]int, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var lines []int
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return lines, nil
		}
		if err != nil {
			return nil, err
		}
		if len(lines) >= maxCasesPerFile {
			return nil, fmt.Errorf("more than %d cases in one file", maxCasesPerFile)
		}
		line := n.Line
		if len(n.Content) > 0 {
			line = n.Content[0].Line
		}
		lines = append(lines, line)
	}
}

var (
	yamlLineRe  = regexp.MustCompile(`^(?:yaml: )?(?:[a-z ]+ errors?:\s*)?line (\d+): (.*)$`)
	yamlFieldRe = regexp.MustCompile(`field (\S+) not found in type \S+`)
)

// yamlMessage turns a decoder error into "LINE: message" (the caller puts
// the file first), its first problem only.
func yamlMessage(err error) string {
	msg, _, _ := strings.Cut(strings.TrimSpace(err.Error()), "\n")
	msg = strings.TrimSpace(msg)
	msg = yamlFieldRe.ReplaceAllString(msg, "unknown field $1")
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		return m[1] + ": " + strings.TrimSpace(m[2])
	}
	return " " + strings.TrimPrefix(msg, "yaml: ")
}

var (
	hexPattern   = regexp.MustCompile(`^[0-9A-Fa-f.]{32}$`)
	cardStatuses = []string{"ACTIVE", "BLACKLISTED", "DELETED"}
	purchaseKind = []string{"TOPUP", "REFUND"}
	purchaseStat = []string{"PENDING", "APPLIED", "UNCERTAIN"}
	endpoints    = []string{"getCardCommands", "getParkCardCommands", "getReaderModeCommands"}
)

// validate checks what the YAML decoder cannot: required fields, values
// from a fixed set, hex, durations, faults.
func (c *Case) validate() error {
	if c.Now != "" {
		if _, err := time.Parse(time.RFC3339, c.Now); err != nil {
			return fmt.Errorf("now %q: want RFC 3339, e.g. 2026-11-24T02:00:00Z", c.Now)
		}
	}
	if err := c.Card.validate(); err != nil {
		return fmt.Errorf("card: %w", err)
	}
	if c.Ledger.Card != nil {
		if err := c.Ledger.Card.validate(); err != nil {
			return fmt.Errorf("ledger.card: %w", err)
		}
	}
	for i := range c.Ledger.Cards {
		if err := c.Ledger.Cards[i].validate(); err != nil {
			return fmt.Errorf("ledger.cards[%d]: %w", i, err)
		}
		if c.Ledger.Cards[i].ID == "" {
			return fmt.Errorf("ledger.cards[%d]: id is required", i)
		}
	}
	for i, p := range c.Ledger.Purchases {
		switch {
		case p.ID == "":
			return fmt.Errorf("ledger.purchases[%d]: id is required", i)
		case !oneOf(p.Kind, purchaseKind):
			return fmt.Errorf("ledger.purchases[%d]: kind %q: want TOPUP or REFUND", i, p.Kind)
		case p.Status != "" && !oneOf(p.Status, purchaseStat):
			return fmt.Errorf("ledger.purchases[%d]: status %q: want PENDING, APPLIED or UNCERTAIN", i, p.Status)
		case p.Amount <= 0:
			return fmt.Errorf("ledger.purchases[%d]: amount must be positive", i)
		case p.Status == "UNCERTAIN" && p.ExpectedCounter <= 0:
			return fmt.Errorf("ledger.purchases[%d]: an UNCERTAIN purchase needs its expectedCounter", i)
		}
	}
	for i, idm := range c.Ledger.Blacklist {
		if _, err := felica.ParseIDm(idm); err != nil {
			return fmt.Errorf("ledger.blacklist[%d]: %w", i, err)
		}
	}
	if len(c.Run) == 0 {
		return errors.New("run: at least one operation")
	}
	if len(c.Run) > maxRunsPerCase {
		return fmt.Errorf("run: more than %d operations", maxRunsPerCase)
	}
	for i := range c.Run {
		if err := c.Run[i].validate(); err != nil {
			return fmt.Errorf("run[%d]: %w", i+1, err)
		}
	}
	return c.After.validate()
}

func (s *CardSpec) validate() error {
	if s.None && (s.Sample != "" || s.IDm != "" || len(s.Blocks) > 0 || len(s.Set) > 0) {
		return errors.New("none: no other field")
	}
	if s.Sample != "" && (s.IDm != "" || len(s.Blocks) > 0) {
		return errors.New("sample or idm and blocks, not both")
	}
	if !s.None && s.Sample == "" && s.IDm == "" {
		return errors.New("sample (a card of the image file), idm and blocks, or none: true")
	}
	if s.PMm != "" {
		if _, err := parsePMm(s.PMm); err != nil {
			return fmt.Errorf("pmm: %w", err)
		}
	}
	if s.IDm != "" {
		if _, err := felica.ParseIDm(s.IDm); err != nil {
			return fmt.Errorf("idm: %w", err)
		}
	}
	for name, list := range s.Blocks {
		for i, b := range list {
			if !hexPattern.MatchString(b) || strings.Contains(b, ".") {
				return fmt.Errorf("blocks.%s[%d]: want 32 hex digits", name, i)
			}
		}
	}
	for i, e := range s.Set {
		raw, err := decodeHex(e.Hex)
		switch {
		case e.Service == "":
			return fmt.Errorf("set[%d]: service is required", i)
		case err != nil || len(raw) == 0:
			return fmt.Errorf("set[%d]: hex %q: want hex digits", i, e.Hex)
		case e.Block < 0 || e.Offset < 0 || e.Offset+len(raw) > felica.BlockSize:
			return fmt.Errorf("set[%d]: block %d, offset %d and %d bytes do not fit a block", i, e.Block, e.Offset, len(raw))
		}
	}
	return nil
}

func (l *LedgerCard) validate() error {
	if l.Status != "" && !oneOf(l.Status, cardStatuses) {
		return fmt.Errorf("status %q: want ACTIVE, BLACKLISTED or DELETED", l.Status)
	}
	if l.Expiry != "" {
		if _, err := time.Parse("2006-01-02", l.Expiry); err != nil {
			return fmt.Errorf("expiry %q: want YYYY-MM-DD", l.Expiry)
		}
	}
	if l.ProductCode != nil && (*l.ProductCode < 0 || *l.ProductCode > 255) {
		return fmt.Errorf("productCode %d: want 0..255", *l.ProductCode)
	}
	return nil
}

func (r *RunSpec) validate() error {
	if r.Endpoint != "" && !oneOf(r.Endpoint, endpoints) {
		return fmt.Errorf("endpoint %q: want %s", r.Endpoint, strings.Join(endpoints, ", "))
	}
	if r.Operation == "" && r.Endpoint == "" {
		return errors.New("operation or endpoint is required (no operation: the endpoint's default)")
	}
	if r.Wait != "" {
		if d, err := time.ParseDuration(r.Wait); err != nil || d < 0 {
			return fmt.Errorf("wait %q: want a duration such as 70s", r.Wait)
		}
	}
	for i, text := range r.Faults {
		if _, err := tsh.ParseFault(text); err != nil {
			return fmt.Errorf("faults[%d]: %w", i, err)
		}
	}
	if c := r.Contents; c != nil {
		if c.SystemCode != nil {
			if _, err := felica.ParseSystemCode(*c.SystemCode); err != nil {
				return fmt.Errorf("contents.systemCode: %w", err)
			}
		}
		if c.IDm != nil {
			if _, err := felica.ParseIDm(*c.IDm); err != nil {
				return fmt.Errorf("contents.idm: %w", err)
			}
		}
	}
	if r.Expect.Status == nil {
		return errors.New("expect.status is required")
	}
	if r.Expect.Calls < 0 {
		return errors.New("expect.calls must not be negative")
	}
	return nil
}

func (a *AfterSpec) validate() error {
	if a.Card != nil {
		if a.Card.Unchanged && len(a.Card.Blocks) > 0 {
			return errors.New("after.card: unchanged or blocks, not both")
		}
		for name, list := range a.Card.Blocks {
			for i, b := range list {
				if !hexPattern.MatchString(b) {
					return fmt.Errorf("after.card.blocks.%s[%d]: want 32 hex digits or '.'", name, i)
				}
			}
		}
	}
	if l := a.Ledger; l != nil {
		for id, st := range l.Purchases {
			if !oneOf(st, purchaseStat) {
				return fmt.Errorf("after.ledger.purchases.%s: %q: want PENDING, APPLIED or UNCERTAIN", id, st)
			}
		}
		if c := l.Card; c != nil && c.Status != "" && !oneOf(c.Status, cardStatuses) {
			return fmt.Errorf("after.ledger.card.status %q: want ACTIVE, BLACKLISTED or DELETED", c.Status)
		}
	}
	return nil
}

func oneOf(s string, set []string) bool {
	for _, v := range set {
		if s == v {
			return true
		}
	}
	return false
}

// parsePMm reads 16 hex digits.
func parsePMm(s string) (felica.PMm, error) {
	var p felica.PMm
	raw, err := decodeHex(s)
	if err != nil || len(raw) != len(p) {
		return p, fmt.Errorf("%q: want 16 hex digits", s)
	}
	copy(p[:], raw)
	return p, nil
}
