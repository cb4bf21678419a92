-- READER_MODE: check a physical card, move its value off it in one atomic
-- write (info status 02, balance 0 with counter+1, a transfer-out record),
-- then have the engine create an account holding that value.
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
          { when = "account.found", fail = 167, message = "an account already exists for this card" },
          { go = "read" },
        },
      },
      checks = {
        next = {
          { when = "vars.status == 2", fail = 167, message = "card value was already transferred" },
          { when = "vars.status == 1", fail = 160, message = "card is parked" },
          { when = "vars.status == 3", fail = 159, message = "card is blocked" },
          { when = "vars.inStation == 1", fail = 178 },
          { when = "vars.expiryDay != 0xFFFF && vars.expiryDay < today", fail = 191, message = "card expired" },
          { go = "move" },
        },
      },
      move = {
        run = function(ctx)
          local v = ctx.vars
          v.newCounter = v.counter + 1
          local info = bin.set(bin.unhex(v.info), 0, bin.put_le(2, 1))
          felica.write{ as = "write", blocks = {
            { common.INFO_RW, 0, info },
            { common.BALANCE_RW, 0, common.balance_block(0, v.newCounter) },
            { common.HISTORY_RW, 0, common.history_record(common.TRANSFER_OUT, -v.balance, 0, v.newCounter, ctx.now) },
          } }
        end,
        next = {
          { when = "resp.write.ok", go = "created" },
          { fail = 911, message = "card refused the transfer" },
        },
      },
      created = {
        run = function(ctx)
          effect.create_account{ idm = ctx.idm, balance = ctx.vars.balance }
        end,
        next = { { done = 0, balance = "vars.balance" } },
      },
    },
    common.read_card("checks", false)
  ),
}
