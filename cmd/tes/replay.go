package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/tes-project/tes/replay"
	"github.com/tes-project/tes/scripts"
	"github.com/tes-project/tes/tsh"
)

const replayAbout = `Runs a recorded session's card answers through the flows under --issuers and
shows, call by call, where the steps, guard decisions, commands or outcome
differ from the recording, and where the recording runs out because the flow
asks the card something new. The session comes from a running server's admin
API (SESSION_ID) or from a file (--file: the admin API's JSON of the session,
optionally with "ledger" facts and "cardContents" added; --save writes one).

The trace does not keep the ledger facts the flow read: they come from
--ledger (a JSON file: {"card": {...}, "purchase": {...}, "account": {...},
"blacklisted": false, "attempts": 0}), else from the recording file, else
today's card and purchase from the admin API. Exits 0 when nothing differs,
1 when something does, 2 on bad usage.`

// runReplay is tes replay.
func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tes replay", flag.ContinueOnError)
	dir := fs.String("issuers", "./issuers", "folder of issuer folders whose flows replay (env "+envName("issuers")+")")
	file := fs.String("file", "", "read the session from this file instead of the admin API")
	ledgerFile := fs.String("ledger", "", "ledger facts as they were when the session ran (JSON)")
	save := fs.String("save", "", "write the session and its ledger facts to this file, for --file")
	adminURL := fs.String("admin-url", "http://127.0.0.1:8081", "base URL of the server's admin API")
	adminToken := fs.String("admin-token", os.Getenv("TES_ADMIN_TOKEN"), "bearer token for the admin API (default $TES_ADMIN_TOKEN)")
	asJSON := fs.Bool("json", false, "print the report as JSON instead of text")
	ids, code, ok := parseWithArgs(fs, replayAbout, "SESSION_ID | --file FILE", 1, args, stdout, stderr)
	if !ok {
		return code
	}
	if err := applyEnv(fs, os.Getenv); err != nil {
		fmt.Fprintf(stderr, "tes replay: %v\n", err)
		return exitUsage
	}
	if (len(ids) == 1) == (*file != "") {
		fmt.Fprintln(stderr, "tes replay: give a SESSION_ID or --file, one of them")
		return exitUsage
	}
	var admin *tsh.Admin
	if *file == "" {
		var err error
		if admin, err = tsh.NewAdmin(*adminURL, *adminToken, tsh.ClientOptions{Timeout: 10 * time.Second}); err != nil {
			fmt.Fprintf(stderr, "tes replay: %v\n", err)
			return exitUsage
		}
	}
	rec, notes, err := loadRecording(ctx, admin, ids, *file, *ledgerFile)
	if err != nil {
		fmt.Fprintf(stderr, "tes replay: %v\n", err)
		return exitFail
	}
	if *save != "" {
		raw, err := json.MarshalIndent(rec, "", "  ")
		if err == nil {
			err = os.WriteFile(*save, append(raw, '\n'), 0o600)
		}
		if err != nil {
			fmt.Fprintf(stderr, "tes replay: --save: %v\n", err)
			return exitFail
		}
	}
	reg, err := scripts.Open(ctx, scripts.Config{Dir: *dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Fprintf(stderr, "tes replay: %v\n", err)
		return exitFail
	}
	iss, ok := reg.Current(rec.IssuerID)
	if !ok {
		for _, s := range reg.Statuses() {
			if s.IssuerID == rec.IssuerID && s.Error != "" {
				fmt.Fprintf(stderr, "tes replay: issuer %s does not load: %s\n", rec.IssuerID, s.Error)
				return exitFail
			}
		}
		fmt.Fprintf(stderr, "tes replay: no issuer %s under %s\n", rec.IssuerID, *dir)
		return exitFail
	}
	var facts replay.Facts
	if rec.Ledger != nil {
		facts = *rec.Ledger
	}
	rep, err := replay.Run(ctx, iss, rec, facts)
	if err != nil {
		fmt.Fprintf(stderr, "tes replay: %v\n", err)
		return exitFail
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		err = enc.Encode(struct {
			replay.Report
			Notes []string `json:"notes,omitempty"`
		}{rep, notes})
	} else {
		err = printReplay(stdout, rec, rep, notes)
	}
	if err != nil {
		fmt.Fprintf(stderr, "tes replay: %v\n", err)
		return exitFail
	}
	if rep.Differences > 0 {
		return exitFail
	}
	return exitOK
}

