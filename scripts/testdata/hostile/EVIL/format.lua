-- a format asking for a huge width.
return {
  start = "bad",
  steps = {
    bad = {
      run = function(ctx)
        local w = string.format("%999999999d", 1)
      end,
      next = { { done = 0 } },
    },
  },
}
