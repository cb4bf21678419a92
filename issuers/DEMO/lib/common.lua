-- Steps every DEMO flow shares. Each function returns named steps that a
-- flow merges into its own with common.steps(...).

common = {}

-- Service codes (CONTRACT.md §4): read-only codes to read, read-write to write.
common.INFO_RO, common.INFO_RW = 0x008B, 0x0089
common.BALANCE_RO, common.BALANCE_RW = 0x100B, 0x1009
common.HISTORY_RO, common.HISTORY_RW = 0x090F, 0x090D

-- History record kinds.
common.TOPUP, common.REFUND, common.PARK, common.TRANSFER_OUT = 1, 2, 3, 4

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

-- decode_card turns the info and balance blocks into variables.
function common.decode_card(ctx, info, balance)
  local v = ctx.vars
  v.status = bin.u8(info, 0)
  v.product = bin.u8(info, 1)
  v.expiryDay = bin.be(info, 2, 2)
  v.inStation = bin.u8(info, 4)
  v.balance = bin.le(balance, 0, 4)
  v.counter = bin.le(balance, 4, 2)
  v.info = bin.hex(info)
end

-- read_info_balance asks for the info and balance blocks, labelled "card".
function common.read_info_balance(ctx)
  felica.read{ as = "card", blocks = { { common.INFO_RO, 0 }, { common.BALANCE_RO, 0 } } }
end

-- decode_answer decodes the "card" answer into variables when it has both
-- blocks.
function common.decode_answer(ctx)
  local card = ctx.resp.card
  if card.ok and #card.blocks == 2 then
    common.decode_card(ctx, card.blocks[1], card.blocks[2])
  end
end

-- read_card reads info and balance (and, with history, the newest history
-- records in a second command of the same batch).
function common.read_card(next_step, with_history)
  return {
    read = {
      run = function(ctx)
        common.read_info_balance(ctx)
        if with_history then
          local blocks = {}
          for i = 0, ctx.quirk.historyBlocks - 1 do
            blocks[#blocks + 1] = { common.HISTORY_RO, i }
          end
          felica.read{ as = "history", blocks = blocks }
        end
      end,
      after = common.decode_answer,
      next = {
        { when = "!resp.card.answered || !resp.card.valid", fail = 911, message = "card did not answer the read" },
        { when = "resp.card.sf2 == 0xA6", fail = 173, message = "card lacks a DEMO service" },
        { when = "!resp.card.ok || len(resp.card.blocks) != 2", fail = 911, message = "card refused the read" },
        { when = "vars.status > 3 || !(vars.product in [1, 2, 16])", fail = 177, message = "card info block is malformed" },
        { go = next_step },
      },
    },
  }
end

-- reread is a step that reads info and balance back after a write whose
-- answer was lost or garbled, and decides by next whether the card applied
-- it. The variables then hold what the card says now.
function common.reread(next)
  return { run = common.read_info_balance, after = common.decode_answer, next = next }
end

-- card_checks applies what the card itself says. first, optional, lists
-- guards tried before the others.
function common.card_checks(next_step, first)
  local next = {}
  local function add(guards)
    for _, guard in ipairs(guards) do
      next[#next + 1] = guard
    end
  end
  add(first or {})
  add({
    { when = "vars.status == 1", fail = 160, message = "card is parked" },
    { when = "vars.status == 3", fail = 159, message = "card is blocked" },
    { when = "vars.status == 2", fail = 160, message = "card value was transferred" },
    { when = "vars.inStation == 1", fail = 178 },
    { when = "vars.expiryDay != 0xFFFF && vars.expiryDay < today", fail = 191, message = "card expired" },
    { when = "card.found && len(card.uncertain) > 0", go = "settle" },
    { go = next_step },
  })
  return {
    checks = { next = next },
    -- settle: a write whose answer never came is applied when the card's
    -- counter reached the one it would have produced (CONTRACT.md §1.6).
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