// loadRecording reads the session and settles where its ledger facts come
// from; notes say what the reader should know about them.
func loadRecording(ctx context.Context, admin *tsh.Admin, ids []string, file, ledgerFile string) (replay.Recording, []string, error) {
	var raw []byte
	var err error
	if file != "" {
		raw, err = readCapped(file, replay.MaxRecordingBytes)
	} else {
		raw, err = admin.Session(ctx, ids[0])
	}
	if err != nil {
		return replay.Recording{}, nil, err
	}
	rec, err := replay.Parse(raw)
	if err != nil {
		return replay.Recording{}, nil, err
	}
	var notes []string
	switch {
	case ledgerFile != "":
		data, err := readCapped(ledgerFile, 1<<20)
		if err != nil {
			return rec, nil, err
		}
		var f replay.Facts
		dec := json.NewDecoder(strings.NewReader(string(data)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			return rec, nil, fmt.Errorf("--ledger %s: %w", ledgerFile, err)
		}
		rec.Ledger = &f
		notes = append(notes, "ledger facts from "+ledgerFile)
	case rec.Ledger != nil:
		notes = append(notes, "ledger facts from the recording")
	case admin != nil:
		f, err := todaysFacts(ctx, admin, rec)
		if err != nil {
			return rec, nil, err
		}
		rec.Ledger = &f
		notes = append(notes, "ledger facts are TODAY's card and purchase, not the session's: a purchase the session applied is APPLIED now, "+
			"so the flow may refuse it; give --ledger with the facts as they were (blacklist, reader-mode attempts and accounts are taken as empty, "+
			"and the admin API shows no purchase's expectedCounter: an UNCERTAIN purchase settles as if its counter were 0)")
	default:
		notes = append(notes, "no ledger facts: the flow sees no card, no purchase and no account")
	}
	return rec, notes, nil
}

// todaysFacts reads the session's card and purchase as they are now.
func todaysFacts(ctx context.Context, admin *tsh.Admin, rec replay.Recording) (replay.Facts, error) {
	var f replay.Facts
	if rec.CardID != "" {
		c, err := admin.Card(ctx, rec.IssuerID, rec.CardID)
		switch {
		case errors.Is(err, tsh.ErrAdmin): // no such card
		case err != nil:
			return f, err
		default:
			f.Card = &replay.FactCard{Status: string(c.Status), ProductCode: c.ProductCode, DeviceID: c.DeviceID,
				Expiry: c.Expiry, LastKnownBalance: c.LastKnownBalance, ParkedBalance: c.ParkedBalance}
			for _, id := range c.UncertainPurchases {
				p, err := admin.Purchase(ctx, rec.IssuerID, id)
				if err != nil {
					return f, err
				}
				f.Card.Uncertain = append(f.Card.Uncertain, replay.FactPurchase{PurchaseID: id, CardID: p.CardID,
					Amount: p.Amount, Kind: string(p.Kind), Status: string(p.Status)})
			}
		}
	}
	if rec.PurchaseID != "" {
		p, err := admin.Purchase(ctx, rec.IssuerID, rec.PurchaseID)
		switch {
		case errors.Is(err, tsh.ErrAdmin):
		case err != nil:
			return f, err
		default:
			f.Purchase = &replay.FactPurchase{PurchaseID: rec.PurchaseID, CardID: p.CardID, Amount: p.Amount,
				Kind: string(p.Kind), Status: string(p.Status)}
		}
	}
	return f, nil
}

func readCapped(file string, limit int64) ([]byte, error) {
	info, err := os.Stat(file)
	if err != nil {
		return nil, err
	}
	if info.Size() > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", file, limit)
	}
	return os.ReadFile(file)
}

func printReplay(w io.Writer, rec replay.Recording, rep replay.Report, notes []string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "replay of session %s: %s %s on %s, card %q, purchase %q\n", rec.SessionID, rec.IssuerID, rec.Operation, rec.Endpoint, rec.CardID, rec.PurchaseID)
	fmt.Fprintf(&b, "recorded on version %s, replayed on %s\n", short(rep.Recorded), short(rep.Replayed))
	for _, n := range notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	for _, f := range rep.Findings {
		label := strings.ToUpper(string(f.Kind))
		if f.Kind == replay.Same {
			label = "same"
		}
		fmt.Fprintf(&b, "call %d: %s", f.Call, label)
		if f.Text != "" {
			fmt.Fprintf(&b, ": %s", f.Text)
		}
		b.WriteString("\n")
		for _, line := range f.Recorded {
			fmt.Fprintf(&b, "    recorded  %s\n", line)
		}
		for _, line := range f.Now {
			fmt.Fprintf(&b, "    now       %s\n", line)
		}
	}
	if rep.Differences == 0 {
		b.WriteString("result: no difference\n")
	} else {
		fmt.Fprintf(&b, "result: %d difference(s), the first at call %d\n", rep.Differences, rep.FirstCall)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func short(version string) string {
	if len(version) > 12 {
		return version[:12]
	}
	return version
}
