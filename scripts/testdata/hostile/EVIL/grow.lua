-- a table grown without end.
return {
  start = "bad",
  steps = {
    bad = {
      run = function(ctx)
        local t, i = {}, 0
        while true do i = i + 1; t[i] = { i } end
      end,
      next = { { done = 0 } },
    },
  },
}
