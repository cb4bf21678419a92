---@meta tes
-- Type annotations of the Lua API that tes gives issuer flows, for the Lua
-- language server (LuaLS). Declarations only: tes never runs this file.
-- See docs/scripting.md ("Lua", "Editor support"). Kept in step with
-- scripts/modules.go, scripts/binlib.go and scripts/runner.go.

---@alias tes.Status 0|111|112|113|117|118|119|159|160|162|163|167|172|173|177|178|191|192|221|231|232|321|322|323|911|921

---A flow file returns this table.
---@class tes.Flow
---@field start string the first step's name
---@field steps table<string, tes.Step>

---@class tes.Step
---@field run? fun(ctx: tes.Ctx) entered: may set ctx.vars, request effects and build commands
---@field after? fun(ctx: tes.Ctx) the batch was answered: decode ctx.resp into ctx.vars
---@field next tes.Transition[] tried in order; the first whose guard holds wins

---Exactly one of go, done, fail.
---@class tes.Transition
---@field when? string an expr guard; absent: always (must then be last)
---@field go? string the step to enter
---@field done? 0 end with OK
---@field fail? tes.Status end with this status
---@field message? string the outcome's message, kept in the trace
---@field balance? string an expr giving the final balance (an int)

---The argument of run and after. Fields other than vars are read-only.
---@class tes.Ctx
---@field vars table<string, number|boolean|string> the session's variables (at most 64; strings up to 4096 bytes)
---@field resp table<string, tes.Response> in after: the answers of the batch, by label
---@field idm string the card's IDm, from the first Polling that answered (16 hex digits)
---@field pmm string the card's PMm
---@field system integer the manifest's system code
---@field request tes.Request
---@field settings table<string, integer> the manifest's settings
---@field quirk table<string, integer|boolean|string> params after quirks
---@field today integer days since 2000-01-01 (UTC)
---@field now integer Unix seconds

---@class tes.Request
---@field endpoint "getCardCommands"|"getParkCardCommands"|"getReaderModeCommands"
---@field operation string the canonical operation name
---@field cardId string
---@field purchaseId string
---@field deviceId string
---@field contents? tes.Contents reader mode's cardContents; nil when absent

---@class tes.Contents
---@field serviceId string
---@field system integer
---@field idm string
---@field pmm string
---@field areas { code: integer, keyVersion: integer }[]

---The answer to one command.
---@class tes.Response
---@field kind "polling"|"read"|"write"|"request_service"|"request_service_v2"|"raw"|"auth"|"read_v2"|"write_v2"
---@field answered boolean a frame came back
---@field valid boolean it parsed
---@field ok boolean valid and SF1 = 00
---@field error string why it did not parse
---@field sf1 integer
---@field sf2 integer
---@field idm string
---@field pmm string
---@field system integer Polling's request data (the system code)
---@field blocks string[] the blocks read, 1-based, 16-byte strings
---@field keyVersions integer[] Request Service's key versions (0xFFFF: no such node)
---@field raw? string the frame as received
---@field notAuthentic? boolean a secure answer came back and did not authenticate (counts as no answer)
---@field keyUnknown? boolean sam.auth could not begin: no key at the card's key version

---felica builds commands: each call appends one command to the step's batch
---(at most 16). `as` names its answer in ctx.resp (default: the kind; unique
---in a batch); `idm` defaults to the session's card.
---@class tes.felica
felica = {}

---@param opts { as?: string, system?: integer, request?: integer, slot?: integer }
function felica.polling(opts) end

---@param opts { as?: string, idm?: string, blocks: { [1]: integer, [2]: integer }[] } blocks: {serviceCode, blockNumber}
function felica.read(opts) end

---Blocks of several services travel in one command, applied all or nothing.
---@param opts { as?: string, idm?: string, blocks: { [1]: integer, [2]: integer, [3]: string }[] } blocks: {serviceCode, blockNumber, data16}
function felica.write(opts) end

---@param opts { as?: string, idm?: string, nodes: integer[] }
function felica.request_service(opts) end

---The card's AES key versions of the nodes (resp.<as>.keyVersions, 0xFFFF: no such node).
---@param opts { as?: string, idm?: string, nodes: integer[] }
function felica.request_service_v2(opts) end

---A frame sent as is.
---@param opts { as?: string, hex: string }
function felica.raw(opts) end

---sam runs the secure commands of keyed cards through the server's secure
---access module (keys never reach Lua). See docs/scripting.md and docs/keys.md.
---@class tes.sam
sam = {}

---Mutual authentication (Authentication1 v2, then 2 v2) over the node list; a
---batch of its own. keyVersions defaults to what request_service_v2 reported.
---@param opts { as?: string, idm?: string, nodes: integer[], keyVersions?: integer[] }
function sam.auth(opts) end

