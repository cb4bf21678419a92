-- Steps every DEMOAES flow shares: DEMO's, with the balance and history
-- read and written over an authenticated session. Each function returns
-- named steps that a flow merges into its own with common.steps(...).

common = {}

-- Service codes (CONTRACT.md §5). The info block needs no key; balance and
-- history are AES-keyed and reached through the node list of sam.auth, so
-- both reads and writes name the read-write codes in that list.
common.INFO_RO = 0x008B
common.BALANCE, common.HISTORY = 0x1008, 0x090C
common.NODES = { common.BALANCE, common.HISTORY }

-- History record kinds.
common.TOPUP, common.REFUND = 1, 2

-- steps merges step tables into one.
function common.steps(...)
  local out = {}
  for _, part in ipairs({...}) do
    for name, step in pairs(part) do
      out[name] = step
    end
  end
  return out
end

-- ledger: the request's card in the ledger, before any command is sent.
function common.ledger(next_step)
  return {
    ledger = {
      next = {
        { when = "!card.found", fail = 119, message = "card is not in the ledger" },
        { when = "card.deviceId != '' && card.deviceId != request.deviceId", fail = 117 },
        { when = "card.status == 'BLACKLISTED'", fail = 159 },
        { when = "card.status == 'DELETED'", fail = 160 },
        { when = "card.expiryDay >= 0 && card.expiryDay < today", fail = 191, message = "card expired in the ledger" },
        { go = next_step },
      },
    },
  }
end

-- poll finds the card of the issuer's system; the IDm that answers becomes
-- the session's card. Then the IDm blacklist.
function common.poll(next_step)
  return {
    poll = {
      run = function(ctx)
        felica.polling{ as = "poll", system = ctx.system, request = 1 }
      end,
      next = {
        { when = "!resp.poll.answered", fail = 172, message = "no card of the issuer's system answered" },
        { when = "!resp.poll.valid", fail = 911, message = "polling answer is malformed" },
        { when = "resp.poll.system != system", fail = 172 },
        { when = "blacklisted", fail = 159, message = "IDm is blacklisted" },
        { go = next_step },
      },
    },
  }
end

-- probe reads the info block (no key) and asks the card's key versions of
-- the balance and history nodes (Request Service v2), in one batch.
function common.probe(next_step)
  return {
    probe = {
      run = function(ctx)
        felica.read{ as = "info", blocks = { { common.INFO_RO, 0 } } }
        felica.request_service_v2{ as = "keys", nodes = common.NODES }
      end,
      after = function(ctx)
        local info = ctx.resp.info
        if info.ok and #info.blocks == 1 then
          local b, v = info.blocks[1], ctx.vars
          v.status = bin.u8(b, 0)
          v.product = bin.u8(b, 1)
          v.expiryDay = bin.be(b, 2, 2)
          v.inStation = bin.u8(b, 4)
        end
      end,
      next = {
        { when = "!resp.info.answered || !resp.info.valid", fail = 911, message = "card did not answer the read" },
        { when = "resp.info.sf2 == 0xA6", fail = 173, message = "card lacks a DEMOAES service" },
        { when = "!resp.info.ok || len(resp.info.blocks) != 1", fail = 911, message = "card refused the read" },
        { when = "!resp.keys.answered || !resp.keys.valid", fail = 911, message = "card did not answer Request Service v2" },
        { when = "!resp.keys.ok || len(resp.keys.keyVersions) != 2 || 0xFFFF in resp.keys.keyVersions", fail = 173, message = "card lacks a DEMOAES service" },
        { when = "vars.status > 3 || !(vars.product in [1, 2, 16])", fail = 177, message = "card info block is malformed" },
        { go = next_step },
      },
    },
  }
end

-- auth: mutual authentication over the balance and history nodes, at the
-- key versions the card reported. 177 when the key store lacks a key
-- version; 911 when the card does not authenticate.
function common.auth(next_step)
  return {
    auth = {
      run = function(ctx)
        sam.auth{ as = "auth", nodes = common.NODES }
      end,
      next = {
        { when = "resp.auth.keyUnknown", fail = 177, message = "the key store holds no key for the card's key version" },
        { when = "!resp.auth.ok", fail = 911, message = "card did not authenticate" },
        { go = next_step },
      },
    },
  }
end

-- read_balance asks for the balance block over the session, labelled
-- "balance".
function common.read_balance(ctx)
  sam.read{ as = "balance", blocks = { { common.BALANCE, 0 } } }
end

-- decode_balance decodes the "balance" answer into variables.
function common.decode_balance(ctx)
  local b = ctx.resp.balance
  if b.ok and #b.blocks == 1 then
    ctx.vars.balance = bin.le(b.blocks[1], 0, 4)
    ctx.vars.counter = bin.le(b.blocks[1], 4, 2)
  end
end

-- read_card reads the balance (and, with history, the newest history
-- records in a second Read v2 of the same batch) over the session.
function common.read_card(next_step, with_history)
  return {
    read = {
      run = function(ctx)
        common.read_balance(ctx)
        if with_history then
          local blocks = {}
          for i = 0, ctx.quirk.historyBlocks - 1 do
            blocks[#blocks + 1] = { common.HISTORY, i }
          end
          sam.read{ as = "history", blocks = blocks }
        end
      end,
      after = common.decode_balance,
      next = {
        { when = "!resp.balance.answered", fail = 911, message = "card did not answer the read, or its answer did not authenticate" },
        { when = "!resp.balance.ok || len(resp.balance.blocks) != 1", fail = 911, message = "card refused the read" },
        { go = next_step },
      },
    },
  }
end

-- reread is a step that reads the balance back over the session after a
-- write whose answer was lost or did not authenticate, and decides by next
-- whether the card applied it.
function common.reread(next)
  return { run = common.read_balance, next = next }
end

-- card_checks applies what the card itself says, then settles the card's
-- UNCERTAIN purchases by its counter.
function common.card_checks(next_step)
  return {
    checks = {
      next = {
        { when = "vars.status == 1", fail = 160, message = "card is parked" },
        { when = "vars.status == 3", fail = 159, message = "card is blocked" },
        { when = "vars.status == 2", fail = 160, message = "card value was transferred" },
        { when = "vars.inStation == 1", fail = 178 },
        { when = "vars.expiryDay != 0xFFFF && vars.expiryDay < today", fail = 191, message = "card expired" },
        { when = "card.found && len(card.uncertain) > 0", go = "settle" },
        { go = next_step },
      },
    },
    -- settle: a write whose answer never came is applied when the card's
    -- counter, read over the authenticated session, reached the one it
    -- would have produced (CONTRACT.md §1.6).
    settle = {
      run = function(ctx)
        for _, p in ipairs(ledger.card().uncertain) do
          local applied = ctx.vars.counter >= p.expectedCounter
          if applied then
            effect.purchase_applied{ purchase = p.id }
          else
            effect.purchase_pending{ purchase = p.id }
          end
          if p.id == ctx.request.purchaseId then
            ctx.vars.settled = applied and "APPLIED" or "PENDING"
          end
        end
      end,
      next = { { go = next_step } },
    },
  }
end

-- history_record builds one history block.
function common.history_record(kind, change, balance, counter, now)
  return bin.block(bin.put_le(kind, 1), bin.put_le(change, 4), bin.put_le(balance, 4),
    bin.put_le(counter, 2), bin.put_le(now, 4))
end

-- balance_block builds the balance block.
function common.balance_block(balance, counter)
  return bin.block(bin.put_le(balance, 4), bin.put_le(counter, 2))
end
