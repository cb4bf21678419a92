-- READER_MODE: check a physical card, move its value off it in one atomic
-- write (info status 02, balance 0 with counter+1, a transfer-out record),
-- then have the engine create an account holding that value.
--
-- The transfer is marked in the ledger before the write leaves
-- (transfer_sent: a pending account with the counter the write produces).
-- When the write's answer is lost and the operation ends, the next reader
-- mode on the card finds it transferred with that counter and confirms the
-- pending account instead of answering 167; a card that never took the
-- write is moved afresh.
return {
  start = "attempt",
  steps = common.steps(
    {
      attempt = {
        run = function(ctx)
          effect.count_reader_mode_attempt()
        end,
        next = {
          { when = "attempts >= settings.readerModeThreshold", fail = 192 },
          { when = "request.hasContents && request.contents.system != system", fail = 172, message = "cardContents shows another system" },
          { when = "request.hasContents && !hasArea(request.contents.areas, settings.areaCode, settings.areaKeyVersion)", fail = 177, message = "areaCodeList lacks the issuer's area" },
          { go = "poll" },
        },
      },
    },
    common.poll("account"),
    {
      account = {
        next = {
          { when = "account.found && !account.pending", fail = 167, message = "an account already exists for this card" },
          { go = "read" },
        },
      },
      checks = {
        next = {
          { when = "vars.status == 2 && account.pending && vars.counter == account.expectedCounter && vars.balance == 0", go = "confirm" },
          { when = "vars.status == 2", fail = 167, message = "card value was already transferred" },
          { when = "vars.status == 1", fail = 160, message = "card is parked" },
          { when = "vars.status == 3", fail = 159, message = "card is blocked" },
          { when = "vars.inStation == 1", fail = 178 },
          { when = "vars.expiryDay != 0xFFFF && vars.expiryDay < today", fail = 191, message = "card expired" },
          { go = "move" },
        },
      },

      -- confirm: an earlier operation's transfer reached the card.
      confirm = {
        run = function(ctx)
          ctx.vars.moved = ledger.account().balance
        end,
        next = { { go = "created" } },
      },

      move = {
        run = function(ctx)
          local v = ctx.vars
          v.moved = v.balance
          v.newCounter = v.counter + 1
          local info = bin.set(bin.unhex(v.info), 0, bin.put_le(2, 1))
          felica.write{ as = "write", blocks = {
            { common.INFO_RW, 0, info },
            { common.BALANCE_RW, 0, common.balance_block(0, v.newCounter) },
            { common.HISTORY_RW, 0, common.history_record(common.TRANSFER_OUT, -v.moved, 0, v.newCounter, ctx.now) },
          } }
          effect.transfer_sent{ idm = ctx.idm, balance = v.moved, counter = v.newCounter }
        end,
        next = {
          { when = "resp.write.ok", go = "created" },
          { when = "resp.write.answered && resp.write.valid", fail = 911, message = "card refused the transfer" },
          { go = "verify" },
        },
      },

      -- verify: the write's answer was lost or garbled; status and counter
      -- say whether the card applied it (the card was active before).
      verify = common.reread{
        { when = "resp.card.ok && len(resp.card.blocks) == 2 && vars.status == 2 && vars.counter == vars.newCounter && vars.balance == 0", go = "created" },
        { when = "resp.card.ok && len(resp.card.blocks) == 2 && vars.status == 0 && vars.counter < vars.newCounter", fail = 911, message = "card kept its value" },
        { fail = 911, message = "cannot tell whether the value left the card" },
      },

      created = {
        run = function(ctx)
          effect.create_account{ idm = ctx.idm, balance = ctx.vars.moved }
        end,
        next = { { done = 0, balance = "vars.moved" } },
      },
    },
    common.read_card("checks", false)
  ),
}
