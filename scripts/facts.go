package scripts

import (
	"context"
	"fmt"
	"time"

	"github.com/tes-project/tes/flow"
)

// factSet names the ledger lookups a step needs.
type factSet uint8

const (
	needCard factSet = 1 << iota
	needPurchase
	needAccount
	needBlacklisted
	needAttempts
)

// factNames maps guard identifiers to the lookup behind them.
var factNames = map[string]factSet{
	"card":        needCard,
	"purchase":    needPurchase,
	"account":     needAccount,
	"blacklisted": needBlacklisted,
	"attempts":    needAttempts,
}

// SettingReaderModeWindow is the setting (seconds) that sizes the window in
// which reader-mode attempts are counted.
const SettingReaderModeWindow = "readerModeWindowSeconds"

// facts fetches ledger facts once per Step, only those asked for.
type facts struct {
	ctx      context.Context
	in       *flow.Input
	st       *state
	settings map[string]int
	have     factSet

	card        CardFacts
	purchase    PurchaseFacts
	account     AccountFacts
	blacklisted bool
	attempts    int
}

// cardIDm is the IDm the IDm-keyed lookups use: the polled card, else the
// reader-mode cardContents.
func (f *facts) cardIDm() string {
	if f.st.IDm != "" {
		return f.st.IDm
	}
	if c := f.in.Request.CardContents; c != nil {
		return c.IDm
	}
	return ""
}

func (f *facts) fetch(want factSet) error {
	want &^= f.have
	if want == 0 {
		return nil
	}
	if f.in.Ledger == nil {
		return fmt.Errorf("%w: no ledger", ErrScript)
	}
	l := f.in.Ledger
	if want&needCard != 0 && f.in.Request.CardID != "" {
		c, ok, err := l.Card(f.ctx, f.in.Request.CardID)
		if err != nil {
			return fmt.Errorf("ledger card: %w", err)
		}
		if ok {
			f.card = cardFacts(c)
		}
	}
	if want&needPurchase != 0 && f.in.Request.PurchaseID != "" {
		p, ok, err := l.Purchase(f.ctx, f.in.Request.PurchaseID)
		if err != nil {
			return fmt.Errorf("ledger purchase: %w", err)
		}
		if ok {
			f.purchase = purchaseFacts(p)
		}
	}
	if idm := f.cardIDm(); idm != "" {
		if want&needBlacklisted != 0 {
			b, err := l.Blacklisted(f.ctx, idm)
			if err != nil {
				return fmt.Errorf("ledger blacklist: %w", err)
			}
			f.blacklisted = b
		}
		if want&needAccount != 0 {
			a, ok, err := l.AccountByIDm(f.ctx, idm)
			if err != nil {
				return fmt.Errorf("ledger account: %w", err)
			}
			if ok {
				f.account = AccountFacts{Found: true, ID: a.CardAccountID, Balance: int(a.Balance),
					Pending: a.Pending, ExpectedCounter: a.ExpectedCounter}
			}
		}
	}
	if want&needAttempts != 0 && f.in.Request.DeviceID != "" {
		window := time.Duration(f.settings[SettingReaderModeWindow]) * time.Second
		n, err := l.ReaderModeAttempts(f.ctx, f.in.Request.DeviceID, f.in.Now.Add(-window))
		if err != nil {
			return fmt.Errorf("ledger reader-mode attempts: %w", err)
		}
		f.attempts = n
	}
	f.have |= want
	return nil
}

func cardFacts(c flow.Card) CardFacts {
	cf := CardFacts{
		Found:       true,
		ID:          c.CardID,
		Status:      c.Status,
		ProductCode: c.ProductCode,
		DeviceID:    c.DeviceID,
		Expiry:      c.Expiry,
		ExpiryDay:   -1,
	}
	if d, err := daysOf(c.Expiry); err == nil {
		cf.ExpiryDay = d
	}
	if c.LastKnownBalance != nil {
		cf.HasBalance, cf.Balance = true, int(*c.LastKnownBalance)
	}
	for _, p := range c.Uncertain {
		cf.Uncertain = append(cf.Uncertain, purchaseFacts(p))
	}
	if p := c.PendingPark; p != nil {
		cf.ParkPending, cf.ParkPendingBalance, cf.ParkPendingCounter = true, int(p.Balance), p.Counter
	}
	return cf
}

func purchaseFacts(p flow.Purchase) PurchaseFacts {
	return PurchaseFacts{
		Found:           true,
		ID:              p.PurchaseID,
		CardID:          p.CardID,
		Amount:          int(p.Amount),
		Kind:            p.Kind,
		Status:          p.Status,
		ExpectedCounter: p.ExpectedCounter,
	}
}

func requestFacts(in *flow.Input) RequestFacts {
	r := RequestFacts{
		Endpoint:   string(in.Endpoint),
		Operation:  in.Operation,
		CardID:     in.Request.CardID,
		PurchaseID: in.Request.PurchaseID,
		DeviceID:   in.Request.DeviceID,
	}
	if c := in.Request.CardContents; c != nil {
		r.HasContents = true
		r.Contents = ContentsFacts{ServiceID: c.CardServiceID, System: int(c.SystemCode), IDm: c.IDm, PMm: c.PMm}
		for _, a := range c.Areas {
			r.Contents.Areas = append(r.Contents.Areas, AreaFact{Code: int(a.AreaCode), KeyVersion: int(a.KeyVersion)})
		}
	}
	return r
}
