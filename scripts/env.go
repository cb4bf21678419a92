package scripts

// Env is what every guard sees. Field names in guards are the expr tags.
// Only vars and quirk are loosely typed; everything else is checked when the
// guard compiles.
type Env struct {
	// Resp holds the decoded answers to the step's batch by label.
	Resp map[string]Response `expr:"resp"`
	// Vars are the session's variables, set by the flow's Lua.
	Vars map[string]any `expr:"vars"`
	// IDm and PMm are the card's, from the last Polling that answered
	// (or cardContents in reader mode), 16 upper-case hex digits.
	IDm string `expr:"idm"`
	PMm string `expr:"pmm"`

	Request  RequestFacts  `expr:"request"`
	Card     CardFacts     `expr:"card"`
	Purchase PurchaseFacts `expr:"purchase"`
	Account  AccountFacts  `expr:"account"`
	// Blacklisted: the card's IDm is on the issuer's blacklist.
	Blacklisted bool `expr:"blacklisted"`
	// Attempts counts the device's reader-mode attempts in the window the
	// setting readerModeWindowSeconds gives, this one not included.
	Attempts int `expr:"attempts"`

	// System is the issuer's system code from the manifest.
	System   int            `expr:"system"`
	Settings map[string]int `expr:"settings"`
	Quirk    map[string]any `expr:"quirk"`
	// Today is the request's date as days since 2000-01-01 (UTC).
	Today int `expr:"today"`
	// Now is the request's time in Unix seconds.
	Now int `expr:"now"`
}

// Response is one decoded answer of a batch.
type Response struct {
	// polling, read, write, request_service, request_service_v2, raw,
	// auth, read_v2, write_v2
	Kind string `expr:"kind"`
	// Answered: the device got a frame back.
	Answered bool `expr:"answered"`
	// Valid: the frame parsed as the answer to its command.
	Valid bool   `expr:"valid"`
	Error string `expr:"error"` // why it did not parse
	// OK: valid and, for commands with status flags, SF1 is 00.
	OK          bool     `expr:"ok"`
	SF1         int      `expr:"sf1"`
	SF2         int      `expr:"sf2"`
	IDm         string   `expr:"idm"`
	PMm         string   `expr:"pmm"`
	System      int      `expr:"system"` // Polling request data (system code)
	Blocks      [][]byte `expr:"blocks"`
	KeyVersions []int    `expr:"keyVersions"`
	Raw         []byte   `expr:"raw"`
	// NotAuthentic: an answer to a secure command (sam.auth, sam.read,
	// sam.write) came back but did not authenticate (a wrong challenge, a
	// bad MAC, a stale transaction number). Such an answer is no answer:
	// Answered is false and nothing it says is kept.
	NotAuthentic bool `expr:"notAuthentic"`
	// KeyUnknown: sam.auth could not begin because the key store holds no
	// key for a node at the card's key version; nothing was sent.
	KeyUnknown bool `expr:"keyUnknown"`
}

// RequestFacts is what the TSH asked.
type RequestFacts struct {
	Endpoint    string        `expr:"endpoint"`
	Operation   string        `expr:"operation"`
	CardID      string        `expr:"cardId"`
	PurchaseID  string        `expr:"purchaseId"`
	DeviceID    string        `expr:"deviceId"`
	HasContents bool          `expr:"hasContents"`
	Contents    ContentsFacts `expr:"contents"`
}

// ContentsFacts is cardContents of a reader-mode request.
type ContentsFacts struct {
	ServiceID string     `expr:"serviceId"`
	System    int        `expr:"system"`
	IDm       string     `expr:"idm"`
	PMm       string     `expr:"pmm"`
	Areas     []AreaFact `expr:"areas"`
}

// AreaFact is one entry of cardContents.areaCodeList.
type AreaFact struct {
	Code       int `expr:"code"`
	KeyVersion int `expr:"keyVersion"`
}

// CardFacts is the request's card in the ledger.
type CardFacts struct {
	Found       bool   `expr:"found"`
	ID          string `expr:"id"`
	Status      string `expr:"status"`
	ProductCode int    `expr:"productCode"`
	DeviceID    string `expr:"deviceId"`
	// Expiry is YYYY-MM-DD or empty; ExpiryDay is it as days since
	// 2000-01-01, -1 when none.
	Expiry     string          `expr:"expiry"`
	ExpiryDay  int             `expr:"expiryDay"`
	HasBalance bool            `expr:"hasBalance"`
	Balance    int             `expr:"balance"`
	Uncertain  []PurchaseFacts `expr:"uncertain"`
	// ParkPending: a park write was sent and not confirmed; a card that
	// says it is parked was parked by it. Balance and counter are the
	// card's when the write was sent (0 when none is pending).
	ParkPending        bool `expr:"parkPending"`
	ParkPendingBalance int  `expr:"parkPendingBalance"`
	ParkPendingCounter int  `expr:"parkPendingCounter"`
}

// PurchaseFacts is the request's purchase in the ledger.
type PurchaseFacts struct {
	Found           bool   `expr:"found"`
	ID              string `expr:"id"`
	CardID          string `expr:"cardId"`
	Amount          int    `expr:"amount"`
	Kind            string `expr:"kind"`
	Status          string `expr:"status"`
	ExpectedCounter int    `expr:"expectedCounter"`
}

// AccountFacts is the account already made from the card's IDm, if any.
// A pending one is a transfer sent and not confirmed: its value left the
// card once the card says transferred with counter ExpectedCounter.
type AccountFacts struct {
	Found           bool   `expr:"found"`
	ID              string `expr:"id"`
	Balance         int    `expr:"balance"`
	Pending         bool   `expr:"pending"`
	ExpectedCounter int    `expr:"expectedCounter"`
}

// QuirkEnv is what quirk conditions see: the card as far as it is known.
type QuirkEnv struct {
	IDm     string         `expr:"idm"`
	PMm     string         `expr:"pmm"`
	System  int            `expr:"system"`
	Vars    map[string]any `expr:"vars"`
	Request RequestFacts   `expr:"request"`
}
