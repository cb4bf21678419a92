-- table.concat of a thousand 1 MiB strings.
return {
  start = "bad",
  steps = {
    bad = {
      run = function(ctx)
        local s = "x"
        for _ = 1, 20 do s = s .. s end
        local t = {}
        for i = 1, 1000 do t[i] = s end
        local all = table.concat(t)
      end,
      next = { { done = 0 } },
    },
  },
}