---A Read v2 in the authenticated session (answer as "read_v2" by default).
---@param opts { as?: string, idm?: string, blocks: { [1]: integer, [2]: integer }[] }
function sam.read(opts) end

---A Write v2 in the authenticated session, all blocks applied all or nothing
---(answer as "write_v2" by default).
---@param opts { as?: string, idm?: string, blocks: { [1]: integer, [2]: integer, [3]: string }[] }
function sam.write(opts) end

---Whether the operation holds an authenticated session.
---@return boolean
function sam.authenticated() end

---bin reads and builds bytes (Lua strings). Offsets are 0-based, n <= 8.
---@class tes.bin
bin = {}

---@param s string
---@param off integer
---@param n integer
---@return integer
function bin.le(s, off, n) end

---Signed little-endian.
---@param s string
---@param off integer
---@param n integer
---@return integer
function bin.sle(s, off, n) end

---@param s string
---@param off integer
---@param n integer
---@return integer
function bin.be(s, off, n) end

---@param s string
---@param off integer
---@param n integer
---@return integer
function bin.bcd(s, off, n) end

---@param s string
---@param off integer
---@return integer
function bin.u8(s, off) end

---@param s string
---@return string hex upper-case hex digits
function bin.hex(s) end

---@param h string hex digits
---@return string
function bin.unhex(h) end

---@param date string YYYY-MM-DD
---@return integer days since 2000-01-01
function bin.days(date) end

---@param days integer since 2000-01-01
---@return string date YYYY-MM-DD
function bin.date(days) end

---@param v integer
---@param n integer bytes
---@return string
function bin.put_le(v, n) end

---@param v integer
---@param n integer bytes
---@return string
function bin.put_be(v, n) end

---Concatenates the parts and pads them to a 16-byte block.
---@param ... string
---@return string
function bin.block(...) end

---A copy of s with part written at off.
---@param s string
---@param off integer
---@param part string
---@return string
function bin.set(s, off, part) end

---effect asks the engine for ledger changes, applied with the session in
---order. Each also takes `card` (defaults to the request's card).
---@class tes.effect
effect = {}

---This batch carries the write that moves the purchase's money; the purchase
---is UNCERTAIN until settled. See "Settle obligations of money flows".
---@param opts { purchase: string, counter: integer, card?: string }
function effect.write_sent(opts) end

---@param opts { purchase: string, card?: string }
function effect.purchase_applied(opts) end

---@param opts { purchase: string, card?: string }
function effect.purchase_pending(opts) end

---@param opts { balance: integer, counter: integer, card?: string }
function effect.record_balance(opts) end

---This batch carries the park write; the card's balance block is balance, counter.
---@param opts { balance: integer, counter: integer, card?: string }
function effect.park_sent(opts) end

---@param opts { balance: integer, card?: string }
function effect.park_card(opts) end

---This batch carries the write that moves balance off the physical card idm.
---@param opts { idm: string, balance: integer, counter: integer }
function effect.transfer_sent(opts) end

---Creates the account (or confirms the IDm's pending one); the reply's cardAccountId.
---@param opts { idm: string, balance: integer }
function effect.create_account(opts) end

function effect.count_reader_mode_attempt() end

---@param opts { idm: string }
function effect.blacklist_idm(opts) end

---ledger reads the ledger (tables, or nil when there is no such record).
---@class tes.ledger
ledger = {}

---@class tes.LedgerCard
---@field id string
---@field status "ACTIVE"|"BLACKLISTED"|"DELETED"
---@field productCode integer
---@field deviceId string
---@field expiry string YYYY-MM-DD or ""
---@field expiryDay integer days since 2000-01-01, -1 none
---@field balance? integer the last known balance
---@field uncertain tes.LedgerPurchase[] purchases whose write was sent and not settled
---@field parkPending boolean
---@field parkPendingBalance? integer
---@field parkPendingCounter? integer

---@class tes.LedgerPurchase
---@field id string
---@field cardId string
---@field amount integer
---@field kind "TOPUP"|"REFUND"
---@field status "PENDING"|"APPLIED"|"UNCERTAIN"
---@field expectedCounter integer

---@class tes.LedgerAccount
---@field id string
---@field balance integer
---@field pending boolean
---@field expectedCounter integer

---@return tes.LedgerCard?
function ledger.card() end

---@return tes.LedgerPurchase?
function ledger.purchase() end

---@return tes.LedgerAccount?
function ledger.account() end

---@return boolean
function ledger.blacklisted() end

---@return integer
function ledger.attempts() end

---Writes its arguments to the server's log at debug level.
---@param ... any
function log(...) end
