-- a pattern that backtracks for hours.
return {
  start = "bad",
  steps = {
    bad = {
      run = function(ctx)
        local s = "a"
        for _ = 1, 13 do s = s .. s end
        string.find(s, ".-.-.-.-.-.-.-.-.-.-x")
      end,
      next = { { done = 0 } },
    },
  },
}
